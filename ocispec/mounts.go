package ocispec

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// autoMounts is what lxc.mount.auto asks for, normalised.
type autoMounts struct {
	proc   string // "mixed" or "rw"
	sys    string // "ro", "rw" or "mixed"
	cgroup string // "", "ro", "rw" or "mixed"
}

func (a autoMounts) String() string {
	s := "proc:" + a.proc + " sys:" + a.sys
	if a.cgroup != "" {
		s += " cgroup:" + a.cgroup
	}
	return s
}

// parseMountAuto reads lxc.mount.auto words. /proc and /sys are always
// mounted: proc:mixed and sys:ro when the config does not say.
func parseMountAuto(words []string) (autoMounts, error) {
	a := autoMounts{proc: "mixed", sys: "ro"}
	for _, w := range words {
		kind, mode, _ := strings.Cut(w, ":")
		mode = strings.TrimSuffix(strings.TrimSuffix(mode, ":force"), "force")
		bad := func() (autoMounts, error) {
			return a, keyErr("lxc.mount.auto", w, ErrInvalidValue, "unknown mode")
		}
		switch kind {
		case "proc":
			switch mode {
			case "", "mixed":
				a.proc = "mixed"
			case "rw":
				a.proc = "rw"
			default:
				return bad()
			}
		case "sys":
			switch mode {
			case "", "mixed":
				a.sys = "mixed"
			case "ro", "rw":
				a.sys = mode
			default:
				return bad()
			}
		case "cgroup", "cgroup-full":
			// In a cgroup namespace a cgroup2 mount shows only the
			// container's own subtree, which is what "mixed" leaves
			// writable; cgroup-full has nothing more to show.
			switch mode {
			case "", "mixed", "rw":
				a.cgroup = "rw"
			case "ro":
				a.cgroup = "ro"
			default:
				return bad()
			}
		case "shmounts":
			return a, keyErr("lxc.mount.auto", w, ErrUnsupported, "shmounts")
		default:
			return bad()
		}
	}
	return a, nil
}

// standardDevices are bind-mounted from the host, LXC's lxc_devices list.
var standardDevices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// mounts sets Spec.Mounts: the kernel filesystems, the device binds, then
// lxc.mount.fstab and lxc.mount.entry.
func (c *converter) mounts() error {
	auto, err := parseMountAuto(c.words("lxc.mount.auto"))
	if err != nil {
		return err
	}
	c.ann[AnnotationMountAuto] = auto.String()
	noexec := []string{"nosuid", "noexec", "nodev"}
	add := func(m specs.Mount) { c.spec.Mounts = append(c.spec.Mounts, m) }

	add(specs.Mount{Destination: "/proc", Type: "proc", Source: "proc", Options: noexec})
	if auto.proc == "mixed" {
		c.spec.Linux.ReadonlyPaths = []string{"/proc/sys", "/proc/sysrq-trigger"}
	}
	sysOpts := append([]string{}, noexec...)
	if auto.sys != "rw" {
		sysOpts = append(sysOpts, "ro")
	}
	if c.hostNet {
		// sysfs belongs to the network namespace that mounts it; without our
		// own, only a bind of the host's /sys is possible.
		add(specs.Mount{Destination: "/sys", Type: "bind", Source: "/sys", Options: append([]string{"rbind"}, sysOpts...)})
	} else {
		add(specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts})
	}
	add(specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs",
		Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}})
	for _, d := range standardDevices {
		add(specs.Mount{Destination: "/dev/" + d, Type: "bind", Source: "/dev/" + d,
			Options: []string{"bind", "nosuid", "noexec"}})
	}
	pts := []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}
	if c.mapsGID(5) {
		pts = append(pts, "gid=5")
	}
	if v, ok := c.get("lxc.pty.max"); ok {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return keyErr("lxc.pty.max", v, ErrInvalidValue, "not a number")
		}
		if n > 0 {
			// As LXC (lxc_setup_devpts_child), lxc.pty.max counts the
			// container's own ptys: the instance also holds the ttys
			// and /dev/console, which come from it. LXC's busybox
			// template asks for pty.max 1 and tty.max 5.
			tty, _ := c.get("lxc.tty.max")
			ttys, _ := strconv.ParseUint(tty, 10, 16) // checked with the annotations
			pts = append(pts, "max="+strconv.FormatUint(n+ttys+1, 10))
		}
		c.ann[AnnotationPtyMax] = v
	}
	add(specs.Mount{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: pts})
	add(specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
		Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}})
	add(specs.Mount{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: noexec})
	if auto.cgroup != "" {
		add(specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup2", Source: "cgroup2",
			Options: append(append([]string{}, noexec...), auto.cgroup)})
	}

	if file, ok := c.cfg.Path("lxc.mount.fstab"); ok && strings.TrimSpace(file) != "" {
		if err := c.fstab(file); err != nil {
			return err
		}
	}
	for _, v := range c.cfg.Values("lxc.mount.entry") {
		if strings.TrimSpace(v) == "" {
			continue
		}
		e, err := ParseMountEntry(v, c.spec.Root.Path)
		if err != nil {
			return &KeyError{Key: "lxc.mount.entry", Value: v, Err: err}
		}
		c.addEntry(e)
	}
	return nil
}

// fstab adds the mounts of an lxc.mount.fstab file.
func (c *converter) fstab(file string) error {
	data, err := readFstab(file)
	if err != nil {
		return &KeyError{Key: "lxc.mount.fstab", Value: file, Err: err}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e, err := ParseMountEntry(line, c.spec.Root.Path)
		if err != nil {
			return &KeyError{Key: "lxc.mount.fstab", Value: file, Err: fmt.Errorf("line %d: %w", n, err)}
		}
		c.addEntry(e)
	}
	if err := sc.Err(); err != nil {
		return &KeyError{Key: "lxc.mount.fstab", Value: file, Err: err}
	}
	return nil
}

func (c *converter) addEntry(e MountEntry) {
	i := len(c.spec.Mounts)
	c.spec.Mounts = append(c.spec.Mounts, e.Mount)
	if e.Create != "" {
		c.ann[MountCreateKey(i)] = e.Create
	}
	if e.Optional {
		c.ann[MountOptionalKey(i)] = "true"
	}
}

// maxFstab bounds the fstab file read: a mount table, not a disk image.
const maxFstab = 1 << 20

// readFstab reads a regular file of at most maxFstab bytes, so that a
// config naming /dev/zero or a fifo cannot hang the conversion.
func readFstab(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: not a regular file", ErrInvalidValue)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFstab+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFstab {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidValue, maxFstab)
	}
	return data, nil
}

// MountEntry is one lxc.mount.entry or fstab line.
type MountEntry struct {
	specs.Mount
	// Create is "dir" or "file" for create=dir|file, else "".
	Create string
	// Optional is LXC's "optional": ignore a failure to mount.
	Optional bool
}

// ParseMountEntry parses one fstab-syntax mount line, `SRC DEST TYPE OPTS
// [DUMP [PASS]]`, with fstab's octal escapes (\040 for a blank). DEST is
// inside the container: relative to its root, or absolute under rootfs (the
// host path of the root, as LXC accepts). A DEST that climbs out of the
// root is ErrUnsafePath; the runtime still resolves it inside the root,
// since symlinks in the rootfs are not ours to trust.
func ParseMountEntry(line, rootfs string) (MountEntry, error) {
	f := strings.Fields(line)
	if len(f) < 3 || len(f) > 6 {
		return MountEntry{}, fmt.Errorf("%w: want SRC DEST TYPE OPTS [DUMP [PASS]]", ErrInvalidValue)
	}
	for i := range f[:min(len(f), 4)] {
		s, err := unescapeFstab(f[i])
		if err != nil {
			return MountEntry{}, err
		}
		f[i] = s
	}
	dest, err := containerPath(f[1], rootfs)
	if err != nil {
		return MountEntry{}, err
	}
	e := MountEntry{Mount: specs.Mount{Source: f[0], Destination: dest, Type: f[2]}}
	bind := false
	if len(f) > 3 {
		for _, o := range strings.Split(f[3], ",") {
			switch {
			case o == "" || o == "defaults":
			case o == "optional":
				e.Optional = true
			case strings.HasPrefix(o, "create="):
				e.Create = strings.TrimPrefix(o, "create=")
				if e.Create != "dir" && e.Create != "file" {
					return MountEntry{}, fmt.Errorf("%w: %s: want create=dir or create=file", ErrInvalidValue, o)
				}
			case strings.HasPrefix(o, "idmap="):
				return MountEntry{}, fmt.Errorf("%w: option %s (idmapped mounts need real root)", ErrUnsupported, o)
			default:
				bind = bind || o == "bind" || o == "rbind"
				e.Options = append(e.Options, o)
			}
		}
	}
	if bind && (e.Type == "none" || e.Type == "") {
		e.Type = "bind"
	}
	return e, nil
}

// containerPath turns a mount destination into an absolute, clean path
// inside the container, refusing one that climbs out of it.
func containerPath(dest, rootfs string) (string, error) {
	if path.IsAbs(dest) {
		root := filepath.Clean(rootfs)
		rel, ok := strings.CutPrefix(path.Clean(dest), root+"/")
		if rootfs == "" || !ok {
			return "", fmt.Errorf("%w: absolute destination %s is not under the rootfs %s (write it relative to the rootfs)", ErrUnsafePath, dest, rootfs)
		}
		dest = rel
	}
	depth := 0
	for _, part := range strings.Split(dest, "/") {
		switch part {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return "", fmt.Errorf("%w: %s", ErrUnsafePath, dest)
			}
		default:
			depth++
		}
	}
	clean := path.Clean("/" + dest)
	if clean == "/" {
		return "", fmt.Errorf("%w: destination %q is the root itself", ErrInvalidValue, dest)
	}
	return clean, nil
}

// unescapeFstab decodes the \NNN octal escapes of fstab(5) fields.
func unescapeFstab(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+4 > len(s) {
			return "", fmt.Errorf("%w: bad escape in %q", ErrInvalidValue, s)
		}
		n, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
		if err != nil || n == 0 {
			return "", fmt.Errorf("%w: bad escape in %q", ErrInvalidValue, s)
		}
		b.WriteByte(byte(n))
		i += 3
	}
	return b.String(), nil
}
