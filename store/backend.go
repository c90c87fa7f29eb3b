package store

import (
	"errors"
	"fmt"
)

// Backend is how a container's root filesystem is stored: LXC's backing
// store, chosen with -B by create (lxc-create) and copy (lxc-copy).
type Backend string

// The backends ulxc has.
const (
	// BackendDir is a tree of the container's own, NAME/rootfs.
	BackendDir Backend = "dir"
	// BackendOverlay is an upper layer of the container's own over lower
	// layers: an original's root (a snapshot) or a shared image layer
	// (create -B overlay), in LXC's overlay:LOWER:UPPER syntax.
	BackendOverlay Backend = "overlay"
)

// ErrUnknownBackend is a -B value that ulxc does not have.
var ErrUnknownBackend = errors.New("unknown backing store")

// ParseBackend accepts LXC's -B values that ulxc has: dir, overlay and
// its older name overlayfs.
func ParseBackend(s string) (Backend, error) {
	switch s {
	case "dir":
		return BackendDir, nil
	case "overlay", "overlayfs":
		return BackendOverlay, nil
	}
	return "", fmt.Errorf("%w %q (ulxc has dir and overlay)", ErrUnknownBackend, s)
}
