package nsenter

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

var (
	// ErrNotJoined reports an entry point that was not started by Start
	// (run directly, or without the constructor).
	ErrNotJoined = errors.New("not started inside the target's namespaces")
	// ErrNoCgo reports a ulxc built without cgo, which cannot join a user
	// namespace.
	ErrNoCgo = errors.New("joining namespaces needs ulxc built with cgo (CGO_ENABLED=1)")
)

// JoinError is a failure of the constructor: the step ("setns", "clone",
// "dumpable") and its errno.
type JoinError struct {
	Step  string
	Errno syscall.Errno
}

func (e *JoinError) Error() string { return e.Step + ": " + e.Errno.Error() }

func (e *JoinError) Unwrap() error { return e.Errno }

// The descriptors of the re-executed process that the constructor reads;
// Options.ExtraFiles follow them.
const (
	pidfdFD = 3
	syncFD  = 4
	// FirstExtraFD is the descriptor of Options.ExtraFiles[0] in the
	// joined process.
	FirstExtraFD = 5
)

const marker = "_ULXC_NSENTER"

// Options configure Start.
type Options struct {
	// Pidfd names the process whose namespaces are joined. Required.
	Pidfd int
	// Namespaces are the CLONE_NEW* flags of the namespaces to join.
	// Default (0): none, which is an error; see Differing.
	Namespaces uintptr
	// Entry is the hidden verb main dispatches in the joined process,
	// Args its arguments. Entry is required.
	Entry string
	Args  []string
	// Env is the joined process's environment; default empty.
	Env []string
	// Stdin, Stdout and Stderr are its stdio; default /dev/null.
	Stdin, Stdout, Stderr *os.File
	// ExtraFiles are passed on from FirstExtraFD.
	ExtraFiles []*os.File
	// CgroupFD, when positive, is a cgroup v2 directory the process
	// starts in (CLONE_INTO_CGROUP). Default: the caller's cgroup.
	CgroupFD int
}

// Start starts `/proc/self/exe Entry Args...` inside the namespaces of
// opts.Pidfd and returns it, a child of the caller. The process is running
// the Go side of ulxc by then; it must call Joined first.
func Start(opts Options) (*os.Process, error) {
	if !haveCgo {
		return nil, ErrNoCgo
	}
	if opts.Entry == "" || opts.Namespaces == 0 {
		return nil, errors.New("nsenter: no entry point or no namespaces")
	}
	pidfd, err := unix.Dup(opts.Pidfd)
	if err != nil {
		return nil, fmt.Errorf("dup pidfd: %w", err)
	}
	pf := os.NewFile(uintptr(pidfd), "pidfd")
	defer pf.Close()
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer syncR.Close()
	cmd := exec.Command("/proc/self/exe", append([]string{opts.Entry}, opts.Args...)...)
	cmd.Env = append(append([]string{}, opts.Env...),
		fmt.Sprintf("%s=%d,%d,%d", marker, pidfdFD, syncFD, opts.Namespaces))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	cmd.ExtraFiles = append([]*os.File{pf, syncW}, opts.ExtraFiles...)
	if opts.CgroupFD > 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: opts.CgroupFD}
	}
	err = cmd.Start()
	syncW.Close()
	if err != nil {
		return nil, fmt.Errorf("start joiner: %w", err)
	}
	line, rerr := bufio.NewReader(syncR).ReadString('\n')
	werr := cmd.Wait()
	pid, err := parseReport(line)
	if err != nil {
		if rerr != nil {
			return nil, fmt.Errorf("joiner: %v: %w", werr, ErrNotJoined)
		}
		return nil, err
	}
	// The new process is our child (CLONE_PARENT): it cannot be reaped
	// by anyone else, so its pid cannot be reused before we wait.
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil, fmt.Errorf("joined process %d: %w", pid, err)
	}
	return p, nil
}

// parseReport reads the constructor's line: "pid N" or "STEP ERRNO".
func parseReport(line string) (int, error) {
	step, num, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n <= 0 {
		return 0, fmt.Errorf("joiner: malformed report %q", line)
	}
	if step == "pid" {
		return n, nil
	}
	return 0, &JoinError{Step: step, Errno: syscall.Errno(n)}
}

// Joined reports whether this process was started by Start inside the
// target's namespaces: entry points call it first and refuse to run
// otherwise (ErrNotJoined).
func Joined() error {
	if !joined() {
		return ErrNotJoined
	}
	return nil
}

// namespaceFiles are the namespaces a container may have, in /proc/PID/ns.
var namespaceFiles = []struct {
	name string
	flag uintptr
}{
	{"user", unix.CLONE_NEWUSER},
	{"mnt", unix.CLONE_NEWNS},
	{"pid", unix.CLONE_NEWPID},
	{"uts", unix.CLONE_NEWUTS},
	{"ipc", unix.CLONE_NEWIPC},
	{"net", unix.CLONE_NEWNET},
	{"cgroup", unix.CLONE_NEWCGROUP},
}

// Differing returns the flags of the namespaces of pid that differ from
// the caller's. Joining a namespace one already shares is not a no-op: it
// needs CAP_SYS_ADMIN over the namespace's owner, which a container
// sharing the host's network namespace does not give.
func Differing(pid int) (uintptr, error) {
	var flags uintptr
	for _, ns := range namespaceFiles {
		var theirs, ours unix.Stat_t
		if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/"+ns.name, &theirs); err != nil {
			if errors.Is(err, unix.ENOENT) && ns.flag == unix.CLONE_NEWCGROUP {
				continue // kernels without cgroup namespaces
			}
			return 0, fmt.Errorf("%s namespace of %d: %w", ns.name, pid, err)
		}
		if err := unix.Stat("/proc/self/ns/"+ns.name, &ours); err != nil {
			return 0, fmt.Errorf("own %s namespace: %w", ns.name, err)
		}
		if theirs.Dev != ours.Dev || theirs.Ino != ours.Ino {
			flags |= ns.flag
		}
	}
	return flags, nil
}
