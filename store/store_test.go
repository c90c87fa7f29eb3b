package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"web", true},
		{"a", true},
		{"Debian-12_x.1", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"../x", false},
		{"a/b", false},
		{".hidden", false},
		{"-flag", false},
		{"a b", false},
		{"a\x00b", false},
		{"é", false},
	}
	for _, tc := range tests {
		err := ValidateName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", tc.name, err)
		}
	}
}

func TestNewGetList(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "lxc"))
	if err != nil {
		t.Fatal(err)
	}
	c, unlock, err := s.New("web")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(c.Dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("container dir mode = %v, %v; want 0700", fi.Mode(), err)
	}
	// Being created: the name is taken by a busy creation.
	if _, _, err := s.New("web"); !errors.Is(err, ErrBusy) {
		t.Errorf("New(web) during its creation = %v, want ErrBusy", err)
	}
	// No config yet: a creation in progress is not a container.
	if _, err := s.Get("web"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Get before config = %v, want ErrNotExist", err)
	}
	if l, _ := s.List(); len(l) != 0 {
		t.Errorf("List before config = %d containers, want 0", len(l))
	}
	if err := os.WriteFile(c.ConfigPath(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("web"); err != nil {
		t.Errorf("Get(web) = %v", err)
	}
	if _, err := s.Get("../web"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Get(../web) = %v, want ErrInvalidName", err)
	}
	l, err := s.List()
	if err != nil || len(l) != 1 || l[0].Name != "web" {
		t.Errorf("List = %v, %v; want [web]", l, err)
	}
	unlock()
	if _, _, err := s.New("web"); !errors.Is(err, ErrExist) {
		t.Errorf("New(web) of a container = %v, want ErrExist", err)
	}
	if hidden, _ := filepath.Glob(filepath.Join(s.Path, ".web.new-*")); len(hidden) != 0 {
		t.Errorf("staging directories left behind: %v", hidden)
	}
}

// An interrupted create or destroy leaves a directory without config whose
// lock nobody holds: New names it, and Abandoned hands it over locked.
func TestAbandoned(t *testing.T) {
	s, _ := Open(t.TempDir())
	c, unlock, err := s.New("web")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(c.Dir, "rootfs.partial", "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Abandoned("web"); !errors.Is(err, ErrBusy) {
		t.Errorf("Abandoned while its creator runs = %v, want ErrBusy", err)
	}
	unlock() // the creator dies
	if _, _, err := s.New("web"); !errors.Is(err, ErrAbandoned) || !strings.Contains(err.Error(), "ulxc destroy web") {
		t.Errorf("New over the remains = %v, want ErrAbandoned naming ulxc destroy", err)
	}
	a, unlockA, err := s.Abandoned("web")
	if err != nil {
		t.Fatalf("Abandoned = %v", err)
	}
	if err := os.RemoveAll(a.Dir); err != nil {
		t.Fatal(err)
	}
	unlockA()
	if _, unlock, err := s.New("web"); err != nil {
		t.Errorf("New after removing the remains = %v", err)
	} else {
		unlock()
	}
	if _, _, err := s.Abandoned("nothing"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Abandoned(nothing) = %v, want ErrNotExist", err)
	}
}

func TestLock(t *testing.T) {
	s, _ := Open(t.TempDir())
	c, unlock, err := s.New("x")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Lock(false)
	var be *BusyError
	if !errors.Is(err, ErrBusy) || !errors.As(err, &be) {
		t.Fatalf("second Lock = %v, want a *BusyError", err)
	}
	// The holder is this process, as /proc/locks says.
	if self, _ := os.Executable(); be.Pid != os.Getpid() || !strings.Contains(be.Command, filepath.Base(self)) {
		t.Errorf("BusyError = %+v, want pid %d running %s", be, os.Getpid(), self)
	}
	unlock()
	unlock2, err := c.Lock(false)
	if err != nil {
		t.Errorf("Lock after unlock = %v", err)
	} else {
		unlock2()
	}
}

func TestRuntimeDirFallback(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	s, _ := Open(filepath.Join(tmp, "store"))
	c := &Container{Name: "web", Dir: filepath.Join(s.Path, "web"), store: s}
	dir, err := c.RuntimeDir()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(dir, filepath.Join(tmp, "ulxc-")) {
		t.Errorf("RuntimeDir = %s, want under %s/ulxc-UID", dir, tmp)
	}
	// A planted, world-readable directory is refused.
	base := filepath.Dir(filepath.Dir(dir))
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	s, _ = Open(s.Path) // a Store looks at the base once
	c = &Container{Name: "web", Dir: filepath.Join(s.Path, "web"), store: s}
	if _, err := c.RuntimeDir(); err == nil {
		t.Errorf("RuntimeDir with a 0755 base = nil error, want refusal")
	}
}

func TestFlockHolder(t *testing.T) {
	locks := filepath.Join(t.TempDir(), "locks")
	os.WriteFile(locks, []byte(`1: POSIX  ADVISORY  WRITE 11 fd:01:1234 0 EOF
2: FLOCK  ADVISORY  WRITE 22 fd:01:999 0 EOF
2: -> FLOCK  ADVISORY  WRITE 33 fd:01:1234 0 EOF
3: FLOCK  ADVISORY  WRITE 44 fd:01:1234 0 EOF
`), 0o644)
	st := unix.Stat_t{Dev: unix.Mkdev(0xfd, 1), Ino: 1234}
	if got := flockHolder(locks, st); got != 44 {
		t.Errorf("flockHolder = %d, want 44 (not the POSIX lock, the waiter nor another inode)", got)
	}
	st.Ino = 5
	if got := flockHolder(locks, st); got != 0 {
		t.Errorf("flockHolder of an unlocked inode = %d, want 0", got)
	}
}

// TestEphemeralMark: the mark says how the upper layer is held; one that
// a crash left empty (it is written unsynced) still marks the copy.
func TestEphemeralMark(t *testing.T) {
	s, _ := Open(t.TempDir())
	c, unlock, err := s.New("eph")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if upper, err := c.Ephemeral(); upper != "" || err != nil {
		t.Errorf("Ephemeral() before the mark = %q, %v; want \"\"", upper, err)
	}
	if err := c.MarkEphemeral(EphemeralTmpfs); err != nil {
		t.Fatal(err)
	}
	if upper, err := c.Ephemeral(); upper != EphemeralTmpfs || err != nil {
		t.Errorf("Ephemeral() = %q, %v; want %q", upper, err, EphemeralTmpfs)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, EphemeralFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if upper, err := c.Ephemeral(); upper == "" || err != nil {
		t.Errorf("Ephemeral() with an empty mark = %q, %v; want it marked", upper, err)
	}
}
