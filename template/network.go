package template

import (
	"os"
	"os/exec"
)

// defaultNetwork is the network a new container gets when neither the
// default config nor the image configures one: its lxc.net.0.type, the
// comment that goes above it in the config, and a warning for the user
// ("" for none).
type defaultNetwork struct {
	Type, Comment, Warning string
}

// chooseNetwork picks the best user-mode networking that look (exec.LookPath)
// finds: pasta, else slirp4netns, else none (empty: loopback only), which
// the warning says how to fix. pasta is preferred as podman 5 prefers it:
// it confines itself (seccomp, an empty mount namespace) where slirp4netns,
// as ulxc must run it, cannot. (Debian 12's pasta is the slower and less
// steady of the two at bulk transfers: bench/net.sh, README.)
func chooseNetwork(look func(string) (string, error)) defaultNetwork {
	for _, typ := range []string{"pasta", "slirp4netns"} {
		if _, err := look(typ); err == nil {
			n := defaultNetwork{Type: typ, Comment: "ulxc's default: user-mode networking through " + typ +
				", no privilege needed (empty: loopback only; veth: an administrator's bridge)"}
			if err := tunUsable(); err != nil {
				n.Warning = typ + " needs /dev/net/tun, which you may not open (" + err.Error() +
					"): the container will not start until root runs chmod 0666 /dev/net/tun (as stock Debian has it), or until you set lxc.net.0.type = empty in its config"
			}
			return n
		}
	}
	return defaultNetwork{Type: "empty",
		Comment: "no user-mode networking is installed: loopback only; install passt (or slirp4netns) and set pasta (slirp4netns) here",
		Warning: "neither pasta nor slirp4netns is installed: the container gets loopback only (lxc.net.0.type = empty); for a network, ask root to apt-get install passt, then set lxc.net.0.type = pasta in its config"}
}

// busyboxNetwork is the busybox template's: none, as it is the offline
// template.
var busyboxNetwork = defaultNetwork{Type: "empty",
	Comment: "the busybox template has no network (loopback only); pasta or slirp4netns give it one"}

// tunUsable reports whether this user may open /dev/net/tun, which pasta
// and slirp4netns need.
func tunUsable() error {
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// lookPath is exec.LookPath, a variable for tests.
var lookPath = exec.LookPath
