package image

import (
	"archive/tar"
	"bufio"
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

	"golang.org/x/sys/unix"
)

// PackOptions tune Pack. The zero value writes the tree as it is.
type PackOptions struct {
	// Devices are device nodes to add to the archive: the record that a
	// container's create kept of the nodes its image held (a rootfs
	// unpacked in a user namespace cannot hold them). A device whose
	// path the walk met is left out, with a warning. Default none.
	Devices []Device
	// Owner maps an owner as the filesystem reports it to the one
	// written; an error fails the pack. Default: as reported. Inside the
	// container's user namespace the kernel has already mapped them.
	Owner func(uid, gid uint32) (int, int, error)
	// Name, when set, is replaced by LXC_NAME wherever it stands as a
	// whole word in the files of Templates: the inverse of ApplyTemplates
	// for a container created under that name. Default none.
	Name string
	// Templates are files inside the root ("/etc/hostname") that may
	// hold placeholders; those that hold LXC_NAME once Name is replaced
	// are listed in PackReport.Templates. Default none.
	Templates []string
	// Warn receives one line per thing deliberately left out: sockets,
	// overlay whiteouts, other filesystems, xattrs of the host's policy.
	// Default: discard.
	Warn func(string)
}

// PackReport says what Pack wrote. It is plain data so that a child
// process can send it to its parent as JSON.
type PackReport struct {
	Entries int   // archive members
	Bytes   int64 // bytes of regular file contents
	// Devices are the device node members, "./dev/null": what an image's
	// excludes-user lists.
	Devices []string
	// Templates are the files of PackOptions.Templates that hold
	// LXC_NAME, "/etc/hostname": what an image's templates lists.
	Templates []string
}

// maxPackTemplate bounds a file of PackOptions.Templates that Pack reads
// whole; a larger one is packed as it is and not listed.
const maxPackTemplate = 1 << 20

// Pack writes the tree at root to w as a tar archive in the shape of an
// LXC image's rootfs.tar: members "./", "./etc/", "./etc/hostname"... in
// directory order, numeric owners, modes with setuid bits, seconds
// mtimes, hard links as links, symlinks as they are, FIFOs and device
// nodes as nodes, and the xattrs that mean something in a user namespace
// (keepXattr; file capabilities as v2). It stays on root's filesystem, as
// tar --one-file-system does.
//
// The tree may be hostile (a container's rootfs): every component is
// opened relative to its parent's descriptor without following symlinks,
// nothing but directories and regular files is opened, and a file is
// read only after fstat proves it is the one that was listed. Pack checks
// ctx between members.
func Pack(ctx context.Context, w io.Writer, root string, opts PackOptions) (PackReport, error) {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return PackReport{}, &os.PathError{Op: "open", Path: root, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return PackReport{}, &os.PathError{Op: "stat", Path: root, Err: err}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	p := &packer{
		ctx: ctx, tw: tar.NewWriter(bw), opts: opts, rootDev: st.Dev,
		links: map[[2]uint64]string{}, seen: map[string]bool{}, templates: map[string]bool{},
		buf: make([]byte, copyBufSize), mtime: time.Unix(st.Mtim.Sec, 0),
	}
	for _, t := range opts.Templates {
		if clean, err := cleanName(strings.TrimPrefix(t, "/")); err == nil && clean != "" {
			p.templates[clean] = true
		}
	}
	if err := p.dir(fd, "", &st); err != nil {
		return p.report, err
	}
	if err := p.devices(); err != nil {
		return p.report, err
	}
	if err := p.tw.Close(); err != nil {
		return p.report, err
	}
	return p.report, bw.Flush()
}

type packer struct {
	ctx       context.Context
	tw        *tar.Writer
	opts      PackOptions
	report    PackReport
	rootDev   uint64
	links     map[[2]uint64]string // (dev, ino) of a multiply linked file -> its member name
	seen      map[string]bool      // clean names written
	templates map[string]bool
	warned    map[string]bool
	buf       []byte
	mtime     time.Time // of the root, for members Pack makes up
}

func (p *packer) warn(format string, a ...any) {
	if p.opts.Warn != nil {
		p.opts.Warn(fmt.Sprintf(format, a...))
	}
}

// header makes the member of the clean name ("" is the root) from st.
func (p *packer) header(name string, st *unix.Stat_t, typ byte) (*tar.Header, error) {
	uid, gid := int(st.Uid), int(st.Gid)
	if p.opts.Owner != nil {
		var err error
		if uid, gid, err = p.opts.Owner(st.Uid, st.Gid); err != nil {
			return nil, fmt.Errorf("%s: %w", displayName(name), err)
		}
	}
	member := "./" + name
	if typ == tar.TypeDir && name != "" {
		member += "/"
	}
	return &tar.Header{
		Typeflag: typ, Name: member, Mode: int64(st.Mode & 0o7777),
		Uid: uid, Gid: gid, ModTime: time.Unix(st.Mtim.Sec, 0),
	}, nil
}

func displayName(name string) string {
	if name == "" {
		return "."
	}
	return name
}

func (p *packer) write(name string, h *tar.Header) error {
	if err := p.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("%s: %w", displayName(name), err)
	}
	p.report.Entries++
	p.seen[name] = true
	if h.Typeflag == tar.TypeChar || h.Typeflag == tar.TypeBlock {
		p.report.Devices = append(p.report.Devices, h.Name)
	}
	return nil
}

// dir writes the directory open at fd (which it closes) and everything
// below it.
func (p *packer) dir(fd int, name string, st *unix.Stat_t) error {
	f := os.NewFile(uintptr(fd), displayName(name))
	defer f.Close()
	h, err := p.header(name, st, tar.TypeDir)
	if err != nil {
		return err
	}
	if h.PAXRecords, err = p.xattrs(fd, name); err != nil {
		return err
	}
	if err := p.write(name, h); err != nil {
		return err
	}
	if st.Dev != p.rootDev {
		p.warn("%s: another filesystem (a mount point): its contents are not packed", displayName(name))
		return nil
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("%s: read directory: %w", displayName(name), err)
	}
	sort.Strings(names)
	for _, base := range names {
		if err := p.ctx.Err(); err != nil {
			return err
		}
		if err := p.entry(fd, path.Join(name, base), base); err != nil {
			return err
		}
	}
	return nil
}

// entry writes the member base of the directory open at pfd.
func (p *packer) entry(pfd int, name, base string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		fd, err := openSame(pfd, base, unix.O_DIRECTORY, &st)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return p.dir(fd, name, &st)
	case unix.S_IFREG:
		return p.regular(pfd, name, base, &st)
	case unix.S_IFLNK:
		target, err := readlinkat(pfd, base)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		h, err := p.header(name, &st, tar.TypeSymlink)
		if err != nil {
			return err
		}
		h.Linkname = target
		return p.write(name, h)
	case unix.S_IFIFO:
		h, err := p.header(name, &st, tar.TypeFifo)
		if err != nil {
			return err
		}
		return p.write(name, h)
	case unix.S_IFCHR, unix.S_IFBLK:
		typ := byte(tar.TypeChar)
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			typ = tar.TypeBlock
		}
		if typ == tar.TypeChar && st.Rdev == 0 {
			p.warn("%s: overlay whiteout (device 0:0) not packed", name)
			return nil
		}
		h, err := p.header(name, &st, typ)
		if err != nil {
			return err
		}
		h.Devmajor, h.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		return p.write(name, h)
	default:
		p.warn("%s: socket not packed (tar leaves them out too)", name)
		return nil
	}
}

// openSame opens base in pfd without following a symlink, never blocking
// (a FIFO put in its place), and checks that it is the inode listed.
func openSame(pfd int, base string, flags int, want *unix.Stat_t) (int, error) {
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|flags, 0)
	if err != nil {
		return -1, fmt.Errorf("open: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("stat: %w", err)
	}
	if st.Dev != want.Dev || st.Ino != want.Ino {
		unix.Close(fd)
		return -1, errors.New("replaced while being packed")
	}
	return fd, nil
}

func (p *packer) regular(pfd int, name, base string, st *unix.Stat_t) error {
	if st.Nlink > 1 {
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := p.links[key]; ok {
			h, err := p.header(name, st, tar.TypeLink)
			if err != nil {
				return err
			}
			h.Linkname = first
			return p.write(name, h)
		}
		p.links[key] = "./" + name
	}
	fd, err := openSame(pfd, base, 0, st)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	h, err := p.header(name, st, tar.TypeReg)
	if err != nil {
		return err
	}
	if h.PAXRecords, err = p.xattrs(fd, name); err != nil {
		return err
	}
	h.Size = st.Size
	var body []byte
	if p.templates[name] && st.Size <= maxPackTemplate {
		if body, err = p.template(f, name, st.Size); err != nil {
			return err
		}
		h.Size = int64(len(body))
	}
	if err := p.write(name, h); err != nil {
		return err
	}
	if body != nil {
		_, err = p.tw.Write(body)
	} else {
		var n int64
		n, err = io.CopyBuffer(p.tw, io.LimitReader(f, st.Size), p.buf)
		if err == nil && n != st.Size {
			err = fmt.Errorf("shrank from %d to %d bytes while being packed", st.Size, n)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	p.report.Bytes += h.Size
	return nil
}

// template reads a file of PackOptions.Templates whole and puts LXC_NAME
// back where the container's name stands.
func (p *packer) template(f *os.File, name string, size int64) ([]byte, error) {
	body := make([]byte, size)
	if _, err := io.ReadFull(f, body); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if p.opts.Name != "" {
		body = replaceWord(body, p.opts.Name, "LXC_NAME")
	}
	if bytes.Contains(body, []byte("LXC_NAME")) {
		p.report.Templates = append(p.report.Templates, "/"+name)
	}
	return body, nil
}

// replaceWord replaces old by new where old is not part of a longer
// container name (letters, digits and ._-).
func replaceWord(b []byte, old, new string) []byte {
	word := func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
	}
	var out []byte
	for {
		i := bytes.Index(b, []byte(old))
		if i < 0 {
			return append(out, b...)
		}
		end := i + len(old)
		if (i > 0 && word(b[i-1])) || (end < len(b) && word(b[end])) {
			out, b = append(out, b[:end]...), b[end:]
			continue
		}
		out = append(append(out, b[:i]...), new...)
		b = b[end:]
	}
}

// xattrs returns the PAX records of the kept xattrs of the file open at
// fd: user.*, POSIX ACLs and the file capability, written as v2.
func (p *packer) xattrs(fd int, name string) (map[string]string, error) {
	names, err := listXattrs(fd)
	if err != nil {
		return nil, fmt.Errorf("%s: list xattrs: %w", displayName(name), err)
	}
	var recs map[string]string
	for _, attr := range names {
		if !keepXattr(attr) {
			if p.warned == nil {
				p.warned = map[string]bool{}
			}
			if !p.warned[attr] {
				p.warned[attr] = true
				p.warn("xattr %s is not packed (first on %s): it means nothing in a user namespace", attr, displayName(name))
			}
			continue
		}
		v, err := getXattr(fd, attr)
		if errors.Is(err, unix.ENODATA) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: xattr %s: %w", displayName(name), attr, err)
		}
		if attr == "security.capability" {
			if v, err = capabilityV2(v); err != nil {
				p.warn("%s: xattr %s not packed: %v", displayName(name), attr, err)
				continue
			}
		}
		if recs == nil {
			recs = map[string]string{}
		}
		recs[paxXattr+attr] = string(v)
	}
	return recs, nil
}

func listXattrs(fd int) ([]string, error) {
	for {
		n, err := unix.Flistxattr(fd, nil)
		if err == unix.ENOTSUP || n == 0 {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		buf := make([]byte, n)
		n, err = unix.Flistxattr(fd, buf)
		if err == unix.ERANGE {
			continue
		}
		if err != nil {
			return nil, err
		}
		var out []string
		for _, s := range bytes.Split(buf[:n], []byte{0}) {
			if len(s) > 0 {
				out = append(out, string(s))
			}
		}
		sort.Strings(out)
		return out, nil
	}
}

func getXattr(fd int, attr string) ([]byte, error) {
	for {
		n, err := unix.Fgetxattr(fd, attr, nil)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, n)
		n, err = unix.Fgetxattr(fd, attr, buf)
		if err == unix.ERANGE {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

func readlinkat(pfd int, base string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(pfd, base, buf)
		if err != nil {
			return "", fmt.Errorf("readlink: %w", err)
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// devices adds PackOptions.Devices, with any parent directory the walk
// did not meet.
func (p *packer) devices() error {
	devs := append([]Device(nil), p.opts.Devices...)
	sort.Slice(devs, func(i, j int) bool { return devs[i].Path < devs[j].Path })
	for _, d := range devs {
		name, err := cleanName(d.Path)
		if err != nil || name == "" {
			p.warn("recorded device node %q not packed: not a path inside the rootfs", d.Path)
			continue
		}
		if p.seen[name] {
			p.warn("recorded device node %s not packed: the rootfs has %s itself", name, name)
			continue
		}
		typ := map[byte]byte{'c': tar.TypeChar, 'b': tar.TypeBlock}[d.Type]
		if typ == 0 {
			p.warn("recorded device node %s not packed: unknown type %q", name, d.Type)
			continue
		}
		if err := p.parents(name); err != nil {
			return err
		}
		h := &tar.Header{
			Typeflag: typ, Name: "./" + name, Mode: int64(d.Mode & 0o7777), Uid: d.UID, Gid: d.GID,
			Devmajor: int64(d.Major), Devminor: int64(d.Minor), ModTime: p.mtime,
		}
		if err := p.write(name, h); err != nil {
			return err
		}
	}
	return nil
}

// parents writes the directories above name that the archive lacks.
func (p *packer) parents(name string) error {
	dir := path.Dir(name)
	if dir == "." || p.seen[dir] {
		return nil
	}
	if err := p.parents(dir); err != nil {
		return err
	}
	return p.write(dir, &tar.Header{Typeflag: tar.TypeDir, Name: "./" + dir + "/", Mode: 0o755, ModTime: p.mtime})
}
