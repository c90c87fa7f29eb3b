package image

import (
	"archive/tar"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

const paxXattr = "SCHILY.xattr."

// File capability layout (linux/capability.h, struct vfs_ns_cap_data).
const (
	capRevisionMask = 0xFF000000
	capRevision1    = 0x01000000
	capRevision2    = 0x02000000
	capRevision3    = 0x03000000
	capFlagsMask    = 0x00FFFFFF
	capV1Size       = 4 + 8
	capV2Size       = 4 + 16
	capV3Size       = capV2Size + 4
)

func hasXattrs(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, paxXattr) {
			return true
		}
	}
	return false
}

// keepXattr says whether an xattr means something inside a user namespace.
// trusted.* cannot be written there, security.selinux and security.ima
// belong to the host's policy.
func keepXattr(name string) bool {
	switch name {
	case "system.posix_acl_access", "system.posix_acl_default", "security.capability":
		return true
	}
	return strings.HasPrefix(name, "user.") && len(name) > len("user.")
}

// setXattrs writes the member's kept xattrs on fd, in name order.
func (u *unpacker) setXattrs(fd int, name string, hdr *tar.Header) error {
	var keys []string
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, paxXattr) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		attr, value := strings.TrimPrefix(k, paxXattr), []byte(hdr.PAXRecords[k])
		if !keepXattr(attr) {
			u.warn("%s: xattr %s dropped", name, attr)
			continue
		}
		if attr == "security.capability" {
			v2, err := capabilityV2(value)
			if err != nil {
				u.warn("%s: xattr %s dropped: %v", name, attr, err)
				continue
			}
			value = v2
		}
		err := unix.Fsetxattr(fd, attr, value, 0)
		if err == unix.EOPNOTSUPP {
			u.warn("%s: xattr %s dropped: the filesystem does not support it", name, attr)
			continue
		}
		if err != nil {
			return fmt.Errorf("set xattr %s: %w", attr, err)
		}
	}
	return nil
}

// capabilityV2 returns a security.capability value in the v2 layout. A v3
// value carries the host uid of its namespace's root; written as v2 from
// inside a user namespace, the kernel records the current namespace's root
// instead (cap_convert_nscap), which is what an image's capabilities mean.
func capabilityV2(v []byte) ([]byte, error) {
	if len(v) < 4 {
		return nil, errors.New("short capability")
	}
	magic := binary.LittleEndian.Uint32(v)
	switch magic & capRevisionMask {
	case capRevision1:
		if len(v) == capV1Size {
			return v, nil
		}
	case capRevision2:
		if len(v) == capV2Size {
			return v, nil
		}
	case capRevision3:
		if len(v) == capV3Size {
			out := make([]byte, capV2Size)
			copy(out, v)
			binary.LittleEndian.PutUint32(out, capRevision2|magic&capFlagsMask)
			return out, nil
		}
	default:
		return nil, fmt.Errorf("unknown capability revision %#x", magic&capRevisionMask)
	}
	return nil, fmt.Errorf("capability revision %#x has %d bytes", magic&capRevisionMask, len(v))
}
