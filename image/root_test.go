package image

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/internal/testenv"
)

// TestMkdirInRoot covers what template's create does after an unpack
// (dev/pts for the devpts mount) in a rootfs whose dev is an image's
// symlink: one that points out of the root, absolutely or with "..",
// resolves inside it, as every other path of an image does, and nothing
// is made outside. (os.Root, which made it before, refused such a rootfs
// with "path escapes from parent".) A symlink to nothing is refused, as
// Unpack refuses a member below one.
func TestMkdirInRoot(t *testing.T) {
	for _, tc := range []struct {
		name    string
		links   map[string]string // symlinks in root; "OUTSIDE" is s.outside
		mirror  string            // a directory made in root first
		inside  string            // the directory that must exist afterwards
		wantErr bool
	}{
		{name: "no dev", inside: "dev/pts"},
		{name: "absolute symlink out", links: map[string]string{"dev": "OUTSIDE"}, mirror: "OUTSIDE", inside: "OUTSIDE/pts"},
		{name: "relative symlink out", links: map[string]string{"dev": "../outside"}, mirror: "outside", inside: "outside/pts"},
		{name: "deep dot-dot", links: map[string]string{"dev": strings.Repeat("../", 30) + "outside"}, mirror: "outside", inside: "outside/pts"},
		{name: "symlink chain", links: map[string]string{"dev": "devlink", "devlink": "/../outside"}, mirror: "outside", inside: "outside/pts"},
		{name: "dangling symlink out", links: map[string]string{"dev": "OUTSIDE"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			sub := func(p string) string { return strings.ReplaceAll(p, "OUTSIDE", s.outside) }
			if tc.mirror != "" {
				if err := os.MkdirAll(filepath.Join(s.root, sub(tc.mirror)), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for name, target := range tc.links {
				if err := os.Symlink(sub(target), filepath.Join(s.root, name)); err != nil {
					t.Fatal(err)
				}
			}
			err := MkdirInRoot(s.root, "dev/pts")
			s.checkOutside(t)
			if tc.wantErr {
				if err == nil {
					t.Errorf("MkdirInRoot(dev/pts) with dev -> %s succeeded, want an error", sub(tc.links["dev"]))
				}
				return
			}
			if err != nil {
				t.Fatalf("MkdirInRoot(dev/pts) with %v = %v", tc.links, err)
			}
			if st, err := os.Lstat(filepath.Join(s.root, sub(tc.inside))); err != nil || !st.IsDir() {
				t.Errorf("%s in root: %v, %v; want a directory", sub(tc.inside), st, err)
			}
		})
	}

	s := newSandbox(t)
	if err := os.WriteFile(filepath.Join(s.root, "dev"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := MkdirInRoot(s.root, "dev/pts"); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("MkdirInRoot(dev/pts) with dev a file = %v, want ENOTDIR", err)
	}
	s.checkOutside(t)
}

// bindOutside mounts s.outside on root/name, as root could behind the
// unpack's back; the test is skipped where it cannot.
func bindOutside(t *testing.T, s *sandbox, name string) {
	t.Helper()
	m := filepath.Join(s.root, name)
	if err := os.Mkdir(m, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(s.outside, m, "", unix.MS_BIND, ""); err != nil {
		testenv.Skipf(t, "bind mount %s on %s: %v (needs CAP_SYS_ADMIN)", s.outside, m, err)
	}
	t.Cleanup(func() { unix.Unmount(m, unix.MNT_DETACH) })
}

// TestInRootStopsAtMounts: a mount inside the root is never resolved
// into, by Unpack's parents, ApplyTemplates or MkdirInRoot, as openat2's
// RESOLVE_NO_XDEV made it before (filepath-securejoin does not offer it:
// root.go checks the mount after the lookup).
func TestInRootStopsAtMounts(t *testing.T) {
	t.Run("unpack", func(t *testing.T) {
		s := newSandbox(t)
		bindOutside(t, s, "m")
		_, err := s.unpack(t, tarOf(t, reg("m/pwned", "x")), Options{})
		if !errors.Is(err, unix.EXDEV) {
			t.Errorf("Unpack(m/pwned) with a mount on m = %v, want EXDEV", err)
		}
		s.checkOutside(t)
	})
	t.Run("unpack through a symlink", func(t *testing.T) {
		s := newSandbox(t)
		bindOutside(t, s, "m")
		_, err := s.unpack(t, tarOf(t, symlinkm("l", "/m"), reg("l/pwned", "x")), Options{})
		if !errors.Is(err, unix.EXDEV) {
			t.Errorf("Unpack(l -> /m, l/pwned) with a mount on m = %v, want EXDEV", err)
		}
		s.checkOutside(t)
	})
	t.Run("templates", func(t *testing.T) {
		s := newSandbox(t)
		bindOutside(t, s, "m")
		if err := os.WriteFile(filepath.Join(s.outside, "keep"), []byte("LXC_NAME"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := ApplyTemplates(s.root, []string{"/m/keep"}, map[string]string{"LXC_NAME": "web"})
		if !errors.Is(err, unix.EXDEV) {
			t.Errorf("ApplyTemplates(/m/keep) with a mount on m = %v, want EXDEV", err)
		}
		if b, _ := os.ReadFile(filepath.Join(s.outside, "keep")); string(b) != "LXC_NAME" {
			t.Errorf("the file behind the mount holds %q, want it untouched", b)
		}
	})
	t.Run("mkdir", func(t *testing.T) {
		s := newSandbox(t)
		bindOutside(t, s, "m")
		if err := MkdirInRoot(s.root, "m/pts"); !errors.Is(err, unix.EXDEV) {
			t.Errorf("MkdirInRoot(m/pts) with a mount on m = %v, want EXDEV", err)
		}
	})
}

// TestApplyTemplatesParentSymlink: a template's parent directory that is
// a symlink out of the root resolves inside it.
func TestApplyTemplatesParentSymlink(t *testing.T) {
	s := newSandbox(t)
	if err := os.WriteFile(filepath.Join(s.outside, "keep"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	mirror := filepath.Join(s.root, s.outside)
	if err := os.MkdirAll(mirror, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mirror, "keep"), []byte("LXC_NAME"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"abs": s.outside, "rel": "../../../.." + s.outside} {
		if err := os.Symlink(target, filepath.Join(s.root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := ApplyTemplates(s.root, []string{"/abs/keep", "/rel/keep"}, map[string]string{"LXC_NAME": "keep"}); err != nil {
		t.Fatalf("ApplyTemplates: %v", err)
	}
	s.checkOutside(t)
	if b, _ := os.ReadFile(filepath.Join(mirror, "keep")); string(b) != "keep" {
		t.Errorf("the file inside root holds %q, want it templated", b)
	}
}
