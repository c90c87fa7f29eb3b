package image

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestApplyTemplates(t *testing.T) {
	s := newSandbox(t)
	write := func(name, data string, mode os.FileMode) {
		p := filepath.Join(s.root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/hostname", "LXC_NAME\n", 0o640)
	write("etc/hosts", "127.0.1.1 LXC_NAME\n# LXC_NAMES LXC_PATH\n", 0o644)
	write("etc/plain", "nothing\n", 0o644)
	if err := os.Symlink(filepath.Join(s.outside, "keep"), filepath.Join(s.root, "etc/escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../outside/keep", filepath.Join(s.root, "etc/escape2")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.outside, "keep"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(s.root, "etc/hostname"), 1234, 55); err != nil && os.Geteuid() == 0 {
		t.Fatal(err)
	}
	vars := map[string]string{"LXC_NAME": "web", "LXC_NAMES": "many", "LXC_PATH": "/p"}
	files := []string{"/etc/hostname", "/etc/hosts", "/etc/plain", "/etc/missing", "/nodir/x", "/etc/escape", "/etc/escape2"}
	if err := ApplyTemplates(s.root, files, vars); err != nil {
		t.Fatalf("ApplyTemplates: %v", err)
	}
	s.checkOutside(t)
	for name, want := range map[string]string{
		"etc/hostname": "web\n",
		"etc/hosts":    "127.0.1.1 web\n# many /p\n",
		"etc/plain":    "nothing\n",
	} {
		if got, _ := os.ReadFile(filepath.Join(s.root, name)); string(got) != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(s.root, "etc/hostname"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o7777 != 0o640 || (os.Geteuid() == 0 && (st.Uid != 1234 || st.Gid != 55)) {
		t.Errorf("etc/hostname: mode %#o owner %d:%d, want 0640 1234:55 kept", st.Mode&0o7777, st.Uid, st.Gid)
	}
	ents, _ := os.ReadDir(filepath.Join(s.root, "etc"))
	if len(ents) != 5 {
		t.Errorf("etc holds %d entries, want 5 (no temporary files left)", len(ents))
	}

	if err := ApplyTemplates(s.root, []string{"/../outside/keep"}, vars); !errors.Is(err, ErrInsecurePath) {
		t.Errorf("ApplyTemplates(/../outside/keep) = %v, want ErrInsecurePath", err)
	}
	if err := unix.Mkfifo(filepath.Join(s.root, "etc/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ApplyTemplates(s.root, []string{"/etc/fifo"}, vars); err == nil {
		t.Errorf("ApplyTemplates on a fifo succeeded")
	}
	s.checkOutside(t)
}

func TestLockRoot(t *testing.T) {
	tests := []struct {
		in, want string
		locked   bool
	}{
		{"root:$6$salt$hash:19000:0:99999:7:::\nbin:*:19000::::::\n", "root:!$6$salt$hash:19000:0:99999:7:::\nbin:*:19000::::::\n", true},
		{"daemon:*:1::::::\nroot::19000::::::", "daemon:*:1::::::\nroot:!:19000::::::", true},
		{"root:!$6$x:1::::::\n", "root:!$6$x:1::::::\n", false},
		{"root:*:1::::::\n", "root:*:1::::::\n", false},
		{"root:!*:1::::::\n", "root:!*:1::::::\n", false},
		{"rooter:$6$x:1::::::\n", "rooter:$6$x:1::::::\n", false},
		{"", "", false},
		{"root:", "root:!", true},
	}
	for _, tc := range tests {
		got, locked := lockRoot([]byte(tc.in))
		if string(got) != tc.want || locked != tc.locked {
			t.Errorf("lockRoot(%q) = %q, %v, want %q, %v", tc.in, got, locked, tc.want, tc.locked)
		}
	}
}

func TestLockRootPassword(t *testing.T) {
	s := newSandbox(t)
	if locked, err := LockRootPassword(s.root); err != nil || locked {
		t.Errorf("LockRootPassword(no /etc/shadow) = %v, %v, want false, nil", locked, err)
	}
	shadow := filepath.Join(s.root, "etc/shadow")
	if err := os.MkdirAll(filepath.Dir(shadow), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shadow, []byte("root:$y$j9T$abc:19000:0:99999:7:::\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(shadow, 0, 42); err != nil && os.Geteuid() == 0 {
		t.Fatal(err)
	}
	locked, err := LockRootPassword(s.root)
	if err != nil || !locked {
		t.Fatalf("LockRootPassword = %v, %v, want true", locked, err)
	}
	if got, _ := os.ReadFile(shadow); string(got) != "root:!$y$j9T$abc:19000:0:99999:7:::\n" {
		t.Errorf("shadow = %q", got)
	}
	var st unix.Stat_t
	if err := unix.Stat(shadow, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o7777 != 0o640 || (os.Geteuid() == 0 && st.Gid != 42) {
		t.Errorf("shadow mode %#o gid %d, want 0640 and 42 kept", st.Mode&0o7777, st.Gid)
	}
	if locked, err := LockRootPassword(s.root); err != nil || locked {
		t.Errorf("second LockRootPassword = %v, %v, want false, nil", locked, err)
	}

	// A shadow that is a symlink out of the rootfs is refused, not followed.
	if err := os.Remove(shadow); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(s.outside, "keep"), shadow); err != nil {
		t.Fatal(err)
	}
	if _, err := LockRootPassword(s.root); err == nil {
		t.Errorf("LockRootPassword through a symlink succeeded")
	}
	s.checkOutside(t)
}
