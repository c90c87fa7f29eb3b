package ocispec

import (
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runtimeDevice reports whether the runtime makes the node at p (cleaned,
// absolute) itself, from the container's own devpts: /dev/console,
// /dev/ptmx, /dev/pts/* and the ttys of lxc.tty.max. None of them is ever
// the host's node.
func runtimeDevice(p string) bool {
	name, ok := strings.CutPrefix(p, "/dev/")
	if !ok {
		return false
	}
	switch {
	case name == "console", name == "ptmx", name == "pts", strings.HasPrefix(name, "pts/"):
		return true
	case strings.HasPrefix(name, "tty") && len(name) > 3 && name[3] != '0':
		return strings.Trim(name[3:], "0123456789") == ""
	}
	return false
}

// LeftOutDevices returns the device nodes that an image recorded (paths
// relative to the rootfs, "dev/kvm", or absolute) and that the container
// spec describes will not have, cleaned to absolute paths, sorted and
// each once.
//
// Convert never turns a recorded node into a bind of the host's node: a
// signed image is not the user's decision to give a container /dev/kvm or
// /dev/net/tun. The container gets LXC's standard set (null, zero, full,
// random, urandom, tty), the nodes the runtime makes itself (console,
// ptmx, pts/*, ttyN), and what a mount of spec puts at a node's path, as
// the user's own lxc.mount.entry does (DeviceMountEntry). Every other
// recorded node is left out and returned here, so that the caller can
// tell the user.
func LeftOutDevices(spec *specs.Spec, recorded []string) []string {
	have := map[string]bool{}
	for _, m := range spec.Mounts {
		have[path.Clean("/"+m.Destination)] = true
	}
	if spec.Linux != nil {
		for _, d := range spec.Linux.Devices {
			have[path.Clean("/"+d.Path)] = true
		}
	}
	var out []string
	for _, r := range recorded {
		p := path.Clean("/" + r)
		if have[p] || runtimeDevice(p) {
			continue
		}
		have[p] = true
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// plainDevice is a path under /dev that an lxc.mount.entry line carries as
// it is: no blanks, no escapes, no "." or ".." component.
var plainDevice = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^/dev(/[A-Za-z0-9_+:-][A-Za-z0-9._+:-]*)+$`)
})

// DeviceMountEntry returns the lxc.mount.entry line that binds the host's
// node at p (as LeftOutDevices returns it) onto the same path in the
// container, as LXC writes it, or "" when p is not a plain path under /dev
// (an image's name for a node is not to be copied into a config blindly).
func DeviceMountEntry(p string) string {
	if !plainDevice().MatchString(p) {
		return ""
	}
	return "lxc.mount.entry = " + p + " " + p[1:] + " none bind,create=file 0 0"
}
