package runtime

import (
	"path"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// defaultDevices are the nodes every container gets (LXC's lxc_devices[],
// the OCI default devices). A user namespace cannot mknod, and nodes made
// on a tmpfs mounted in one cannot be opened anyway (SB_I_NODEV), so each is
// the host's node bind-mounted onto an empty file.
var defaultDevices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// devLinks are the symlinks of a populated /dev.
var devLinks = [][2]string{
	{"ptmx", "pts/ptmx"},
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
}

func isDefault(p string) bool {
	for _, n := range defaultDevices {
		if p == "/dev/"+n {
			return true
		}
	}
	return false
}

// hostHas reports whether the host has d's node at the same path: the same
// type, major and minor.
func hostHas(d specs.LinuxDevice) bool {
	if path.Clean(d.Path) != d.Path || !path.IsAbs(d.Path) {
		return false
	}
	var st unix.Stat_t
	if err := unix.Stat(d.Path, &st); err != nil {
		return false
	}
	want := uint32(unix.S_IFCHR)
	if d.Type == "b" {
		want = unix.S_IFBLK
	}
	return st.Mode&unix.S_IFMT == want && unix.Major(uint64(st.Rdev)) == uint32(d.Major) && unix.Minor(uint64(st.Rdev)) == uint32(d.Minor)
}
