package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRuntimeBaseStale(t *testing.T) {
	stale := "/" // not ours, unless we are root
	if os.Geteuid() == 0 {
		stale = t.TempDir()
		if err := os.Chown(stale, 12345, 12345); err != nil {
			t.Fatal(err)
		}
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, x := range []string{stale, filepath.Join(tmp, "nonexistent"), "relative/run"} {
		t.Run(x, func(t *testing.T) {
			t.Setenv("XDG_RUNTIME_DIR", x)
			s, err := Open(filepath.Join(t.TempDir(), "store"))
			if err != nil {
				t.Fatal(err)
			}
			var warnings []string
			s.Warn = func(msg string) { warnings = append(warnings, msg) }
			for _, name := range []string{"a", "b"} {
				c := &Container{Name: name, Dir: filepath.Join(s.Path, name), store: s}
				dir, err := c.RuntimeDir()
				if err != nil {
					t.Fatalf("RuntimeDir with XDG_RUNTIME_DIR=%s = %v", x, err)
				}
				if !strings.HasPrefix(dir, filepath.Join(tmp, "ulxc-")) {
					t.Errorf("RuntimeDir with XDG_RUNTIME_DIR=%s = %s, want under %s/ulxc-UID", x, dir, tmp)
				}
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], "XDG_RUNTIME_DIR="+x) {
				t.Errorf("warnings = %q, want one naming XDG_RUNTIME_DIR=%s", warnings, x)
			}
		})
	}
	// A good one is used, without a warning.
	good := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", good)
	dir, warning, err := RuntimeBase()
	if err != nil || warning != "" || dir != filepath.Join(good, "ulxc") {
		t.Errorf("RuntimeBase with a good XDG_RUNTIME_DIR = %q, %q, %v; want %s/ulxc", dir, warning, err, good)
	}
}
