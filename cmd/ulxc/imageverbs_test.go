package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// TestImageVerbsExecCompanion: the installed ulxc (-tags ulxc_lean) runs
// create, images and keys in ulxc-image beside it, with the global flags
// it parsed; without ulxc-image it says what to install, and creates
// nothing.
func TestImageVerbsExecCompanion(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	other := filepath.Join(h.Dir, "elsewhere")
	h.MustRun(t, "-P", other, "create", "-t", "busybox", "viaimage")
	if _, err := os.Stat(filepath.Join(other, "viaimage", "config")); err != nil {
		t.Errorf("create with -P before the verb: %v, want the container in %s", err, other)
	}
	if r := h.Run(t, "keys", "list"); r.Code != 0 {
		t.Errorf("keys list through ulxc-image: exit %d: %s", r.Code, r.Stderr)
	}

	// The lean binary alone, in a directory of its own.
	dir := h.User.TempDir(t)
	lean := filepath.Join(dir, "ulxc")
	b, err := os.ReadFile(testenv.ULXC(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lean, b, 0o755); err != nil {
		t.Fatal(err)
	}
	r := testenv.RunCmd(t, h.Exec(t, nil, lean, "create", "-t", "busybox", "alone"))
	if r.Code == 0 || !strings.Contains(r.Stderr, "ulxc-image is not installed beside ulxc") ||
		!strings.Contains(r.Stderr, filepath.Join(dir, "ulxc-image")) {
		t.Errorf("create without ulxc-image: exit %d, %q; want a failure naming %s", r.Code, r.Stderr, filepath.Join(dir, "ulxc-image"))
	}
	if _, err := os.Stat(filepath.Join(h.Dir, ".local/share/ulxc/alone")); !os.IsNotExist(err) {
		t.Errorf("create without ulxc-image left %v", err)
	}

	// checkconfig says so, as a warning: everything else works.
	r = testenv.RunCmd(t, h.Exec(t, nil, lean, "checkconfig"))
	if !strings.Contains(r.Stdout, "ulxc: ulxc-image") || !strings.Contains(r.Stdout, "WARN") ||
		!strings.Contains(r.Stdout, filepath.Join(dir, "ulxc-image")) {
		t.Errorf("checkconfig without ulxc-image: exit %d, %q; want a warning naming it", r.Code, r.Stdout)
	}
	if r := h.Run(t, "checkconfig", "--format", "json"); !strings.Contains(r.Stdout, `"name": "ulxc-image"`) ||
		!strings.Contains(r.Stdout, filepath.Join(filepath.Dir(testenv.ULXC(t)), "ulxc-image")) {
		t.Errorf("checkconfig with ulxc-image beside ulxc: %q, want it found", r.Stdout)
	}
}
