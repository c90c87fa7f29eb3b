package nsenter

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is the forked half of Device, under child.go's rules: raw
// system calls only, nosplit, no allocation, no pointer written.

// forkDevice forks; the child does the work and exits.
//
//go:nosplit
//go:norace
func forkDevice(d *device) (uintptr, syscall.Errno) {
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
func deviceChild(d *device) {
	// Before anything of the container's can see this process (see
	// intermediate in child.go).
	if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 0, 0, 0, 0, 0); e != 0 {
		devFail(d, devDumpable, e, 0)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETNS, d.pidfd, unix.CLONE_NEWUSER, 0); e != 0 {
		devFail(d, devJoinUser, e, 0)
	}
	if !d.remove {
		if _, _, e := syscall.RawSyscall(unix.SYS_UNSHARE, unix.CLONE_NEWNS, 0, 0); e != 0 {
			devFail(d, devUnshare, e, 0)
		}
		fd, _, e := syscall.RawSyscall(unix.SYS_OPEN_TREE, atFDCWD, uintptr(unsafe.Pointer(d.source)),
			unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if e != 0 {
			devFail(d, devOpenTree, e, 0)
		}
		d.treeFD = fd
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETNS, d.pidfd, unix.CLONE_NEWNS, 0); e != 0 {
		devFail(d, devJoinMount, e, 0)
	}
	// Root of the user namespace, so that what is created belongs to
	// the container (the caller's uid is not mapped in it).
	if _, _, e := syscall.RawSyscall(unix.SYS_SETRESGID, 0, 0, 0); e != 0 {
		devFail(d, devSetID, e, 0)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETRESUID, 0, 0, 0); e != 0 {
		devFail(d, devSetID, e, 0)
	}
	dir, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(d.root)),
		unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		devFail(d, devRoot, e, 0)
	}
	d.dirFD = dir
	for i := 0; i < len(d.dirs); i++ {
		if !d.remove {
			_, _, e := syscall.RawSyscall(unix.SYS_MKDIRAT, d.dirFD, uintptr(unsafe.Pointer(d.dirs[i])), 0o755)
			if e != 0 && e != unix.EEXIST {
				devFail(d, devMkdir, e, uintptr(i))
			}
		}
		next, _, e := syscall.RawSyscall6(unix.SYS_OPENAT2, d.dirFD, uintptr(unsafe.Pointer(d.dirs[i])),
			uintptr(unsafe.Pointer(&d.how)), unsafe.Sizeof(d.how), 0, 0)
		if e != 0 {
			devFail(d, devOpenDir, e, uintptr(i))
		}
		syscall.RawSyscall(unix.SYS_CLOSE, d.dirFD, 0, 0)
		d.dirFD = next
	}
	if d.remove {
		removeDevice(d)
		return
	}
	// An empty file to mount on, that nothing else owned before.
	f, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, d.dirFD, uintptr(unsafe.Pointer(d.last)),
		unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600, 0, 0)
	if e != 0 {
		devFail(d, devCreate, e, 0)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_MOVE_MOUNT, d.treeFD, uintptr(unsafe.Pointer(d.empty)), f,
		uintptr(unsafe.Pointer(d.empty)), unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH, 0); e != 0 {
		syscall.RawSyscall(unix.SYS_UNLINKAT, d.dirFD, uintptr(unsafe.Pointer(d.last)), 0)
		devFail(d, devMove, e, 0)
	}
}

// removeDevice unmounts a device node bound at the target and removes
// the empty file under it. The unmount goes by name from the target's
// directory, reached by descriptors (its own /proc/self would name a
// process of another pid namespace), without following a symlink.
//
//go:nosplit
//go:norace
func removeDevice(d *device) {
	t, _, e := syscall.RawSyscall6(unix.SYS_OPENAT2, d.dirFD, uintptr(unsafe.Pointer(d.last)),
		uintptr(unsafe.Pointer(&d.target)), unsafe.Sizeof(d.target), 0, 0)
	if e != 0 {
		devFail(d, devOpenTarget, e, 0)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_FSTAT, t, uintptr(unsafe.Pointer(&d.st)), 0); e != 0 {
		devFail(d, devOpenTarget, e, 0)
	}
	if m := d.st.Mode & unix.S_IFMT; m != unix.S_IFCHR && m != unix.S_IFBLK {
		devFail(d, devNotBound, 0, 0)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_FCHDIR, d.dirFD, 0, 0); e != 0 {
		devFail(d, devChdir, e, 0)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_UMOUNT2, uintptr(unsafe.Pointer(d.last)), unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW, 0); e != 0 {
		if e == unix.EINVAL {
			devFail(d, devNotBound, 0, 0) // a node, but no mount point
		}
		devFail(d, devUmount, e, 0)
	}
	// What is left is the empty file add made; anything else stays.
	if _, _, e := syscall.RawSyscall6(unix.SYS_NEWFSTATAT, d.dirFD, uintptr(unsafe.Pointer(d.last)),
		uintptr(unsafe.Pointer(&d.st)), unix.AT_SYMLINK_NOFOLLOW, 0, 0); e != 0 {
		return
	}
	if d.st.Mode&unix.S_IFMT == unix.S_IFREG && d.st.Size == 0 {
		if _, _, e := syscall.RawSyscall(unix.SYS_UNLINKAT, d.dirFD, uintptr(unsafe.Pointer(d.last)), 0); e != 0 {
			devFail(d, devUnlink, e, 0)
		}
	}
}

// devFail reports step, errno and index, and exits.
//
//go:nosplit
//go:norace
func devFail(d *device, step uintptr, errno syscall.Errno, index uintptr) {
	d.rec = [3]uint64{uint64(step), uint64(errno), uint64(index)}
	syscall.RawSyscall(unix.SYS_WRITE, d.report, uintptr(unsafe.Pointer(&d.rec)), unsafe.Sizeof(d.rec))
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
	}
}
