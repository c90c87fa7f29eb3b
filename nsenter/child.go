package nsenter

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is the forked half of Start: from the fork to the exec the
// children run on a copy of the caller's stack with no Go runtime behind
// them (only this thread was copied, and another thread may have held a
// runtime lock). Like the child half of package syscall's forkExec, they
// must not allocate, grow the stack, write a pointer or call anything but
// raw system calls and other nosplit functions: hence nosplit, which the
// linker checks for the stack, and no slice indexing that could panic
// (indexes are bounded by the loops' own conditions).

// forkJoin forks; the child joins the namespaces and never returns.
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

// intermediate runs in the first child. It makes itself non-dumpable
// before anything of the container's can see it: its memory is a copy of
// the caller's, owned by the host's user namespace, so once it is not
// dumpable no process of the container, root included, may ptrace it,
// open its /proc/PID/mem or take its descriptors (pidfd_getfd), and the
// fork below inherits that. Then setns, and a fork whose parent is the
// caller (CLONE_PARENT), which is what puts the new process in the pid
// namespace; it reports the new pid and exits.
//
//go:nosplit
//go:norace
func intermediate(j *join) {
	if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 0, 0, 0, 0, 0); e != 0 {
		fail(j, stepDumpable, uintptr(e), 0)
	}
	// One setns with a pidfd joins every namespace in flags atomically,
	// the user namespace first (kernel 5.8).
	if _, _, e := syscall.RawSyscall(unix.SYS_SETNS, j.pidfd, j.flags, 0); e != 0 {
		fail(j, stepSetns, uintptr(e), 0)
	}
	var pid uintptr
	var e syscall.Errno
	if j.clone3 {
		pid, _, e = syscall.RawSyscall(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&j.args)), unsafe.Sizeof(j.args), 0)
	} else {
		pid, _, e = syscall.RawSyscall6(unix.SYS_CLONE, unix.CLONE_PARENT|uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	}
	if e != 0 {
		fail(j, stepClone, uintptr(e), 0)
	}
	if pid != 0 {
		j.rec = [3]uint64{stepPid, uint64(pid), 0}
		syscall.RawSyscall(unix.SYS_WRITE, j.report, uintptr(unsafe.Pointer(&j.rec)), unsafe.Sizeof(j.rec))
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	joined(j)
}

// joined runs in the new process, inside every namespace: it becomes the
// command's process step by step and execs it. The steps are called one
// after the other from here to keep the chain of nosplit frames short.
//
//go:nosplit
//go:norace
func joined(j *join) {
	// A session of its own first: the caller's terminal is never this
	// process's controlling terminal, so nothing run in the container can
	// reach it through /dev/tty or push input into it with TIOCSTI.
	if _, _, e := syscall.RawSyscall(unix.SYS_SETSID, 0, 0, 0); e != 0 {
		fail(j, stepSetsid, uintptr(e), 0)
	}
	placeStdio(j)
	// The signal handling of a fresh exec, before any seccomp filter
	// could refuse the rt_sigaction and rt_sigprocmask it takes.
	RestoreSignals(&j.sa, &j.old)
	if j.remount {
		remount(j)
	}
	dropBounding(j)
	if j.uid != 0 {
		installFilter(j)
	}
	setIDs(j)
	if j.terminal {
		terminal(j)
	}
	changeDir(j)
	syscall.RawSyscall(unix.SYS_CLOSE_RANGE, 3, ^uintptr(0), unix.CLOSE_RANGE_CLOEXEC)
	if j.uid == 0 {
		installFilter(j)
	}
	execCommand(j)
}

// placeStdio moves the stdio descriptors above all others first, so that
// placing one cannot overwrite another still to be placed, then onto 0-2.
//
//go:nosplit
//go:norace
func placeStdio(j *join) {
	for i := 0; i < len(j.stdio); i++ {
		fd, _, e := syscall.RawSyscall(unix.SYS_FCNTL, uintptr(j.stdio[i]), unix.F_DUPFD_CLOEXEC, j.base)
		if e != 0 {
			fail(j, stepDup, uintptr(e), uintptr(i))
		}
		j.stdio[i] = int(fd)
	}
	for i := 0; i < len(j.stdio); i++ {
		if _, _, e := syscall.RawSyscall(unix.SYS_DUP3, uintptr(j.stdio[i]), uintptr(i), 0); e != 0 {
			fail(j, stepDup, uintptr(e), uintptr(i))
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
func remount(j *join) {
	if _, _, e := syscall.RawSyscall(unix.SYS_UNSHARE, unix.CLONE_NEWNS, 0, 0); e != 0 {
		fail(j, stepUnshare, uintptr(e), 0)
	}
	// Nothing mounted here propagates back to the caller's namespace.
	if _, _, e := syscall.RawSyscall6(unix.SYS_MOUNT, 0, uintptr(unsafe.Pointer(j.root)), 0,
		unix.MS_SLAVE|unix.MS_REC, 0, 0); e != 0 {
		fail(j, stepRemount, uintptr(e), 0)
	}
	const flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if _, _, e := syscall.RawSyscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(j.procType)), uintptr(unsafe.Pointer(j.proc)),
		uintptr(unsafe.Pointer(j.procType)), flags, 0, 0); e != 0 {
		fail(j, stepRemount, uintptr(e), 1)
	}
	if !j.remountSys {
		return
	}
	_, _, e := syscall.RawSyscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(j.sysfsType)), uintptr(unsafe.Pointer(j.sys)),
		uintptr(unsafe.Pointer(j.sysfsType)), flags, 0, 0)
	if e == unix.EPERM {
		_, _, e = syscall.RawSyscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(j.sysfsType)), uintptr(unsafe.Pointer(j.sys)),
			uintptr(unsafe.Pointer(j.sysfsType)), flags|unix.MS_RDONLY, 0, 0)
	}
	if e != 0 {
		fail(j, stepRemount, uintptr(e), 2)
	}
}

// dropBounding drops from the bounding set what j.keep does not hold;
// it needs CAP_SETPCAP, which setns gave, so it comes before the id
// change. Capabilities the kernel does not know (EINVAL) are not there.
//
//go:nosplit
//go:norace
func dropBounding(j *join) {
	for c := uintptr(0); c < 64; c++ {
		if j.keep&(1<<c) != 0 {
			continue
		}
		_, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0, 0, 0, 0)
		if e == unix.EINVAL {
			break
		}
		if e != 0 {
			fail(j, stepBounding, uintptr(e), c)
		}
	}
}

//go:nosplit
//go:norace
func installFilter(j *join) {
	if j.seccomp.Len == 0 {
		return
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER,
		uintptr(unsafe.Pointer(&j.seccomp)), 0, 0, 0); e != 0 {
		fail(j, stepSeccomp, uintptr(e), 0)
	}
}

// setIDs becomes the command's user. Until now the process is the
// caller's host uid, which the container does not map. The change of
// credentials also makes the process non-dumpable (fs.suid_dumpable), but
// a debugging setting of 1 would not: say so again.
//
//go:nosplit
//go:norace
func setIDs(j *join) {
	if j.clearGroups {
		if _, _, e := syscall.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
			fail(j, stepSetgroups, uintptr(e), 0)
		}
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETRESGID, j.gid, j.gid, j.gid); e != 0 {
		fail(j, stepSetgid, uintptr(e), 0)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETRESUID, j.uid, j.uid, j.uid); e != 0 {
		fail(j, stepSetuid, uintptr(e), 0)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 0, 0, 0, 0, 0); e != 0 {
		fail(j, stepDumpable, uintptr(e), 0)
	}
}

// terminal allocates a pty from the container's devpts as the command's
// user, sends its master to Start on j.sock, and makes the slave the
// controlling terminal and the stdio that j.tty names.
//
//go:nosplit
//go:norace
func terminal(j *join) {
	m, _, e := syscall.RawSyscall6(unix.SYS_OPENAT2, atFDCWD, uintptr(unsafe.Pointer(j.ptmx)),
		uintptr(unsafe.Pointer(&j.how)), unsafe.Sizeof(j.how), 0, 0)
	if e != 0 {
		fail(j, stepPtmx, uintptr(e), 0)
	}
	j.master = m
	if _, _, e := syscall.RawSyscall(unix.SYS_IOCTL, m, unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&j.zero))); e != 0 {
		fail(j, stepPtyUnlock, uintptr(e), 0)
	}
	// The caller's size now, before the command can ask for it.
	if j.winsize.Row > 0 && j.winsize.Col > 0 {
		if _, _, e := syscall.RawSyscall(unix.SYS_IOCTL, m, unix.TIOCSWINSZ, uintptr(unsafe.Pointer(&j.winsize))); e != 0 {
			fail(j, stepPtySize, uintptr(e), 0)
		}
	}
	slave, _, e := syscall.RawSyscall(unix.SYS_IOCTL, m, unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if e != 0 {
		fail(j, stepPtyPeer, uintptr(e), 0)
	}
	// The descriptor goes into the SCM_RIGHTS message prepared by
	// newJoin, at the data offset of its one header.
	if cmsg, d := j.cmsg, j.cmsgData; d >= 0 && d+4 <= len(cmsg) {
		*(*int32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(cmsg)), d)) = int32(m)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SENDMSG, j.sock, uintptr(unsafe.Pointer(&j.msg)), 0); e != 0 {
		fail(j, stepPtySend, uintptr(e), 0)
	}
	syscall.RawSyscall(unix.SYS_CLOSE, m, 0, 0)
	syscall.RawSyscall(unix.SYS_CLOSE, j.sock, 0, 0)
	if _, _, e := syscall.RawSyscall(unix.SYS_IOCTL, slave, unix.TIOCSCTTY, 0); e != 0 {
		fail(j, stepCtty, uintptr(e), 0)
	}
	for i := 0; i < len(j.tty); i++ {
		if !j.tty[i] {
			continue
		}
		if _, _, e := syscall.RawSyscall(unix.SYS_DUP3, slave, uintptr(i), 0); e != 0 {
			fail(j, stepDup, uintptr(e), uintptr(i))
		}
	}
	syscall.RawSyscall(unix.SYS_CLOSE, slave, 0, 0)
}

//go:nosplit
//go:norace
func changeDir(j *join) {
	_, _, e := syscall.RawSyscall(unix.SYS_CHDIR, uintptr(unsafe.Pointer(j.dir)), 0, 0)
	if e != 0 && j.dirElse != nil {
		_, _, e = syscall.RawSyscall(unix.SYS_CHDIR, uintptr(unsafe.Pointer(j.dirElse)), 0, 0)
	}
	if e != 0 {
		fail(j, stepChdir, uintptr(e), 0)
	}
}

// execCommand tries each candidate path in turn, like execvp: a missing
// or unusable one moves on, and the first other error stops.
//
//go:nosplit
//go:norace
func execCommand(j *join) {
	var last syscall.Errno
	var at uintptr
	for i := 0; i < len(j.paths); i++ {
		_, _, e := syscall.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(j.paths[i])),
			uintptr(unsafe.Pointer(unsafe.SliceData(j.argv))), uintptr(unsafe.Pointer(unsafe.SliceData(j.envp))))
		switch e {
		case unix.ENOENT, unix.ENOTDIR, unix.ESTALE, unix.ELOOP, unix.ENAMETOOLONG:
			if last == 0 {
				last, at = e, uintptr(i)
			}
			continue
		case unix.EACCES:
			last, at = e, uintptr(i)
			continue
		}
		last, at = e, uintptr(i)
		break
	}
	fail(j, stepExec, uintptr(last), at)
}

// atFDCWD is AT_FDCWD, -100.
const atFDCWD = ^uintptr(99)

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

// fail reports step, errno and index, and exits.
//
//go:nosplit
//go:norace
func fail(j *join, step, errno, index uintptr) {
	j.rec = [3]uint64{uint64(step), uint64(errno), uint64(index)}
	syscall.RawSyscall(unix.SYS_WRITE, j.report, uintptr(unsafe.Pointer(&j.rec)), unsafe.Sizeof(j.rec))
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
	}
}

// Socket's forked half.

// From the fork on, the child runs on a copy of the caller's stack with no
// Go runtime behind it (child.go says why): nosplit, raw system calls,
// no allocation, no pointer writes, no indexing. runtime's
// TestInitRuntimeCalls reads the compiled code of this file to hold it to
// that.

// forkSocket forks; the child makes the socket and never returns.
//
//go:nosplit
//go:norace
func forkSocket(j *sockJob) (uintptr, syscall.Errno) {
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
func socketChild(j *sockJob) {
	if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 0, 0, 0, 0, 0); e != 0 {
		sockFail(j, sockDumpable, e)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETNS, j.userns, unix.CLONE_NEWUSER, 0); e != 0 {
		sockFail(j, sockUserns, e)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETNS, j.netns, unix.CLONE_NEWNET, 0); e != 0 {
		sockFail(j, sockNetns, e)
	}
	fd, _, e := syscall.RawSyscall(unix.SYS_SOCKET, j.domain, j.typ, j.proto)
	if e != 0 {
		sockFail(j, sockSocket, e)
	}
	j.rights.fd = int32(fd)
	syscall.RawSyscall(unix.SYS_SENDMSG, j.sock, uintptr(unsafe.Pointer(&j.msg)), 0)
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
}

// sockFail sends the failed step and its errno, without a descriptor, and
// exits.
//
//go:nosplit
//go:norace
func sockFail(j *sockJob, step uintptr, e syscall.Errno) {
	j.rec[0], j.rec[1] = uint64(step), uint64(e)
	syscall.RawSyscall(unix.SYS_SENDMSG, j.sock, uintptr(unsafe.Pointer(&j.failMsg)), 0)
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
	}
}
