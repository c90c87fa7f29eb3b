package fileio

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWriteAtomic: both writers replace the content whole, set the mode,
// and leave no temporary file when they fail.
func TestWriteAtomic(t *testing.T) {
	for name, write := range map[string]func(string, []byte, os.FileMode) error{
		"synced": WriteAtomic, "unsynced": WriteAtomicUnsynced,
	} {
		t.Run(name, func(t *testing.T) { testWriteAtomic(t, write) })
	}
}

func testWriteAtomic(t *testing.T, WriteAtomic func(string, []byte, os.FileMode) error) {
	dir := t.TempDir()
	name := filepath.Join(dir, "state")
	if err := WriteAtomic(name, []byte("one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(name, []byte("two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(name)
	fi, _ := os.Stat(name)
	if err != nil || string(b) != "two\n" || fi.Mode().Perm() != 0o644 {
		t.Errorf("after two writes: %q, %v, mode %v; want \"two\\n\", 0644", b, err, fi.Mode().Perm())
	}
	// A failed write leaves the old content and no temporary file: here
	// the rename fails, name being a non-empty directory.
	sub := filepath.Join(dir, "sub")
	os.MkdirAll(filepath.Join(sub, "x"), 0o755)
	if err := WriteAtomic(sub, []byte("three"), 0o644); err == nil {
		t.Error("WriteAtomic over a non-empty directory = nil error")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("a failed WriteAtomic left %s", e.Name())
		}
	}
}

func TestReadLimited(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	os.WriteFile(name, []byte("0123456789"), 0o600)
	if b, err := ReadLimited(name, 10); err != nil || string(b) != "0123456789" {
		t.Errorf("ReadLimited(10) = %q, %v", b, err)
	}
	if _, err := ReadLimited(name, 9); err == nil || !strings.Contains(err.Error(), "larger than 9 bytes") {
		t.Errorf("ReadLimited(9) = %v, want larger than 9 bytes", err)
	}
	if err := Sync(filepath.Dir(name)); err != nil {
		t.Errorf("Sync of a directory: %v", err)
	}
}

func TestLock(t *testing.T) {
	name := filepath.Join(t.TempDir(), ".lock")
	f, err := Lock(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	// flock belongs to the open file: a second open waits, and gives up
	// when its context is done.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if g, err := Lock(ctx, name); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		if g != nil {
			g.Close()
		}
		t.Errorf("Lock while held = %v, want the context's deadline", err)
	}
	done := make(chan error, 1)
	go func() {
		g, err := Lock(context.Background(), name)
		if err == nil {
			g.Close()
		}
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	f.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Lock after the release = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Lock still waits after the holder closed its file")
	}
	os.Symlink(name, name+".link")
	if g, err := Lock(context.Background(), name+".link"); err == nil {
		g.Close()
		t.Error("Lock through a symlink = nil error, want it refused (O_NOFOLLOW)")
	}
}
