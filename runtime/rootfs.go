package runtime

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// fdPath names an open file for mount(2): the kernel follows the magic
// link to the file itself, so no path the container controls is walked.
func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// inRoot is how every path of the container is resolved: as if root were
// "/", absolute symlinks included, and never through /proc magic links.
const inRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// openInRoot opens unsafePath inside root with flags (O_PATH unless flags
// says otherwise).
func openInRoot(root int, unsafePath string, flags int) (int, error) {
	if flags&(unix.O_RDONLY|unix.O_WRONLY|unix.O_RDWR) == 0 && flags&unix.O_PATH == 0 {
		flags |= unix.O_PATH
	}
	fd, err := unix.Openat2(root, unsafePath, &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: inRoot})
	if err != nil {
		return -1, &pathError{op: "open", path: unsafePath, err: err}
	}
	return fd, nil
}

// pathError is a failed operation on a path inside the container.
type pathError struct {
	op, path string
	err      error
}

func (e *pathError) Error() string { return e.op + " " + e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// mkdirAllInRoot makes the directory unsafePath inside root, one component
// at a time, and returns an O_PATH descriptor of it. A component that
// exists is followed only if it resolves inside root; a component it
// creates is opened without following symlinks, so a symlink swapped in
// cannot send the mount elsewhere.
func mkdirAllInRoot(root int, unsafePath string) (int, error) {
	p := path.Clean("/" + unsafePath)
	fd, err := unix.Openat2(root, p, &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: inRoot})
	if err == nil || !errors.Is(err, unix.ENOENT) {
		if err != nil {
			return -1, &pathError{op: "open", path: p, err: err}
		}
		return fd, nil
	}
	parent, base := path.Split(p)
	pfd, err := mkdirAllInRoot(root, parent)
	if err != nil {
		return -1, err
	}
	defer unix.Close(pfd)
	if err := unix.Mkdirat(pfd, base, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, &pathError{op: "mkdir", path: p, err: err}
	}
	fd, err = unix.Openat2(pfd, base, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
	})
	if err != nil {
		return -1, &pathError{op: "open", path: p, err: err}
	}
	return fd, nil
}

// fileInRoot returns an O_PATH descriptor of the file unsafePath inside
// root, creating an empty one (mode 0) to mount onto if it is missing.
func fileInRoot(root int, unsafePath string) (int, error) {
	p := path.Clean("/" + unsafePath)
	fd, err := unix.Openat2(root, p, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: inRoot})
	if err == nil {
		return fd, nil
	}
	if !errors.Is(err, unix.ENOENT) {
		return -1, &pathError{op: "open", path: p, err: err}
	}
	dir, base := path.Split(p)
	pfd, err := mkdirAllInRoot(root, dir)
	if err != nil {
		return -1, err
	}
	defer unix.Close(pfd)
	if err := unix.Mknodat(pfd, base, unix.S_IFREG, 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, &pathError{op: "create", path: p, err: err}
	}
	fd, err = unix.Openat2(pfd, base, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
	})
	if err != nil {
		return -1, &pathError{op: "open", path: p, err: err}
	}
	// O_PATH|O_NOFOLLOW opens a symlink itself (a dangling one the
	// container left there): never mount onto that.
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT == unix.S_IFLNK {
		unix.Close(fd)
		if err == nil {
			err = unix.ELOOP
		}
		return -1, &pathError{op: "open", path: p, err: err}
	}
	return fd, nil
}

// mountFlag is one mount option that is a flag rather than data.
type mountFlag struct {
	clear bool
	flag  uintptr
}

var mountFlags = map[string]mountFlag{
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"nosuid":        {false, unix.MS_NOSUID},
	"suid":          {true, unix.MS_NOSUID},
	"nodev":         {false, unix.MS_NODEV},
	"dev":           {true, unix.MS_NODEV},
	"noexec":        {false, unix.MS_NOEXEC},
	"exec":          {true, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"noatime":       {false, unix.MS_NOATIME},
	"atime":         {true, unix.MS_NOATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"silent":        {false, unix.MS_SILENT},
	"loud":          {true, unix.MS_SILENT},
	"bind":          {false, unix.MS_BIND},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
	"defaults":      {false, 0},
}

var propagationFlags = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// createKind is what a missing mount target is made as.
type createKind string

const (
	createAuto createKind = ""     // the bind source's type, else a directory
	createDir  createKind = "dir"  // create=dir
	createFile createKind = "file" // create=file
)

// mountOptions is a spec mount's options, sorted out, with the markers
// of its annotations.
type mountOptions struct {
	flags       uintptr
	propagation []uintptr
	data        []string
	create      createKind
	optional    bool
}

// parseMountOptions splits OCI mount options into flags, propagation and
// fs-specific data.
func parseMountOptions(opts []string) mountOptions {
	var o mountOptions
	for _, opt := range opts {
		if f, ok := mountFlags[opt]; ok {
			if f.clear {
				o.flags &^= f.flag
			} else {
				o.flags |= f.flag
			}
			continue
		}
		if p, ok := propagationFlags[opt]; ok {
			o.propagation = append(o.propagation, p)
			continue
		}
		if opt != "" {
			o.data = append(o.data, opt)
		}
	}
	return o
}

// statfsFlags returns the mount flags statfs reports for fd.
func statfsFlags(fd int) (uintptr, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return 0, err
	}
	var f uintptr
	for _, m := range []struct{ st, ms int64 }{
		{unix.ST_RDONLY, unix.MS_RDONLY}, {unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if st.Flags&m.st != 0 {
			f |= uintptr(m.ms)
		}
	}
	return f, nil
}

// remountBind changes the flags of the bind mount at fd (a descriptor of
// the mount's root), keeping the locked ones it has: clearing them is
// EPERM in a user namespace. Atime flags are taken as they are unless the
// caller sets one.
func remountBind(fd int, flags uintptr) error {
	cur, err := statfsFlags(fd)
	if err != nil {
		return fmt.Errorf("statfs: %w", err)
	}
	keep := cur & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY)
	if flags&(unix.MS_NOATIME|unix.MS_RELATIME|unix.MS_STRICTATIME|unix.MS_NODIRATIME) == 0 {
		keep |= cur & (unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	}
	if err := unix.Mount("", fdPath(fd), "", unix.MS_REMOUNT|unix.MS_BIND|flags|keep, ""); err != nil {
		return fmt.Errorf("remount %s: %w", describeFlags(flags|keep), err)
	}
	return nil
}

func describeFlags(f uintptr) string {
	var out []string
	for _, n := range []string{"ro", "nosuid", "nodev", "noexec", "noatime", "nodiratime", "relatime"} {
		if f&mountFlags[n].flag != 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return "rw"
	}
	return strings.Join(out, ",")
}

// mounter sets up the mounts of one root. root is a descriptor of the
// root of the container's mount (after the rootfs bind).
type mounter struct {
	root    int
	newNet  bool
	sources map[int]int // spec.Mounts index -> O_PATH fd of the bind source, opened as the user
	devTmp  bool        // a tmpfs is mounted on /dev: make the device nodes
	mounted map[string]bool
}

// mountAll mounts the spec's mounts in order.
func (m *mounter) mountAll(s *specs.Spec) error {
	for i, mnt := range s.Mounts {
		o := parseMountOptions(mnt.Options)
		var err error
		if o.create, o.optional, err = mountMarkers(s, i); err != nil {
			return err
		}
		if err := m.mount(i, mnt, o); err != nil {
			return fmt.Errorf("mount %s on %s: %w", mountName(mnt), mnt.Destination, err)
		}
	}
	return nil
}

func mountName(mnt specs.Mount) string {
	if mnt.Type != "" && mnt.Type != "bind" && mnt.Type != "none" {
		return mnt.Type
	}
	return mnt.Source
}

func isBind(mnt specs.Mount, o mountOptions) bool {
	return mnt.Type == "bind" || o.flags&unix.MS_BIND != 0
}

func (m *mounter) mount(i int, mnt specs.Mount, o mountOptions) error {
	if !path.IsAbs(mnt.Destination) {
		return fmt.Errorf("%w: destination is not absolute", ErrInvalidSpec)
	}
	bind := isBind(mnt, o)
	src := -1
	if bind {
		fd, ok := m.sources[i]
		if !ok {
			if o.optional {
				return nil
			}
			return fmt.Errorf("source %s: %w", mnt.Source, unix.ENOENT)
		}
		src = fd
	}
	target, err := m.target(mnt.Destination, o.create, src)
	if err != nil {
		if o.optional {
			return nil
		}
		return err
	}
	defer unix.Close(target)
	if bind {
		err = m.bind(src, target, mnt.Destination, o)
	} else {
		err = m.mountFS(mnt, target, o)
	}
	if err != nil && o.optional {
		return nil
	}
	if err == nil {
		m.mounted[path.Clean(mnt.Destination)] = true
	}
	return err
}

// target resolves (creating it if missing) the mount point.
func (m *mounter) target(dest string, kind createKind, src int) (int, error) {
	if kind == createAuto {
		kind = createDir
		if src >= 0 {
			var st unix.Stat_t
			if err := unix.Fstat(src, &st); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
				kind = createFile
			}
		}
	}
	if kind == createFile {
		return fileInRoot(m.root, dest)
	}
	return mkdirAllInRoot(m.root, dest)
}

// reopen returns a descriptor of what is mounted at dest now: the
// descriptor used as mount target still names the covered directory.
func (m *mounter) reopen(dest string) (int, error) {
	return openInRoot(m.root, dest, 0)
}

func (m *mounter) bind(src, target int, dest string, o mountOptions) error {
	if err := unix.Mount(fdPath(src), fdPath(target), "", unix.MS_BIND|o.flags&unix.MS_REC, ""); err != nil {
		return err
	}
	extra := o.flags &^ (unix.MS_BIND | unix.MS_REC)
	if extra != 0 || len(o.propagation) > 0 {
		top, err := m.reopen(dest)
		if err != nil {
			return err
		}
		defer unix.Close(top)
		if extra != 0 {
			if err := remountBind(top, extra); err != nil {
				return err
			}
		}
		for _, p := range o.propagation {
			if err := unix.Mount("", fdPath(top), "", p, ""); err != nil {
				return fmt.Errorf("set propagation: %w", err)
			}
		}
	}
	return nil
}

func (m *mounter) mountFS(mnt specs.Mount, target int, o mountOptions) error {
	fstype, source := mnt.Type, mnt.Source
	flags := o.flags
	data := strings.Join(o.data, ",")
	switch fstype {
	case "proc", "sysfs", "mqueue":
		// A fresh proc or sysfs in a user namespace must be at least as
		// restricted as the host's (fs/namespace.c mount_too_revealing).
		flags |= unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	case "cgroup":
		// cgroup v1 cannot be mounted in a user namespace; the cgroup
		// namespace's view of the v2 hierarchy can.
		fstype = "cgroup2"
	}
	if source == "" {
		source = fstype
	}
	if fstype == "sysfs" && !m.newNet {
		// sysfs shows the network namespace of its mounter: without our
		// own, the kernel refuses it; show the host's read-only instead.
		return m.bindHost("/sys", target, mnt.Destination, unix.MS_REC, flags|unix.MS_RDONLY)
	}
	err := unix.Mount(source, fdPath(target), fstype, flags, data)
	if err != nil && fstype == "devpts" && errors.Is(err, unix.EINVAL) && strings.Contains(data, "gid=") {
		// gid=5 (tty) is EINVAL when gid 5 is not mapped.
		err = unix.Mount(source, fdPath(target), fstype, flags, dropOption(data, "gid="))
	}
	if err != nil {
		return err
	}
	if mnt.Destination == "/dev" && fstype == "tmpfs" {
		m.devTmp = true
	}
	if len(o.propagation) > 0 {
		top, err := m.reopen(mnt.Destination)
		if err != nil {
			return err
		}
		defer unix.Close(top)
		for _, p := range o.propagation {
			if err := unix.Mount("", fdPath(top), "", p, ""); err != nil {
				return fmt.Errorf("set propagation: %w", err)
			}
		}
	}
	return nil
}

// bindHost binds a host path (trusted: it is resolved in the host's tree,
// which the container cannot touch) onto target and applies flags.
func (m *mounter) bindHost(hostPath string, target int, dest string, rec, flags uintptr) error {
	if err := unix.Mount(hostPath, fdPath(target), "", unix.MS_BIND|rec, ""); err != nil {
		return err
	}
	if flags == 0 {
		return nil
	}
	top, err := m.reopen(dest)
	if err != nil {
		return err
	}
	defer unix.Close(top)
	return remountBind(top, flags)
}

func dropOption(data, prefix string) string {
	var keep []string
	for _, o := range strings.Split(data, ",") {
		if !strings.HasPrefix(o, prefix) {
			keep = append(keep, o)
		}
	}
	return strings.Join(keep, ",")
}

// maskPaths hides the spec's masked paths: /dev/null (the host's, never
// the container's, which it could have swapped: CVE-2025-31133) over
// files, an empty read-only tmpfs over directories. Missing paths are
// fine.
func (m *mounter) maskPaths(paths []string) error {
	for _, p := range paths {
		fd, err := openInRoot(m.root, p, 0)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
		var st unix.Stat_t
		err = unix.Fstat(fd, &st)
		if err == nil {
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				err = unix.Mount("tmpfs", fdPath(fd), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=0,mode=0555")
			} else {
				err = unix.Mount("/dev/null", fdPath(fd), "", unix.MS_BIND, "")
			}
		}
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	return nil
}

// readonlyPaths binds each path onto itself read-only.
func (m *mounter) readonlyPaths(paths []string) error {
	for _, p := range paths {
		fd, err := openInRoot(m.root, p, 0)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
		err = unix.Mount(fdPath(fd), fdPath(fd), "", unix.MS_BIND|unix.MS_REC, "")
		unix.Close(fd)
		if err == nil {
			var top int
			if top, err = m.reopen(p); err == nil {
				err = remountBind(top, unix.MS_RDONLY)
				unix.Close(top)
			}
		}
		if err != nil {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
	}
	return nil
}
