package clone

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fileID names an inode, for hardlinks.
type fileID struct{ dev, ino uint64 }

// treeCopy copies a directory tree by descriptors (see the package
// documentation): src and dst are open directories, dst empty.
type treeCopy struct {
	dstRoot int               // the root of the copy, for linkat
	links   map[fileID]string // where, relative to dstRoot, a multiply-linked inode was first copied
	skipped []string          // what was not copied (sockets, devices)
	xattrs  map[string]bool   // xattr names that could not be set, once each
	buf     []byte
}

// copyTree copies the contents and metadata of src into dst.
func copyTree(src, dst int) (*treeCopy, error) {
	tc := &treeCopy{dstRoot: dst, links: map[fileID]string{}, xattrs: map[string]bool{}, buf: make([]byte, 64<<10)}
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return tc, fmt.Errorf("stat the source root: %w", err)
	}
	if err := tc.dir(src, dst, ""); err != nil {
		return tc, err
	}
	if err := tc.meta(src, dst, "", "/", &st); err != nil {
		return tc, err
	}
	return tc, nil
}

// dir copies the entries of the directory src into dst; rel is its path
// relative to the roots, for messages and hardlinks.
func (tc *treeCopy) dir(src, dst int, rel string) error {
	names, err := readNames(src)
	if err != nil {
		return fmt.Errorf("%s: read directory: %w", display(rel), err)
	}
	for _, name := range names {
		if err := tc.entry(src, dst, name, path.Join(rel, name)); err != nil {
			return err
		}
	}
	return nil
}

// readNames reads the names in the directory fd (a fresh descriptor's
// offset is 0), without closing fd.
func readNames(fd int) ([]string, error) {
	dup, err := unix.Dup(fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "dir")
	defer f.Close()
	return f.Readdirnames(-1)
}

func display(rel string) string {
	if rel == "" {
		return "/"
	}
	return "/" + rel
}

// entry copies the entry name of src into dst.
func (tc *treeCopy) entry(src, dst int, name, rel string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(src, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil // removed while we copied (a running original)
		}
		return fmt.Errorf("%s: %w", display(rel), err)
	}
	fail := func(op string, err error) error { return fmt.Errorf("%s: %s: %w", display(rel), op, err) }
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		s, err := openSame(src, name, unix.O_RDONLY|unix.O_DIRECTORY, &st)
		if err != nil {
			return fail("open", err)
		}
		defer unix.Close(s)
		if err := unix.Mkdirat(dst, name, 0o700); err != nil {
			return fail("mkdir", err)
		}
		d, err := unix.Openat(dst, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fail("open copy", err)
		}
		defer unix.Close(d)
		if err := tc.dir(s, d, rel); err != nil {
			return err
		}
		return tc.meta(s, d, "", rel, &st)
	case unix.S_IFREG:
		id := fileID{uint64(st.Dev), st.Ino}
		if st.Nlink > 1 {
			if first, ok := tc.links[id]; ok {
				if err := unix.Linkat(tc.dstRoot, first, dst, name, 0); err != nil {
					return fail("link to /"+first, err)
				}
				return nil
			}
		}
		s, err := openSame(src, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, &st)
		if err != nil {
			return fail("open", err)
		}
		defer unix.Close(s)
		d, err := unix.Openat(dst, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return fail("create", err)
		}
		defer unix.Close(d)
		if err := tc.data(s, d, st.Size); err != nil {
			return fail("copy", err)
		}
		if st.Nlink > 1 {
			tc.links[id] = rel
		}
		return tc.meta(s, d, "", rel, &st)
	case unix.S_IFLNK:
		target, err := readlinkat(src, name)
		if err != nil {
			return fail("readlink", err)
		}
		if err := unix.Symlinkat(target, dst, name); err != nil {
			return fail("symlink", err)
		}
		return tc.meta(-1, dst, name, rel, &st)
	case unix.S_IFIFO:
		if err := unix.Mknodat(dst, name, unix.S_IFIFO|0o600, 0); err != nil {
			return fail("mkfifo", err)
		}
		return tc.meta(-1, dst, name, rel, &st)
	case unix.S_IFCHR:
		if st.Rdev == 0 {
			// An overlayfs whiteout: the only device node a user
			// namespace may make, and one an upper layer needs.
			if err := unix.Mknodat(dst, name, unix.S_IFCHR, 0); err != nil {
				return fail("make whiteout", err)
			}
			return tc.meta(-1, dst, name, rel, &st)
		}
	}
	tc.skipped = append(tc.skipped, display(rel))
	return nil
}

// openSame opens name in dir without following a symlink, and checks that
// it is still the inode st describes.
func openSame(dir int, name string, flags int, st *unix.Stat_t) (int, error) {
	fd, err := unix.Openat(dir, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var now unix.Stat_t
	if err := unix.Fstat(fd, &now); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if now.Dev != st.Dev || now.Ino != st.Ino || now.Mode&unix.S_IFMT != st.Mode&unix.S_IFMT {
		unix.Close(fd)
		return -1, errors.New("replaced while copying")
	}
	return fd, nil
}

func readlinkat(dir int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		b := make([]byte, size)
		n, err := unix.Readlinkat(dir, name, b)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(b[:n]), nil
		}
	}
}

// data copies the file's bytes (copy_file_range where the kernel can).
func (tc *treeCopy) data(src, dst int, size int64) error {
	for size > 0 {
		n, err := unix.CopyFileRange(src, nil, dst, nil, int(min(size, 1<<30)), 0)
		if err != nil || n == 0 {
			break
		}
		size -= int64(n)
	}
	// Whatever copy_file_range did not do (another filesystem, a file
	// that grew or a kernel that refuses): plain reads and writes.
	_, err := io.CopyBuffer(fdWriter(dst), fdReader(src), tc.buf)
	return err
}

// fdReader and fdWriter are plain reads and writes of a descriptor that
// the caller closes (an os.File would close it when collected).
type fdReader int

func (r fdReader) Read(p []byte) (int, error) {
	n, err := unix.Read(int(r), p)
	if n == 0 && err == nil && len(p) > 0 {
		return 0, io.EOF
	}
	return max(n, 0), err
}

type fdWriter int

func (w fdWriter) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := unix.Write(int(w), p[n:])
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// meta gives the copy the source's owner, xattrs, mode and times, in that
// order (a chown clears setuid bits and file capabilities). src is the
// source's descriptor, or -1 for an entry whose copy is named by name in
// the directory dst (symlinks, FIFOs, whiteouts: no xattrs).
func (tc *treeCopy) meta(src, dst int, name, rel string, st *unix.Stat_t) error {
	fail := func(op string, err error) error { return fmt.Errorf("%s: %s: %w", display(rel), op, err) }
	if src >= 0 {
		if err := unix.Fchown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return fail(fmt.Sprintf("chown %d:%d", st.Uid, st.Gid), err)
		}
		if err := tc.copyXattrs(src, dst, rel); err != nil {
			return err
		}
		if err := unix.Fchmod(dst, st.Mode&0o7777); err != nil {
			return fail("chmod", err)
		}
		if err := futimens(dst, &[2]unix.Timespec{st.Atim, st.Mtim}); err != nil {
			return fail("set times", err)
		}
		return nil
	}
	if err := unix.Fchownat(dst, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fail(fmt.Sprintf("chown %d:%d", st.Uid, st.Gid), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Fchmodat(dst, name, st.Mode&0o7777, 0); err != nil {
			return fail("chmod", err)
		}
	}
	if err := unix.UtimesNanoAt(dst, name, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fail("set times", err)
	}
	return nil
}

// futimens is utimensat(fd, NULL, ts, 0), which x/sys does not spell.
func futimens(fd int, ts *[2]unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// copyXattrs copies the extended attributes the namespace can read and
// write. One that the destination refuses (a security.* of a module the
// namespace may not set) is recorded once, not fatal; one that the source
// lists but cannot be read is an error.
func (tc *treeCopy) copyXattrs(src, dst int, rel string) error {
	names, err := listXattrs(src)
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return nil
		}
		return fmt.Errorf("%s: list xattrs: %w", display(rel), err)
	}
	for _, n := range names {
		v, err := getXattr(src, n)
		if errors.Is(err, unix.ENODATA) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: read xattr %s: %w", display(rel), n, err)
		}
		if err := unix.Fsetxattr(dst, n, v, 0); err != nil {
			if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EACCES) {
				tc.xattrs[n] = true
				continue
			}
			return fmt.Errorf("%s: set xattr %s: %w", display(rel), n, err)
		}
	}
	return nil
}

func listXattrs(fd int) ([]string, error) {
	size, err := unix.Flistxattr(fd, nil)
	if err != nil || size == 0 {
		return nil, err
	}
	buf := make([]byte, size)
	n, err := unix.Flistxattr(fd, buf)
	if errors.Is(err, unix.ERANGE) {
		return listXattrs(fd)
	}
	if err != nil {
		return nil, err
	}
	return splitNUL(buf[:n]), nil
}

func splitNUL(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}

func getXattr(fd int, name string) ([]byte, error) {
	size, err := unix.Fgetxattr(fd, name, nil)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	n, err := unix.Fgetxattr(fd, name, buf)
	if errors.Is(err, unix.ERANGE) {
		return getXattr(fd, name)
	}
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}
