package ocispec

import (
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// allCaps are the Linux capabilities in number order (capability.h, up to
// CAP_CHECKPOINT_RESTORE = 40, the last one as of Linux 6.18).
var allCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// Capabilities returns the names of the capabilities ulxc knows, in number
// order: the name at index N is capability N.
func Capabilities() []string { return append([]string(nil), allCaps...) }

// capName returns the CAP_ name of an lxc.cap.drop/keep word: "sys_admin",
// "CAP_SYS_ADMIN" or a number.
func capName(w string) (string, bool) {
	if n, err := strconv.Atoi(w); err == nil {
		if n >= 0 && n < len(allCaps) {
			return allCaps[n], true
		}
		return "", false
	}
	name := strings.ToUpper(w)
	if !strings.HasPrefix(name, "CAP_") {
		name = "CAP_" + name
	}
	for _, c := range allCaps {
		if c == name {
			return name, true
		}
	}
	return "", false
}

// capabilities sets the bounding, effective and permitted sets: every
// capability minus lxc.cap.drop, or exactly lxc.cap.keep. LXC refuses
// both at once, and so does ulxc.
func (c *converter) capabilities() error {
	drop, keep := c.words("lxc.cap.drop"), c.words("lxc.cap.keep")
	if len(drop) > 0 && len(keep) > 0 {
		return keyErr("lxc.cap.keep", strings.Join(keep, " "), ErrInvalidValue, "lxc.cap.drop is set too; use one of them")
	}
	set := map[string]bool{}
	switch {
	case len(keep) > 0:
		for _, w := range keep {
			if w == "none" {
				continue
			}
			name, ok := capName(w)
			if !ok {
				return keyErr("lxc.cap.keep", w, ErrInvalidValue, "unknown capability")
			}
			set[name] = true
		}
	default:
		for _, n := range allCaps {
			set[n] = true
		}
		for _, w := range drop {
			name, ok := capName(w)
			if !ok {
				return keyErr("lxc.cap.drop", w, ErrInvalidValue, "unknown capability")
			}
			delete(set, name)
		}
	}
	var list []string
	for _, n := range allCaps {
		if set[n] {
			list = append(list, n)
		}
	}
	if list == nil {
		list = []string{}
	}
	c.spec.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding:  list,
		Effective: list,
		Permitted: list,
	}
	return nil
}
