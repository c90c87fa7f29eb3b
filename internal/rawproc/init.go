package rawproc

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is init: the child that runtime's spawnInit clones from the
// supervisor, which sets up the container from a Plan and execs the
// container's process. It is not a Go program of its own and follows the
// package's rule (doc.go). Everything it needs was prepared in the plan by
// runtime's compileInit. A failure is a report record on fd initErrorFD
// (runtime's describe turns it into the error the user sees) and exit.

// childEntry is where init starts (cloneVM's assembly, or StartChild).
//
//go:nosplit
//go:norace
func childEntry(p *Plan) {
	p.Report = Report{FD: initErrorFD, Status: 1}
	childMain(p)
}

// childMain is init, from the fork to the exec of the container's
// process. Its steps are called one after the other from here, to keep
// the deepest chain of calls within what nosplit allows.
//
//go:nosplit
//go:norace
func childMain(p *Plan) {
	placeFDs(p)
	// A session of its own before anything else: the caller's terminal
	// is never the controlling terminal of init, of its hooks or of the
	// container's process, so nothing in the container can reach it
	// through /dev/tty or type into the caller's shell with TIOCSTI.
	if _, _, e := syscall.RawSyscall6(unix.SYS_SETSID, 0, 0, 0, 0, 0, 0); e != 0 {
		fail(p, MsgSetsid, 0, 0, e)
	}
	// The OOM score is written while init is still the user, whose
	// /proc/self files are its own; once it is container root and not
	// dumpable they belong to the host's root. (spawnInit never shares
	// memory with an init that sets it: the kernel would set the
	// supervisor's too.)
	if len(p.OOM) > 0 {
		writeFile(p, p.OOMPath, p.OOM, MsgOOM)
	}
	prepareChild(p)
	if p.Late != 0 {
		if _, _, e := syscall.RawSyscall6(unix.SYS_UNSHARE, p.Late, 0, 0, 0, 0, 0); e != 0 {
			fail(p, MsgUnshare, 0, 0, e)
		}
	}
	if len(p.StopNS.Paths) > 0 {
		sendNamespaces(p, &p.StopNS)
	}
	if p.NetPhase {
		sendNamespaces(p, &p.NetNS)
	}
	enter(p)
	initFault(p)
	for i := 0; i < len(p.Sysctls); i++ {
		writeFile(p, p.Sysctls[i].Path, p.Sysctls[i].Value, p.Sysctls[i].Msg)
	}
	if e := rawMount(nil, p.Slash, nil, unix.MS_SLAVE|unix.MS_REC, nil); e != 0 {
		fail(p, MsgSlave, 0, 0, e)
	}
	if p.Hooks[HooksPreMount].Run {
		forkHooks(p, HooksPreMount, p.Rootfs)
	}
	if p.Overlay == nil {
		bindRootfs(p)
	} else if p.Overlay.Fuse {
		mountFuse(p)
	} else {
		if p.Overlay.Tmpfs {
			tmpfsUpper(p)
		}
		mountOverlay(p)
	}
	// An ephemeral copy's clone hooks see its root as the copy was made,
	// as they would right after the copy: in a mount namespace of their
	// own, taken before anything is mounted in the root, and before the
	// copy's name is written in. The last one runs beside what init does
	// next, until awaitCloneHook.
	if p.Hooks[HooksClone].Run {
		p.nameAfterHooks = p.Overlay != nil && p.Overlay.HostnameFile != nil
		forkHooks(p, HooksClone, p.Root)
	} else if p.Overlay != nil && p.Overlay.HostnameFile != nil {
		writeHostname(p, p.Root, 0)
	}
	for i := 0; i < len(p.Mounts); i++ {
		mountOne(p, i)
	}
	if mountedAt(p, p.DevTmp) {
		makeDevLinks(p)
	}
	if p.Console {
		consoles(p)
	}
	if p.NewNet {
		loopbackUp(p)
	}
	if p.Hooks[HooksMount].Run {
		awaitCloneHook(p)
		forkHooks(p, HooksMount, expose(p))
	}
	for i := 0; i < len(p.Masked); i++ {
		maskPath(p, i)
	}
	for i := 0; i < len(p.Readonly); i++ {
		readonlyPath(p, i)
	}
	pivotRoot(p)
	if p.RootRO {
		remountRootRO(p)
	}
	identity(p)
	if p.NetPhase {
		awaitNetwork(p)
	}
	awaitCloneHook(p)
	if p.Hooks[HooksStart].Run {
		forkHooks(p, HooksStart, -1)
	}
	execProcess(p)
}

// placeFDs puts the inherited descriptors where init expects them: every
// one above all of them first, so that placing one cannot overwrite
// another still to be placed. All but stdio close on exec.
//
//go:nosplit
//go:norace
func placeFDs(p *Plan) {
	fds := p.FDs
	for i := 0; i < len(fds); i++ {
		fd, _, e := syscall.RawSyscall6(unix.SYS_FCNTL, uintptr(fds[i]), unix.F_DUPFD_CLOEXEC, p.Base, 0, 0, 0)
		if e != 0 {
			fail(p, MsgPlaceFD, 0, uintptr(i), e)
		}
		fds[i] = int(fd)
	}
	for i := 0; i < len(fds); i++ {
		flags := uintptr(unix.O_CLOEXEC)
		if i <= 2 {
			flags = 0
		}
		if _, _, e := syscall.RawSyscall6(unix.SYS_DUP3, uintptr(fds[i]), uintptr(i), flags, 0, 0, 0); e != 0 {
			fail(p, MsgPlaceFD, 0, uintptr(i), e)
		}
	}
	// Nothing else of the supervisor's: its end of the sync pipe above
	// all, whose EOF tells init that the supervisor is gone.
	syscall.RawSyscall6(unix.SYS_CLOSE_RANGE, InitFDs, ^uintptr(0), 0, 0, 0, 0)
}

// prepareChild opens, with the user's own credentials, what container
// root may not reach: the root filesystem and the bind sources, which
// live under the user's 0700 directories.
//
//go:nosplit
//go:norace
func prepareChild(p *Plan) {
	if p.Overlay != nil {
		openOverlay(p)
	}
	fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(p.RootfsPath)),
		unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		fail(p, MsgRootfs, 0, 0, e)
	}
	p.Rootfs = int(fd)
	for i := 0; i < len(p.Mounts); i++ {
		m := &p.Mounts[i]
		if !m.Bind {
			continue
		}
		fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(m.Source)),
			unix.O_PATH|unix.O_CLOEXEC, 0, 0, 0)
		if e != 0 {
			if m.Optional {
				continue
			}
			fail(p, m.Msg, OpSource, 0, e)
		}
		m.SrcFD = int(fd)
	}
}

// enter waits for the supervisor's go-ahead (the id maps are written) and
// becomes root of the user namespace, as userns.Enter does.
//
//go:nosplit
//go:norace
func enter(p *Plan) {
	var b [1]byte
	n, _, e := syscall.RawSyscall6(unix.SYS_READ, syncFD, uintptr(unsafe.Pointer(&b[0])), 1, 0, 0, 0)
	if e != 0 {
		fail(p, MsgEnterRead, 0, 0, e)
	}
	if n != 1 || b[0] != p.GoAhead {
		fail(p, MsgEnterGoAhead, 0, 0, 0)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_SETRESGID, 0, 0, 0, 0, 0, 0); e != 0 {
		fail(p, MsgEnterSetgid, 0, 0, e)
	}
	// Supplementary groups the user had are not mapped; drop them where
	// the namespace allows setgroups (a single-id map denies it).
	if n, _, _ := syscall.RawSyscall6(unix.SYS_GETGROUPS, 0, 0, 0, 0, 0, 0); n > 0 {
		if _, _, e := syscall.RawSyscall6(unix.SYS_SETGROUPS, 0, 0, 0, 0, 0, 0); e != 0 && e != unix.EPERM {
			fail(p, MsgEnterSetgroups, 0, 0, e)
		}
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_SETRESUID, 0, 0, 0, 0, 0, 0); e != 0 {
		fail(p, MsgEnterSetuid, 0, 0, e)
	}
	// A change of credentials clears the parent-death signal, so it is
	// set now. A supervisor that died before has closed its end of the
	// sync pipe, which it holds until init has exec'd: check for that.
	if e := rawPrctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL)); e != 0 {
		fail(p, MsgDeathSignal, 0, 0, e)
	}
	p.poll = unix.PollFd{Fd: syncFD, Events: unix.POLLIN}
	if n, _, _ := syscall.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&p.poll)), 1,
		uintptr(unsafe.Pointer(&p.noWait)), 0, 0, 0); n == 1 && p.poll.Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
		fail(p, MsgParentGone, 0, 0, 0)
	}
	// Never dumpable until the exec: init's memory is the supervisor's
	// (shared under CLONE_VM, else a copy), owned by the host's user
	// namespace, so while it is not dumpable no process of the
	// container, root and its hooks included, may ptrace init, open its
	// /proc/PID/mem or take its descriptors. The id change above made it
	// so (fs.suid_dumpable), unless that is set to 1 for debugging.
	if e := rawPrctl(unix.PR_SET_DUMPABLE, 0); e != 0 {
		fail(p, MsgEnterDumpable, 0, 0, e)
	}
}

// writeFile writes value to the existing file at path (a sysctl, the OOM
// score), reporting msg on failure.
//
//go:nosplit
//go:norace
func writeFile(p *Plan, path *byte, value []byte, msg Msg) {
	fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(path)),
		unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		fail(p, msg, 0, 0, e)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(value))), uintptr(len(value)), 0, 0, 0); e != 0 {
		fail(p, msg, 0, 0, e)
	}
	syscall.RawSyscall6(unix.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
}

// bindRootfs makes the root filesystem a mount of its own (a recursive
// clone of it moved on top of itself); p.root is a descriptor of the new
// mount's root. The clone is made from the descriptor opened before
// enter, because container root cannot walk the user's directories.
//
//go:nosplit
//go:norace
func bindRootfs(p *Plan) {
	tree, _, e := syscall.RawSyscall6(unix.SYS_OPEN_TREE, uintptr(p.Rootfs), uintptr(unsafe.Pointer(p.Empty)),
		unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_EMPTY_PATH, 0, 0, 0)
	if e != 0 {
		fail(p, MsgBindRootfsClone, 0, 0, e)
	}
	if e := moveMount(p, int(tree), p.Rootfs); e != 0 {
		fail(p, MsgBindRootfsAttach, 0, 0, e)
	}
	p.Root = int(tree)
}

//go:nosplit
//go:norace
func moveMount(p *Plan, from, to int) syscall.Errno {
	_, _, e := syscall.RawSyscall6(unix.SYS_MOVE_MOUNT, uintptr(from), uintptr(unsafe.Pointer(p.Empty)), uintptr(to),
		uintptr(unsafe.Pointer(p.Empty)), unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH, 0)
	return e
}

// mountOne makes the plan's mount i. A failure of an optional one leaves
// it out; p.mounted records the ones made.
//
//go:nosplit
//go:norace
func mountOne(p *Plan, i int) {
	mounts := p.Mounts
	if uint(i) >= uint(len(mounts)) {
		return
	}
	m := &mounts[i]
	if m.Requires >= 0 && !mountedAt(p, m.Requires) || mountedAt(p, m.Unless) {
		return
	}
	if m.Bind && m.SrcFD < 0 {
		if m.Optional {
			return
		}
		fail(p, m.Msg, OpSource, 0, unix.ENOENT)
	}
	file := m.Create == CreateFile
	if m.Create == CreateAuto && m.Bind && rawFstat(p, m.SrcFD) == 0 && p.st.Mode&unix.S_IFMT != unix.S_IFDIR {
		file = true
	}
	target, e := resolveInRoot(p, &m.Dest, file)
	if e == 0 {
		e = mountAt(p, m, target)
	}
	if e == 0 && (m.Remount != 0 || len(m.Propagation) > 0) {
		e = afterMount(p, m)
	}
	if e != 0 {
		if m.Optional {
			return
		}
		failPath(p, m.Msg, e)
	}
	if mounted := p.Mounted; uint(i) < uint(len(mounted)) {
		mounted[i] = true
	}
}

// mountedAt reports whether the plan's mount i was made; false for -1.
//
//go:nosplit
//go:norace
func mountedAt(p *Plan, i int) bool {
	mounted := p.Mounted
	return uint(i) < uint(len(mounted)) && mounted[i]
}

// mountAt mounts m onto the descriptor target, and closes it.
//
//go:nosplit
//go:norace
func mountAt(p *Plan, m *Mount, target int) syscall.Errno {
	var e syscall.Errno
	switch {
	case m.Bind:
		e = rawMount(fdPath(&p.pathA, m.SrcFD), fdPath(&p.pathB, target), nil, unix.MS_BIND|m.Flags&unix.MS_REC, nil)
	case m.HostSys != nil:
		// sysfs without a network namespace of our own: the host's,
		// read-only (compileMounts).
		e = rawMount(m.HostSys, fdPath(&p.pathB, target), nil, unix.MS_BIND|unix.MS_REC, nil)
	default:
		e = rawMount(m.Source, fdPath(&p.pathB, target), m.Fstype, m.Flags, m.Data)
		if e == unix.EINVAL && m.AltData != nil {
			// gid=5 (tty) is EINVAL when gid 5 is not mapped.
			e = rawMount(m.Source, &p.pathB[0], m.Fstype, m.Flags, m.AltData)
		}
	}
	syscall.RawSyscall6(unix.SYS_CLOSE, uintptr(target), 0, 0, 0, 0, 0)
	return result(p, OpNone, 0, e)
}

// afterMount remounts and sets the propagation of what m mounted: the
// target descriptor still names the covered directory, so the mount is
// opened again.
//
//go:nosplit
//go:norace
func afterMount(p *Plan, m *Mount) syscall.Errno {
	top, e := openInRoot(p, p.Root, m.Dest.Full, unix.O_PATH)
	if e != 0 {
		return e
	}
	if m.Remount != 0 {
		e = remountBind(p, top, m.Remount)
	}
	prop := m.Propagation
	for k := 0; k < len(prop) && e == 0; k++ {
		if e = rawMount(nil, fdPath(&p.pathB, top), nil, prop[k], nil); e != 0 {
			result(p, OpPropagation, 0, e)
		}
	}
	syscall.RawSyscall6(unix.SYS_CLOSE, uintptr(top), 0, 0, 0, 0, 0)
	return e
}

// result records what a step did on a path when it failed, and the path
// component (^0 for the whole path) or flags, for failPath; it returns
// errno.
//
//go:nosplit
//go:norace
func result(p *Plan, op Op, arg uintptr, errno syscall.Errno) syscall.Errno {
	p.resOp, p.resArg = op, arg
	return errno
}

// openInRoot opens path inside root as if root were "/", absolute
// symlinks included, never through /proc magic links.
//
//go:nosplit
//go:norace
func openInRoot(p *Plan, root int, path *byte, flags uint64) (int, syscall.Errno) {
	p.how = unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Resolve: inRoot}
	fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT2, uintptr(root), uintptr(unsafe.Pointer(path)),
		uintptr(unsafe.Pointer(&p.how)), unsafe.Sizeof(p.how), 0, 0)
	if e != 0 {
		return -1, result(p, OpOpen, ^uintptr(0), e)
	}
	return int(fd), 0
}

// resolveInRoot returns an O_PATH descriptor of rp inside p.root, a
// directory unless file. What is missing is created one component at a
// time, directories with mode 0755 and a missing file empty (mode 0), to
// mount onto. A component that exists is followed only as it resolves
// inside the root; a component it creates is opened without following
// symlinks, so a symlink swapped in cannot send the mount elsewhere, and
// a file that is a symlink (a dangling one the container left there) is
// refused. The system calls are made here rather than through
// openInRoot, to keep the chain of nosplit calls short.
//
//go:nosplit
//go:norace
func resolveInRoot(p *Plan, rp *Path, file bool) (int, syscall.Errno) {
	names, prefixes := rp.Names, rp.Prefixes
	n := len(names)
	dirs := n // components that are directories
	p.how = unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: inRoot}
	if file {
		dirs = n - 1
		p.how.Flags = unix.O_PATH | unix.O_CLOEXEC
	}
	fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT2, uintptr(p.Root), uintptr(unsafe.Pointer(rp.Full)),
		uintptr(unsafe.Pointer(&p.how)), unsafe.Sizeof(p.how), 0, 0)
	if e != unix.ENOENT || n == 0 {
		return int(fd), result(p, OpOpen, ^uintptr(0), e)
	}
	cur, _, e := syscall.RawSyscall6(unix.SYS_OPENAT2, uintptr(p.Root), uintptr(unsafe.Pointer(p.Slash)),
		uintptr(unsafe.Pointer(&p.how)), unsafe.Sizeof(p.how), 0, 0)
	if e != 0 {
		return -1, result(p, OpOpen, ^uintptr(0), e)
	}
	for k := 0; k < len(names) && k < len(prefixes); k++ {
		p.how = unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: inRoot}
		op := OpOpen
		e = unix.ENOENT
		if k < dirs {
			fd, _, e = syscall.RawSyscall6(unix.SYS_OPENAT2, uintptr(p.Root), uintptr(unsafe.Pointer(prefixes[k])),
				uintptr(unsafe.Pointer(&p.how)), unsafe.Sizeof(p.how), 0, 0)
		}
		if e == unix.ENOENT {
			if k < dirs {
				op = OpMkdir
				_, _, e = syscall.RawSyscall6(unix.SYS_MKDIRAT, cur, uintptr(unsafe.Pointer(names[k])), 0o755, 0, 0, 0)
			} else {
				op = OpCreate
				p.how.Flags = unix.O_PATH | unix.O_CLOEXEC
				_, _, e = syscall.RawSyscall6(unix.SYS_MKNODAT, cur, uintptr(unsafe.Pointer(names[k])), unix.S_IFREG, 0, 0, 0)
			}
			if e == 0 || e == unix.EEXIST {
				op = OpOpen
				p.how.Flags |= unix.O_NOFOLLOW
				p.how.Resolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS
				fd, _, e = syscall.RawSyscall6(unix.SYS_OPENAT2, cur, uintptr(unsafe.Pointer(names[k])),
					uintptr(unsafe.Pointer(&p.how)), unsafe.Sizeof(p.how), 0, 0)
			}
		}
		syscall.RawSyscall6(unix.SYS_CLOSE, cur, 0, 0, 0, 0, 0)
		if e != 0 {
			return -1, result(p, op, uintptr(k), e)
		}
		cur = fd
	}
	if file {
		// O_PATH|O_NOFOLLOW opens a symlink itself.
		if e = rawFstat(p, int(cur)); e == 0 && p.st.Mode&unix.S_IFMT == unix.S_IFLNK {
			e = unix.ELOOP
		}
		if e != 0 {
			syscall.RawSyscall6(unix.SYS_CLOSE, cur, 0, 0, 0, 0, 0)
			return -1, result(p, OpOpen, uintptr(n-1), e)
		}
	}
	return int(cur), 0
}

// remountBind changes the flags of the bind mount at fd (a descriptor of
// the mount's root), keeping the locked ones it has: clearing them is
// EPERM in a user namespace. Atime flags are taken as they are unless
// flags sets one.
//
//go:nosplit
//go:norace
func remountBind(p *Plan, fd int, flags uintptr) syscall.Errno {
	if _, _, e := syscall.RawSyscall6(unix.SYS_FSTATFS, uintptr(fd), uintptr(unsafe.Pointer(&p.stfs)), 0, 0, 0, 0); e != 0 {
		return result(p, OpStatfs, 0, e)
	}
	cur := statfsToMS(int64(p.stfs.Flags)) // int64 on most, uint32 on s390x
	keep := cur & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY)
	if flags&(unix.MS_NOATIME|unix.MS_RELATIME|unix.MS_STRICTATIME|unix.MS_NODIRATIME) == 0 {
		keep |= cur & (unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	}
	return result(p, OpRemount, flags|keep, rawMount(nil, fdPath(&p.pathB, fd), nil, unix.MS_REMOUNT|unix.MS_BIND|flags|keep, nil))
}

// statfsToMS turns statfs flags into the mount flags they stand for.
//
//go:nosplit
//go:norace
func statfsToMS(st int64) uintptr {
	var f uintptr
	for i := 0; i < len(statfsMountFlags); i++ {
		if st&statfsMountFlags[i].st != 0 {
			f |= statfsMountFlags[i].ms
		}
	}
	return f
}

var statfsMountFlags = [...]struct {
	st int64
	ms uintptr
}{
	{unix.ST_RDONLY, unix.MS_RDONLY}, {unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV},
	{unix.ST_NOEXEC, unix.MS_NOEXEC}, {unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME},
	{unix.ST_RELATIME, unix.MS_RELATIME},
}

// makeDevLinks makes the standard links in /dev, once a tmpfs is there.
//
//go:nosplit
//go:norace
func makeDevLinks(p *Plan) {
	dev, e := openInRoot(p, p.Root, p.DevDir, unix.O_DIRECTORY|unix.O_RDONLY)
	if e != 0 {
		failPath(p, MsgDevDir, e)
	}
	links := p.Links
	for i := 0; i < len(links); i++ {
		_, _, e := syscall.RawSyscall6(unix.SYS_SYMLINKAT, uintptr(unsafe.Pointer(links[i].Target)), uintptr(dev),
			uintptr(unsafe.Pointer(links[i].Name)), 0, 0, 0)
		if e != 0 && e != unix.EEXIST {
			fail(p, links[i].Msg, 0, 0, e)
		}
	}
	syscall.RawSyscall6(unix.SYS_CLOSE, uintptr(dev), 0, 0, 0, 0, 0)
}

// consoles allocates /dev/console and the ttys from the container's own
// devpts, binds each pty's peer over its node, sizes the console, and
// sends the masters to the supervisor on initPtyFD with their names. The
// console's peer stays open in p.consoleSlave for execProcess.
//
//go:nosplit
//go:norace
func consoles(p *Plan) {
	ttys, masters := p.Ttys, p.Masters
	for i := 0; i < len(ttys) && i < len(masters); i++ {
		master, e := openInRoot(p, p.Root, p.Ptmx, unix.O_RDWR|unix.O_NOCTTY)
		if e != 0 {
			failPath(p, p.TtyMsg+Msg(i), e)
		}
		masters[i] = int32(master)
		if _, _, e := syscall.RawSyscall6(unix.SYS_IOCTL, uintptr(master), unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&p.zero)), 0, 0, 0); e != 0 {
			fail(p, p.TtyMsg+Msg(i), OpUnlock, 0, e)
		}
		slave, _, e := syscall.RawSyscall6(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0, 0, 0)
		if e != 0 {
			fail(p, p.TtyMsg+Msg(i), OpPeer, 0, e)
		}
		target, e := resolveInRoot(p, &ttys[i], true)
		if e == 0 {
			e = result(p, OpBind, 0, rawMount(fdPath(&p.pathA, int(slave)), fdPath(&p.pathB, target), nil, unix.MS_BIND, nil))
			syscall.RawSyscall6(unix.SYS_CLOSE, uintptr(target), 0, 0, 0, 0, 0)
		}
		if e != 0 {
			failPath(p, p.TtyMsg+Msg(i), e)
		}
		if i > 0 {
			syscall.RawSyscall6(unix.SYS_CLOSE, slave, 0, 0, 0, 0, 0)
			continue
		}
		p.ConsoleSlave = int(slave)
		if p.Winsize.Row > 0 && p.Winsize.Col > 0 {
			if _, _, e := syscall.RawSyscall6(unix.SYS_IOCTL, slave, unix.TIOCSWINSZ, uintptr(unsafe.Pointer(&p.Winsize)), 0, 0, 0); e != 0 {
				fail(p, p.TtyMsg, OpSize, 0, e)
			}
		}
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_SENDMSG, initPtyFD, uintptr(unsafe.Pointer(&p.PtyMsg)), 0, 0, 0, 0); e != 0 {
		fail(p, MsgSendPtys, 0, 0, e)
	}
	for i := 0; i < len(masters); i++ {
		syscall.RawSyscall6(unix.SYS_CLOSE, uintptr(masters[i]), 0, 0, 0, 0, 0)
	}
}

// loopbackUp sets lo up in the container's new network namespace.
//
//go:nosplit
//go:norace
func loopbackUp(p *Plan) {
	s, _, e := syscall.RawSyscall6(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0, 0, 0, 0)
	if e != 0 {
		fail(p, MsgLoopback, 0, 0, e)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_IOCTL, s, unix.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&p.Ifr)), 0, 0, 0); e != 0 {
		fail(p, MsgLoopback, 0, 0, e)
	}
	*(*uint16)(unsafe.Pointer(&p.Ifr[unix.IFNAMSIZ])) |= unix.IFF_UP
	if _, _, e := syscall.RawSyscall6(unix.SYS_IOCTL, s, unix.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&p.Ifr)), 0, 0, 0); e != 0 {
		fail(p, MsgLoopback, 0, 0, e)
	}
	syscall.RawSyscall6(unix.SYS_CLOSE, s, 0, 0, 0, 0, 0)
}

// sendNamespaces sends namespaces of init's to the supervisor: for the
// network phase its new network namespace and the user namespace that
// owns it, which the helpers it starts join by these descriptors; for
// the stop hooks all of them. Init opens them itself, before enter,
// while it is still dumpable: the supervisor could not open them through
// /proc/PID once init is container root and not dumpable, nor once the
// container's process has exited, and needs no pid for them.
//
//go:nosplit
//go:norace
func sendNamespaces(p *Plan, s *NSSend) {
	paths, fds := s.Paths, s.FDs
	for i := 0; i < len(paths) && i < len(fds); i++ {
		fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(paths[i])),
			unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
		if e != 0 {
			fail(p, s.OpenMsg+Msg(i), 0, 0, e)
		}
		fds[i] = int32(fd)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_SENDMSG, initNetFD, uintptr(unsafe.Pointer(&s.Msg)), 0, 0, 0, 0); e != 0 {
		fail(p, s.SendMsg, 0, 0, e)
	}
	for i := 0; i < len(fds); i++ {
		syscall.RawSyscall6(unix.SYS_CLOSE, uintptr(fds[i]), 0, 0, 0, 0, 0)
	}
}

// awaitNetwork waits for the supervisor's go-ahead: the interfaces of
// the network phase are up. A supervisor that gave up closed its end.
//
//go:nosplit
//go:norace
func awaitNetwork(p *Plan) {
	var b [1]byte
	n, _, e := syscall.RawSyscall6(unix.SYS_READ, initNetFD, uintptr(unsafe.Pointer(&b[0])), 1, 0, 0, 0)
	if e != 0 {
		fail(p, MsgNetRead, 0, 0, e)
	}
	if n != 1 || b[0] != p.GoAhead {
		fail(p, MsgNetGoAhead, 0, 0, 0)
	}
}

// expose moves the root filesystem's mount onto LXC's rootfs mount point
// when the host has one (see Plan.Expose), for the mount hooks, and
// returns the root's descriptor for their fd 3, or -1 when it was moved;
// the hooks are told which one worked.
//
//go:nosplit
//go:norace
func expose(p *Plan) int {
	p.Exposed = -1
	for i := 0; i < len(p.Expose); i++ {
		fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(p.Expose[i])),
			unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0, 0, 0)
		if e != 0 {
			continue
		}
		e = moveMount(p, p.Root, int(fd))
		syscall.RawSyscall6(unix.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
		if e == 0 {
			p.Exposed = i
			break
		}
	}
	if p.Exposed >= 0 {
		return -1
	}
	return p.Root
}

// forkHooks runs the hooks of kind one after the other, in init's
// namespaces and as container root, each a fork of init that execs the
// hook's program (hookChild), and waits for each, up to its time limit.
// Nothing of the host runs beside them: a hook, or anything it leaves
// behind, can reach no process of ulxc's (init is not dumpable and its
// memory belongs to the host's user namespace) and holds none of init's
// descriptors. A hook that fails (exits non-zero, is killed, runs out of
// time) fails the start: the report names it by its index.
//
//go:nosplit
//go:norace
func forkHooks(p *Plan, kind, rootfs int) {
	if uint(kind) >= uint(len(p.Hooks)) {
		return
	}
	h := &p.Hooks[kind]
	for i := 0; i < len(h.Progs); i++ {
		hp := &h.Progs[i]
		if OwnStack && p.HookArgs.Stack == 0 {
			// The hook would run on init's own stack (runtime's
			// forkInit gives it one).
			fail(p, hp.Msg, OpFork, 0, unix.EINVAL)
		}
		p.hook = hookJob{kind: kind, prog: i, rootfs: rootfs}
		p.hookReport = Report{FD: p.Report.FD, Status: p.Report.Status}
		last := kind == HooksClone && i == len(h.Progs)-1
		flags := p.HookArgs.Flags
		if kind == HooksClone {
			// A mount namespace of the hook's own, made by the clone,
			// before init goes on: its copy of the root's mount is
			// its working directory (ownRoot).
			e := enterRootFor(p)
			if e != 0 {
				fail(p, hp.Msg, OpFork, 0, e)
			}
			p.HookArgs.Flags |= unix.CLONE_NEWNS
		}
		if last {
			// Init goes on at once, not once the hook has exec'd: the
			// hook's stack is no longer init's to use until
			// awaitCloneHook, nor are p.hook, p.hookReport and p.sa.
			p.HookArgs.Flags &^= unix.CLONE_VFORK
		}
		pid, e := forkHook(&p.HookArgs, unsafe.Sizeof(p.HookArgs), p)
		p.HookArgs.Flags = flags
		if kind == HooksClone {
			leaveRoot(p)
		}
		if e != 0 {
			fail(p, hp.Msg, OpFork, 0, syscall.Errno(e))
		}
		if last {
			p.cloneHook = hookRun{pid: pid, prog: i}
			return
		}
		waitHook(p, hp, pid)
	}
}

// waitHook waits for the hook hp, pid, up to its time limit, and fails
// init if it failed.
//
//go:nosplit
//go:norace
func waitHook(p *Plan, hp *Hook, pid uintptr) {
	op := OpWait
	if hp.Limited && !waitLimited(p, pid, &hp.Timeout) {
		op = OpTimeout
		syscall.RawSyscall6(unix.SYS_KILL, pid, uintptr(unix.SIGKILL), 0, 0, 0, 0)
	}
	for {
		_, _, e := syscall.RawSyscall6(unix.SYS_WAIT4, pid, uintptr(unsafe.Pointer(&p.hookStatus)), 0, 0, 0, 0)
		if e != unix.EINTR {
			if e != 0 {
				fail(p, hp.Msg, OpWait, 0, e)
			}
			break
		}
	}
	if op == OpTimeout {
		fail(p, hp.Msg, op, uintptr(hp.Timeout.Sec), 0)
	}
	if p.hookStatus != 0 {
		fail(p, hp.Msg, op, uintptr(uint32(p.hookStatus)), 0)
	}
}

// An ephemeral copy's clone hooks (forkHooks' HooksClone) run in order
// but the last (the only one, in LXC's configs: clonehostname), which
// runs beside init's mounts, until awaitCloneHook: it was the whole of
// an ephemeral start's extra cost on a Debian root. Each hook gets a
// mount namespace of its own (enterRootFor), copied before init
// mounts anything in the root, so that it sees none of init's mounts,
// as lxc-copy's hooks see none, and init's pivot_root, which moves
// every process of its namespace into the container's root, leaves it
// where it was. The copy's name is written in after the hooks
// (writeHostname, as LXC does): through the root itself when no mount
// of init's is on the way (RESOLVE_NO_XDEV), else through a copy of
// the root's mount alone, on which nothing of init's is mounted. That
// copy was once made for every start with a clone hook; its removal
// (an expedited RCU grace period) cost 0.07 ms before the exec.

// awaitCloneHook waits for the clone hook that forkHooks left
// running, and fails init as forkHooks does if it failed; then it
// writes the copy's name in. Init calls it before anything it does
// could see what the hook writes: the mount hooks, the start hooks, the
// exec. Its time limit counts from the wait. While the hook runs, init
// opens /etc/hostname for writing, which copies it up into the upper
// layer (0.07 ms on a Debian root), so that the write after the hook
// only writes. The copy-up changes nothing the hook could see but the
// layer the file is in.
//
//go:nosplit
//go:norace
func awaitCloneHook(p *Plan) {
	if run := p.cloneHook; run.pid != 0 {
		p.cloneHook = hookRun{}
		if p.nameAfterHooks {
			if fd, e := openHostname(p, p.Root, unix.RESOLVE_NO_XDEV); e == 0 {
				syscall.RawSyscall6(unix.SYS_CLOSE, uintptr(fd), 0, 0, 0, 0, 0)
			}
		}
		h := &p.Hooks[HooksClone]
		if uint(run.prog) < uint(len(h.Progs)) {
			waitHook(p, &h.Progs[run.prog], run.pid)
		}
	}
	if p.nameAfterHooks {
		p.nameAfterHooks = false
		if writeHostname(p, p.Root, unix.RESOLVE_NO_XDEV) == unix.EXDEV {
			fd, _, e := syscall.RawSyscall6(unix.SYS_OPEN_TREE, uintptr(p.Root), uintptr(unsafe.Pointer(p.Empty)),
				unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH, 0, 0, 0)
			if e != 0 {
				fail(p, MsgOverlayHostname, 0, 0, e)
			}
			writeHostname(p, int(fd), 0)
			syscall.RawSyscall6(unix.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
		}
	}
}

// waitLimited waits for the child pid to exit, up to timeout; false when
// the time ran out.
//
//go:nosplit
//go:norace
func waitLimited(p *Plan, pid uintptr, timeout *unix.Timespec) bool {
	pidfd, _, e := syscall.RawSyscall6(unix.SYS_PIDFD_OPEN, pid, 0, 0, 0, 0, 0)
	if e != 0 {
		return true // wait without a limit
	}
	p.poll = unix.PollFd{Fd: int32(pidfd), Events: unix.POLLIN}
	var n uintptr
	for {
		n, _, e = syscall.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&p.poll)), 1, uintptr(unsafe.Pointer(timeout)), 0, 0, 0)
		if e != unix.EINTR {
			break
		}
	}
	syscall.RawSyscall6(unix.SYS_CLOSE, pidfd, 0, 0, 0, 0, 0)
	return e != 0 || n > 0
}

// hookRun is a hook that runs: its pid and its index in Progs.
type hookRun struct {
	pid  uintptr
	prog int
}

// hookJob is the hook that forkHook's child becomes: Progs[prog] of
// Hooks[kind], with rootfs as its fd 3. Indexes, not pointers: init
// writes it, and a pointer written to the heap takes the Go runtime's
// write barrier.
type hookJob struct {
	kind, prog, rootfs int
	cwd                int // init's working directory, for a clone hook (enterRootFor)
}

// hookEntry is where forkHook's child starts.
//
//go:nosplit
//go:norace
func hookEntry(p *Plan) {
	j := p.hook
	if uint(j.kind) >= uint(len(p.Hooks)) {
		return
	}
	h := &p.Hooks[j.kind]
	if uint(j.prog) >= uint(len(h.Progs)) {
		return
	}
	hp := &h.Progs[j.prog]
	envp := hp.Envp
	if j.kind == HooksMount && p.Exposed >= 0 && p.Exposed < len(hp.ExposedEnvp) {
		envp = hp.ExposedEnvp[p.Exposed]
	}
	hookChild(p, hp, envp, j.rootfs)
}

// hookChild becomes a hook: the OCI state on stdin, the hook output pipe
// as stdout and stderr, rootfs (when not -1) as fd 3, and nothing else of
// init's; then the exec, trying each candidate path.
//
//go:nosplit
//go:norace
func hookChild(p *Plan, hp *Hook, envp []*byte, rootfs int) {
	if p.hook.kind == HooksClone {
		var e syscall.Errno
		if rootfs, e = ownRoot(p); e != 0 {
			p.hookReport.fail(hp.Msg, OpNone, 0, e)
		}
		if len(p.CloneNS.Paths) > 0 {
			sendCloneNS(&p.CloneNS)
		}
	}
	first := uintptr(3)
	if rootfs >= 0 {
		syscall.RawSyscall6(unix.SYS_DUP3, uintptr(rootfs), 3, 0, 0, 0, 0)
		first = 4
	}
	syscall.RawSyscall6(unix.SYS_DUP3, initStateFD, 0, 0, 0, 0, 0)
	syscall.RawSyscall6(unix.SYS_LSEEK, 0, 0, 0, 0, 0, 0) // the hooks share the state's offset
	syscall.RawSyscall6(unix.SYS_DUP3, initHookFD, 1, 0, 0, 0, 0)
	syscall.RawSyscall6(unix.SYS_DUP3, initHookFD, 2, 0, 0, 0, 0)
	// The error pipe stays open until the exec, for a failure of it.
	syscall.RawSyscall6(unix.SYS_CLOSE_RANGE, first, ^uintptr(0), unix.CLOSE_RANGE_CLOEXEC, 0, 0, 0)
	restoreSignals(p)
	e, _ := tryExec(hp.Paths, hp.Argv, envp)
	p.hookReport.fail(hp.Msg, OpExec, 0, e)
}

// sendCloneNS sends the clone hook's own mount namespace to the
// supervisor (Plan.CloneNS). The namespace holds a copy of every mount
// of init's: its last user tears them all down (an expedited RCU grace
// period among them), which took 0.12-0.18 ms from the hook's exit to
// init's wake on this VM. In the socket's queue, the descriptor keeps
// the namespace until the supervisor closes the socket, once init has
// exec'd; the supervisor never receives it (which woke it while the
// hook started, and cost the hook 0.13 ms). Nothing fails when it cannot
// be sent: the hook's exit tears the namespace down, as before.
//
//go:nosplit
//go:norace
func sendCloneNS(s *NSSend) {
	paths, fds := s.Paths, s.FDs
	if len(paths) == 0 || len(fds) == 0 {
		return
	}
	fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(paths[0])), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		return
	}
	fds[0] = int32(fd)
	syscall.RawSyscall6(unix.SYS_SENDMSG, initNetFD, uintptr(unsafe.Pointer(&s.Msg)), unix.MSG_DONTWAIT, 0, 0, 0)
	syscall.RawSyscall6(unix.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
}

// enterRootFor makes the root, p.hook's rootfs, init's working
// directory for the clone of a clone hook in a mount namespace of its
// own (CLONE_NEWNS): the clone moves the child's working directory to
// its copy of that mount, which ownRoot opens. Init's own working
// directory is kept in p.hook.cwd, for leaveRoot, unless container root
// may not enter it (a private directory of the caller's, which init
// leaves for the root then, as the mount hooks after it see).
//
//go:nosplit
//go:norace
func enterRootFor(p *Plan) syscall.Errno {
	cwd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(p.Dot)), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0)
	p.hook.cwd = -1
	if e == 0 {
		p.hook.cwd = int(cwd)
	}
	_, _, e = syscall.RawSyscall6(unix.SYS_FCHDIR, uintptr(p.hook.rootfs), 0, 0, 0, 0, 0)
	return e
}

// leaveRoot takes init back to its working directory after the clone.
//
//go:nosplit
//go:norace
func leaveRoot(p *Plan) {
	if p.hook.cwd >= 0 {
		syscall.RawSyscall6(unix.SYS_FCHDIR, uintptr(p.hook.cwd), 0, 0, 0, 0, 0)
		syscall.RawSyscall6(unix.SYS_CLOSE, uintptr(p.hook.cwd), 0, 0, 0, 0, 0)
	}
}

// ownRoot is the clone hook's side of enterRootFor: it returns its copy
// of the root (its working directory) and enters the caller's working
// directory, by its path in the hook's own mount namespace, or "/" when
// container root may not enter it (a home of mode 0700). Init's own
// working directory is no place for the hook: a directory of init's
// mount namespace, which the hook's getcwd(2) cannot reach (dash then
// walked up from it with getdents: 0.06 ms of the hook's run), and which
// fchdir(2) refused in a private directory, failing the start.
// The hook dies with init (its time limit may count only from
// awaitCloneHook).
//
//go:nosplit
//go:norace
func ownRoot(p *Plan) (int, syscall.Errno) {
	if e := rawPrctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL)); e != 0 {
		return -1, e
	}
	root, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(p.Dot)), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	if p.CloneDir != nil {
		_, _, e = syscall.RawSyscall6(unix.SYS_CHDIR, uintptr(unsafe.Pointer(p.CloneDir)), 0, 0, 0, 0, 0)
	}
	if p.CloneDir == nil || e != 0 {
		_, _, e = syscall.RawSyscall6(unix.SYS_CHDIR, uintptr(unsafe.Pointer(p.Slash)), 0, 0, 0, 0, 0)
	}
	return int(root), e
}

// maskPath hides masked path i: the host's /dev/null over a file, an
// empty read-only tmpfs over a directory. A missing path is fine.
//
//go:nosplit
//go:norace
func maskPath(p *Plan, i int) {
	masked := p.Masked
	if uint(i) >= uint(len(masked)) {
		return
	}
	fd, e := openInRoot(p, p.Root, masked[i].Full, unix.O_PATH)
	if e == unix.ENOENT {
		return
	}
	if e == 0 {
		if e = rawFstat(p, fd); e != 0 {
			result(p, OpStatfs, 0, e)
		} else if p.st.Mode&unix.S_IFMT == unix.S_IFDIR {
			e = result(p, OpNone, 0, rawMount(p.Tmpfs, fdPath(&p.pathB, fd), p.Tmpfs,
				unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, p.MaskData))
		} else {
			e = result(p, OpNone, 0, rawMount(p.DevNull, fdPath(&p.pathB, fd), nil, unix.MS_BIND, nil))
		}
		syscall.RawSyscall6(unix.SYS_CLOSE, uintptr(fd), 0, 0, 0, 0, 0)
	}
	if e != 0 {
		failPath(p, p.MaskMsg+Msg(i), e)
	}
}

// readonlyPath binds read-only path i onto itself read-only.
//
//go:nosplit
//go:norace
func readonlyPath(p *Plan, i int) {
	readonly := p.Readonly
	if uint(i) >= uint(len(readonly)) {
		return
	}
	full := readonly[i].Full
	fd, e := openInRoot(p, p.Root, full, unix.O_PATH)
	if e == unix.ENOENT {
		return
	}
	if e == 0 {
		e = result(p, OpNone, 0, rawMount(fdPath(&p.pathA, fd), fdPath(&p.pathB, fd), nil, unix.MS_BIND|unix.MS_REC, nil))
		syscall.RawSyscall6(unix.SYS_CLOSE, uintptr(fd), 0, 0, 0, 0, 0)
	}
	if e == 0 {
		if fd, e = openInRoot(p, p.Root, full, unix.O_PATH); e == 0 {
			e = remountBind(p, fd, unix.MS_RDONLY)
			syscall.RawSyscall6(unix.SYS_CLOSE, uintptr(fd), 0, 0, 0, 0, 0)
		}
	}
	if e != 0 {
		failPath(p, p.ReadonlyMsg+Msg(i), e)
	}
}

// pivotRoot makes p.root the root of the mount namespace and detaches the
// old root, with runc's pivot_root(".", ".") that needs no directory for
// the old root inside the container (credited there to LXC).
//
//go:nosplit
//go:norace
func pivotRoot(p *Plan) {
	old, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(p.Slash)), unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		fail(p, MsgPivot, 0, 0, e)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_FCHDIR, uintptr(p.Root), 0, 0, 0, 0, 0); e != 0 {
		fail(p, MsgPivot, 0, 0, e)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_PIVOT_ROOT, uintptr(unsafe.Pointer(p.Dot)), uintptr(unsafe.Pointer(p.Dot)), 0, 0, 0, 0); e != 0 {
		fail(p, MsgPivot, 0, 0, e)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_FCHDIR, old, 0, 0, 0, 0, 0); e != 0 {
		fail(p, MsgPivot, 0, 0, e)
	}
	// The old root must not propagate the unmount to the host.
	if e := rawMount(nil, p.Dot, nil, unix.MS_SLAVE|unix.MS_REC, nil); e != 0 {
		fail(p, MsgPivot, 0, 0, e)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_UMOUNT2, uintptr(unsafe.Pointer(p.Dot)), unix.MNT_DETACH, 0, 0, 0, 0); e != 0 {
		fail(p, MsgPivot, 0, 0, e)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_CHDIR, uintptr(unsafe.Pointer(p.Slash)), 0, 0, 0, 0, 0); e != 0 {
		fail(p, MsgPivot, 0, 0, e)
	}
	syscall.RawSyscall6(unix.SYS_CLOSE, old, 0, 0, 0, 0, 0)
}

//go:nosplit
//go:norace
func remountRootRO(p *Plan) {
	fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(p.Slash)), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		fail(p, MsgRootRO, OpOpen, ^uintptr(0), e)
	}
	if e := remountBind(p, int(fd), unix.MS_RDONLY); e != 0 {
		failPath(p, MsgRootRO, e)
	}
	syscall.RawSyscall6(unix.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
}

// identity sets what the process sees of itself: host and domain name,
// resource limits.
//
//go:nosplit
//go:norace
func identity(p *Plan) {
	if len(p.Hostname) > 0 {
		if _, _, e := syscall.RawSyscall6(unix.SYS_SETHOSTNAME, uintptr(unsafe.Pointer(&p.Hostname[0])), uintptr(len(p.Hostname)), 0, 0, 0, 0); e != 0 {
			fail(p, MsgHostname, 0, 0, e)
		}
	}
	if len(p.Domainname) > 0 {
		if _, _, e := syscall.RawSyscall6(unix.SYS_SETDOMAINNAME, uintptr(unsafe.Pointer(&p.Domainname[0])), uintptr(len(p.Domainname)), 0, 0, 0, 0); e != 0 {
			fail(p, MsgDomainname, 0, 0, e)
		}
	}
	rlimits := p.Rlimits
	for i := 0; i < len(rlimits); i++ {
		if _, _, e := syscall.RawSyscall6(unix.SYS_PRLIMIT64, 0, uintptr(rlimits[i].Resource),
			uintptr(unsafe.Pointer(&rlimits[i].Limit)), 0, 0, 0); e != 0 {
			fail(p, rlimits[i].Msg, 0, 0, e)
		}
	}
}

// execProcess becomes the spec's process: its terminal and personality
// here, then the steps init shares with nsenter's join (Exec): its
// bounding set, seccomp filter, user, directory, and the exec. Every
// descriptor but 0-2 closes on exec, the error pipe included, which tells
// the supervisor the exec worked.
//
//go:nosplit
//go:norace
func execProcess(p *Plan) {
	if p.Console {
		if _, _, e := syscall.RawSyscall6(unix.SYS_IOCTL, uintptr(p.ConsoleSlave), unix.TIOCSCTTY, 0, 0, 0, 0); e != 0 {
			fail(p, MsgCtty, 0, 0, e)
		}
		for fd := 0; fd < len(p.ConsoleFDs); fd++ {
			if !p.ConsoleFDs[fd] {
				continue
			}
			if _, _, e := syscall.RawSyscall6(unix.SYS_DUP3, uintptr(p.ConsoleSlave), uintptr(fd), 0, 0, 0, 0); e != 0 {
				fail(p, MsgConsoleStdio, 0, 0, e)
			}
		}
		syscall.RawSyscall6(unix.SYS_CLOSE, uintptr(p.ConsoleSlave), 0, 0, 0, 0, 0)
	}
	if p.SetPersonality {
		if _, _, e := syscall.RawSyscall6(unix.SYS_PERSONALITY, p.Personality, 0, 0, 0, 0, 0); e != 0 {
			fail(p, MsgPersonality, 0, 0, e)
		}
	}
	// Init got this far on its own: the supervisor tells a report that
	// follows this byte, or the exec's EOF, from init dying on the way
	// (readChildError). Before any seccomp filter could refuse the write.
	p.marker[0] = ExecMarker
	syscall.RawSyscall6(unix.SYS_WRITE, initErrorFD, uintptr(unsafe.Pointer(&p.marker[0])), 1, 0, 0, 0)
	// The signal handling of a fresh exec, before any seccomp filter
	// could refuse the rt_sigaction and rt_sigprocmask it takes: from
	// here a signal has its default effect on init.
	restoreSignals(p)
	p.Exec.becomeUser(&p.Report)
	p.Exec.execute(&p.Report)
}

// restoreSignals gives the process the signal handling of a fresh exec
// from the supervisor: with the handlers cleared at init's clone, the
// mask alone; else RestoreSignals, two system calls a signal.
//
//go:nosplit
//go:norace
func restoreSignals(p *Plan) {
	sa := &p.sa
	if p.HandlersCleared {
		sa = nil
	}
	RestoreSignals(sa, &p.OldMask)
}

//go:nosplit
//go:norace
func rawMount(source, target, fstype *byte, flags uintptr, data *byte) syscall.Errno {
	_, _, e := syscall.RawSyscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(source)), uintptr(unsafe.Pointer(target)),
		uintptr(unsafe.Pointer(fstype)), flags, uintptr(unsafe.Pointer(data)), 0)
	return e
}

//go:nosplit
//go:norace
func rawFstat(p *Plan, fd int) syscall.Errno {
	_, _, e := syscall.RawSyscall6(unix.SYS_FSTAT, uintptr(fd), uintptr(unsafe.Pointer(&p.st)), 0, 0, 0, 0)
	return e
}

//go:nosplit
//go:norace
func rawPrctl(option, arg uintptr) syscall.Errno {
	_, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, option, arg, 0, 0, 0, 0)
	return e
}

// fdPath writes /proc/self/fd/FD into buf and returns it as a C string:
// the kernel follows the magic link to the file itself, so no path the
// container controls is walked. (No bounds checks: their panic path
// would not fit the nosplit stack.)
//
//go:nosplit
//go:norace
func fdPath(buf *[32]byte, fd int) *byte {
	const prefix = "/proc/self/fd/"
	base := unsafe.Pointer(buf)
	for i := 0; i < len(prefix); i++ {
		*(*byte)(unsafe.Add(base, i)) = prefix[i]
	}
	if fd < 0 || fd > 999999999 {
		fd = 999999999 // not a descriptor: the mount fails with ENOENT
	}
	digits := 1
	for v := fd; v >= 10; v /= 10 {
		digits++
	}
	for i := len(prefix) + digits - 1; i >= len(prefix); i-- {
		*(*byte)(unsafe.Add(base, i)) = byte('0' + fd%10)
		fd /= 10
	}
	*(*byte)(unsafe.Add(base, len(prefix)+digits)) = 0
	return (*byte)(base)
}

// failPath reports the failure of a step on a path that result recorded.
//
//go:nosplit
//go:norace
func failPath(p *Plan, msg Msg, errno syscall.Errno) {
	p.Report.fail(msg, p.resOp, p.resArg, errno)
}

// fail reports the failure of a step (Report.fail) and exits.
//
//go:nosplit
//go:norace
func fail(p *Plan, msg Msg, op Op, arg uintptr, errno syscall.Errno) {
	p.Report.fail(msg, op, arg, errno)
}

// openOverlay opens the overlay's layers with the user's own credentials,
// each at its fixed descriptor (Overlay), and reserves those of a
// tmpfs's upper and work layers with copies of the first. It runs first
// in prepareChild, when no descriptor from InitFDs on is open.
//
//go:nosplit
//go:norace
func openOverlay(p *Plan) {
	ov := p.Overlay
	for i := 0; i < len(ov.Dirs); i++ {
		fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(ov.Dirs[i])),
			unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0)
		if e != 0 {
			fail(p, ov.LayerMsg+Msg(i), 0, 0, e)
		}
		if fd != uintptr(InitFDs+i) {
			if _, _, e := syscall.RawSyscall6(unix.SYS_DUP3, fd, uintptr(InitFDs+i), unix.O_CLOEXEC, 0, 0, 0); e != 0 {
				fail(p, ov.LayerMsg+Msg(i), 0, 0, e)
			}
			syscall.RawSyscall6(unix.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
		}
	}
	for i := len(ov.Dirs); i < ov.FDs; i++ {
		if _, _, e := syscall.RawSyscall6(unix.SYS_DUP3, InitFDs, uintptr(InitFDs+i), unix.O_CLOEXEC, 0, 0, 0); e != 0 {
			fail(p, MsgOverlayTmpfs, 0, 0, e)
		}
	}
}

// tmpfsUpper makes the tmpfs of an overlay's upper layer as container
// root, attaches it on the mount point and makes upper, work and merged
// in it; upper gets the owner and mode of the top lower layer's root,
// which it becomes the root of. The overlay is mounted on merged
// (mountOverlay): mounted on the mount point itself it would go under
// the tmpfs (the kernel tucks a new mount under one already there).
//
//go:nosplit
//go:norace
func tmpfsUpper(p *Plan) {
	ov := p.Overlay
	fs, _, e := syscall.RawSyscall6(unix.SYS_FSOPEN, uintptr(unsafe.Pointer(ov.FsTmpfs)), unix.FSOPEN_CLOEXEC, 0, 0, 0, 0)
	if e == 0 {
		_, _, e = syscall.RawSyscall6(unix.SYS_FSCONFIG, fs, unix.FSCONFIG_SET_STRING, uintptr(unsafe.Pointer(ov.KeyMode)),
			uintptr(unsafe.Pointer(ov.Mode755)), 0, 0)
	}
	if e == 0 {
		_, _, e = syscall.RawSyscall6(unix.SYS_FSCONFIG, fs, unix.FSCONFIG_CMD_CREATE, 0, 0, 0, 0)
	}
	var tmp uintptr
	if e == 0 {
		tmp, _, e = syscall.RawSyscall6(unix.SYS_FSMOUNT, fs, unix.FSMOUNT_CLOEXEC, 0, 0, 0, 0)
	}
	syscall.RawSyscall6(unix.SYS_CLOSE, fs, 0, 0, 0, 0, 0)
	if e == 0 {
		e = moveMount(p, int(tmp), p.Rootfs)
	}
	if e != 0 {
		fail(p, MsgOverlayTmpfs, 0, 0, e)
	}
	names := [3]*byte{ov.NameUpper, ov.NameWork, ov.NameMerged}
	slots := [3]int{ov.UpFD, ov.WorkFD, -1}
	for i := 0; i < len(names); i++ {
		if _, _, e := syscall.RawSyscall6(unix.SYS_MKDIRAT, tmp, uintptr(unsafe.Pointer(names[i])), 0o755, 0, 0, 0); e != 0 {
			fail(p, MsgOverlayTmpfs, 0, 0, e)
		}
		fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, tmp, uintptr(unsafe.Pointer(names[i])),
			unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0, 0, 0)
		if e != 0 {
			fail(p, MsgOverlayTmpfs, 0, 0, e)
		}
		if slots[i] < 0 {
			p.OvlTarget = int(fd)
			continue
		}
		if _, _, e := syscall.RawSyscall6(unix.SYS_DUP3, fd, uintptr(slots[i]), unix.O_CLOEXEC, 0, 0, 0); e != 0 {
			fail(p, MsgOverlayTmpfs, 0, 0, e)
		}
		syscall.RawSyscall6(unix.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
	}
	if e := rawFstat(p, InitFDs); e != 0 {
		fail(p, MsgOverlayTmpfs, 0, 0, e)
	}
	// An owner the namespace does not map (EINVAL) leaves container root's.
	if _, _, e := syscall.RawSyscall6(unix.SYS_FCHOWNAT, tmp, uintptr(unsafe.Pointer(ov.NameUpper)), uintptr(p.st.Uid),
		uintptr(p.st.Gid), unix.AT_SYMLINK_NOFOLLOW, 0); e != 0 && e != unix.EINVAL {
		fail(p, MsgOverlayTmpfs, 0, 0, e)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_FCHMODAT, tmp, uintptr(unsafe.Pointer(ov.NameUpper)), uintptr(p.st.Mode&0o7777), 0, 0, 0); e != 0 {
		fail(p, MsgOverlayTmpfs, 0, 0, e)
	}
	syscall.RawSyscall6(unix.SYS_CLOSE, tmp, 0, 0, 0, 0, 0)
}

// mountOverlay mounts the overlay root filesystem with userxattr (the
// xattrs of a user namespace's overlay) and attaches it on the mount
// point, or on the tmpfs's merged directory; p.root is a descriptor of
// its root, as bindRootfs leaves it.
//
//go:nosplit
//go:norace
func mountOverlay(p *Plan) {
	ov := p.Overlay
	fs, _, e := syscall.RawSyscall6(unix.SYS_FSOPEN, uintptr(unsafe.Pointer(ov.FsOverlay)), unix.FSOPEN_CLOEXEC, 0, 0, 0, 0)
	if e != 0 {
		fail(p, MsgOverlayMount, 0, 0, e)
	}
	keys := [3]*byte{ov.KeyLower, ov.KeyUpper, ov.KeyWork}
	values := [3]*byte{ov.Lower, ov.Upper, ov.Work}
	for i := 0; i < len(keys); i++ {
		if _, _, e := syscall.RawSyscall6(unix.SYS_FSCONFIG, fs, unix.FSCONFIG_SET_STRING, uintptr(unsafe.Pointer(keys[i])),
			uintptr(unsafe.Pointer(values[i])), 0, 0); e != 0 {
			fail(p, MsgOverlayMount, 0, 0, e)
		}
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_FSCONFIG, fs, unix.FSCONFIG_SET_FLAG, uintptr(unsafe.Pointer(ov.KeyUserxattr)), 0, 0, 0); e != 0 {
		fail(p, MsgOverlayMount, 0, 0, e)
	}
	mnt := createMount(p, fs, MsgOverlayMount)
	target := p.Rootfs
	if p.OvlTarget >= 0 {
		target = p.OvlTarget
	}
	if e := moveMount(p, int(mnt), target); e != 0 {
		fail(p, MsgOverlayMount, 0, 0, e)
	}
	p.Root = int(mnt)
}

// createMount creates the configured file system context fs and returns
// a mount of it, not attached anywhere yet; fs is closed. A failure is
// reported as msg.
//
//go:nosplit
//go:norace
func createMount(p *Plan, fs uintptr, msg Msg) uintptr {
	if _, _, e := syscall.RawSyscall6(unix.SYS_FSCONFIG, fs, unix.FSCONFIG_CMD_CREATE, 0, 0, 0, 0); e != 0 {
		fail(p, msg, 0, 0, e)
	}
	mnt, _, e := syscall.RawSyscall6(unix.SYS_FSMOUNT, fs, unix.FSMOUNT_CLOEXEC, 0, 0, 0, 0)
	if e != 0 {
		fail(p, msg, 0, 0, e)
	}
	syscall.RawSyscall6(unix.SYS_CLOSE, fs, 0, 0, 0, 0, 0)
	return mnt
}

// writeHostname writes the copy's name into /etc/hostname of the new
// root, when that is a regular file (a FIFO or a symlink the container
// planted is left alone). The write copies the file up into the upper
// layer; the lower one is never written. resolve adds to the open's
// RESOLVE_ flags; what the open failed with is returned (a file that is
// not there is no failure of init's).
//
//go:nosplit
//go:norace
func writeHostname(p *Plan, root int, resolve uint64) syscall.Errno {
	ov := p.Overlay
	fd, e := openHostname(p, root, resolve)
	if e != 0 {
		return e
	}
	if e := rawFstat(p, fd); e == 0 && p.st.Mode&unix.S_IFMT == unix.S_IFREG && len(ov.Hostname) > 0 {
		_, _, e = syscall.RawSyscall6(unix.SYS_FTRUNCATE, uintptr(fd), 0, 0, 0, 0, 0)
		if e == 0 {
			_, _, e = syscall.RawSyscall6(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(ov.Hostname))), uintptr(len(ov.Hostname)), 0, 0, 0)
		}
		if e != 0 {
			fail(p, MsgOverlayHostname, 0, 0, e)
		}
	}
	syscall.RawSyscall6(unix.SYS_CLOSE, uintptr(fd), 0, 0, 0, 0, 0)
	return 0
}

// openHostname opens /etc/hostname of root for writing, as writeHostname
// does, with resolve added to the open's RESOLVE_ flags.
//
//go:nosplit
//go:norace
func openHostname(p *Plan, root int, resolve uint64) (int, syscall.Errno) {
	p.how = unix.OpenHow{Flags: unix.O_WRONLY | unix.O_NONBLOCK | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: inRoot | resolve}
	fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT2, uintptr(root), uintptr(unsafe.Pointer(p.Overlay.HostnameFile)),
		uintptr(unsafe.Pointer(&p.how)), unsafe.Sizeof(p.how), 0, 0)
	return int(fd), e
}

// mountFuse mounts the FUSE file system of an overlay that
// fuse-overlayfs serves (Overlay.Fuse) on the mount point, and sends
// the FUSE descriptor to the supervisor, which starts the daemon on it.
// The kernel wants the descriptor opened by the mounter's user
// namespace (fs/fuse/inode.c, fuse_fill_super: f_cred->user_ns ==
// s_user_ns): init opens /dev/fuse itself, as container root. Its own
// copy is closed once sent, so that the connection ends (and every
// request fails with ENOTCONN) when the daemon's does. Init's first
// request, the resolution of the first mount, waits for the daemon's
// answer to FUSE_INIT.
//
//go:nosplit
//go:norace
func mountFuse(p *Plan) {
	ov := p.Overlay
	fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(ov.FuseDev)), unix.O_RDWR|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		fail(p, MsgFuseOpen, 0, 0, e)
	}
	formatFD(&ov.FuseFDText, fd)
	fs, _, e := syscall.RawSyscall6(unix.SYS_FSOPEN, uintptr(unsafe.Pointer(ov.FsFuse)), unix.FSOPEN_CLOEXEC, 0, 0, 0, 0)
	if e != 0 {
		fail(p, MsgFuseMount, 0, 0, e)
	}
	for i := 0; i < len(ov.FuseKeys); i++ {
		if _, _, e := syscall.RawSyscall6(unix.SYS_FSCONFIG, fs, unix.FSCONFIG_SET_STRING, uintptr(unsafe.Pointer(ov.FuseKeys[i])),
			uintptr(unsafe.Pointer(ov.FuseValues[i])), 0, 0); e != 0 {
			fail(p, MsgFuseMount, 0, 0, e)
		}
	}
	for i := 0; i < len(ov.FuseFlags); i++ {
		if _, _, e := syscall.RawSyscall6(unix.SYS_FSCONFIG, fs, unix.FSCONFIG_SET_FLAG, uintptr(unsafe.Pointer(ov.FuseFlags[i])), 0, 0, 0); e != 0 {
			fail(p, MsgFuseMount, 0, 0, e)
		}
	}
	mnt := createMount(p, fs, MsgFuseMount)
	fds := ov.FuseSend.FDs
	if len(fds) > 0 {
		fds[0] = int32(fd)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_SENDMSG, initNetFD, uintptr(unsafe.Pointer(&ov.FuseSend.Msg)), 0, 0, 0, 0); e != 0 {
		fail(p, MsgFuseSend, 0, 0, e)
	}
	syscall.RawSyscall6(unix.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
	if e := moveMount(p, int(mnt), p.Rootfs); e != 0 {
		fail(p, MsgFuseMount, 0, 0, e)
	}
	p.Root = int(mnt)
}

// formatFD writes fd in decimal, NUL-terminated, into buf.
//
//go:nosplit
//go:norace
func formatFD(buf *[12]byte, fd uintptr) {
	digits := 1
	for t := fd; t >= 10; t /= 10 {
		digits++
	}
	if uint(digits) >= uint(len(buf)) {
		return // more digits than a descriptor has: the mount fails on the empty option
	}
	buf[digits] = 0
	for i := digits - 1; i >= 0; i-- {
		if uint(i) < uint(len(buf)) {
			buf[i] = '0' + byte(fd%10)
		}
		fd /= 10
	}
}
