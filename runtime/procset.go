package runtime

import (
	"errors"
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrSysctl reports a sysctl that the container may not set: only those
// of its own namespaces (net.*, kernel.shm*, kernel.msg*, kernel.sem,
// fs.mqueue.*, kernel.hostname, kernel.domainname) belong to it.
var ErrSysctl = errors.New("sysctl not settable in a rootless container")

// checkSysctls rejects keys that are not sysctl names.
func checkSysctls(m map[string]string) error {
	for key := range m {
		if !validSysctl(key) {
			return fmt.Errorf("%w: sysctl %q is not a key such as net.ipv4.ip_forward", ErrInvalidSpec, key)
		}
	}
	return nil
}

func validSysctl(key string) bool {
	parts := strings.FieldsFunc(key, func(r rune) bool { return r == '.' || r == '/' })
	if len(parts) < 2 || strings.HasPrefix(key, ".") || strings.HasPrefix(key, "/") {
		return false
	}
	for _, p := range parts {
		if p == ".." || strings.ContainsFunc(p, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
		}) {
			return false
		}
	}
	return true
}

// personality returns the personality(2) value of the spec's
// linux.personality (lxc.arch): PER_LINUX32 for a 32-bit architecture.
func personality(p *specs.LinuxPersonality) (int, bool, error) {
	if p == nil {
		return 0, false, nil
	}
	// <linux/personality.h>; x/sys does not name them.
	const perLinux, perLinux32 = 0x0000, 0x0008
	switch p.Domain {
	case specs.PerLinux:
		return perLinux, true, nil
	case specs.PerLinux32:
		return perLinux32, true, nil
	}
	return 0, false, fmt.Errorf("%w: personality domain %q", ErrInvalidSpec, p.Domain)
}
