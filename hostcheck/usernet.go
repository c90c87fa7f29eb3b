package hostcheck

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// checkUserNet reports what user-mode networking (lxc.net.N.type pasta or
// slirp4netns, the default of `ulxc create`) needs: the helper programs,
// /dev/net/tun that they open as the user, and a ping_group_range that
// lets the user's helpers forward the container's ping. None is
// mandatory: without them containers still run, with loopback only.
func checkUserNet(opts Options) []Result {
	look := opts.LookPath
	if look == nil {
		look = exec.LookPath
	}
	var out []Result
	for _, h := range []struct{ name, pkg, role string }{
		{"pasta", "passt", "the default user-mode networking"},
		{"slirp4netns", "slirp4netns", "user-mode networking when pasta is not installed"},
	} {
		r := Result{Group: "network", Name: h.name}
		if p, err := look(h.name); err == nil {
			r.Status, r.Detail = OK, p+" ("+h.role+")"
		} else {
			r.Status, r.Detail = Warn, fmt.Sprintf("not installed: no %s for lxc.net.N.type = %s", h.role, h.name)
			r.Fix = "as root: apt-get install " + h.pkg
		}
		out = append(out, r)
	}
	return append(out, checkTun(opts), checkPingRange(opts))
}

// checkTun opens the tun device as the helpers do, as the user.
func checkTun(opts Options) Result {
	dev := opts.TunDevice
	if dev == "" {
		dev = "/dev/net/tun"
	}
	r := Result{Group: "network", Name: dev}
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	switch {
	case err == nil:
		f.Close()
		r.Status, r.Detail = OK, "usable by "+opts.User+" (pasta and slirp4netns make the container's interface with it)"
	case errors.Is(err, fs.ErrNotExist):
		r.Status, r.Detail = Warn, "missing: pasta and slirp4netns cannot make the container's interface"
		r.Fix = "as root: modprobe tun; mkdir -p /dev/net; mknod -m 0666 " + dev + " c 10 200"
	case errors.Is(err, fs.ErrPermission):
		mode := ""
		if fi, err := os.Stat(dev); err == nil {
			mode = fmt.Sprintf(" (mode %04o)", fi.Mode().Perm())
		}
		r.Status, r.Detail = Warn, "not usable by "+opts.User+mode+": pasta and slirp4netns cannot make the container's interface, so containers of type pasta or slirp4netns do not start"
		r.Fix = "as root: chmod 0666 " + dev + " (stock Debian's mode, which udev sets at boot: its 50-udev-default.rules says KERNEL==\"tun\", MODE=\"0666\")"
	default:
		r.Status, r.Detail = Warn, err.Error()
		r.Fix = "as root: make " + dev + " a working tun device, mode 0666"
	}
	return r
}

// checkPingRange reads the host's net.ipv4.ping_group_range: pasta and
// slirp4netns forward the container's echo requests through ping sockets
// of the host, which only those groups may open.
func checkPingRange(opts Options) Result {
	r := Result{Group: "network", Name: "net.ipv4.ping_group_range"}
	b, err := os.ReadFile(filepath.Join(opts.ProcRoot, "sys/net/ipv4/ping_group_range"))
	if err != nil {
		r.Status, r.Detail = Warn, err.Error()
		r.Fix = "as root: sysctl -w net.ipv4.ping_group_range='0 2147483647'"
		return r
	}
	f := strings.Fields(string(b))
	var lo, hi uint64
	if len(f) == 2 {
		lo, err = strconv.ParseUint(f[0], 10, 32)
		if err == nil {
			hi, err = strconv.ParseUint(f[1], 10, 32)
		}
	}
	switch {
	case len(f) != 2 || err != nil:
		r.Status, r.Detail = Warn, fmt.Sprintf("unreadable value %q", strings.TrimSpace(string(b)))
	case uint64(opts.GID) >= lo && uint64(opts.GID) <= hi:
		r.Status, r.Detail = OK, fmt.Sprintf("%d %d: covers gid %d, so ping works in containers with user-mode networking", lo, hi, opts.GID)
		return r
	default:
		r.Status, r.Detail = Warn, fmt.Sprintf("%d %d leaves out gid %d: ping fails in containers with user-mode networking", lo, hi, opts.GID)
	}
	r.Fix = "as root: sysctl -w net.ipv4.ping_group_range='0 2147483647' (systemd's default), kept in /etc/sysctl.d/"
	return r
}
