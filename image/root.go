package image

import (
	"fmt"
	"os"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// Every hostile path of this package is resolved inside its root here,
// and package template's through MkdirInRoot: one implementation,
// filepath-securejoin's descriptor-based API (pathrs-lite), which runc
// uses for the same job. Where the kernel has openat2 (5.6) it is
// openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS); elsewhere its emulation
// walks the path one component at a time and checks each step against
// procfs. Either way a symlink, absolute ones included, resolves
// chroot-style inside the root and ".." stops at it, as an image's own
// symlinks mean (lib -> /usr/lib), where os.Root would refuse them.
// What the library does not offer, openat2's RESOLVE_NO_XDEV, is checked
// after the lookup (sameMount): a mount inside the root is never
// resolved into, where statx reports mount ids (Linux 5.8+; before, both
// ids read 0 and the check passes).
//
// Only the parents (and, for a template's file, the file) are resolved
// this way: the final component of what is created, changed or removed
// is handled with *at calls that never follow a symlink.

// openDirInRoot returns an O_PATH descriptor of the directory unsafeDir
// inside root; ENOTDIR when it is something else.
func openDirInRoot(root *os.File, unsafeDir string) (*os.File, error) {
	f, err := pathrs.OpenatInRoot(root, unsafeDir)
	if err != nil {
		return nil, err
	}
	mode, err := sameMount(root, f)
	if err == nil && mode&unix.S_IFMT != unix.S_IFDIR {
		err = unix.ENOTDIR
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// sameMount returns the file type and mode of f, and EXDEV when f is on
// another mount than root: a mount inside a tree being unpacked is none
// of the archive's.
func sameMount(root, f *os.File) (uint16, error) {
	var rst, fst unix.Statx_t
	const mask = unix.STATX_TYPE | unix.STATX_MODE | unix.STATX_MNT_ID
	if err := unix.Statx(int(root.Fd()), "", unix.AT_EMPTY_PATH, mask, &rst); err != nil {
		return 0, fmt.Errorf("statx: %w", err)
	}
	if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, mask, &fst); err != nil {
		return 0, fmt.Errorf("statx: %w", err)
	}
	if rst.Mnt_id != fst.Mnt_id {
		return 0, unix.EXDEV
	}
	return fst.Mode, nil
}

// mkdirAllInRoot makes the missing directories of unsafeDir inside root
// with mode perm and returns a descriptor of unsafeDir.
func mkdirAllInRoot(root *os.File, unsafeDir string, perm os.FileMode) (*os.File, error) {
	f, err := pathrs.MkdirAllHandle(root, unsafeDir, perm)
	if err != nil {
		return nil, err
	}
	if _, err := sameMount(root, f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// openRegularInRoot opens the regular file unsafePath inside root for
// reading. What it resolves to is checked before it is opened, so that a
// fifo or a device node is never opened at all.
func openRegularInRoot(root *os.File, unsafePath string) (*os.File, error) {
	h, err := pathrs.OpenatInRoot(root, unsafePath)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	mode, err := sameMount(root, h)
	if err != nil {
		return nil, err
	}
	if mode&unix.S_IFMT != unix.S_IFREG {
		return nil, errNotRegular
	}
	return pathrs.Reopen(h, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC)
}

// MkdirInRoot makes the directory unsafeName, and its missing parents,
// mode 0755, inside the directory root, resolving symlinks inside root
// as Unpack does.
func MkdirInRoot(root, unsafeName string) error {
	rootf, err := openRoot(root)
	if err != nil {
		return err
	}
	defer rootf.Close()
	f, err := mkdirAllInRoot(rootf, unsafeName, 0o755)
	if err != nil {
		return fmt.Errorf("mkdir %s: %w", unsafeName, err)
	}
	return f.Close()
}
