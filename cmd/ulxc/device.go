package main

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/ulxc/ulxc/runtime"
)

const deviceUsage = `Usage: ulxc device [-n NAME] add|del [NAME] DEVICE [PATH]

Bind the host's device node DEVICE into the running container NAME, at
PATH inside (default: the same path, under /dev), or take it away again,
as lxc-device does. It lasts until the container stops; for every start,
add the lxc.mount.entry line that start suggests to the config.

What is possible rootless: nothing can create a device node in a user
namespace, so the host's node itself is bound; only nodes you may open are
accepted (read or write), and a process inside opens it with the
container's ids, which are your subordinate ids, not yours: a node open to
everyone (such as /dev/net/tun, /dev/fuse, /dev/kvm on most systems) works,
one open to your groups only does not, unless that group is mapped into
the container (lxc.idmap). There is no device cgroup: the node's own
permissions are the only gate. Moving a network interface (lxc-device add
eth0) needs CAP_NET_ADMIN on the host and is not possible.

Examples:
  ulxc device add web /dev/net/tun
  ulxc device -n web add /dev/fuse
  ulxc device del web /dev/net/tun
`

func cmdDevice(e *env, args []string) error {
	fs := e.newFlagSet("device")
	name := fs.StringP("name", "n", "", "container `NAME`")
	if err := e.parse(fs, deviceUsage, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] != "add" && rest[0] != "del" {
		return usagef("device: want add or del first (see 'ulxc device --help')")
	}
	action, rest := rest[0], rest[1:]
	if *name == "" && len(rest) > 0 {
		*name, rest = rest[0], rest[1:]
	}
	switch {
	case *name == "":
		return usagef("device: no container name (see 'ulxc device --help')")
	case len(rest) == 0 || len(rest) > 2:
		return usagef("device %s: want DEVICE [PATH], got %q", action, rest)
	}
	dev := rest[0]
	if !filepath.IsAbs(dev) {
		if action == "add" && !strings.Contains(dev, "/") {
			return fmt.Errorf("device add %s: %s: moving a network interface into a container needs CAP_NET_ADMIN on the host, which ulxc does not have", *name, dev)
		}
		return usagef("device %s: %q: want the absolute path of a device node, such as /dev/net/tun", action, dev)
	}
	target := dev
	if len(rest) == 2 {
		target = rest[1]
	}
	if t := path.Clean("/" + target); !strings.HasPrefix(t, "/dev/") || t != target && t != "/"+target {
		return usagef("device %s: %q: the path inside must be under /dev (and clean)", action, target)
	}
	target = strings.TrimPrefix(path.Clean("/"+target), "/")
	dir, err := e.runtimeDir(*name)
	if err != nil {
		return fmt.Errorf("device %s %s: %w", action, *name, err)
	}
	if action == "del" {
		if err := runtime.RemoveDevice(dir, target); err != nil {
			return fmt.Errorf("device del %s: %w", *name, err)
		}
		return nil
	}
	warn, err := runtime.AddDevice(dir, dev, target)
	if err != nil {
		return fmt.Errorf("device add %s: %w", *name, err)
	}
	if warn != "" {
		e.warnf("device add %s: %s", *name, warn)
	}
	return nil
}
