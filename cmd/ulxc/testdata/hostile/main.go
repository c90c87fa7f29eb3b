// Command hostile is what a hostile container root runs in the security
// tests of cmd/ulxc (security_test.go): each mode tries one way into the
// user's account from inside a container and writes one line per try to
// a log. A line that starts with "BREACH" is a try that worked. It is
// built static (CGO_ENABLED=0) by the tests and bound into the container.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: hostile MODE LOG [ARGS...]")
		os.Exit(2)
	}
	log, err := os.OpenFile(os.Args[2], os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(2)
	}
	defer log.Close()
	say := func(format string, a ...any) { fmt.Fprintf(log, format+"\n", a...) }
	switch os.Args[1] {
	case "watch":
		watch(say, os.Args[3:])
	case "tty":
		tty(say, "now")
		// Again once the ulxc that started us may have exited: the user's
		// shell reads its terminal again then.
		if len(os.Args) > 3 && os.Args[3] == "late" {
			cmd := exec.Command("/proc/self/exe", "tty-late", os.Args[2])
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			cmd.Start()
		}
	case "tty-late":
		time.Sleep(700 * time.Millisecond)
		tty(say, "late")
	case "mem":
		mem(say)
	case "fds":
		fds(say, int(log.Fd()))
		cmd := exec.Command("/proc/self/exe", "spam", os.Args[2])
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		cmd.Start()
	case "spam":
		spam()
	default:
		fmt.Fprintln(os.Stderr, "hostile: unknown mode", os.Args[1])
		os.Exit(2)
	}
}

// watch plants a FIFO at /etc/passwd (with "fifo"), then for SECONDS
// tries to seize (PTRACE_SEIZE) and to open /proc/PID/mem of every other
// process it sees, and feeds the FIFO whenever something waits on it.
// Seizing a process that already runs the container's own program is no
// breach; seizing one that still runs something of the host's is.
func watch(say func(string, ...any), args []string) {
	seconds, _ := strconv.Atoi(args[0])
	fifo := len(args) > 1 && args[1] == "fifo"
	if fifo {
		os.Remove("/etc/passwd")
		if err := unix.Mkfifo("/etc/passwd", 0o644); err != nil {
			say("error mkfifo: %v", err)
		}
	}
	self := os.Getpid()
	done := map[int]bool{}
	os.WriteFile("/tmp/watch.ready", nil, 0o644)
	for end := time.Now().Add(time.Duration(seconds) * time.Second); time.Now().Before(end); {
		if fifo {
			// A writer that opens without blocking finds a reader waiting.
			if fd, err := unix.Open("/etc/passwd", unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
				say("fifo: something opened /etc/passwd and waits")
				unix.Write(fd, []byte("root:x:0:0:root:/root:/bin/sh\n"))
				unix.Close(fd)
			}
		}
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self || pid == 1 || done[pid] {
				continue
			}
			if f, err := os.OpenFile(fmt.Sprintf("/proc/%d/mem", pid), os.O_RDWR, 0); err == nil {
				f.Close()
				exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
				report(say, "mem", pid, exe)
			}
			if err := unix.PtraceSeize(pid); err == nil {
				done[pid] = true
				exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
				report(say, "seized", pid, exe)
				release(pid)
			}
		}
	}
	say("watch: done")
}

// release lets a seized process go: interrupt, wait for the stop, detach.
func release(pid int) {
	if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_INTERRUPT, uintptr(pid), 0, 0, 0, 0); e != 0 {
		return
	}
	var ws unix.WaitStatus
	unix.Wait4(pid, &ws, unix.WALL, nil)
	unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, 0, 0, 0)
}

// report says what was reached: the container's own programs are all
// busybox here, or this program; anything else is the host's.
func report(say func(string, ...any), what string, pid int, exe string) {
	self, _ := os.Readlink("/proc/self/exe")
	if exe == "" {
		// Reached, but gone (or changed) before its program could be
		// read: a process of the host's that was reached stays readable.
		say("ok: %s %d (exited before its program could be read)", what, pid)
		return
	}
	if exe == "/bin/busybox" || exe == self {
		say("ok: %s %d (%s, the container's own)", what, pid, exe)
		return
	}
	say("BREACH: %s %d running %q before it ran the container's program", what, pid, exe)
}

// tty looks for a terminal that is not the container's (not on its
// devpts) among stdio and /dev/tty, and tries to type into it (TIOCSTI),
// first as it is, then after making it the controlling terminal.
func tty(say func(string, ...any), when string) {
	var own unix.Stat_t
	ownErr := unix.Stat("/dev/pts/ptmx", &own)
	check := func(name string, fd int) {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil {
			return
		}
		if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
			return // not a terminal
		}
		if ownErr == nil && st.Dev == own.Dev {
			say("ok: %s %s is the container's own terminal", when, name)
			return
		}
		say("BREACH: %s %s is a terminal of the host's (dev %d:%d)", when, name, unix.Major(st.Dev), unix.Minor(st.Dev))
		typed := true
		for _, c := range []byte("echo PWNED\n") {
			if unix.IoctlSetPointerInt(fd, unix.TIOCSTI, int(c)) != nil {
				typed = false
				break
			}
		}
		if !typed {
			unix.IoctlSetInt(fd, unix.TIOCSCTTY, 0)
			typed = unix.IoctlSetPointerInt(fd, unix.TIOCSTI, int('#')) == nil
		}
		if typed {
			say("BREACH: %s typed into %s", when, name)
		}
	}
	for fd := 0; fd <= 2; fd++ {
		check("fd "+strconv.Itoa(fd), fd)
	}
	// /dev/tty is the controlling terminal, whatever node it is: it is
	// the container's own when it is one of stdio on the container's
	// devpts (tty_nr in /proc/self/stat names it by device number).
	if fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0); err == nil {
		if ctty := ttyNr(); ownTerminal(ctty, own.Dev) {
			say("ok: %s /dev/tty is the container's own terminal", when)
		} else {
			say("BREACH: %s /dev/tty opens a terminal that is not the container's (tty_nr %#x)", when, ctty)
			for _, c := range []byte("echo PWNED\n") {
				if unix.IoctlSetPointerInt(fd, unix.TIOCSTI, int(c)) != nil {
					break
				}
			}
		}
		unix.Close(fd)
	} else {
		say("ok: %s /dev/tty: %v", when, err)
	}
	say("tty: %s done", when)
}

// ttyNr is the device number of the controlling terminal, from
// /proc/self/stat; 0 for none.
func ttyNr() uint64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 5 {
		return 0
	}
	n, _ := strconv.ParseUint(f[4], 10, 64)
	return n
}

// ownTerminal reports whether one of stdio is a terminal on the
// container's devpts (dev) with device number ctty.
func ownTerminal(ctty, dev uint64) bool {
	for fd := 0; fd <= 2; fd++ {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && st.Dev == dev && st.Rdev == ctty && ctty != 0 {
			return true
		}
	}
	return false
}

// mem tries, from a hook, the processes of ulxc's that run beside it:
// init (its parent) and the supervisor (init's parent, which the host's
// /proc shows to a pre-mount hook), by /proc/PID/mem as this /proc numbers
// them, and init by PTRACE_SEIZE and pidfd_getfd as this pid namespace
// numbers it. None runs the container's program yet: none may be reached.
func mem(say func(string, ...any)) {
	self, _ := os.Readlink("/proc/self") // this process, as /proc numbers it
	me, _ := strconv.Atoi(self)
	initPid := ppidOf(me)
	for _, pid := range []int{initPid, ppidOf(initPid)} {
		if pid <= 0 {
			continue
		}
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if f, err := os.OpenFile(fmt.Sprintf("/proc/%d/mem", pid), os.O_RDWR, 0); err == nil {
			f.Close()
			say("BREACH: opened /proc/%d/mem (%q) for writing", pid, exe)
		} else {
			say("ok: /proc/%d/mem (%q): %v", pid, exe, err)
		}
	}
	parent := os.Getppid()
	if err := unix.PtraceSeize(parent); err == nil {
		say("BREACH: seized init (%d)", parent)
	} else {
		say("ok: seize init (%d): %v", parent, err)
	}
	if pidfd, err := unix.PidfdOpen(parent, 0); err == nil {
		for fd := 0; fd < 16; fd++ {
			if got, err := unix.PidfdGetfd(pidfd, fd, 0); err == nil {
				target, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", got))
				say("BREACH: took fd %d (%s) of init", fd, target)
				unix.Close(got)
			}
		}
		unix.Close(pidfd)
	}
	say("mem: tried init %d and its parent %d", initPid, ppidOf(initPid))
}

// ppidOf is the parent of pid, from /proc/PID/stat; 0 if unknown.
func ppidOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// fds lists the descriptors a hook got beyond stdio, and what stdio is.
func fds(say func(string, ...any), logFD int) {
	ents, _ := os.ReadDir("/proc/self/fd")
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", n))
		if err != nil {
			continue // the directory being read
		}
		fd, _ := strconv.Atoi(n)
		if fd == logFD || strings.HasPrefix(target, "anon_inode:") {
			continue // this program's own (its log, the Go runtime's poller)
		}
		if fd > 2 && !strings.HasPrefix(target, "/proc/") {
			say("BREACH: hook holds fd %d: %s", fd, target)
		} else {
			say("fd %d: %s", fd, target)
		}
	}
	say("fds: done")
}

// spam writes to stdout and stderr as fast as it can for five seconds,
// from the background, after the hook that started it has exited.
func spam() {
	buf := []byte(strings.Repeat("spam ", 200) + "\n")
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		os.Stdout.Write(buf)
		os.Stderr.Write(buf)
	}
}
