package runtime

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestValidateCgroupKey(t *testing.T) {
	for _, tc := range []struct {
		key string
		ok  bool
	}{
		{"memory.max", true},
		{"cgroup.events", true},
		{"pids.current", true},
		{"", false},
		{".", false},
		{"..", false},
		{"../cgroup.procs", false},
		{"a/b", false},
		{"/etc/passwd", false},
		{"x\x00y", false},
		{strings.Repeat("a", 256), false},
	} {
		err := ValidateCgroupKey(tc.key)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidateCgroupKey(%q) = %v, want ok %v (or ErrInvalidKey)", tc.key, err, tc.ok)
		}
	}
}

func TestEventsField(t *testing.T) {
	b := []byte("populated 1\nfrozen 0\n")
	for _, tc := range []struct {
		key, want string
		ok        bool
	}{
		{"populated", "1", true},
		{"frozen", "0", true},
		{"froze", "", false},
	} {
		if got, ok := eventsField(b, tc.key); got != tc.want || ok != tc.ok {
			t.Errorf("eventsField(%q, %q) = %q, %v, want %q, %v", b, tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

// runningState records this test process as a running container without a
// cgroup, as a supervisor that found no delegation would.
func runningState(t *testing.T, note string) string {
	t.Helper()
	dir := t.TempDir()
	start, err := startTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	st := State{Name: "c1", Status: Running, Pid: os.Getpid(), PidStart: start, CgroupNote: note}
	if err := writeJSON(dir, stateFile, st); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFreezeWithoutCgroup(t *testing.T) {
	dir := runningState(t, "cgroup not delegated")
	ctx := context.Background()
	for name, op := range map[string]func() error{
		"Freeze":      func() error { return Freeze(ctx, dir) },
		"Unfreeze":    func() error { return Unfreeze(ctx, dir) },
		"ReadCgroup":  func() error { _, err := ReadCgroup(dir, "cgroup.events"); return err },
		"WriteCgroup": func() error { return WriteCgroup(dir, "cgroup.freeze", "1") },
	} {
		err := op()
		var nce *NoCgroupError
		if !errors.Is(err, ErrNoCgroup) || !errors.As(err, &nce) || nce.Note != "cgroup not delegated" ||
			!strings.Contains(err.Error(), "Delegate=yes") {
			t.Errorf("%s without a cgroup = %v, want a NoCgroupError naming Delegate=yes and the note", name, err)
		}
	}
}

func TestFreezeNotRunning(t *testing.T) {
	dir := t.TempDir()
	if err := Freeze(context.Background(), dir); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Freeze of a stopped container = %v, want %v", err, ErrNotRunning)
	}
	if _, err := ReadCgroup(dir, "../x"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("ReadCgroup(../x) = %v, want %v", err, ErrInvalidKey)
	}
	if err := WriteCgroup(dir, "a/b", "1"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("WriteCgroup(a/b) = %v, want %v", err, ErrInvalidKey)
	}
}

func TestAttachNotRunning(t *testing.T) {
	if _, err := Attach(t.TempDir(), AttachOptions{}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Attach to a stopped container = %v, want %v", err, ErrNotRunning)
	}
	if _, err := AttachConsole(t.TempDir(), 0); !errors.Is(err, ErrNotRunning) {
		t.Errorf("AttachConsole of a stopped container = %v, want %v", err, ErrNotRunning)
	}
}
