package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/ulxc/ulxc/store"
	"golang.org/x/sys/unix"
)

// ErrInsecurePath means that an archive member would be created, or a hard
// link would point, outside the root or onto the root itself. It is wrapped
// with the member's name and the reason.
var ErrInsecurePath = errors.New("insecure path in archive")

// ErrLimit means that an archive holds more entries or bytes than its
// Limits allow: a decompression bomb, or limits set too low for the image.
var ErrLimit = errors.New("archive exceeds the unpack limits")

// ErrUnmappedID means that an archive member is owned by an id that the user
// namespace does not map. The error is an *IDError.
var ErrUnmappedID = errors.New("id outside the user namespace")

// Default limits, used where a Limits field is zero. A Debian minbase rootfs
// holds about 10,000 entries and 250 MB; the defaults leave room for large
// desktop images while stopping a bomb before it fills a disk.
const (
	DefaultMaxBytes   int64 = 16 << 30 // 16 GiB of file contents
	DefaultMaxEntries int   = 2 << 20  // 2,097,152 archive members
)

// Limits bound what Unpack writes.
type Limits struct {
	// MaxBytes bounds the total size of regular files; 0 means DefaultMaxBytes.
	MaxBytes int64
	// MaxEntries bounds the number of archive members, skipped ones
	// included; 0 means DefaultMaxEntries.
	MaxEntries int
}

// Options tune Unpack. The zero value unpacks everything with the default
// limits and no id check.
type Options struct {
	// Excludes are member names to skip, as LXC's excludes-user lists them
	// and `tar --anchored --exclude` applies them: "./dev/null" matches
	// "dev/null" and everything below it; shell wildcards are honoured.
	// Default: none.
	Excludes []string
	// Limits bounds the archive; zero fields take the defaults.
	Limits Limits
	// IDMapSize is the number of ids the user namespace maps from 0. An
	// entry owned by a uid or gid at or above it fails with an *IDError that
	// names the id and the size. 0 (the default) checks nothing and leaves
	// unmapped ids to fail in chown with EINVAL.
	IDMapSize uint32
	// Warn receives one line per thing deliberately not unpacked: whiteouts,
	// dropped xattrs, unsupported member types. Default: discard.
	Warn func(string)
}

// Device is a device node that Unpack did not create, as the archive
// described it; the container directory keeps the record of them
// (store.WriteDevices).
type Device = store.Device

// Report says what Unpack did. It is plain data so that a child process can
// send it to its parent as JSON.
type Report struct {
	Entries  int      // archive members read, skipped ones included
	Bytes    int64    // bytes of regular file contents written
	Devices  []Device // device nodes skipped
	Excluded []string // members skipped because Options.Excludes matched
}

// IDError is an entry owned by an id the user namespace does not map.
type IDError struct {
	Kind    string // "uid" or "gid"
	ID      int64
	MapSize uint32
}

func (e *IDError) Error() string {
	if e.ID < 0 {
		return fmt.Sprintf("negative %s %d", e.Kind, e.ID)
	}
	return fmt.Sprintf("%s %d is outside the %d ids mapped into the user namespace", e.Kind, e.ID, e.MapSize)
}

// Unwrap returns ErrUnmappedID.
func (e *IDError) Unwrap() error { return ErrUnmappedID }

// Unpack extracts the tar stream r into the existing, empty directory root.
// Every member name is hostile (see the package documentation for what is
// guaranteed). On error the partial tree is left in place: the caller
// removes it. Unpack checks ctx between members.
func Unpack(ctx context.Context, r io.Reader, root string, opts Options) (Report, error) {
	rootf, err := os.OpenFile(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Report{}, err
	}
	u := &unpacker{
		root:     rootf,
		rootfd:   int(rootf.Fd()),
		opts:     opts,
		limits:   opts.Limits,
		dirIndex: make(map[string]int),
		buf:      make([]byte, copyBufSize),
	}
	defer u.close()
	if u.limits.MaxBytes <= 0 {
		u.limits.MaxBytes = DefaultMaxBytes
	}
	if u.limits.MaxEntries <= 0 {
		u.limits.MaxEntries = DefaultMaxEntries
	}
	for _, ex := range opts.Excludes {
		if clean, err := cleanName(strings.TrimSpace(ex)); err == nil && clean != "" {
			u.excludes = append(u.excludes, clean)
		}
	}

	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return u.report, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return u.report, fmt.Errorf("read archive: %w", err)
		}
		u.report.Entries++
		if u.report.Entries > u.limits.MaxEntries {
			return u.report, fmt.Errorf("%w: more than %d entries", ErrLimit, u.limits.MaxEntries)
		}
		if err := u.entry(hdr, tr); err != nil {
			return u.report, err
		}
	}
	if err := u.finishDirs(); err != nil {
		return u.report, err
	}
	return u.report, nil
}

const copyBufSize = 128 << 10

// zeroBlock is compared against file contents to find holes.
var zeroBlock [copyBufSize]byte

type unpacker struct {
	root     *os.File
	rootfd   int // root's, for the *at calls
	opts     Options
	limits   Limits
	excludes []string
	report   Report
	buf      []byte

	// dirs are applied last (mode and times), deepest first, so that
	// read-only directories can be filled and their mtimes stick.
	dirs     []deferredDir
	dirIndex map[string]int

	// The parent of the previous member, kept open because archives list
	// the members of a directory together. Any removal invalidates it.
	cacheName string
	cache     *os.File
}

type deferredDir struct {
	name  string // "" is the root
	mode  uint32
	times []unix.Timespec
	dead  bool // removed by a later member
}

func (u *unpacker) close() {
	u.dropCache()
	u.root.Close()
}

func (u *unpacker) warn(format string, a ...any) {
	if u.opts.Warn != nil {
		u.opts.Warn(fmt.Sprintf(format, a...))
	}
}

// cleanName turns a member name into a clean path relative to the root, ""
// for the root itself, or explains why it is refused.
func cleanName(unsafeName string) (string, error) {
	switch {
	case unsafeName == "":
		return "", errors.New("empty name")
	case strings.IndexByte(unsafeName, 0) >= 0:
		return "", errors.New("NUL in name")
	case strings.HasPrefix(unsafeName, "/"):
		return "", errors.New("absolute name")
	}
	for _, c := range strings.Split(unsafeName, "/") {
		if c == ".." {
			return "", errors.New("parent directory component")
		}
	}
	name := path.Clean(unsafeName)
	if name == "." {
		return "", nil
	}
	if !isLocal(name) {
		return "", errors.New("not a local path")
	}
	return name, nil
}

// isLocal is filepath.IsLocal for Unix names without the allocation-heavy
// general case; the components were already checked for "..".
func isLocal(name string) bool {
	return name != "" && !strings.HasPrefix(name, "/")
}

func (u *unpacker) excluded(name string) bool {
	for _, ex := range u.excludes {
		if name == ex || strings.HasPrefix(name, ex+"/") {
			return true
		}
		if strings.ContainsAny(ex, "*?[") {
			if ok, _ := path.Match(ex, name); ok {
				return true
			}
		}
	}
	return false
}

func (u *unpacker) entry(hdr *tar.Header, tr io.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", ErrInsecurePath, hdr.Name, err)
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	if name == "" {
		if err := u.rootEntry(hdr); err != nil {
			return fmt.Errorf(".: %w", err)
		}
		return nil
	}
	if u.excluded(name) {
		u.report.Excluded = append(u.report.Excluded, name)
		return nil
	}
	base := path.Base(name)
	if strings.HasPrefix(base, ".wh.") {
		u.warn("%s: whiteout skipped (LXC images have one layer)", name)
		return nil
	}
	switch hdr.Typeflag {
	case tar.TypeChar, tar.TypeBlock:
		if hdr.Typeflag == tar.TypeChar && hdr.Devmajor == 0 && hdr.Devminor == 0 {
			u.warn("%s: whiteout device skipped", name)
			return nil
		}
		u.report.Devices = append(u.report.Devices, Device{
			Path:  name,
			Type:  map[byte]byte{tar.TypeChar: 'c', tar.TypeBlock: 'b'}[hdr.Typeflag],
			Major: uint32(hdr.Devmajor), Minor: uint32(hdr.Devminor),
			Mode: uint32(hdr.Mode & 0o7777),
			UID:  hdr.Uid, GID: hdr.Gid,
		})
		return nil
	case tar.TypeReg, tar.TypeCont, tar.TypeGNUSparse, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo:
	default:
		u.warn("%s: member type %q skipped", name, hdr.Typeflag)
		return nil
	}

	pfd, err := u.parent(path.Dir(name))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		err = u.dir(pfd, name, base, hdr)
	case tar.TypeSymlink:
		err = u.symlink(pfd, name, base, hdr)
	case tar.TypeLink:
		err = u.hardlink(pfd, name, base, hdr)
	case tar.TypeFifo:
		err = u.fifo(pfd, name, base, hdr)
	default:
		err = u.regular(pfd, name, base, hdr, tr)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// rootEntry applies a "." member. Anything but a directory there would
// replace the root (umoci CVE-2021-29136).
func (u *unpacker) rootEntry(hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeDir {
		return fmt.Errorf("%w: refusing to change the type of the root directory to %q", ErrInsecurePath, hdr.Typeflag)
	}
	uid, gid, err := u.owner(hdr)
	if err != nil {
		return err
	}
	if err := unix.Fchown(u.rootfd, uid, gid); err != nil {
		return fmt.Errorf("chown %d:%d: %w", uid, gid, err)
	}
	if err := u.setXattrs(u.rootfd, ".", hdr); err != nil {
		return err
	}
	u.deferDir("", hdr)
	return nil
}

// parent opens the directory dir inside the root, creating missing
// components as GNU tar does. The descriptor belongs to the cache.
func (u *unpacker) parent(dir string) (int, error) {
	if dir == "." {
		return u.rootfd, nil
	}
	if u.cache != nil && u.cacheName == dir {
		return int(u.cache.Fd()), nil
	}
	f, err := u.openDir(dir)
	if errors.Is(err, unix.ENOENT) {
		if f, err = mkdirAllInRoot(u.root, dir, 0o755); err != nil {
			err = fmt.Errorf("mkdir %s: %w", dir, err)
		}
	}
	if err != nil {
		return -1, err
	}
	u.dropCache()
	u.cacheName, u.cache = dir, f
	return int(f.Fd()), nil
}

func (u *unpacker) dropCache() {
	if u.cache != nil {
		u.cache.Close()
	}
	u.cacheName, u.cache = "", nil
}

// openDir resolves dir inside the root (root.go): symlinks, absolute ones
// included, cannot leave it, and ".." stops at it.
func (u *unpacker) openDir(dir string) (*os.File, error) {
	f, err := openDirInRoot(u.root, dir)
	if err != nil {
		return nil, fmt.Errorf("open directory %s: %w", dir, err)
	}
	return f, nil
}

// replace removes what stands at base so that a new member can take its
// place, as GNU tar does. A directory stays when the new member is one too;
// a non-empty directory is never removed.
func (u *unpacker) replace(pfd int, name, base string, newIsDir bool) (kept bool, err error) {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return false, fmt.Errorf("stat existing: %w", err)
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if isDir && newIsDir {
		return true, nil
	}
	// The cached parent may lie below what is removed: forget it, but keep
	// the descriptor open, since the caller may be using it as pfd.
	u.cacheName = ""
	if isDir {
		if err := unix.Unlinkat(pfd, base, unix.AT_REMOVEDIR); err != nil {
			return false, fmt.Errorf("replace directory: %w", err)
		}
		if i, ok := u.dirIndex[name]; ok {
			u.dirs[i].dead = true
			delete(u.dirIndex, name)
		}
		return false, nil
	}
	if err := unix.Unlinkat(pfd, base, 0); err != nil {
		return false, fmt.Errorf("replace existing: %w", err)
	}
	return false, nil
}

// owner returns the member's ids, checked against the namespace's map.
func (u *unpacker) owner(hdr *tar.Header) (uid, gid int, err error) {
	for _, id := range []struct {
		kind string
		v    int
	}{{"uid", hdr.Uid}, {"gid", hdr.Gid}} {
		if id.v < 0 || id.v > 1<<32-2 || (u.opts.IDMapSize != 0 && uint64(id.v) >= uint64(u.opts.IDMapSize)) {
			return 0, 0, &IDError{Kind: id.kind, ID: int64(id.v), MapSize: u.opts.IDMapSize}
		}
	}
	return hdr.Uid, hdr.Gid, nil
}

func (u *unpacker) chownAt(pfd int, base string, hdr *tar.Header) error {
	uid, gid, err := u.owner(hdr)
	if err != nil {
		return err
	}
	if err := unix.Fchownat(pfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown %d:%d: %w", uid, gid, err)
	}
	return nil
}

func timesOf(hdr *tar.Header) []unix.Timespec {
	at := hdr.AccessTime
	if at.IsZero() {
		at = hdr.ModTime
	}
	return []unix.Timespec{timespec(at), timespec(hdr.ModTime)}
}

func timespec(t time.Time) unix.Timespec {
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

func setTimesAt(pfd int, base string, hdr *tar.Header) error {
	if err := unix.UtimesNanoAt(pfd, base, timesOf(hdr), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

func (u *unpacker) regular(pfd int, name, base string, hdr *tar.Header, tr io.Reader) error {
	if hdr.Size < 0 {
		return fmt.Errorf("negative size %d", hdr.Size)
	}
	if hdr.Size > u.limits.MaxBytes-u.report.Bytes {
		return fmt.Errorf("%w: more than %d bytes", ErrLimit, u.limits.MaxBytes)
	}
	const flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(pfd, base, flags, 0o600)
	if err == unix.EEXIST {
		if _, err = u.replace(pfd, name, base, false); err != nil {
			return err
		}
		fd, err = unix.Openat(pfd, base, flags, 0o600)
	}
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	err = u.fill(f, tr, hdr.Size)
	if err == nil {
		err = u.fileMeta(fd, name, hdr)
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return setTimesAt(pfd, base, hdr)
}

// fill copies size bytes of contents, seeking over blocks of zeros so that
// sparse files (which archive/tar expands) stay sparse.
func (u *unpacker) fill(f *os.File, tr io.Reader, size int64) error {
	var off int64
	hole := false
	for off < size {
		n, err := io.ReadFull(tr, u.buf[:min(int64(len(u.buf)), size-off)])
		if n > 0 {
			chunk := u.buf[:n]
			if n == len(u.buf) && bytes.Equal(chunk, zeroBlock[:n]) {
				hole = true
			} else {
				if hole {
					if _, err := f.Seek(off, io.SeekStart); err != nil {
						return err
					}
					hole = false
				}
				if _, err := f.Write(chunk); err != nil {
					return err
				}
			}
			off += int64(n)
			u.report.Bytes += int64(n)
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read contents: %w", err)
		}
	}
	if hole {
		if err := f.Truncate(size); err != nil {
			return err
		}
	}
	return nil
}

// fileMeta applies ownership, xattrs and mode in the order that keeps them:
// chown clears setuid bits and file capabilities.
func (u *unpacker) fileMeta(fd int, name string, hdr *tar.Header) error {
	uid, gid, err := u.owner(hdr)
	if err != nil {
		return err
	}
	if err := unix.Fchown(fd, uid, gid); err != nil {
		return fmt.Errorf("chown %d:%d: %w", uid, gid, err)
	}
	if err := u.setXattrs(fd, name, hdr); err != nil {
		return err
	}
	mode := uint32(hdr.Mode & 0o7777)
	if err := unix.Fchmod(fd, mode); err != nil {
		return fmt.Errorf("chmod %#o: %w", mode, err)
	}
	return nil
}

func (u *unpacker) dir(pfd int, name, base string, hdr *tar.Header) error {
	err := unix.Mkdirat(pfd, base, 0o700)
	if err == unix.EEXIST {
		var kept bool
		kept, err = u.replace(pfd, name, base, true)
		if err == nil && !kept {
			err = unix.Mkdirat(pfd, base, 0o700)
		}
	}
	if err != nil {
		return fmt.Errorf("mkdir: %w", err)
	}
	if err := u.chownAt(pfd, base, hdr); err != nil {
		return err
	}
	if hasXattrs(hdr) {
		fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open: %w", err)
		}
		err = u.setXattrs(fd, name, hdr)
		unix.Close(fd)
		if err != nil {
			return err
		}
	}
	u.deferDir(name, hdr)
	return nil
}

func (u *unpacker) deferDir(name string, hdr *tar.Header) {
	d := deferredDir{name: name, mode: uint32(hdr.Mode & 0o7777), times: timesOf(hdr)}
	if i, ok := u.dirIndex[name]; ok {
		u.dirs[i] = d
		return
	}
	u.dirIndex[name] = len(u.dirs)
	u.dirs = append(u.dirs, d)
}

// finishDirs applies directory modes and times, deepest first.
func (u *unpacker) finishDirs() error {
	sort.SliceStable(u.dirs, func(i, j int) bool {
		return depth(u.dirs[i].name) > depth(u.dirs[j].name)
	})
	for _, d := range u.dirs {
		if d.dead {
			continue
		}
		if err := u.finishDir(d); err != nil {
			if d.name == "" {
				d.name = "."
			}
			return fmt.Errorf("%s: %w", d.name, err)
		}
	}
	return nil
}

func depth(name string) int {
	if name == "" {
		return -1
	}
	return strings.Count(name, "/")
}

func (u *unpacker) finishDir(d deferredDir) error {
	if d.name == "" {
		if err := unix.Fchmod(u.rootfd, d.mode); err != nil {
			return fmt.Errorf("chmod %#o: %w", d.mode, err)
		}
		if err := unix.UtimesNanoAt(u.rootfd, "", d.times, unix.AT_EMPTY_PATH); err != nil {
			return fmt.Errorf("set times: %w", err)
		}
		return nil
	}
	parent, err := u.openDir(path.Dir(d.name))
	if err != nil {
		return err
	}
	defer parent.Close()
	pfd := int(parent.Fd())
	base := path.Base(d.name)
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	err = unix.Fchmod(fd, d.mode)
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("chmod %#o: %w", d.mode, err)
	}
	if err := unix.UtimesNanoAt(pfd, base, d.times, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

func (u *unpacker) symlink(pfd int, name, base string, hdr *tar.Header) error {
	err := unix.Symlinkat(hdr.Linkname, pfd, base)
	if err == unix.EEXIST {
		if _, err = u.replace(pfd, name, base, false); err != nil {
			return err
		}
		err = unix.Symlinkat(hdr.Linkname, pfd, base)
	}
	if err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	if hasXattrs(hdr) {
		u.warn("%s: xattrs of a symlink dropped", name)
	}
	if err := u.chownAt(pfd, base, hdr); err != nil {
		return err
	}
	return setTimesAt(pfd, base, hdr)
}

// hardlink links name to an existing regular file, symlink or fifo inside
// the root. The link has no metadata of its own: changing it would change
// the target.
func (u *unpacker) hardlink(pfd int, name, base string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("%w: link target %q: %v", ErrInsecurePath, hdr.Linkname, err)
	}
	if target == "" {
		return fmt.Errorf("%w: link to the root directory", ErrInsecurePath)
	}
	if target == name {
		return nil
	}
	tdir, err := u.openDir(path.Dir(target))
	if err != nil {
		return fmt.Errorf("%w: link target %q: %v", ErrInsecurePath, hdr.Linkname, err)
	}
	defer tdir.Close()
	tfd := int(tdir.Fd())
	tbase := path.Base(target)
	var st unix.Stat_t
	if err := unix.Fstatat(tfd, tbase, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("%w: link target %q: %v", ErrInsecurePath, hdr.Linkname, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFLNK, unix.S_IFIFO:
	case unix.S_IFDIR:
		return fmt.Errorf("%w: link target %q is a directory", ErrInsecurePath, hdr.Linkname)
	default:
		return fmt.Errorf("%w: link target %q is not a regular file", ErrInsecurePath, hdr.Linkname)
	}
	err = unix.Linkat(tfd, tbase, pfd, base, 0)
	if err == unix.EEXIST {
		if _, err = u.replace(pfd, name, base, false); err != nil {
			return err
		}
		err = unix.Linkat(tfd, tbase, pfd, base, 0)
	}
	if err != nil {
		return fmt.Errorf("link to %s: %w", target, err)
	}
	return nil
}

func (u *unpacker) fifo(pfd int, name, base string, hdr *tar.Header) error {
	err := unix.Mknodat(pfd, base, unix.S_IFIFO|0o600, 0)
	if err == unix.EEXIST {
		if _, err = u.replace(pfd, name, base, false); err != nil {
			return err
		}
		err = unix.Mknodat(pfd, base, unix.S_IFIFO|0o600, 0)
	}
	if err != nil {
		return fmt.Errorf("mkfifo: %w", err)
	}
	if hasXattrs(hdr) {
		u.warn("%s: xattrs of a fifo dropped", name)
	}
	if err := u.chownAt(pfd, base, hdr); err != nil {
		return err
	}
	// fchmodat follows symlinks, but base is the fifo just made: nothing
	// else writes to the rootfs while it is unpacked.
	mode := uint32(hdr.Mode & 0o7777)
	if err := unix.Fchmodat(pfd, base, mode, 0); err != nil {
		return fmt.Errorf("chmod %#o: %w", mode, err)
	}
	return setTimesAt(pfd, base, hdr)
}
