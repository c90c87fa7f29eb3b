package rawproc

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is the forked half of nsenter's Device, under the package's
// rule (doc.go).

// forkDevice forks; the child does the work and exits.
//
//go:nosplit
//go:norace
func ForkDevice(d *DeviceBind) (uintptr, syscall.Errno) {
	pid, _, e := syscall.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 || pid != 0 {
		return pid, e
	}
	deviceChild(d)
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
}

// deviceChild joins the container's user namespace first, and only that:
// the mount namespace it unshares then is a copy of the host's (where the
// source node is) owned by the container's user namespace (where this
// process holds every capability), so it may clone the node's mount. Then
// it joins the container's mount namespace, which the same user namespace
// owns, and puts the clone in place.
//
//go:nosplit
//go:norace
func deviceChild(d *DeviceBind) {
	// Before anything of the container's can see this process (see
	// intermediate in join.go).
	if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 0, 0, 0, 0, 0); e != 0 {
		devFail(d, DevDumpable, e, 0)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETNS, d.Pidfd, unix.CLONE_NEWUSER, 0); e != 0 {
		devFail(d, DevJoinUser, e, 0)
	}
	if !d.Remove {
		if _, _, e := syscall.RawSyscall(unix.SYS_UNSHARE, unix.CLONE_NEWNS, 0, 0); e != 0 {
			devFail(d, DevUnshare, e, 0)
		}
		fd, _, e := syscall.RawSyscall(unix.SYS_OPEN_TREE, atFDCWD, uintptr(unsafe.Pointer(d.Source)),
			unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if e != 0 {
			devFail(d, DevOpenTree, e, 0)
		}
		d.treeFD = fd
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETNS, d.Pidfd, unix.CLONE_NEWNS, 0); e != 0 {
		devFail(d, DevJoinMount, e, 0)
	}
	// Root of the user namespace, so that what is created belongs to
	// the container (the caller's uid is not mapped in it).
	if _, _, e := syscall.RawSyscall(unix.SYS_SETRESGID, 0, 0, 0); e != 0 {
		devFail(d, DevSetID, e, 0)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETRESUID, 0, 0, 0); e != 0 {
		devFail(d, DevSetID, e, 0)
	}
	dir, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(d.Root)),
		unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		devFail(d, DevRoot, e, 0)
	}
	d.dirFD = dir
	// A local copy of the slice, so that the compiler sees the index in
	// range: d.dirFD, written in the loop, could alias d.Dirs for all it
	// knows, and a bounds check's panic is the Go runtime's.
	dirs := d.Dirs
	for i := 0; i < len(dirs); i++ {
		if !d.Remove {
			_, _, e := syscall.RawSyscall(unix.SYS_MKDIRAT, d.dirFD, uintptr(unsafe.Pointer(dirs[i])), 0o755)
			if e != 0 && e != unix.EEXIST {
				devFail(d, DevMkdir, e, uintptr(i))
			}
		}
		next, _, e := syscall.RawSyscall6(unix.SYS_OPENAT2, d.dirFD, uintptr(unsafe.Pointer(dirs[i])),
			uintptr(unsafe.Pointer(&d.How)), unsafe.Sizeof(d.How), 0, 0)
		if e != 0 {
			devFail(d, DevOpenDir, e, uintptr(i))
		}
		syscall.RawSyscall(unix.SYS_CLOSE, d.dirFD, 0, 0)
		d.dirFD = next
	}
	if d.Remove {
		removeDevice(d)
		return
	}
	// An empty file to mount on, that nothing else owned before.
	f, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, d.dirFD, uintptr(unsafe.Pointer(d.Last)),
		unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600, 0, 0)
	if e != 0 {
		devFail(d, DevCreate, e, 0)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_MOVE_MOUNT, d.treeFD, uintptr(unsafe.Pointer(d.Empty)), f,
		uintptr(unsafe.Pointer(d.Empty)), unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH, 0); e != 0 {
		syscall.RawSyscall(unix.SYS_UNLINKAT, d.dirFD, uintptr(unsafe.Pointer(d.Last)), 0)
		devFail(d, DevMove, e, 0)
	}
}

// removeDevice unmounts a device node bound at the target and removes
// the empty file under it. The unmount goes by name from the target's
// directory, reached by descriptors (its own /proc/self would name a
// process of another pid namespace), without following a symlink.
//
//go:nosplit
//go:norace
func removeDevice(d *DeviceBind) {
	t, _, e := syscall.RawSyscall6(unix.SYS_OPENAT2, d.dirFD, uintptr(unsafe.Pointer(d.Last)),
		uintptr(unsafe.Pointer(&d.Target)), unsafe.Sizeof(d.Target), 0, 0)
	if e != 0 {
		devFail(d, DevOpenTarget, e, 0)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_FSTAT, t, uintptr(unsafe.Pointer(&d.st)), 0); e != 0 {
		devFail(d, DevOpenTarget, e, 0)
	}
	if m := d.st.Mode & unix.S_IFMT; m != unix.S_IFCHR && m != unix.S_IFBLK {
		devFail(d, DevNotBound, 0, 0)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_FCHDIR, d.dirFD, 0, 0); e != 0 {
		devFail(d, DevChdir, e, 0)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_UMOUNT2, uintptr(unsafe.Pointer(d.Last)), unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW, 0); e != 0 {
		if e == unix.EINVAL {
			devFail(d, DevNotBound, 0, 0) // a node, but no mount point
		}
		devFail(d, DevUmount, e, 0)
	}
	// What is left is the empty file add made; anything else stays.
	if _, _, e := syscall.RawSyscall6(unix.SYS_NEWFSTATAT, d.dirFD, uintptr(unsafe.Pointer(d.Last)),
		uintptr(unsafe.Pointer(&d.st)), unix.AT_SYMLINK_NOFOLLOW, 0, 0); e != 0 {
		return
	}
	if d.st.Mode&unix.S_IFMT == unix.S_IFREG && d.st.Size == 0 {
		if _, _, e := syscall.RawSyscall(unix.SYS_UNLINKAT, d.dirFD, uintptr(unsafe.Pointer(d.Last)), 0); e != 0 {
			devFail(d, DevUnlink, e, 0)
		}
	}
}

// devFail reports step, errno and index, and exits.
//
//go:nosplit
//go:norace
func devFail(d *DeviceBind, step uintptr, errno syscall.Errno, index uintptr) {
	d.rec = [3]uint64{uint64(step), uint64(errno), uint64(index)}
	syscall.RawSyscall(unix.SYS_WRITE, d.Report, uintptr(unsafe.Pointer(&d.rec)), unsafe.Sizeof(d.rec))
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
	}
}
