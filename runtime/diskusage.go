package runtime

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// maxWalkDepth bounds how deep the walk goes, and so how many directory
// descriptors it holds at once (one per level): far below any
// RLIMIT_NOFILE, far above any real root filesystem.
const maxWalkDepth = 256

// TreeSize is what a walk measured of a tree, counted as `du -sx` counts:
// the blocks of every inode once (a hard-linked file, a directory met
// twice), on the root's filesystem only.
type TreeSize struct {
	Bytes int64 // allocated bytes (st_blocks * 512)
	// Unreadable counts directories whose entries could not all be
	// listed or measured (permission, I/O error).
	Unreadable int
	// TooDeep counts directories deeper than the walk enters (256 levels).
	TooDeep int
	// OtherFS counts entries on another filesystem (mount points), left
	// out as du -x leaves them out.
	OtherFS int
}

// Complete reports whether nothing of the tree's filesystem was left out.
// Entries that vanished or changed type while the walk ran (a running
// container's tree moves) do not make it incomplete: the walk measured
// the tree as it found it.
func (s TreeSize) Complete() bool { return s.Unreadable == 0 && s.TooDeep == 0 }

// Gaps says, for a user, what an incomplete size left out ("" when
// complete).
func (s TreeSize) Gaps() string {
	var gaps []string
	if s.Unreadable > 0 {
		gaps = append(gaps, fmt.Sprintf("%d unreadable %s", s.Unreadable, plural(s.Unreadable, "directory", "directories")))
	}
	if s.TooDeep > 0 {
		gaps = append(gaps, fmt.Sprintf("%d %s deeper than %d levels not entered", s.TooDeep,
			plural(s.TooDeep, "directory", "directories"), maxWalkDepth))
	}
	return strings.Join(gaps, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// DiskUsage measures the tree at dir with the caller's own credentials.
// dir itself is the caller's and followed if it is a symlink; nothing
// below it is (see walker).
func DiskUsage(dir string) (TreeSize, error) {
	fd, err := openDir(unix.AT_FDCWD, dir, 0)
	if err != nil {
		return TreeSize{}, fmt.Errorf("disk usage of %s: %w", dir, err)
	}
	defer unix.Close(fd)
	size, err := newWalker().walk(fd)
	if err != nil {
		return TreeSize{}, fmt.Errorf("disk usage of %s: %w", dir, err)
	}
	return size, nil
}

// walker measures a tree that someone else may change while it runs (a
// running container's root, whose root is hostile), through descriptors
// only: every directory is opened relative to its parent's descriptor
// with O_DIRECTORY|O_NOFOLLOW|O_NONBLOCK, so a symlink is never followed
// and nothing but a directory is ever opened (a FIFO, which would block
// the open, or a device node); sizes come from fstatat with
// AT_SYMLINK_NOFOLLOW. Names are never joined into paths. It iterates
// with an explicit stack of at most maxDepth open directories, reading
// each with getdents into a buffer of its own, so memory and descriptors
// are bounded by the depth, not by the size of a directory.
type walker struct {
	maxDepth int
	// beforeOpen, when set, runs between the fstatat of a directory
	// entry and its openat: tests swap the entry there.
	beforeOpen func(dirfd int, name string)

	dev  uint64                 // the root's filesystem
	seen map[[2]uint64]struct{} // inodes counted that may be met again
	size TreeSize
}

func newWalker() *walker { return &walker{maxDepth: maxWalkDepth} }

// frame is one open directory of the walk.
type frame struct {
	fd    int
	buf   []byte
	names []string // read from buf, not yet measured
	gap   bool     // already counted in Unreadable
}

const direntBufSize = 8192

// walk measures the directory rootfd (which it does not close) and
// everything below it on the same filesystem.
func (w *walker) walk(rootfd int) (TreeSize, error) {
	var st unix.Stat_t
	if err := unix.Fstat(rootfd, &st); err != nil {
		return TreeSize{}, fmt.Errorf("stat root: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return TreeSize{}, errors.New("root is not a directory")
	}
	w.dev, w.seen, w.size = uint64(st.Dev), map[[2]uint64]struct{}{}, TreeSize{} // Dev is uint32 on mips64
	w.count(&st)
	stack := []*frame{{fd: rootfd, buf: make([]byte, direntBufSize)}}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		name, ok := w.next(f)
		if !ok {
			if len(stack) > 1 {
				unix.Close(f.fd)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		if fd := w.visit(f, name, len(stack)); fd >= 0 {
			stack = append(stack, &frame{fd: fd, buf: make([]byte, direntBufSize)})
		}
	}
	return w.size, nil
}

// next returns the next entry of f, reading more with getdents when the
// buffer is used up; false at the end or on a read error (counted).
func (w *walker) next(f *frame) (string, bool) {
	for len(f.names) == 0 {
		var n int
		err := ignoringEINTR(func() (err error) { n, err = unix.Getdents(f.fd, f.buf); return err })
		if err != nil {
			w.gap(f)
			return "", false
		}
		if n <= 0 {
			return "", false
		}
		_, _, f.names = unix.ParseDirent(f.buf[:n], -1, f.names[:0])
	}
	name := f.names[0]
	f.names = f.names[1:]
	return name, true
}

// visit measures the entry name of f (at depth, the root's entries being
// at 1) and returns a descriptor of it when it is a directory to enter,
// or -1.
func (w *walker) visit(f *frame, name string, depth int) int {
	var st unix.Stat_t
	err := ignoringEINTR(func() error { return unix.Fstatat(f.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	switch {
	case errors.Is(err, unix.ENOENT):
		return -1 // removed since getdents
	case err != nil:
		w.gap(f)
		return -1
	case uint64(st.Dev) != w.dev:
		w.size.OtherFS++
		return -1
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		w.count(&st)
		return -1
	case depth >= w.maxDepth:
		if w.count(&st) {
			w.size.TooDeep++
		}
		return -1
	}
	if w.beforeOpen != nil {
		w.beforeOpen(f.fd, name)
	}
	fd, err := openDir(f.fd, name, unix.O_NOFOLLOW|unix.O_NONBLOCK)
	switch {
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP):
		// Removed, or swapped for a non-directory or a symlink: the
		// directory is measured where it went, if the walk meets it.
		return -1
	case err != nil:
		if w.count(&st) {
			w.size.Unreadable++
		}
		return -1
	}
	// What was opened is what is measured and entered: another
	// directory may have been moved to the name since the fstatat, and
	// it is as much a part of the tree (openat of one component that is
	// not "..", without following a symlink, stays in it) unless it is
	// a mount point.
	if err := unix.Fstat(fd, &st); err != nil || uint64(st.Dev) != w.dev || !w.count(&st) {
		unix.Close(fd)
		switch {
		case err != nil:
			w.size.Unreadable++
		case uint64(st.Dev) != w.dev:
			w.size.OtherFS++
		}
		return -1
	}
	return fd
}

// count adds st's blocks unless its inode was counted already, and
// reports whether it was new. Only inodes that can be met twice are
// remembered: files with more than one link, and directories (which a
// rename during the walk can move ahead of it: each is entered once).
func (w *walker) count(st *unix.Stat_t) bool {
	if st.Nlink > 1 || st.Mode&unix.S_IFMT == unix.S_IFDIR {
		key := [2]uint64{uint64(st.Dev), st.Ino}
		if _, ok := w.seen[key]; ok {
			return false
		}
		w.seen[key] = struct{}{}
	}
	w.size.Bytes += int64(st.Blocks) * 512
	return true
}

// gap counts f as unreadable, once.
func (w *walker) gap(f *frame) {
	if !f.gap {
		f.gap = true
		w.size.Unreadable++
	}
}

// openDir opens the directory name relative to dirfd, never anything
// else (O_DIRECTORY fails with ENOTDIR before a FIFO's open could block).
func openDir(dirfd int, name string, flags int) (int, error) {
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|flags, 0)
		return err
	})
	return fd, err
}

// ignoringEINTR retries f while it fails with EINTR, which some
// filesystems (FUSE, network ones) return despite SA_RESTART.
func ignoringEINTR(f func() error) error {
	for {
		if err := f(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
