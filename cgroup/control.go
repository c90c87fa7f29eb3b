package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

var (
	// ErrNoController means a controller is missing from a cgroup's
	// cgroup.controllers: its parent does not make it available, usually
	// because systemd does not delegate it (by default only memory and
	// pids).
	ErrNoController = errors.New("controller not available")
	// ErrBusy means the kernel refused to enable controllers for the
	// children of a cgroup that holds processes itself (the cgroup v2
	// "no internal processes" rule).
	ErrBusy = errors.New("cgroup holds processes")
)

// Proc is a process found in a cgroup.
type Proc struct {
	Pid  int
	Comm string // its command name (/proc/PID/comm); "" once it is gone
}

func (p Proc) String() string {
	if p.Comm == "" {
		return strconv.Itoa(p.Pid)
	}
	return fmt.Sprintf("%d (%s)", p.Pid, p.Comm)
}

// BusyError is ErrBusy with the processes that kept the cgroup busy.
type BusyError struct {
	Dir   string
	Procs []Proc
}

func (e *BusyError) Error() string {
	ps := make([]string, len(e.Procs))
	for i, p := range e.Procs {
		ps[i] = p.String()
	}
	return fmt.Sprintf("%s: %v: %s", e.Dir, ErrBusy, strings.Join(ps, ", "))
}

func (e *BusyError) Unwrap() error { return ErrBusy }

// Enable enables ctrls for the children of the cgroup dir (writes
// "+CTRL" to its cgroup.subtree_control), skipping those already enabled.
// A controller missing from dir's cgroup.controllers is ErrNoController;
// processes in dir make it a *BusyError.
func Enable(dir string, ctrls []string) error {
	avail, err := readList(filepath.Join(dir, controllersFile))
	if err != nil {
		return err
	}
	on, err := readList(filepath.Join(dir, subtreeControlFile))
	if err != nil {
		return err
	}
	var want []string
	for _, c := range ctrls {
		switch {
		case !slices.Contains(avail, c):
			return fmt.Errorf("%s: %w: %s (available: %s)", dir, ErrNoController, c, listOrNone(avail))
		case !slices.Contains(on, c) && !slices.Contains(want, "+"+c):
			want = append(want, "+"+c)
		}
	}
	if len(want) == 0 {
		return nil
	}
	err = writeFile(filepath.Join(dir, subtreeControlFile), strings.Join(want, " "))
	if errors.Is(err, unix.EBUSY) {
		procs, _ := Procs(dir)
		return &BusyError{Dir: dir, Procs: procs}
	}
	return err
}

// Disable disables ctrls for the children of the cgroup dir. The kernel
// refuses while a child has one of them enabled for its own children.
func Disable(dir string, ctrls []string) error {
	if len(ctrls) == 0 {
		return nil
	}
	off := make([]string, len(ctrls))
	for i, c := range ctrls {
		off[i] = "-" + c
	}
	return writeFile(filepath.Join(dir, subtreeControlFile), strings.Join(off, " "))
}

// SubtreeControl returns the controllers enabled for the children of the
// cgroup dir.
func SubtreeControl(dir string) ([]string, error) {
	return readList(filepath.Join(dir, subtreeControlFile))
}

// Procs returns the processes in the cgroup dir itself (not in its
// children).
func Procs(dir string) ([]Proc, error) {
	b, err := os.ReadFile(filepath.Join(dir, procsFile))
	if err != nil {
		return nil, err
	}
	var out []Proc
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%s: pid %q: %w", filepath.Join(dir, procsFile), f, err)
		}
		comm, _ := os.ReadFile("/proc/" + f + "/comm")
		out = append(out, Proc{Pid: pid, Comm: strings.TrimSpace(string(comm))})
	}
	return out, nil
}

// Move moves the process pid, all its threads, into the cgroup dir; pid 0
// is the caller. The caller needs write access to cgroup.procs of dir and
// of the common ancestor of dir and the process's cgroup.
func Move(dir string, pid int) error {
	return writeFile(filepath.Join(dir, procsFile), strconv.Itoa(pid))
}

// Children returns the names of the child cgroups of dir, sorted.
func Children(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Lock takes an exclusive flock(2) on the cgroup directory dir, which
// serialises the processes that rearrange its children, and returns the
// function that releases it. The lock is advisory: it binds only those
// who take it.
func Lock(dir string) (unlock func(), err error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { unix.Close(fd) }, nil
}

// writeFile writes s to a cgroup file in one write(2): cgroup files take
// one value per write, and O_CREAT would be wrong for them (cgroupfs
// ignores O_TRUNC; plain files, in tests, need it).
func writeFile(name, s string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte(s)); err != nil {
		f.Close()
		return fmt.Errorf("write %q to %s: %w", s, name, err)
	}
	return f.Close()
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, " ")
}
