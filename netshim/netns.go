package netshim

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// NetnsFD is the descriptor the helper takes the container's network
// namespace on: the caller's first ExtraFiles entry.
const NetnsFD = 3

// CheckNetns verifies that fd is a network namespace whose owning user
// namespace belongs to uid and that is not the caller's own: the check
// lxc-user-nic lacked (CVE-2017-5985), asked of the kernel. Errors wrap
// ErrNamespace.
//
// fstatfs comes first, so that no ioctl reaches a descriptor that is not a
// namespace (the caller's device or FIFO): the helper never opens, reads
// or ioctls an object the caller chose beyond these two questions
// (CVE-2018-6556).
func CheckNetns(fd int, uid uint32) error {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return fmt.Errorf("%w: descriptor %d: %v (pass the container's network namespace as descriptor %d)", ErrNamespace, fd, err, NetnsFD)
	}
	if fs.Type != unix.NSFS_MAGIC {
		return fmt.Errorf("%w: descriptor %d is not a namespace", ErrNamespace, fd)
	}
	typ, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		return fmt.Errorf("%w: descriptor %d: NS_GET_NSTYPE: %v", ErrNamespace, fd, err)
	}
	if typ != unix.CLONE_NEWNET {
		return fmt.Errorf("%w: descriptor %d is not a network namespace", ErrNamespace, fd)
	}
	// EPERM: the owner is not our user namespace or below it, so it is
	// not one the caller made.
	userns, err := unix.IoctlRetInt(fd, unix.NS_GET_USERNS)
	if err != nil {
		return fmt.Errorf("%w: descriptor %d: its user namespace: %v", ErrNamespace, fd, err)
	}
	owner, err := unix.IoctlGetUint32(userns, unix.NS_GET_OWNER_UID)
	unix.Close(userns)
	if err != nil {
		return fmt.Errorf("%w: descriptor %d: owner of its user namespace: %v", ErrNamespace, fd, err)
	}
	if owner != uid || owner == 0 {
		return fmt.Errorf("%w: its user namespace belongs to uid %d, not to you (uid %d)", ErrNamespace, owner, uid)
	}
	var st, own unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%w: descriptor %d: %v", ErrNamespace, fd, err)
	}
	if err := unix.Stat("/proc/self/ns/net", &own); err != nil {
		return fmt.Errorf("%w: own network namespace: %v", ErrNamespace, err)
	}
	if st.Dev == own.Dev && st.Ino == own.Ino {
		return fmt.Errorf("%w: it is the helper's own network namespace", ErrNamespace)
	}
	return nil
}
