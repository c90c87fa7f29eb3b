package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/internal/testenv"
)

// bigFile is the size of the file outside the tree that a walk which
// followed a symlink, or entered a swapped directory, would count.
const bigFile = 4 << 20

// writeTreeFile writes size bytes that are really allocated (not a hole).
func writeTreeFile(t *testing.T, name string, size int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(strings.Repeat("x", size)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkfifo(t *testing.T, name string) {
	t.Helper()
	if err := unix.Mkfifo(name, 0o644); err != nil {
		t.Fatal(err)
	}
}

// allocated is what du counts of the inodes of names, each once, read
// with lstat independently of the walker.
func allocated(t *testing.T, names ...string) int64 {
	t.Helper()
	seen := map[uint64]bool{}
	var n int64
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Lstat(name, &st); err != nil {
			t.Fatal(err)
		}
		if !seen[st.Ino] {
			seen[st.Ino] = true
			n += st.Blocks * 512
		}
	}
	return n
}

// outsideTree makes a directory beside the tree with a big file in it,
// which no walk of the tree may count.
func outsideTree(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "outside")
	writeTreeFile(t, filepath.Join(out, "big"), bigFile)
	return out
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// walkWithin runs w on dir in a goroutine and fails the test if it does not
// return within a generous limit: a walk that opened a FIFO would block
// for ever.
func walkWithin(t *testing.T, w *walker, dir string) TreeSize {
	t.Helper()
	fd, err := openDir(unix.AT_FDCWD, dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	before := openFDs(t)
	type result struct {
		size TreeSize
		err  error
	}
	done := make(chan result, 1)
	go func() {
		size, err := w.walk(fd)
		done <- result{size, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("walk(%s) = %v", dir, r.err)
		}
		if after := openFDs(t); after != before {
			t.Errorf("walk(%s) left %d descriptors open, want 0", dir, after-before)
		}
		return r.size
	case <-time.After(20 * time.Second):
		t.Fatalf("walk(%s) did not return in 20s: it opened something that blocks", dir)
	}
	return TreeSize{}
}

func TestWalkCountsEachInodeOnceAndFollowsNothing(t *testing.T) {
	out := outsideTree(t)
	root := filepath.Join(t.TempDir(), "root")
	writeTreeFile(t, filepath.Join(root, "sub/a"), 64<<10)
	if err := os.Link(filepath.Join(root, "sub/a"), filepath.Join(root, "b")); err != nil {
		t.Fatal(err)
	}
	writeTreeFile(t, filepath.Join(root, "sub/deeper/c"), 12<<10)
	mkfifo(t, filepath.Join(root, "fifo"))
	for _, link := range []string{"to-outside", "sub/to-root"} {
		if err := os.Symlink(map[string]string{"to-outside": out, "sub/to-root": "/"}[link], filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	want := allocated(t, root, filepath.Join(root, "sub"), filepath.Join(root, "sub/a"), filepath.Join(root, "b"),
		filepath.Join(root, "sub/deeper"), filepath.Join(root, "sub/deeper/c"), filepath.Join(root, "fifo"),
		filepath.Join(root, "to-outside"), filepath.Join(root, "sub/to-root"))

	got := walkWithin(t, newWalker(), root)
	if got != (TreeSize{Bytes: want}) {
		t.Errorf("walk(tree with a hard link, a FIFO, symlinks to / and outside) = %+v, want {Bytes: %d} (the big file outside is %d)",
			got, want, bigFile)
	}
	// The exported form measures the same.
	if got, err := DiskUsage(root); err != nil || got != (TreeSize{Bytes: want}) {
		t.Errorf("DiskUsage(%s) = %+v, %v; want {Bytes: %d}", root, got, err, want)
	}
}

// A directory swapped between the walk's fstatat and its openat, for
// whatever container root can put there, is skipped, not followed,
// opened or entered.
func TestWalkSwappedBeforeOpen(t *testing.T) {
	for _, tc := range []struct {
		name string
		swap func(t *testing.T, entry, outside string)
		// moved in: the swap moved the outside directory into the tree,
		// where it is measured, once.
		movedIn bool
	}{
		{"a FIFO", func(t *testing.T, entry, _ string) { mkfifo(t, entry) }, false},
		{"a symlink to outside", func(t *testing.T, entry, outside string) {
			if err := os.Symlink(outside, entry); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"a symlink to /", func(t *testing.T, entry, _ string) {
			if err := os.Symlink("/", entry); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"nothing (removed)", func(*testing.T, string, string) {}, false},
		{"another directory", func(t *testing.T, entry, outside string) {
			if err := os.Rename(outside, entry); err != nil {
				t.Fatal(err)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := outsideTree(t)
			root := filepath.Join(t.TempDir(), "root")
			writeTreeFile(t, filepath.Join(root, "d/f"), 8<<10)
			swapped := false
			w := newWalker()
			w.beforeOpen = func(dirfd int, name string) {
				if name != "d" || swapped {
					return
				}
				swapped = true
				entry := filepath.Join(root, "d")
				if err := os.Rename(entry, filepath.Join(filepath.Dir(root), "d.away")); err != nil {
					t.Error(err)
				}
				tc.swap(t, entry, out)
			}
			got := walkWithin(t, w, root)
			if !swapped {
				t.Fatal("the walk never came to open d")
			}
			switch {
			case !got.Complete():
				t.Errorf("walk with d swapped for %s = %+v, want complete", tc.name, got)
			case tc.movedIn && (got.Bytes < bigFile || got.Bytes >= 2*bigFile):
				t.Errorf("walk with d swapped for %s = %+v, want the %d bytes moved in counted once", tc.name, got, bigFile)
			case !tc.movedIn && got.Bytes >= bigFile:
				t.Errorf("walk with d swapped for %s = %+v, want less than the %d bytes outside", tc.name, got, bigFile)
			}
		})
	}
}

// A directory moved ahead of the walk after it was entered is not
// entered, or counted, again: renames cannot make the walk go round.
func TestWalkEntersEachDirectoryOnce(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	for _, n := range []string{"a/c/f", "b/c/f"} {
		writeTreeFile(t, filepath.Join(root, "d", n), 8<<10)
	}
	var names []string
	for _, n := range []string{"", "d", "d/a", "d/a/c", "d/a/c/f", "d/b", "d/b/c", "d/b/c/f"} {
		names = append(names, filepath.Join(root, n))
	}
	want := allocated(t, names...)
	first, moved := "", false
	w := newWalker()
	w.beforeOpen = func(_ int, name string) {
		switch {
		case first == "" && (name == "a" || name == "b"):
			first = name
		case name == "c" && !moved:
			// Inside the first of d/a and d/b: move it, while it is
			// walked, into the other, which the walk has yet to enter.
			moved = true
			other := map[string]string{"a": "b", "b": "a"}[first]
			if err := os.Rename(filepath.Join(root, "d", first), filepath.Join(root, "d", other, first)); err != nil {
				t.Error(err)
			}
		}
	}
	got := walkWithin(t, w, root)
	if !moved {
		t.Fatal("the walk never came to open c")
	}
	if got != (TreeSize{Bytes: want}) {
		t.Errorf("walk with a directory moved ahead of it = %+v, want {Bytes: %d}, each inode once", got, want)
	}
}

// The same attacks through DiskUsage, without hooks: a goroutine swaps
// directories with FIFOs, or with symlinks to a big tree, with
// renameat2(RENAME_EXCHANGE), as fast as it can while the tree is walked.
// A walk by path, which lists a directory and then opens its entries by
// name, sooner or later hangs on a FIFO or counts the big tree.
func TestDiskUsageWhileSwapping(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, name, outside string)
	}{
		{"FIFO", func(t *testing.T, name, _ string) { mkfifo(t, name) }},
		{"symlink", func(t *testing.T, name, outside string) {
			if err := os.Symlink(outside, name); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := outsideTree(t)
			root := filepath.Join(t.TempDir(), "root")
			var pairs [][2]string
			for _, n := range []string{"1", "2", "3", "4", "5", "6"} {
				d, x := filepath.Join(root, "d"+n), filepath.Join(root, "x"+n)
				writeTreeFile(t, filepath.Join(d, "sub/f"), 4<<10)
				tc.plant(t, x, out)
				pairs = append(pairs, [2]string{d, x})
			}
			var stop atomic.Bool
			swapperDone := make(chan error, 1)
			go func() {
				for !stop.Load() {
					for _, p := range pairs {
						if err := unix.Renameat2(unix.AT_FDCWD, p[0], unix.AT_FDCWD, p[1], unix.RENAME_EXCHANGE); err != nil {
							swapperDone <- err
							return
						}
					}
				}
				swapperDone <- nil
			}()
			defer func() {
				stop.Store(true)
				if err := <-swapperDone; err != nil {
					t.Errorf("renameat2(RENAME_EXCHANGE): %v", err)
				}
			}()
			for i := 0; i < 300; i++ {
				type result struct {
					size TreeSize
					err  error
				}
				done := make(chan result, 1)
				go func() {
					size, err := DiskUsage(root)
					done <- result{size, err}
				}()
				select {
				case r := <-done:
					if r.err != nil || r.size.Bytes >= bigFile {
						t.Fatalf("walk %d: DiskUsage while swapping directories with a %s = %+v, %v; want no error and less than the %d bytes outside",
							i, tc.name, r.size, r.err, bigFile)
					}
				case <-time.After(20 * time.Second):
					t.Fatalf("walk %d: DiskUsage while swapping directories with a %s did not return in 20s: it opened a FIFO", i, tc.name)
				}
			}
		})
	}
}

func TestWalkDepthLimit(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	deep := filepath.Join(root, strings.Repeat("d/", maxWalkDepth+10))
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	// Every directory down to depth maxWalkDepth is counted; the one
	// below is not entered, and says so.
	var names []string
	for p, i := root, 0; i <= maxWalkDepth; p, i = filepath.Join(p, "d"), i+1 {
		names = append(names, p)
	}
	got := walkWithin(t, newWalker(), root)
	if want := (TreeSize{Bytes: allocated(t, names...), TooDeep: 1}); got != want {
		t.Errorf("walk(%d levels) = %+v, want %+v", maxWalkDepth+10, got, want)
	}
	if got.Complete() || !strings.Contains(got.Gaps(), "1 directory deeper than 256 levels") {
		t.Errorf("%+v: Complete() = %v, Gaps() = %q; want incomplete, one directory too deep", got, got.Complete(), got.Gaps())
	}

	// The descriptors held never exceed the depth.
	w := newWalker()
	w.maxDepth = 4
	base, most := openFDs(t), 0
	w.beforeOpen = func(int, string) { most = max(most, openFDs(t)-base) }
	if got := walkWithin(t, w, root); got.TooDeep != 1 {
		t.Errorf("walk with maxDepth 4 = %+v, want TooDeep 1", got)
	}
	if most > 4 {
		t.Errorf("walk with maxDepth 4 held %d descriptors at once, want at most 4", most)
	}
}

// du -x: a mount point inside the tree is neither counted nor entered.
func TestWalkStaysOnOneFilesystem(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "mounting a tmpfs inside the tree needs root (CAP_SYS_ADMIN)")
	}
	root := filepath.Join(t.TempDir(), "root")
	writeTreeFile(t, filepath.Join(root, "f"), 8<<10)
	mnt := filepath.Join(root, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	want := allocated(t, root, filepath.Join(root, "f"))
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=16m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	writeTreeFile(t, filepath.Join(mnt, "big"), bigFile)
	got := walkWithin(t, newWalker(), root)
	if got != (TreeSize{Bytes: want, OtherFS: 1}) {
		t.Errorf("walk(tree with a tmpfs mounted) = %+v, want {Bytes: %d OtherFS: 1}", got, want)
	}
}

func TestDiskUsageErrors(t *testing.T) {
	dir := t.TempDir()
	writeTreeFile(t, filepath.Join(dir, "file"), 10)
	mkfifo(t, filepath.Join(dir, "fifo"))
	for _, name := range []string{"file", "fifo", "missing"} {
		if _, err := DiskUsage(filepath.Join(dir, name)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("DiskUsage(%s) = %v, want an error naming it", name, err)
		}
	}
}
