package image

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

func hostBusybox(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if checkStatic(p) == nil {
			return p
		}
	}
	testenv.Skipf(t, "no static busybox on this host: apt-get install busybox-static")
	return ""
}

func TestBusybox(t *testing.T) {
	bb := hostBusybox(t)
	root := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Busybox(root, bb); err != nil {
		t.Fatalf("Busybox: %v", err)
	}
	if err := checkStatic(filepath.Join(root, "bin/busybox")); err != nil {
		t.Errorf("bin/busybox: %v", err)
	}
	modes := map[string]os.FileMode{
		"bin/busybox":    0o755,
		"tmp":            os.ModeDir | os.ModeSticky | 0o777,
		"root":           os.ModeDir | 0o700,
		"etc/shadow":     0o600,
		"etc/init.d/rcS": 0o755,
		"sbin/init":      os.ModeSymlink | 0o777,
		"bin/sh":         os.ModeSymlink | 0o777,
	}
	for name, want := range modes {
		st, err := os.Lstat(filepath.Join(root, name))
		if err != nil || st.Mode() != want {
			t.Errorf("Lstat(%s) = %v, %v, want mode %v", name, st.Mode(), err, want)
		}
	}
	for _, name := range []string{"sbin/init", "bin/sh"} {
		if target, _ := os.Readlink(filepath.Join(root, name)); target != "/bin/busybox" {
			t.Errorf("%s -> %q, want /bin/busybox", name, target)
		}
	}
	if locked, err := LockRootPassword(root); err != nil || locked {
		t.Errorf("LockRootPassword(busybox rootfs) = %v, %v: root should already be locked", locked, err)
	}
	if err := ApplyTemplates(root, BusyboxTemplates(), map[string]string{"LXC_NAME": "bb"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "etc/hostname")); string(got) != "bb\n" {
		t.Errorf("etc/hostname = %q, want bb", got)
	}
	inittab, _ := os.ReadFile(filepath.Join(root, "etc/inittab"))
	if !strings.Contains(string(inittab), "::sysinit:/etc/init.d/rcS") {
		t.Errorf("inittab does not run rcS: %q", inittab)
	}
	if !strings.Contains(BusyboxConfig(), "lxc.signal.halt = SIGUSR1") {
		t.Errorf("BusyboxConfig() lacks the halt signal busybox init obeys")
	}

	if os.Geteuid() != 0 {
		return
	}
	cmd := exec.Command("/bin/sh", "-c", "echo ok; hostname -F /etc/hostname 2>/dev/null; id -u")
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	cmd.Env = []string{"PATH=/bin:/sbin:/usr/bin:/usr/sbin"}
	out, err := cmd.Output()
	if err != nil || !strings.HasPrefix(string(out), "ok\n") {
		t.Errorf("chroot %s /bin/sh -c 'echo ok' = %q, %v", root, out, err)
	}
}

func TestBusyboxRefusesDynamic(t *testing.T) {
	root := t.TempDir()
	dynamic, err := exec.LookPath("ls")
	if err != nil {
		testenv.Skipf(t, "no ls")
	}
	if checkStatic(dynamic) == nil {
		testenv.Skipf(t, "%s is static here", dynamic)
	}
	if err := Busybox(root, dynamic); !errors.Is(err, ErrDynamicBusybox) {
		t.Errorf("Busybox(%s) = %v, want ErrDynamicBusybox", dynamic, err)
	}
	notELF := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Busybox(root, notELF); err == nil {
		t.Errorf("Busybox(a shell script) succeeded")
	}
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Errorf("a refused busybox left %d entries in root", len(ents))
	}
}
