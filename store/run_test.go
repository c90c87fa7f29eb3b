package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newRunContainer makes a container "web" in a fresh store, with
// XDG_RUNTIME_DIR a private directory of the test.
func newRunContainer(t *testing.T) (*Store, *Container) {
	t.Helper()
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	s, err := Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	c, unlock, err := s.New("web")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if err := os.WriteFile(c.ConfigPath(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestRunLock(t *testing.T) {
	_, c := newRunContainer(t)
	here, err := c.RuntimeDir()
	if err != nil {
		t.Fatal(err)
	}
	if run, err := c.FindRun(); err != nil || run.Held || run.Dir != here {
		t.Errorf("FindRun of a container never started = %+v, %v; want not held, %s", run, err, here)
	}

	// A run started in another session: another runtime directory.
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	s2, _ := Open(filepath.Dir(c.Dir))
	c2, _ := s2.Get("web")
	there, err := c2.RuntimeDir()
	if err != nil {
		t.Fatal(err)
	}
	lock, err := c2.LockRun(there)
	if err != nil {
		t.Fatal(err)
	}
	// Seen from the first session (another open file description, as
	// another process has): held, and the other session's directory.
	if run, err := c.FindRun(); err != nil || !run.Held || run.Dir != there {
		t.Errorf("FindRun during a run = %+v, %v; want held, %s", run, err, there)
	}
	if _, err := c.LockRun(here); !errors.Is(err, ErrRunning) {
		t.Errorf("second LockRun = %v, want ErrRunning", err)
	}
	if run, _ := c.FindRun(); run.Dir != there {
		t.Errorf("a refused LockRun changed the record: FindRun = %+v, want %s", run, there)
	}
	lock.Close()
	// Over: not held, and the record still says where the exit status is.
	if run, err := c.FindRun(); err != nil || run.Held || run.Dir != there {
		t.Errorf("FindRun after the run = %+v, %v; want not held, %s", run, err, there)
	}
	lock, err = c.LockRun(here)
	if err != nil {
		t.Fatalf("LockRun after the run = %v", err)
	}
	lock.Close()
	if run, _ := c.FindRun(); run.Dir != here {
		t.Errorf("FindRun after a run in the first session = %+v, want %s", run, here)
	}
	// The record is rewritten whole, whatever the earlier one's length;
	// while it is (LockRun leaves one byte before it writes), a reader
	// finds no record yet.
	if b, _ := os.ReadFile(filepath.Join(c.Dir, runFile)); string(b) != here+"\n" {
		t.Errorf("run record = %q, want %q", b, here+"\n")
	}
	for _, mid := range []string{"\x00", "/"} {
		if _, err := c.readRecordBytes([]byte(mid)); !errors.Is(err, errIncomplete) {
			t.Errorf("a record of %q read as %v, want errIncomplete", mid, err)
		}
	}
}

// A record that is not a private runtime directory of this container is
// refused: loudly while the lock is held, silently after.
func TestRunRecordRefused(t *testing.T) {
	_, c := newRunContainer(t)
	good, err := c.RuntimeDir()
	if err != nil {
		t.Fatal(err)
	}
	hashDir := filepath.Dir(good)
	mk := func(t *testing.T, p string, mode os.FileMode) string {
		if err := os.MkdirAll(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name   string
		record func(t *testing.T) string
	}{
		{"empty", func(t *testing.T) string { return "" }},
		{"relative", func(t *testing.T) string { return "run/ulxc/0123456789ab/web" }},
		{"unclean", func(t *testing.T) string { return good + "/../web" }},
		{"other name", func(t *testing.T) string { return mk(t, filepath.Join(hashDir, "db"), 0o700) }},
		{"no hash", func(t *testing.T) string { return mk(t, filepath.Join(t.TempDir(), "web"), 0o700) }},
		{"missing", func(t *testing.T) string { return filepath.Join(filepath.Dir(hashDir), "0123456789ab", "web") }},
		{"open to others", func(t *testing.T) string {
			p := filepath.Join(filepath.Dir(hashDir), "0123456789ab", "web")
			mk(t, filepath.Dir(p), 0o700)
			return mk(t, p, 0o755)
		}},
		{"symlink", func(t *testing.T) string {
			p := filepath.Join(filepath.Dir(hashDir), "abcdef012345", "web")
			mk(t, filepath.Dir(p), 0o700)
			if err := os.Symlink(good, p); err != nil {
				t.Fatal(err)
			}
			return p
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lock, err := c.LockRun(good)
			if err != nil {
				t.Fatal(err)
			}
			rec := tc.record(t)
			if err := os.WriteFile(filepath.Join(c.Dir, runFile), []byte(rec+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			run, err := c.FindRun()
			if !errors.Is(err, ErrRunning) || !errors.Is(err, ErrUnreachable) || !run.Held || run.Dir != "" {
				t.Errorf("FindRun with record %q, held = %+v, %v; want held, no dir, ErrRunning and ErrUnreachable", rec, run, err)
			}
			lock.Close()
			if run, err := c.FindRun(); err != nil || run.Held || run.Dir != good {
				t.Errorf("FindRun with record %q, not held = %+v, %v; want this environment's %s", rec, run, err, good)
			}
		})
	}
}

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
