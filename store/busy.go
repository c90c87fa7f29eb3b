package store

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// BusyError is ErrBusy with the process that holds the container's lock,
// as the kernel tells it in /proc/locks.
type BusyError struct {
	Name    string
	Pid     int    // the holder, in our pid namespace; 0 when unknown
	Command string // its command line, "" when unknown
}

// Error returns "NAME: container is busy (pid PID)"; the command is the
// CLI's to show, in a hint.
func (e *BusyError) Error() string {
	msg := e.Name + ": " + ErrBusy.Error()
	if e.Pid > 0 {
		msg += fmt.Sprintf(" (pid %d)", e.Pid)
	}
	return msg
}

// Unwrap returns ErrBusy.
func (e *BusyError) Unwrap() error { return ErrBusy }

// busyError names the holder of the flock on f that we could not take.
func busyError(name string, f *os.File) *BusyError {
	e := &BusyError{Name: name}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return e
	}
	e.Pid = flockHolder("/proc/locks", st)
	if e.Pid > 0 {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(e.Pid) + "/cmdline"); err == nil {
			e.Command = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return e
}

// flockHolder returns the pid that holds a flock on the file st describes,
// from a /proc/locks listing ("1: FLOCK  ADVISORY  WRITE 1234 08:02:5678 0
// EOF": the device in hex, the inode in decimal), or 0.
func flockHolder(locks string, st unix.Stat_t) int {
	f, err := os.Open(locks)
	if err != nil {
		return 0
	}
	defer f.Close()
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// A waiter's line has "->" after the number.
		if len(fields) < 6 || fields[1] != "FLOCK" || fields[5] != want {
			continue
		}
		if pid, err := strconv.Atoi(fields[4]); err == nil && pid > 0 {
			return pid
		}
	}
	return 0
}
