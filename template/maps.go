package template

import (
	"github.com/ulxc/ulxc/userns"
)

// mapSize is how many ids from 0 both the uid and the gid maps cover
// without a gap: the ids a file in the rootfs may be owned by.
func mapSize(maps []userns.Map) uint32 {
	size := uint64(1 << 32)
	for _, k := range []userns.Kind{userns.UID, userns.GID} {
		next := uint64(0)
		for changed := true; changed; {
			changed = false
			for _, m := range maps {
				if m.Kind == k && next >= uint64(m.ContainerID) && next < uint64(m.ContainerID)+uint64(m.Size) {
					next = uint64(m.ContainerID) + uint64(m.Size)
					changed = true
				}
			}
		}
		size = min(size, next)
	}
	return uint32(min(size, 1<<32-1))
}
