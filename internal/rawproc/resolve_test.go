package rawproc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// hostileRoot is a root filesystem whose symlinks point out of it.
func hostileRoot(t *testing.T) (root string, fd int, outside string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "rootfs")
	outside = filepath.Join(base, "outside")
	for _, d := range []string{root, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{
		"abs":      outside,     // absolute: must resolve inside root
		"up":       "../../..",  // relative escape: clamped at root
		"dangling": "/nowhere/", // final component that is a symlink
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return root, fd, outside
}

func TestMkdirAllInRootStaysInside(t *testing.T) {
	root, fd, outside := hostileRoot(t)
	// A dangling symlink on the way is refused, not followed.
	if dfd, err := mkdirAllInRoot(fd, "/abs/x"); err == nil {
		unix.Close(dfd)
		t.Errorf("mkdirAllInRoot(/abs/x) through a dangling symlink = nil error, want a refusal")
	}
	if err := os.MkdirAll(filepath.Join(root, outside), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{"/abs/x", filepath.Join(root, outside, "x")},
		{"/up/y", filepath.Join(root, "y")},
		{"/a/b/c", filepath.Join(root, "a/b/c")},
	} {
		dfd, err := mkdirAllInRoot(fd, tc.path)
		if err != nil {
			t.Errorf("mkdirAllInRoot(%q) = %v", tc.path, err)
			continue
		}
		unix.Close(dfd)
		if fi, err := os.Stat(tc.want); err != nil || !fi.IsDir() {
			t.Errorf("mkdirAllInRoot(%q) made no directory %s: %v", tc.path, tc.want, err)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("mkdirAllInRoot wrote outside the root: %v", ents)
	}
}

func TestFileInRootRefusesSymlink(t *testing.T) {
	_, fd, _ := hostileRoot(t)
	if f, err := fileInRoot(fd, "/dangling"); err == nil {
		unix.Close(f)
		t.Fatalf("fileInRoot(/dangling) = nil error, want a refusal to follow the symlink")
	} else if !errors.Is(err, unix.ELOOP) {
		t.Errorf("fileInRoot(/dangling) = %v, want %v", err, unix.ELOOP)
	}
	if _, err := os.Lstat("/nowhere"); err == nil {
		t.Errorf("fileInRoot created /nowhere on the host")
	}
	f, err := fileInRoot(fd, "/dev/console")
	if err != nil {
		t.Fatalf("fileInRoot(/dev/console) = %v", err)
	}
	unix.Close(f)
}

// mkdirAllInRoot and fileInRoot run init's resolveInRoot on root.
func mkdirAllInRoot(root int, path string) (int, error) { return resolveForTest(root, path, false) }

func fileInRoot(root int, path string) (int, error) { return resolveForTest(root, path, true) }

func resolveForTest(root int, path string, file bool) (int, error) {
	rp := testPath(path)
	p := &Plan{Root: root, Slash: testCString("/")}
	fd, errno := resolveInRoot(p, &rp, file)
	if errno != 0 {
		return -1, fmt.Errorf("%s (op %d, component %d): %w", path, p.resOp, int(p.resArg), errno)
	}
	return fd, nil
}

func TestFdPath(t *testing.T) {
	var buf [32]byte
	for fd, want := range map[int]string{0: "/proc/self/fd/0", 7: "/proc/self/fd/7", 1234567: "/proc/self/fd/1234567", -1: "/proc/self/fd/999999999"} {
		p := fdPath(&buf, fd)
		if got := unix.BytePtrToString(p); got != want {
			t.Errorf("fdPath(%d) = %q, want %q", fd, got, want)
		}
	}
}

// testPath is path as runtime's compiler prepares it (a clean absolute
// path without NUL).
func testPath(path string) Path {
	rp := Path{Full: testCString(path)}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, name := range parts {
		prefix := "/" + strings.Join(parts[:i+1], "/")
		rp.Prefixes = append(rp.Prefixes, testCString(prefix))
		rp.Names = append(rp.Names, testCString(name))
		rp.Text = append(rp.Text, prefix)
	}
	return rp
}

func testCString(s string) *byte {
	b, err := unix.BytePtrFromString(s)
	if err != nil {
		panic(err)
	}
	return b
}
