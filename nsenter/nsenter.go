package nsenter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"github.com/ulxc/ulxc/internal/rawproc"
	"golang.org/x/sys/unix"
)

// JoinError is a failure in the forked processes: the step ("setns",
// "clone", "setuid 1000", "exec /bin/foo"...) and its errno.
type JoinError struct {
	Step  string
	Errno syscall.Errno
}

func (e *JoinError) Error() string { return e.Step + ": " + e.Errno.Error() }

func (e *JoinError) Unwrap() error { return e.Errno }

// IsExec reports whether the failure was the exec of the command itself
// (every candidate path failed), as opposed to a step before it.
func (e *JoinError) IsExec() bool { return len(e.Step) >= 4 && e.Step[:4] == "exec" }

// Options configure Start.
type Options struct {
	// Pidfd names the process whose namespaces are joined. Required.
	Pidfd int
	// Namespaces are the CLONE_NEW* flags of the namespaces to join.
	// Required (0 is an error); see Differing.
	Namespaces uintptr
	// Argv is the command, Env its environment (default empty).
	// Required: Argv[0].
	Argv, Env []string
	// Paths are the files tried in turn for the exec, as execvp tries
	// each directory of PATH: one that is missing or not executable
	// moves on, any other error stops. Default: Argv[0] alone.
	Paths []string
	// UID and GID are the ids the command runs as, inside the joined
	// user namespace. Default 0.
	UID, GID uint32
	// ClearGroups empties the supplementary groups (setgroups), which
	// the joined user namespace must allow. Default: left as they are
	// (none are mapped, so the kernel shows them as the overflow gid).
	ClearGroups bool
	// Bounding is the bounding set the command keeps (a mask of
	// capability numbers); every other capability is dropped. Default
	// (0): all are dropped; pass ^uint64(0) to keep them.
	Bounding uint64
	// Seccomp is a filter installed before the exec (after the id change
	// for root, before it for any other user, while the process still has
	// CAP_SYS_ADMIN in the namespace). Default none.
	Seccomp []unix.SockFilter
	// Dir is the working directory; when it cannot be entered, DirElse
	// is tried, if set. Default "/".
	Dir, DirElse string
	// Stdin, Stdout and Stderr are the command's stdio; nil is /dev/null,
	// or the terminal's slave with Terminal.
	Stdin, Stdout, Stderr *os.File
	// Terminal allocates a pty from the joined mount namespace's devpts
	// (/dev/pts/ptmx), after the id change so that the slave belongs to
	// the user, sized Rows x Cols (unless 0). The slave becomes the
	// command's controlling terminal and each of its stdio that is nil;
	// Process.Pty is the master. Default: no terminal.
	Terminal   bool
	Rows, Cols uint16
	// CgroupFD, when positive, is a cgroup v2 directory the process
	// starts in (CLONE_INTO_CGROUP). Default: the caller's cgroup.
	CgroupFD int
	// Remount gives the process a mount namespace of its own, unshared
	// after the join, with a new proc on /proc, and a new sysfs on /sys
	// when Namespaces holds CLONE_NEWNET, so that they show the joined
	// pid and network namespaces (lxc-attach -R). It is for a caller
	// that does not join the mount namespace (Namespaces without
	// CLONE_NEWNS), whose /proc would show the caller's. Default off.
	Remount bool
}

// Process is a command started by Start, a child of the caller.
//
// It is not an os.Process: os.FindProcess probes the kernel's pidfd
// support with a fork of its own on first use, which cost attach a tenth
// of a millisecond. The pid is safe to signal without a pidfd: the
// process is the caller's child (CLONE_PARENT), so its pid cannot be
// reused before Wait reaps it, and Signal refuses once Wait has.
type Process struct {
	// Pid is the process's pid in the caller's pid namespace.
	Pid int
	// Pty is the terminal's master (Options.Terminal), non-blocking;
	// nil without one.
	Pty *os.File

	// mid is the intermediate process, also the caller's child. Start
	// does not wait for its exit, which takes a few hundred microseconds
	// after the new process has exec'd; Wait reaps it first, while the
	// command runs.
	mid    int
	mu     sync.Mutex
	reaped bool
}

// Signal sends sig to the process; os.ErrProcessDone once Wait has
// reaped it.
func (p *Process) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("nsenter: signal %v: not a syscall.Signal", sig)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return os.ErrProcessDone
	}
	return unix.Kill(p.Pid, s)
}

// Kill sends SIGKILL to the process.
func (p *Process) Kill() error { return p.Signal(os.Kill) }

// Wait reaps the intermediate, then waits for the process to exit, reaps
// it and returns how it ended. It waits without reaping first, so that a
// Signal running at the same time never reaches a reused pid.
func (p *Process) Wait() (unix.WaitStatus, error) { return p.wait(nil) }

// WaitForwarding is Wait, and until the process has exited each of sigs
// (at most four) that the caller receives goes on to the process rather
// than to the caller: on amd64 from a signal handler of package rawproc
// (forward.go), elsewhere, or while another WaitForwarding runs, through
// os/signal.
func (p *Process) WaitForwarding(sigs ...syscall.Signal) (unix.WaitStatus, error) {
	var f rawproc.Forward
	if len(sigs) > len(f.Sigs) {
		return 0, fmt.Errorf("nsenter: forward %d signals: at most %d", len(sigs), len(f.Sigs))
	}
	for i, s := range sigs {
		f.Sigs[i] = uintptr(s)
	}
	// The pidfd is taken while the process cannot have been reaped: only
	// Wait reaps it, and it is our child.
	pidfd, err := unix.PidfdOpen(p.Pid, 0)
	if err == nil {
		if rawproc.ArmForward(&f, pidfd) == 0 {
			armed := true
			disarm := func() {
				if armed {
					rawproc.DisarmForward(&f)
					armed = false
				}
			}
			ws, err := p.wait(disarm)
			disarm() // wait failed before the process exited
			unix.Close(pidfd)
			return ws, err
		}
		unix.Close(pidfd)
	}
	ch := make(chan os.Signal, 4)
	osSigs := make([]os.Signal, len(sigs))
	for i, s := range sigs {
		osSigs[i] = s
	}
	signal.Notify(ch, osSigs...)
	defer signal.Stop(ch)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-ch:
				_ = p.Signal(s)
			case <-done:
				return
			}
		}
	}()
	return p.wait(nil)
}

// wait is Wait; exited, when not nil, runs once the process has exited,
// before it is reaped.
func (p *Process) wait(exited func()) (unix.WaitStatus, error) {
	if p.mid > 0 {
		var mws unix.WaitStatus
		_, _ = wait4(p.mid, &mws)
		p.mid = 0
	}
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, p.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			return 0, fmt.Errorf("nsenter: wait for %d: %w", p.Pid, err)
		}
	}
	if exited != nil {
		exited()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var ws unix.WaitStatus
	if _, err := wait4(p.Pid, &ws); err != nil {
		return 0, fmt.Errorf("nsenter: wait for %d: %w", p.Pid, err)
	}
	p.reaped = true
	return ws, nil
}

// wait4 reaps pid, retrying on EINTR.
func wait4(pid int, ws *unix.WaitStatus) (int, error) {
	for {
		wpid, err := unix.Wait4(pid, ws, 0, nil)
		if err != unix.EINTR {
			return wpid, err
		}
	}
}

// Start runs a command inside the namespaces of opts.Pidfd, set up there
// by raw system calls from a fork of this process (doc.go), and returns
// it once it has exec'd, or the error of the step that failed.
func Start(opts Options) (_ *Process, err error) {
	if opts.Namespaces == 0 || len(opts.Argv) == 0 {
		return nil, errors.New("nsenter: no namespaces or no command")
	}
	if len(opts.Paths) == 0 {
		opts.Paths = opts.Argv[:1]
	}
	var files [3]*os.File
	for i, f := range []*os.File{opts.Stdin, opts.Stdout, opts.Stderr} {
		if f == nil {
			if f, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
				return nil, err
			}
			defer f.Close()
		}
		files[i] = f
	}
	// The report pipe, both ends close-on-exec, as bare descriptors. Not
	// os.Pipe: its ends would be set up for Go's poller, which a pipe read
	// once, when all it will hold is written (fork_amd64.go's forks have
	// ended by then), does not need; nor os.NewFile, whose fcntl and
	// finalizer (set, then cleared at the close) every attach paid twice.
	var rep [2]int
	if err := unix.Pipe2(rep[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("nsenter: report pipe: %w", err)
	}
	repR := rep[0]
	defer unix.Close(repR)
	// The report pipe and the pty socket must stay clear of 0-2, which
	// the new process fills.
	repW, err := aboveFD(rep[1], 3)
	if err != nil {
		return nil, err
	}
	closeW := func() {
		if repW >= 0 {
			unix.Close(repW)
			repW = -1
		}
	}
	defer closeW()
	var ptyParent, ptyChild *os.File
	if opts.Terminal {
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("nsenter: pty socket: %w", err)
		}
		ptyParent, ptyChild = os.NewFile(uintptr(pair[0]), "pty-parent"), os.NewFile(uintptr(pair[1]), "pty-child")
		defer ptyParent.Close()
		if ptyChild, err = above(ptyChild, 3); err != nil {
			return nil, err
		}
		defer func() { ptyChild.Close() }()
	}
	j, err := newJoin(opts, files, repW, ptyChild)
	if err != nil {
		return nil, err
	}
	mid, err := j.fork()
	closeW()
	if ptyChild != nil {
		ptyChild.Close()
	}
	runtime.KeepAlive(files)
	runtime.KeepAlive(j)
	if err != nil {
		return nil, fmt.Errorf("nsenter: fork: %w", err)
	}
	pid, jerr := readReport(fdReader(repR), j)
	if jerr != nil {
		// The intermediate has exited or is about to; the new process,
		// forked but failed at a later step, exits on its own.
		var ws unix.WaitStatus
		_, _ = wait4(mid, &ws)
		if pid > 0 {
			_, _ = wait4(pid, &ws)
		}
		return nil, jerr
	}
	// The new process is our child (CLONE_PARENT): it cannot be reaped
	// by anyone else, so its pid cannot be reused before we wait.
	p := &Process{Pid: pid, mid: mid}
	if opts.Terminal {
		if p.Pty, err = receivePty(ptyParent); err != nil {
			_ = p.Kill()
			_, _ = p.Wait()
			return nil, err
		}
	}
	return p, nil
}

// aboveFD returns fd if it is n or more, or else a close-on-exec duplicate
// that is, closing fd (also on failure).
func aboveFD(fd, n int) (int, error) {
	if fd >= n {
		return fd, nil
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, n)
	unix.Close(fd)
	if err != nil {
		return -1, fmt.Errorf("nsenter: %w", err)
	}
	return dup, nil
}

// fdReader reads a descriptor by plain system calls.
type fdReader int

func (fd fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(fd), p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
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

// receivePty receives the pty master the new process sent, and checks
// that it is one: what the process opened was the container's choice.
func receivePty(sock *os.File) (*os.File, error) {
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC|unix.MSG_DONTWAIT)
	if err != nil {
		return nil, fmt.Errorf("nsenter: receive pty: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("nsenter: receive pty: no descriptor")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("nsenter: receive pty: no descriptor")
	}
	if _, err := unix.IoctlGetInt(fds[0], unix.TIOCGPTN); err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("nsenter: receive pty: not a pty master: %w", err)
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("nsenter: receive pty: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "/dev/ptmx"), nil
}

// join is what the forked processes use, and the options they were
// made from, for their report.
type join struct {
	rawproc.Join
	opts Options
}

// stepName is the message of a failed step, with what the options say
// it was working on.
func stepName(step rawproc.Msg, index uint64, opts *Options) (string, bool) {
	switch step {
	case rawproc.MsgDumpable:
		return "make the process non-dumpable", true
	case rawproc.MsgSetns:
		return "setns", true
	case rawproc.MsgClone:
		return "clone", true
	case rawproc.MsgSetsid:
		return "setsid", true
	case rawproc.MsgDup:
		return "place stdio", true
	case rawproc.MsgBounding:
		return "drop capability " + strconv.FormatUint(index, 10) + " from the bounding set", true
	case rawproc.MsgSeccomp:
		return "install seccomp filter", true
	case rawproc.MsgSetgroups:
		return "setgroups", true
	case rawproc.MsgSetgid:
		return "setgid " + strconv.FormatUint(uint64(opts.GID), 10), true
	case rawproc.MsgSetuid:
		return "setuid " + strconv.FormatUint(uint64(opts.UID), 10), true
	case rawproc.MsgPtmx:
		return "allocate a pty in the container: open /dev/pts/ptmx", true
	case rawproc.MsgPtyUnlock:
		return "unlock pty", true
	case rawproc.MsgPtySize:
		return "set pty window size", true
	case rawproc.MsgPtyPeer:
		return "open pty peer", true
	case rawproc.MsgPtySend:
		return "send pty master", true
	case rawproc.MsgCtty:
		return "set controlling terminal", true
	case rawproc.MsgChdir:
		dir := opts.Dir
		if opts.DirElse != "" {
			dir = opts.DirElse
		}
		return "chdir " + dir, true
	case rawproc.MsgUnshareMount:
		return "unshare a mount namespace", true
	case rawproc.MsgRemount:
		return "mount " + [...]string{"/ as a slave", "proc on /proc", "sysfs on /sys"}[min(index, 2)], true
	case rawproc.MsgExec:
		if index < uint64(len(opts.Paths)) {
			return "exec " + opts.Argv[0] + " (" + opts.Paths[index] + ")", true
		}
		return "exec " + opts.Argv[0], true
	}
	return "", false
}

// readReport reads the records until EOF, which comes once the
// intermediate has exited and the new process has exec'd (the pipe is
// close-on-exec). It returns the new pid, and the first failure. The new
// process's failure may come before or after the intermediate's record
// of its pid (after, with rawproc's shared-memory forks), so a failure
// does not end the reading.
func readReport(r io.Reader, j *join) (int, error) {
	pid := 0
	var failure error
	var rec [24]byte // a rawproc.Failure
	for {
		if _, err := io.ReadFull(r, rec[:]); err != nil {
			switch {
			case err == io.EOF && (pid > 0 || failure != nil):
				return pid, failure
			case err == io.EOF:
				return 0, errors.New("nsenter: the forked process ended without a word")
			}
			return pid, fmt.Errorf("nsenter: read report: %w", err)
		}
		step := rawproc.Msg(binary.NativeEndian.Uint32(rec[:4]))
		errno, arg := binary.NativeEndian.Uint64(rec[8:]), binary.NativeEndian.Uint64(rec[16:])
		if step == rawproc.MsgPid {
			pid = int(arg)
			continue
		}
		if failure != nil {
			continue
		}
		name, ok := stepName(step, arg, &j.opts)
		if !ok {
			failure = fmt.Errorf("nsenter: malformed report %x", rec)
			continue
		}
		failure = &JoinError{Step: name, Errno: syscall.Errno(errno)}
	}
}

func newJoin(opts Options, files [3]*os.File, report int, ptySock *os.File) (*join, error) {
	j := &join{opts: opts, Join: rawproc.Join{Pidfd: uintptr(opts.Pidfd), Flags: opts.Namespaces,
		Report: rawproc.Report{FD: uintptr(report), Status: 127}, All: ^uint64(0), Terminal: opts.Terminal,
		Exec: rawproc.Exec{Bounding: true, Keep: opts.Bounding, UID: opts.UID, GID: opts.GID, SetGroups: opts.ClearGroups}}}
	maxFD := 2
	for i, f := range files {
		j.Stdio[i] = int(f.Fd())
		maxFD = max(maxFD, j.Stdio[i])
	}
	maxFD = max(maxFD, int(j.Report.FD))
	j.Tty = [3]bool{opts.Stdin == nil, opts.Stdout == nil, opts.Stderr == nil}
	if !opts.Terminal {
		j.Tty = [3]bool{}
	}
	if ptySock != nil {
		j.Sock = ptySock.Fd()
		maxFD = max(maxFD, int(j.Sock))
	}
	j.Base = uintptr(maxFD + 1)
	if len(opts.Seccomp) > 0 {
		j.Filter = unix.SockFprog{Len: uint16(len(opts.Seccomp)), Filter: &opts.Seccomp[0]}
	}
	var err error
	dir := opts.Dir
	if dir == "" {
		dir = "/"
	}
	if j.Dir, err = syscall.BytePtrFromString(dir); err != nil {
		return nil, fmt.Errorf("nsenter: directory %q: %w", dir, err)
	}
	if opts.DirElse != "" {
		if j.DirElse, err = syscall.BytePtrFromString(opts.DirElse); err != nil {
			return nil, fmt.Errorf("nsenter: directory %q: %w", opts.DirElse, err)
		}
	}
	if j.Paths, err = cStrings(opts.Paths); err != nil {
		return nil, err
	}
	j.Paths = j.Paths[:len(j.Paths)-1]
	if j.Argv, err = cStrings(opts.Argv); err != nil {
		return nil, err
	}
	if j.Envp, err = cStrings(opts.Env); err != nil {
		return nil, err
	}
	if opts.Terminal {
		j.Ptmx, _ = syscall.BytePtrFromString("/dev/pts/ptmx")
		// No symlink and no magic link: the container's root chose what
		// is there; a FIFO or anything else fails the checks below.
		j.How = unix.OpenHow{Flags: unix.O_RDWR | unix.O_NOCTTY | unix.O_CLOEXEC | unix.O_NONBLOCK,
			Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
		j.Winsize = unix.Winsize{Row: opts.Rows, Col: opts.Cols}
		copy(j.Text[:], "pty")
		j.Iov = unix.Iovec{Base: &j.Text[0]}
		j.Iov.SetLen(3)
		j.Cmsg, j.CmsgData = unix.UnixRights(0), unix.CmsgLen(0)
		j.Msg = unix.Msghdr{Iov: &j.Iov, Control: &j.Cmsg[0]}
		j.Msg.Iovlen = 1
		j.Msg.SetControllen(len(j.Cmsg))
	}
	if opts.Remount {
		j.Remount, j.RemountSys = true, opts.Namespaces&unix.CLONE_NEWNET != 0
		j.Root, _ = syscall.BytePtrFromString("/")
		j.Proc, _ = syscall.BytePtrFromString("/proc")
		j.Sys, _ = syscall.BytePtrFromString("/sys")
		j.ProcType, _ = syscall.BytePtrFromString("proc")
		j.SysfsType, _ = syscall.BytePtrFromString("sysfs")
	}
	// clone3 refuses an exit signal with CLONE_PARENT: the child gets the
	// caller's, SIGCHLD (the intermediate's), as with clone(2).
	j.Args = rawproc.CloneArgs{Flags: unix.CLONE_PARENT}
	if opts.CgroupFD > 0 {
		j.Clone3 = true
		j.Args.Flags |= unix.CLONE_INTO_CGROUP
		j.Args.Cgroup = uint64(opts.CgroupFD)
	}
	rawproc.PrepareJoin(&j.Join)
	return j, nil
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

// fork forks the intermediate process (rawproc.ForkJoin, which blocks
// every signal around the fork) and returns its pid, holding
// syscall.ForkLock as os/exec's forks do.
func (j *join) fork() (int, error) {
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	pid, e := rawproc.ForkJoin(&j.Join)
	if e != 0 {
		return 0, e
	}
	return int(pid), nil
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
func Differing(pid int) (uintptr, error) { return DifferingBeyond(pid, 0) }

// DifferingBeyond is Differing for a process whose namespaces in known
// are known to differ (the container's init made them): it returns known
// with the flags of the other namespaces that differ, and spares the two
// stats of /proc per namespace that Differing takes.
func DifferingBeyond(pid int, known uintptr) (uintptr, error) {
	flags := known
	for _, ns := range namespaceFiles {
		if known&ns.flag != 0 {
			continue
		}
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
