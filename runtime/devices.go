package runtime

import (
	"errors"
	"fmt"
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

// populateDev fills the tmpfs on /dev: the default devices, the spec's
// devices that the host has (the nodes an image carried, recorded when it
// was unpacked), and the usual symlinks.
func (m *mounter) populateDev(devices []specs.LinuxDevice) error {
	dev, err := openInRoot(m.root, "/dev", unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(dev)
	for _, name := range defaultDevices {
		if m.mounted["/dev/"+name] {
			continue // the spec binds it already
		}
		if err := bindDevice(m.root, "/dev/"+name); err != nil {
			return err
		}
	}
	for _, d := range devices {
		if !hostHas(d) || isDefault(d.Path) || m.mounted[d.Path] {
			continue
		}
		if err := bindDevice(m.root, d.Path); err != nil {
			return err
		}
	}
	for _, l := range devLinks {
		if err := unix.Symlinkat(l[1], dev, l[0]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("symlink /dev/%s: %w", l[0], err)
		}
	}
	return nil
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
	return st.Mode&unix.S_IFMT == want && unix.Major(st.Rdev) == uint32(d.Major) && unix.Minor(st.Rdev) == uint32(d.Minor)
}

// bindDevice binds the host node at p onto an empty file at p in root.
func bindDevice(root int, p string) error {
	fd, err := fileInRoot(root, p)
	if err != nil {
		return fmt.Errorf("device %s: %w", p, err)
	}
	defer unix.Close(fd)
	if err := unix.Mount(p, fdPath(fd), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind device %s: %w", p, err)
	}
	return nil
}
