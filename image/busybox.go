package image

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"strings"
)

// ErrDynamicBusybox means that the busybox binary needs a dynamic loader,
// which the container does not have: install busybox-static.
var ErrDynamicBusybox = errors.New("busybox is dynamically linked")

// BusyboxTemplates are the files of the busybox system that hold the
// LXC_NAME placeholder, for ApplyTemplates.
func BusyboxTemplates() []string { return []string{"/etc/hostname", "/etc/hosts"} }

// BusyboxConfig returns the LXC config lines a busybox container needs.
// busybox init ignores SIGPWR, LXC's default halt signal: SIGUSR1 halts it
// and SIGTERM reboots it.
func BusyboxConfig() string {
	return `# busybox template
lxc.init.cmd = /sbin/init
lxc.signal.halt = SIGUSR1
lxc.signal.reboot = SIGTERM
`
}

// busyboxDirs are created first, with their modes.
var busyboxDirs = []struct {
	name string
	mode os.FileMode
}{
	{"bin", 0o755}, {"sbin", 0o755}, {"etc", 0o755}, {"etc/init.d", 0o755},
	{"dev", 0o755}, {"proc", 0o555}, {"sys", 0o555}, {"tmp", 0o777 | os.ModeSticky},
	{"root", 0o700}, {"run", 0o755}, {"var", 0o755}, {"var/log", 0o755},
	{"usr", 0o755}, {"usr/bin", 0o755}, {"usr/sbin", 0o755}, {"home", 0o755}, {"mnt", 0o755},
}

// busyboxFiles are written after the applets. The inittab runs rcS once,
// then a login shell on the console (respawned when it exits); busybox init
// ignores the console when stdin is not a terminal, as in `start -d` with
// no console attached.
var busyboxFiles = []struct {
	name, data string
	mode       os.FileMode
}{
	{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644},
	{"etc/group", "root:x:0:\n", 0o644},
	{"etc/shadow", "root:!::0:::::\n", 0o600},
	{"etc/hostname", "LXC_NAME\n", 0o644},
	{"etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tLXC_NAME\n::1\tlocalhost ip6-localhost ip6-loopback\n", 0o644},
	{"etc/fstab", "", 0o644},
	{"etc/inittab", "::sysinit:/etc/init.d/rcS\n::respawn:-/bin/sh\n::ctrlaltdel:/sbin/reboot\n::shutdown:/bin/umount -a -r\n", 0o644},
	{"etc/init.d/rcS", "#!/bin/sh\n# Run once by init at boot.\nhostname -F /etc/hostname\n", 0o755},
}

// Busybox builds a bootable busybox system in the empty directory root from
// the host's static busybox binary: the standard directories,
// /bin/busybox, one symlink per applet (/sbin/init among them), and
// passwd, group, shadow (root locked), hostname and hosts (holding
// LXC_NAME: see BusyboxTemplates), inittab and init.d/rcS. It needs no
// network. A dynamically linked busybox is refused with ErrDynamicBusybox.
func Busybox(root, busybox string) error {
	if err := checkStatic(busybox); err != nil {
		return err
	}
	applets, err := busyboxApplets(busybox)
	if err != nil {
		return err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, d := range busyboxDirs {
		if err := r.MkdirAll(d.name, 0o755); err != nil {
			return err
		}
		if err := r.Chmod(d.name, d.mode); err != nil {
			return err
		}
	}
	if err := copyBusybox(r, busybox); err != nil {
		return err
	}
	for _, a := range append(applets, "sbin/init") {
		if a == "bin/busybox" {
			continue
		}
		if err := r.MkdirAll(path.Dir(a), 0o755); err != nil {
			return err
		}
		err := r.Symlink("/bin/busybox", a)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	for _, f := range busyboxFiles {
		if err := r.WriteFile(f.name, []byte(f.data), f.mode); err != nil {
			return err
		}
		if err := r.Chmod(f.name, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// checkStatic refuses an ELF file with a program interpreter.
func checkStatic(busybox string) error {
	f, err := elf.Open(busybox)
	if err != nil {
		return fmt.Errorf("busybox %s: %w", busybox, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s: %w (install busybox-static)", busybox, ErrDynamicBusybox)
		}
	}
	return nil
}

// busyboxApplets lists the applets' install paths ("usr/bin/env"), from
// --list-full, or from --list (all in bin/) on builds without it.
func busyboxApplets(busybox string) ([]string, error) {
	out, err := exec.Command(busybox, "--list-full").Output()
	prefix := ""
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		if out, err = exec.Command(busybox, "--list").Output(); err != nil {
			return nil, fmt.Errorf("list busybox applets: %w", err)
		}
		prefix = "bin/"
	}
	var applets []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		a := strings.TrimSpace(sc.Text())
		if a == "" {
			continue
		}
		name, err := cleanName(prefix + strings.TrimLeft(a, "/"))
		if err != nil || name == "" {
			return nil, fmt.Errorf("busybox applet %q: %w", a, ErrInsecurePath)
		}
		applets = append(applets, name)
	}
	if len(applets) == 0 {
		return nil, errors.New("busybox lists no applets")
	}
	return applets, nil
}

func copyBusybox(r *os.Root, busybox string) (err error) {
	src, err := os.Open(busybox)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := r.OpenFile("bin/busybox", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(dst, src); err != nil {
		return fmt.Errorf("copy busybox: %w", err)
	}
	return dst.Chmod(0o755)
}
