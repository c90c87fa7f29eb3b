package nsenter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

var (
	// ErrNotJoined reports an entry point that was not started by Start
	// (run directly by hand, say).
	ErrNotJoined = errors.New("not started inside the target's namespaces")
	// ErrDynamic reports a dynamically linked ulxc (built with cgo): its
	// ELF interpreter would be looked up inside the container.
	ErrDynamic = errors.New("ulxc is dynamically linked, and the container has no use for the host's dynamic loader; build it with CGO_ENABLED=0")
)

// JoinError is a failure in the forked processes: the step ("setns",
// "clone", "dup", "capabilities", "exec") and its errno.
type JoinError struct {
	Step  string
	Errno syscall.Errno
}

func (e *JoinError) Error() string { return e.Step + ": " + e.Errno.Error() }

func (e *JoinError) Unwrap() error { return e.Errno }

// FirstExtraFD is the descriptor of Options.ExtraFiles[0] in the joined
// process; 0, 1 and 2 are its stdio.
const FirstExtraFD = 3

// marker is set in the joined process's environment by Start; Joined
// checks and removes it.
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

// Start starts `ulxc Entry Args...` (this executable) inside the
// namespaces of opts.Pidfd and returns it, a child of the caller. The new
// process must call Joined first. See doc.go for how.
func Start(opts Options) (*os.Process, error) {
	if opts.Entry == "" || opts.Namespaces == 0 {
		return nil, errors.New("nsenter: no entry point or no namespaces")
	}
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("nsenter: open own executable: %w", err)
	}
	defer func() { exe.Close() }() // exe may be replaced by a duplicate below
	if err := checkStatic(exe); err != nil {
		return nil, err
	}
	var files []*os.File
	for _, f := range []*os.File{opts.Stdin, opts.Stdout, opts.Stderr} {
		if f == nil {
			if f, err = os.Open(os.DevNull); err != nil {
				return nil, err
			}
			defer f.Close()
		}
		files = append(files, f)
	}
	files = append(files, opts.ExtraFiles...)
	repR, repW, err := os.Pipe() // both close-on-exec
	if err != nil {
		return nil, err
	}
	defer repR.Close()
	// The new process's descriptors 0 to len(files)-1 are put in place
	// before it execs exe and while it may still report on repW: those
	// two must not be among them.
	if exe, err = above(exe, len(files)); err != nil {
		repW.Close()
		return nil, err
	}
	if repW, err = above(repW, len(files)); err != nil {
		return nil, err
	}
	j, err := newJoin(opts, exe, files, repW)
	if err != nil {
		repW.Close()
		return nil, err
	}
	mid, err := j.fork()
	repW.Close()
	runtime.KeepAlive(files)
	if err != nil {
		return nil, fmt.Errorf("nsenter: fork: %w", err)
	}
	pid, jerr := readReport(repR)
	// The intermediate process has exited or is about to.
	var ws unix.WaitStatus
	for {
		_, werr := unix.Wait4(mid, &ws, 0, nil)
		if werr != unix.EINTR {
			break
		}
	}
	if jerr != nil {
		if pid > 0 { // forked, but its exec failed: it exits on its own
			_, _ = unix.Wait4(pid, &ws, 0, nil)
		}
		return nil, jerr
	}
	// The new process is our child (CLONE_PARENT): it cannot be reaped
	// by anyone else, so its pid cannot be reused before we wait.
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil, fmt.Errorf("joined process %d: %w", pid, err)
	}
	return p, nil
}

// above returns f if its descriptor is n or more, or else a close-on-exec
// duplicate that is, closing f.
func above(f *os.File, n int) (*os.File, error) {
	if int(f.Fd()) >= n {
		return f, nil
	}
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, n)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("nsenter: %w", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// CheckStatic refuses the executable at path when it has an ELF
// interpreter (ErrDynamic): a process that execs it inside a container's
// mount namespace would find no loader there.
func CheckStatic(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("nsenter: %w", err)
	}
	defer f.Close()
	return checkStatic(f)
}

// checkStatic refuses an executable with an ELF interpreter: the exec
// happens inside the container's mount namespace, where the kernel would
// look for it. It reads the program headers by hand: debug/elf would
// bring compress/zlib and zstd into every ulxc process for this one check.
func checkStatic(exe *os.File) error {
	var ident [16]byte
	if _, err := exe.ReadAt(ident[:], 0); err != nil {
		return fmt.Errorf("nsenter: read own executable: %w", err)
	}
	if string(ident[:4]) != "\x7fELF" {
		return errors.New("nsenter: own executable is not ELF")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if ident[5] == 2 { // ELFDATA2MSB
		bo = binary.BigEndian
	}
	// Where the program headers are, for ELFCLASS64 or ELFCLASS32.
	var phoff uint64
	var phentsize, phnum uint16
	var hdr [64]byte
	if _, err := exe.ReadAt(hdr[:], 0); err != nil {
		return fmt.Errorf("nsenter: read own executable: %w", err)
	}
	if ident[4] == 2 {
		phoff, phentsize, phnum = bo.Uint64(hdr[32:]), bo.Uint16(hdr[54:]), bo.Uint16(hdr[56:])
	} else {
		phoff, phentsize, phnum = uint64(bo.Uint32(hdr[28:])), bo.Uint16(hdr[42:]), bo.Uint16(hdr[44:])
	}
	if phentsize < 4 || phnum > 1024 {
		return errors.New("nsenter: own executable has malformed program headers")
	}
	ph := make([]byte, int(phentsize)*int(phnum))
	if _, err := exe.ReadAt(ph, int64(phoff)); err != nil {
		return fmt.Errorf("nsenter: read own program headers: %w", err)
	}
	const ptInterp = 3
	for i := 0; i < int(phnum); i++ {
		if bo.Uint32(ph[i*int(phentsize):]) == ptInterp {
			return fmt.Errorf("nsenter: %w", ErrDynamic)
		}
	}
	return nil
}

// The steps the forked processes report, as the first word of a record
// of two uint64s on the report pipe; the second is a pid or an errno.
const (
	stepPid = iota + 1
	stepSetns
	stepClone
	stepDup
	stepCaps
	stepExec
)

var stepNames = map[uint64]string{stepSetns: "setns", stepClone: "clone", stepDup: "dup", stepCaps: "capabilities", stepExec: "exec"}

// readReport reads the records until EOF, which comes once the
// intermediate has exited and the new process has exec'd (the pipe is
// close-on-exec). It returns the new pid, and the first failure.
func readReport(r io.Reader) (int, error) {
	pid := 0
	var rec [16]byte
	for {
		if _, err := io.ReadFull(r, rec[:]); err != nil {
			if err == io.EOF && pid > 0 {
				return pid, nil
			}
			if err == io.EOF {
				return 0, fmt.Errorf("nsenter: %w", ErrNotJoined)
			}
			return pid, fmt.Errorf("nsenter: read report: %w", err)
		}
		step, val := binary.NativeEndian.Uint64(rec[:8]), binary.NativeEndian.Uint64(rec[8:])
		if step == stepPid {
			pid = int(val)
			continue
		}
		name, ok := stepNames[step]
		if !ok {
			return pid, fmt.Errorf("nsenter: malformed report %x", rec)
		}
		return pid, &JoinError{Step: name, Errno: syscall.Errno(val)}
	}
}

// join holds everything the forked processes use, prepared beforehand:
// between the fork and the exec they may only make raw system calls.
type join struct {
	pidfd, flags uintptr
	exe          uintptr
	report       uintptr
	fds          []int // the new process's fd i is fds[i]
	base         uintptr
	argv, envp   []*byte
	empty        *byte
	clone3       bool
	args         CloneArgs
	all, old     uint64    // signal masks
	sa           [4]uint64 // a struct sigaction, zero for SIG_DFL
	rec          [2]uint64
	// The capabilities to keep across the exec (every one the kernel
	// knows): made inheritable with capHdr and capData, then ambient.
	lastCap uintptr
	capHdr  unix.CapUserHeader
	capData [2]unix.CapUserData
}

// CloneArgs is struct clone_args of clone3(2), up to cgroup.
type CloneArgs struct {
	Flags, Pidfd, ChildTID, ParentTID, ExitSignal, Stack, StackSize, TLS, SetTID, SetTIDSize, Cgroup uint64
}

func newJoin(opts Options, exe *os.File, files []*os.File, report *os.File) (*join, error) {
	j := &join{pidfd: uintptr(opts.Pidfd), flags: opts.Namespaces, exe: exe.Fd(), report: report.Fd(), all: ^uint64(0)}
	maxFD := len(files)
	for _, f := range files {
		fd := int(f.Fd())
		j.fds = append(j.fds, fd)
		maxFD = max(maxFD, fd)
	}
	j.base = uintptr(maxFD + 1)
	var err error
	if j.argv, err = cStrings(append([]string{"ulxc", opts.Entry}, opts.Args...)); err != nil {
		return nil, err
	}
	if j.envp, err = cStrings(append(append([]string{}, opts.Env...), marker+"=1")); err != nil {
		return nil, err
	}
	j.empty = &[]byte{0}[0]
	if j.lastCap, err = lastCap(); err != nil {
		return nil, err
	}
	j.capHdr.Version = unix.LINUX_CAPABILITY_VERSION_3
	for c := uintptr(0); c <= j.lastCap; c++ {
		d := &j.capData[c/32]
		d.Effective |= 1 << (c % 32)
		d.Permitted |= 1 << (c % 32)
		d.Inheritable |= 1 << (c % 32)
	}
	// clone3 refuses an exit signal with CLONE_PARENT: the child gets the
	// caller's, SIGCHLD (the intermediate's), as with clone(2).
	j.args = CloneArgs{Flags: unix.CLONE_PARENT}
	if opts.CgroupFD > 0 {
		j.clone3 = true
		j.args.Flags |= unix.CLONE_INTO_CGROUP
		j.args.Cgroup = uint64(opts.CgroupFD)
	}
	return j, nil
}

// lastCap is the highest capability the running kernel knows.
func lastCap() (uintptr, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("nsenter: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 || n > 63 {
		return 0, fmt.Errorf("nsenter: /proc/sys/kernel/cap_last_cap: bad value %q", b)
	}
	return uintptr(n), nil
}

// cStrings is a NULL-terminated array of NUL-terminated strings.
func cStrings(ss []string) ([]*byte, error) {
	out := make([]*byte, 0, len(ss)+1)
	for _, s := range ss {
		p, err := syscall.BytePtrFromString(s)
		if err != nil {
			return nil, fmt.Errorf("nsenter: %q: %w", s, err)
		}
		out = append(out, p)
	}
	return append(out, nil), nil
}

// fork forks the intermediate process with every signal blocked, so that
// no Go signal handler runs in a child that has no Go runtime, and returns
// its pid. The thread is locked so the mask is restored where it was set.
func (j *join) fork() (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	if _, _, e := syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
		uintptr(unsafe.Pointer(&j.all)), uintptr(unsafe.Pointer(&j.old)), 8, 0, 0); e != 0 {
		return 0, e
	}
	pid, e := forkJoin(j)
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&j.old)), 0, 8, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(pid), nil
}

// forkJoin forks; the child joins the namespaces and never returns.
//
// From the fork to the exec the children run on a copy of the caller's
// stack with no Go runtime behind them (only this thread was copied, and
// another thread may have held a runtime lock): like the child half of
// package syscall's forkExec, they must not allocate, grow the stack or
// call anything but raw system calls, hence nosplit.
//
//go:nosplit
//go:norace
func forkJoin(j *join) (uintptr, syscall.Errno) {
	pid, _, e := syscall.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 || pid != 0 {
		return pid, e
	}
	intermediate(j)
	return 0, 0 // not reached
}

// intermediate runs in the first child: setns, then a fork whose parent is
// the caller (CLONE_PARENT), which is what puts the new process in the pid
// namespace; it reports the new pid and exits.
//
//go:nosplit
//go:norace
func intermediate(j *join) {
	// One setns with a pidfd joins every namespace in flags atomically,
	// the user namespace first (kernel 5.8).
	if _, _, e := syscall.RawSyscall(unix.SYS_SETNS, j.pidfd, j.flags, 0); e != 0 {
		fail(j, stepSetns, uintptr(e))
	}
	var pid uintptr
	var e syscall.Errno
	if j.clone3 {
		pid, _, e = syscall.RawSyscall(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&j.args)), unsafe.Sizeof(j.args), 0)
	} else {
		pid, _, e = syscall.RawSyscall6(unix.SYS_CLONE, unix.CLONE_PARENT|uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	}
	if e != 0 {
		fail(j, stepClone, uintptr(e))
	}
	if pid != 0 {
		j.rec = [2]uint64{stepPid, uint64(pid)}
		syscall.RawSyscall(unix.SYS_WRITE, j.report, uintptr(unsafe.Pointer(&j.rec)), 16)
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	joined(j)
}

// joined runs in the new process: it puts the descriptors in place,
// restores the signal mask and execs this executable.
//
//go:nosplit
//go:norace
func joined(j *join) {
	// Move every descriptor above all of them first, so that placing
	// one cannot overwrite another still to be placed.
	for i := 0; i < len(j.fds); i++ {
		fd, _, e := syscall.RawSyscall(unix.SYS_FCNTL, uintptr(j.fds[i]), unix.F_DUPFD_CLOEXEC, j.base)
		if e != 0 {
			fail(j, stepDup, uintptr(e))
		}
		j.fds[i] = int(fd)
	}
	for i := 0; i < len(j.fds); i++ {
		if _, _, e := syscall.RawSyscall(unix.SYS_DUP3, uintptr(j.fds[i]), uintptr(i), 0); e != 0 {
			fail(j, stepDup, uintptr(e))
		}
	}
	// setns gave us every capability in the user namespace, but the
	// caller's uid is not mapped there, and an exec by an unmapped
	// (non-root) uid drops them all; ambient capabilities survive it. The
	// entry point becomes the user it runs as, then clears them.
	if _, _, e := syscall.RawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&j.capHdr)), uintptr(unsafe.Pointer(&j.capData[0])), 0); e != 0 {
		fail(j, stepCaps, uintptr(e))
	}
	for c := uintptr(0); c <= j.lastCap; c++ {
		if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, c, 0, 0, 0); e != 0 {
			fail(j, stepCaps, uintptr(e))
		}
	}
	RestoreSignals(&j.sa, &j.old)
	_, _, e := syscall.RawSyscall6(unix.SYS_EXECVEAT, j.exe, uintptr(unsafe.Pointer(j.empty)),
		uintptr(unsafe.Pointer(&j.argv[0])), uintptr(unsafe.Pointer(&j.envp[0])), unix.AT_EMPTY_PATH, 0)
	fail(j, stepExec, uintptr(e))
}

// RestoreSignals gives a process forked from a Go program, with every
// signal blocked and no Go runtime behind it, the signal handling of a
// fresh exec: Go's handlers back to the defaults (an ignored signal stays
// ignored, as across an exec), then mask as the signal mask. sa is
// scratch space for a struct sigaction, which must not be on the stack of
// a caller that may not grow it. The handler is the first word of the
// kernel's struct sigaction on every architecture but MIPS, where an
// ignored signal is reset too. Raw system calls only: safe between a
// fork and an exec.
//
//go:nosplit
//go:norace
func RestoreSignals(sa *[4]uint64, mask *uint64) {
	for sig := uintptr(1); sig <= 64; sig++ {
		if sig == uintptr(unix.SIGKILL) || sig == uintptr(unix.SIGSTOP) {
			continue
		}
		*sa = [4]uint64{}
		if _, _, e := syscall.RawSyscall6(unix.SYS_RT_SIGACTION, sig, 0, uintptr(unsafe.Pointer(sa)), 8, 0, 0); e != 0 || sa[0] == 1 {
			continue // not a signal, or SIG_IGN
		}
		*sa = [4]uint64{}
		syscall.RawSyscall6(unix.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(sa)), 0, 8, 0, 0)
	}
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(mask)), 0, 8, 0, 0)
}

// fail reports step and errno and exits.
//
//go:nosplit
//go:norace
func fail(j *join, step, errno uintptr) {
	j.rec = [2]uint64{uint64(step), uint64(errno)}
	syscall.RawSyscall(unix.SYS_WRITE, j.report, uintptr(unsafe.Pointer(&j.rec)), 16)
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
	}
}

// Joined reports whether this process was started by Start inside the
// target's namespaces: entry points call it first and refuse to run
// otherwise (ErrNotJoined). It removes the marker from the environment.
func Joined() error {
	if os.Getenv(marker) != "1" {
		return ErrNotJoined
	}
	os.Unsetenv(marker)
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
