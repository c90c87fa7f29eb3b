package rawproc

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is the forked half of nsenter's Start: from the fork to the
// exec the children run with no Go runtime behind them, under the
// package's rule (doc.go): on amd64 in the caller's memory, on stacks and
// thread-local blocks of their own (fork_amd64.go), elsewhere on a copy
// of the caller's memory and stack.

// ForkJoin starts the intermediate with every signal blocked, so that no
// Go signal handler runs in a child that has no Go runtime, and returns
// its pid; j.All must be the full mask. The mask is restored before it
// returns, on the same thread: all this function calls is nosplit and
// makes raw system calls only, and its own stack check runs at its entry,
// before the mask, so the goroutine meets no point where it could be
// preempted or moved to another thread (with every signal blocked, not
// even asynchronously). runtime.LockOSThread would buy nothing more, and
// its first use starts a thread, the runtime's template thread, that
// every attach paid for. It is not nosplit itself so that its frame is
// not counted in the children's nosplit budget (the objdump test's
// callerSide).
//
//go:norace
func ForkJoin(j *Join) (uintptr, syscall.Errno) {
	if _, _, e := syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
		uintptr(unsafe.Pointer(&j.All)), uintptr(unsafe.Pointer(&j.Old)), 8, 0, 0); e != 0 {
		return 0, e
	}
	pid, e := forkIntermediate(j)
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&j.Old)), 0, 8, 0, 0)
	return pid, e
}

// intermediate runs in the first child. It makes itself non-dumpable
// before anything of the container's can see it: its memory is the
// caller's (or a copy of it), owned by the host's user namespace, so once it is not
// dumpable no process of the container, root included, may ptrace it,
// open its /proc/PID/mem or take its descriptors (pidfd_getfd), and the
// fork below inherits that. Then setns, and a fork whose parent is the
// caller (CLONE_PARENT), which is what puts the new process in the pid
// namespace; it reports the new pid and exits.
//
//go:nosplit
//go:norace
func intermediate(j *Join) {
	if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 0, 0, 0, 0, 0); e != 0 {
		j.Report.fail(MsgDumpable, 0, 0, e)
	}
	// One setns with a pidfd joins every namespace in flags atomically,
	// the user namespace first (kernel 5.8).
	if _, _, e := syscall.RawSyscall(unix.SYS_SETNS, j.Pidfd, j.Flags, 0); e != 0 {
		j.Report.fail(MsgSetns, 0, 0, e)
	}
	pid, e := forkJoined(j)
	if e != 0 {
		j.Report.fail(MsgClone, 0, 0, e)
	}
	j.Report.rec = Failure{Msg: uint32(MsgPid), Arg: uint64(pid)}
	j.Report.write()
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
}

// joined runs in the new process, inside every namespace: it becomes the
// command's process step by step and execs it. The steps are called one
// after the other from here to keep the chain of nosplit frames short.
//
//go:nosplit
//go:norace
func joined(j *Join) {
	// A session of its own first: the caller's terminal is never this
	// process's controlling terminal, so nothing run in the container can
	// reach it through /dev/tty or push input into it with TIOCSTI.
	if _, _, e := syscall.RawSyscall(unix.SYS_SETSID, 0, 0, 0); e != 0 {
		j.Report.fail(MsgSetsid, 0, 0, e)
	}
	placeStdio(j)
	// The signal handling of a fresh exec, before any seccomp filter
	// could refuse the rt_sigaction and rt_sigprocmask it takes. With
	// CLONE_CLEAR_SIGHAND the kernel reset the handlers at the clone,
	// as RestoreSignals would with two system calls per signal.
	if j.HandlersCleared {
		syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&j.Old)), 0, 8, 0, 0)
	} else {
		RestoreSignals(&j.sa, &j.Old)
	}
	if j.Remount {
		remount(j)
	}
	j.Exec.becomeUser(&j.Report)
	// The pty comes from the container's devpts as the command's user,
	// so that the slave is the user's.
	if j.Terminal {
		terminal(j)
	}
	j.Exec.execute(&j.Report)
}

// placeStdio moves the stdio descriptors above all others first, so that
// placing one cannot overwrite another still to be placed, then onto 0-2.
//
//go:nosplit
//go:norace
func placeStdio(j *Join) {
	for i := 0; i < len(j.Stdio); i++ {
		fd, _, e := syscall.RawSyscall(unix.SYS_FCNTL, uintptr(j.Stdio[i]), unix.F_DUPFD_CLOEXEC, j.Base)
		if e != 0 {
			j.Report.fail(MsgDup, 0, uintptr(i), e)
		}
		j.Stdio[i] = int(fd)
	}
	for i := 0; i < len(j.Stdio); i++ {
		if _, _, e := syscall.RawSyscall(unix.SYS_DUP3, uintptr(j.Stdio[i]), uintptr(i), 0); e != 0 {
			j.Report.fail(MsgDup, 0, uintptr(i), e)
		}
	}
}

// remount unshares a mount namespace and mounts a new proc (and sysfs)
// over the caller's, as lxc-attach -R does, while the process still holds
// every capability in the joined user namespace, which owns the new mount
// namespace. The mounts the caller's namespace gave are locked together
// in it and cannot be unmounted one by one (the kernel hides what is
// under them from a less privileged namespace), so the new ones go on
// top. The kernel allows a new proc or sysfs there only as restrictive as
// a visible one (mount_too_revealing): nosuid, nodev, noexec, and
// read-only after EPERM for a read-only sysfs.
//
//go:nosplit
//go:norace
func remount(j *Join) {
	if _, _, e := syscall.RawSyscall(unix.SYS_UNSHARE, unix.CLONE_NEWNS, 0, 0); e != 0 {
		j.Report.fail(MsgUnshareMount, 0, 0, e)
	}
	// Nothing mounted here propagates back to the caller's namespace.
	if _, _, e := syscall.RawSyscall6(unix.SYS_MOUNT, 0, uintptr(unsafe.Pointer(j.Root)), 0,
		unix.MS_SLAVE|unix.MS_REC, 0, 0); e != 0 {
		j.Report.fail(MsgRemount, 0, 0, e)
	}
	const flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if _, _, e := syscall.RawSyscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(j.ProcType)), uintptr(unsafe.Pointer(j.Proc)),
		uintptr(unsafe.Pointer(j.ProcType)), flags, 0, 0); e != 0 {
		j.Report.fail(MsgRemount, 0, 1, e)
	}
	if !j.RemountSys {
		return
	}
	_, _, e := syscall.RawSyscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(j.SysfsType)), uintptr(unsafe.Pointer(j.Sys)),
		uintptr(unsafe.Pointer(j.SysfsType)), flags, 0, 0)
	if e == unix.EPERM {
		_, _, e = syscall.RawSyscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(j.SysfsType)), uintptr(unsafe.Pointer(j.Sys)),
			uintptr(unsafe.Pointer(j.SysfsType)), flags|unix.MS_RDONLY, 0, 0)
	}
	if e != 0 {
		j.Report.fail(MsgRemount, 0, 2, e)
	}
}

// terminal allocates a pty from the container's devpts as the command's
// user, sends its master to Start on j.sock, and makes the slave the
// controlling terminal and the stdio that j.tty names.
//
//go:nosplit
//go:norace
func terminal(j *Join) {
	m, _, e := syscall.RawSyscall6(unix.SYS_OPENAT2, atFDCWD, uintptr(unsafe.Pointer(j.Ptmx)),
		uintptr(unsafe.Pointer(&j.How)), unsafe.Sizeof(j.How), 0, 0)
	if e != 0 {
		j.Report.fail(MsgPtmx, 0, 0, e)
	}
	j.master = m
	if _, _, e := syscall.RawSyscall(unix.SYS_IOCTL, m, unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&j.zero))); e != 0 {
		j.Report.fail(MsgPtyUnlock, 0, 0, e)
	}
	// The caller's size now, before the command can ask for it.
	if j.Winsize.Row > 0 && j.Winsize.Col > 0 {
		if _, _, e := syscall.RawSyscall(unix.SYS_IOCTL, m, unix.TIOCSWINSZ, uintptr(unsafe.Pointer(&j.Winsize))); e != 0 {
			j.Report.fail(MsgPtySize, 0, 0, e)
		}
	}
	slave, _, e := syscall.RawSyscall(unix.SYS_IOCTL, m, unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if e != 0 {
		j.Report.fail(MsgPtyPeer, 0, 0, e)
	}
	// The descriptor goes into the SCM_RIGHTS message prepared by
	// newJoin, at the data offset of its one header.
	if cmsg, d := j.Cmsg, j.CmsgData; d >= 0 && d+4 <= len(cmsg) {
		*(*int32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(cmsg)), d)) = int32(m)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SENDMSG, j.Sock, uintptr(unsafe.Pointer(&j.Msg)), 0); e != 0 {
		j.Report.fail(MsgPtySend, 0, 0, e)
	}
	syscall.RawSyscall(unix.SYS_CLOSE, m, 0, 0)
	syscall.RawSyscall(unix.SYS_CLOSE, j.Sock, 0, 0)
	if _, _, e := syscall.RawSyscall(unix.SYS_IOCTL, slave, unix.TIOCSCTTY, 0); e != 0 {
		j.Report.fail(MsgCtty, 0, 0, e)
	}
	for i := 0; i < len(j.Tty); i++ {
		if !j.Tty[i] {
			continue
		}
		if _, _, e := syscall.RawSyscall(unix.SYS_DUP3, slave, uintptr(i), 0); e != 0 {
			j.Report.fail(MsgDup, 0, uintptr(i), e)
		}
	}
	syscall.RawSyscall(unix.SYS_CLOSE, slave, 0, 0)
}

// RestoreSignals gives a process forked from a Go program, with every
// signal blocked and no Go runtime behind it, the signal handling of a
// fresh exec: Go's handlers back to the defaults (an ignored signal stays
// ignored, as across an exec), then mask as the signal mask. sa is
// scratch space for a struct sigaction, which must not be on the stack of
// a caller that may not grow it; nil when the handlers are the defaults
// already (CLONE_CLEAR_SIGHAND), and only the mask is set. The handler is the first word of the
// kernel's struct sigaction on every architecture but MIPS, where an
// ignored signal is reset too. Raw system calls only: safe between a
// fork and an exec.
//
//go:nosplit
//go:norace
func RestoreSignals(sa *[4]uint64, mask *uint64) {
	for sig := uintptr(1); sa != nil && sig <= 64; sig++ {
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

// Socket's forked half.

// From the fork on, the child runs on a copy of the caller's stack with no
// Go runtime behind it, under the package's rule (doc.go).

// forkSocket forks; the child makes the socket and never returns.
//
//go:nosplit
//go:norace
func ForkSocket(j *SocketJob) (uintptr, syscall.Errno) {
	pid, _, e := syscall.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 || pid != 0 {
		return pid, e
	}
	socketChild(j)
	return 0, 0 // not reached
}

// socketChild is non-dumpable before it joins anything (its memory is a
// copy of the caller's, and once in the container's user namespace its
// root would hold CAP_SYS_PTRACE over it), then joins, makes the socket
// and sends it.
//
//go:nosplit
//go:norace
func socketChild(j *SocketJob) {
	if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 0, 0, 0, 0, 0); e != 0 {
		sockFail(j, SockDumpable, e)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETNS, j.Userns, unix.CLONE_NEWUSER, 0); e != 0 {
		sockFail(j, SockUserns, e)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETNS, j.Netns, unix.CLONE_NEWNET, 0); e != 0 {
		sockFail(j, SockNetns, e)
	}
	fd, _, e := syscall.RawSyscall(unix.SYS_SOCKET, j.Domain, j.Type, j.Proto)
	if e != 0 {
		sockFail(j, SockSocket, e)
	}
	j.Rights.fd = int32(fd)
	syscall.RawSyscall(unix.SYS_SENDMSG, j.Sock, uintptr(unsafe.Pointer(&j.Msg)), 0)
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
}

// sockFail sends the failed step and its errno, without a descriptor, and
// exits.
//
//go:nosplit
//go:norace
func sockFail(j *SocketJob, step uintptr, e syscall.Errno) {
	j.Rec[0], j.Rec[1] = uint64(step), uint64(e)
	syscall.RawSyscall(unix.SYS_SENDMSG, j.Sock, uintptr(unsafe.Pointer(&j.FailMsg)), 0)
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
	}
}
