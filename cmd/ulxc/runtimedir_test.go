package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// withRuntimeDir returns h with XDG_RUNTIME_DIR set to dir, or unset when
// dir is "". TMPDIR is the home's own, so that the private fallback
// (TMPDIR/ulxc-UID) is this test's and no other's.
func withRuntimeDir(t *testing.T, h *testenv.Home, dir string) *testenv.Home {
	t.Helper()
	tmp := filepath.Join(h.Dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, int(h.User.UID), int(h.User.GID)); err != nil && os.Geteuid() == 0 {
		t.Fatal(err)
	}
	env := []string{"TMPDIR=" + tmp}
	for _, kv := range h.Env {
		if !strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") && !strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	if dir != "" {
		env = append(env, "XDG_RUNTIME_DIR="+dir)
	}
	c := *h
	c.Env = env
	return &c
}

// TestStaleRuntimeDir is issue 12's defect 5: an XDG_RUNTIME_DIR that is
// not the user's (a session's that ended, another user's after su) falls
// back to the private runtime directory with one warning.
func TestStaleRuntimeDir(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	stale := "/"
	if os.Geteuid() == 0 {
		stale = filepath.Join(h.Dir, "root-run")
		if err := os.Mkdir(stale, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	hs := withRuntimeDir(t, h, stale)
	runtimetest.NewBusybox(t, h, "c1")
	runtimetest.NewBusybox(t, h, "c2")
	check := func(r testenv.Result, what string) {
		t.Helper()
		if n := strings.Count(r.Stderr, "ulxc: warning:"); n != 1 || !strings.Contains(r.Stderr, stale) {
			t.Errorf("%s with XDG_RUNTIME_DIR=%s: stderr %q, want one warning naming it", what, stale, r.Stderr)
		}
	}
	r := hs.MustRun(t, "ls")
	if !strings.Contains(r.Stdout, "c1") || !strings.Contains(r.Stdout, "c2") {
		t.Errorf("ls = %q, want c1 and c2", r.Stdout)
	}
	check(r, "ls")
	check(hs.MustRun(t, "start", "c1"), "start")
	t.Cleanup(func() { hs.Run(t, "stop", "-k", "c1") })
	if row := lsJSON(t, hs)["c1"]; row.State != "RUNNING" {
		t.Errorf("ls after start = %+v, want RUNNING", row)
	}
	if m, _ := filepath.Glob(filepath.Join(h.Dir, "tmp", "ulxc-*", "*", "c1", "state.json")); len(m) != 1 {
		t.Errorf("state of c1 under TMPDIR/ulxc-UID: %v, want one", m)
	}
	check(hs.MustRun(t, "ls", "-f"), "ls -f")
	// stop finds c1's runtime directory in its run record and needs
	// none of its own: a warning, if any, is printed once.
	if r := hs.MustRun(t, "stop", "-k", "c1"); strings.Count(r.Stderr, "ulxc: warning:") > 1 {
		t.Errorf("stop with XDG_RUNTIME_DIR=%s: stderr %q, want at most one warning", stale, r.Stderr)
	}
	if row := lsJSON(t, hs)["c1"]; row.State != "STOPPED" {
		t.Errorf("ls after stop = %+v, want STOPPED", row)
	}
}
