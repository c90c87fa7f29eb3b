package runtime

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
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

// writeSysctls sets the spec's sysctls, in key order, through /proc/sys:
// a name's dots are its path separators (LXC writes them the same way),
// and the files resolve to the namespaces of the caller, which are by
// then the container's. Init calls it as root of the namespace, before
// the container's mounts.
func writeSysctls(m map[string]string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !validSysctl(k) {
			return fmt.Errorf("%w: sysctl %q", ErrInvalidSpec, k)
		}
		path := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
		f, err := os.OpenFile(path, os.O_WRONLY|unix.O_NOFOLLOW, 0)
		if err == nil {
			_, err = f.WriteString(m[k])
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		switch {
		case errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS):
			return fmt.Errorf("%w: lxc.sysctl.%s = %s: %w", ErrSysctl, k, m[k], err)
		case err != nil:
			return fmt.Errorf("lxc.sysctl.%s = %s: %w", k, m[k], err)
		}
	}
	return nil
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

// setOOMScoreAdj writes process.oomScoreAdj (lxc.proc.oom_score_adj) for
// the calling process, which its exec and children keep. Raising it needs
// nothing; lowering it below what the user's processes have needs
// CAP_SYS_RESOURCE on the host, which a rootless container lacks: that is
// an error, not a silently different score.
func setOOMScoreAdj(n int) error {
	err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(n)), 0)
	if errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("lxc.proc.oom_score_adj = %d: lowering the score needs root on the host: %w", n, err)
	}
	if err != nil {
		return fmt.Errorf("lxc.proc.oom_score_adj = %d: %w", n, err)
	}
	return nil
}
