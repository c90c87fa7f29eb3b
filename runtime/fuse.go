package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/userns"
)

// The fuse-overlayfs fallback of an overlay root (runtime/doc.go, "The
// fuse-overlayfs fallback", says why it is built this way).

// OverlayDriver chooses what serves an overlay root filesystem.
type OverlayDriver string

const (
	// OverlayAuto is the kernel's overlayfs, and fuse-overlayfs where
	// the kernel refuses overlayfs in a user namespace and
	// fuse-overlayfs is in $PATH. The default.
	OverlayAuto OverlayDriver = "auto"
	// OverlayKernel is the kernel's overlayfs only.
	OverlayKernel OverlayDriver = "kernel"
	// OverlayFuse is fuse-overlayfs only.
	OverlayFuse OverlayDriver = "fuse"
)

// ParseOverlayDriver reads an OverlayDriver; "" is OverlayAuto.
func ParseOverlayDriver(s string) (OverlayDriver, error) {
	switch d := OverlayDriver(s); d {
	case "", OverlayAuto:
		return OverlayAuto, nil
	case OverlayKernel, OverlayFuse:
		return d, nil
	default:
		return "", fmt.Errorf("overlay driver %q: want auto, kernel or fuse", s)
	}
}

// annotationOverlayDriver carries Options.Overlay in the spec to the
// monitor of a daemon start (Daemon), which has only the spec.
const annotationOverlayDriver = "ulxc.runtime.overlay.driver"

// fuseOverlayfs is the daemon's name in $PATH.
const fuseOverlayfs = "fuse-overlayfs"

// fuseDevice is what init opens for the FUSE mount.
const fuseDevice = "/dev/fuse"

// ErrNoFuseOverlayfs reports an overlay root that must be served by
// fuse-overlayfs (OverlayFuse) when fuse-overlayfs is not in $PATH.
var ErrNoFuseOverlayfs = errors.New("fuse-overlayfs is not in $PATH")

// FuseEntry is the hidden verb of the child that becomes the
// fuse-overlayfs daemon (FuseMain).
const FuseEntry = "__fuseoverlay"

// overlayDriver is the driver of a start: the option, else the spec's
// annotation (a monitor's), else auto.
func overlayDriver(opts Options) (OverlayDriver, error) {
	if opts.Overlay != "" {
		return ParseOverlayDriver(string(opts.Overlay))
	}
	if opts.Spec != nil {
		return ParseOverlayDriver(opts.Spec.Annotations[annotationOverlayDriver])
	}
	return OverlayAuto, nil
}

// lookFuseOverlayfs returns the absolute path of fuse-overlayfs.
func lookFuseOverlayfs() (string, error) {
	p, err := exec.LookPath(fuseOverlayfs)
	if err == nil {
		p, err = filepath.Abs(p)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %w: install it (apt-get install fuse-overlayfs, as root), or let the kernel's overlayfs serve the overlay (ULXC_OVERLAY=kernel or auto)",
			ErrOverlay, ErrNoFuseOverlayfs)
	}
	return p, nil
}

// fuseLayers are the layers of an overlay root that fuse-overlayfs
// serves: Lower top first, then Upper and Work, or a tmpfs upper layer
// of the daemon's own (Tmpfs).
type fuseLayers struct {
	Lower       []string
	Upper, Work string
	Tmpfs       bool
}

// fuseJob is what FuseMain is given, as JSON in its one argument.
type fuseJob struct {
	Binary string     `json:"binary"`
	Layers fuseLayers `json:"layers"`
	// UIDMapping and GIDMapping are fuse-overlayfs' uidmapping and
	// gidmapping: daemon id, container id, count, joined by colons.
	UIDMapping string `json:"uidmapping"`
	GIDMapping string `json:"gidmapping"`
}

// fuseDaemon is a running fuse-overlayfs. Like a network helper
// (helperProc) it is forked from a thread locked for its whole life, so
// that its parent-death signal (SIGKILL, which userns.Enter re-arms)
// comes when the supervisor dies and not before.
type fuseDaemon struct {
	pid    int
	stderr *tailWriter
	done   chan struct{}
	err    error // the wait's, once done is closed
}

// daemonMaps works out the user namespace of the daemon from the
// container's maps of kind k: its root is the user's own id (own), and
// the container's host ids follow from 1 upward, in the order of the
// container's maps, so that no id the container can be is the daemon's.
// A container id mapped to the user's own id (a single-id map, or the
// host user's id that start-ephemeral -u gives a user) is the daemon's
// root. mapping is fuse-overlayfs' option for the same ids.
func daemonMaps(k userns.Kind, container []userns.Map, own uint32) (maps []userns.Map, mapping string) {
	maps = []userns.Map{{Kind: k, ContainerID: 0, HostID: own, Size: 1}}
	var fields []string
	next := uint32(1)
	for _, m := range container {
		if m.Kind != k || m.Size == 0 {
			continue
		}
		daemonID := next
		if m.HostID == own && m.Size == 1 {
			daemonID = 0
		} else {
			maps = append(maps, userns.Map{Kind: k, ContainerID: next, HostID: m.HostID, Size: m.Size})
			next += m.Size
		}
		// fuse-overlayfs reads DAEMON:CONTAINER:COUNT (read_mappings:
		// host, to, len; its stat replies map host ids to "to" ones).
		fields = append(fields, strconv.FormatUint(uint64(daemonID), 10), strconv.FormatUint(uint64(m.ContainerID), 10),
			strconv.FormatUint(uint64(m.Size), 10))
	}
	return maps, strings.Join(fields, ":")
}

// receiveFuse reads the FUSE descriptor init sends once it has mounted
// the overlay root (rawproc's mountFuse), and checks that it is one.
func receiveFuse(sock *os.File) (*os.File, error) {
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fuse-overlayfs: receive init's %s: %w", fuseDevice, err)
	}
	if n == 0 && oobn == 0 {
		return nil, errNoNamespaces
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if f, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, f...)
			}
		}
	}
	ok := string(buf[:n]) == "fuse" && len(fds) == 1
	if ok {
		var st unix.Stat_t
		ok = unix.Fstat(fds[0], &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == unix.Mkdev(10, 229)
	}
	if !ok {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("fuse-overlayfs: malformed message from init")
	}
	return os.NewFile(uintptr(fds[0]), "fuse"), nil
}

// startFuse starts fuse-overlayfs (binary) on the FUSE connection dev
// for the layers of s's overlay root, in a user, mount and pid namespace
// of its own (FuseMain). It returns once the daemon runs; dev can then
// be closed.
func startFuse(s *specs.Spec, binary string, layers *fuseLayers, dev *os.File, log *slog.Logger) (*fuseDaemon, error) {
	own := []uint32{uint32(os.Getuid()), uint32(os.Getgid())}
	container := specMaps(s)
	umaps, umapping := daemonMaps(userns.UID, container, own[0])
	gmaps, gmapping := daemonMaps(userns.GID, container, own[1])
	plan, err := userns.NewPlan(userns.PlanOptions{Explicit: append(umaps, gmaps...)})
	if err != nil {
		return nil, fmt.Errorf("fuse-overlayfs: id maps: %w", err)
	}
	arg, err := json.Marshal(fuseJob{Binary: binary, Layers: *layers, UIDMapping: umapping, GIDMapping: gmapping})
	if err != nil {
		return nil, err
	}
	d := &fuseDaemon{done: make(chan struct{}), stderr: &tailWriter{max: 4 << 10, w: &lineLogger{log: log, helper: fuseOverlayfs}}}
	started := make(chan error, 1)
	go func() {
		// Never unlocked: this thread is the daemon's parent.
		goruntime.LockOSThread()
		// Not ctx: the daemon lives as long as the container, not as
		// the start. No environment: it needs none.
		// Mapped once it has exec'd (Spawn, then Release), not by
		// os/exec before: a supervisor whose init shared its memory is
		// not dumpable (init made it so), nor is a fork of it until its
		// exec, and the /proc files of a process that is not dumpable
		// are root's, where this process writes a single-id map itself.
		opts := userns.Options{Entry: FuseEntry, Args: []string{string(arg)}, Dir: "/", Env: []string{},
			Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWUTS,
			Stderr:     d.stderr, ExtraFiles: []*os.File{dev}}
		cmd, sync, err := userns.Spawn(context.Background(), opts)
		if err == nil {
			err = userns.Release(cmd.Process.Pid, plan, sync)
			sync.Close()
			if err != nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		}
		if err != nil {
			started <- err
			return
		}
		d.pid = cmd.Process.Pid
		started <- nil
		d.err = cmd.Wait()
		close(d.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("fuse-overlayfs: %w", err)
	}
	return d, nil
}

// exited returns the daemon's end, as an error with its stderr, if it
// has ended within wait.
func (d *fuseDaemon) exited(wait time.Duration) error {
	select {
	case <-d.done:
	default:
		select {
		case <-d.done:
		case <-time.After(wait):
			return nil
		}
	}
	msg := strings.ReplaceAll(strings.TrimSpace(d.stderr.String()), "\n", "; ")
	if msg == "" {
		return fmt.Errorf("fuse-overlayfs: %v", d.err)
	}
	return fmt.Errorf("fuse-overlayfs: %v: %s", d.err, msg)
}

// stop kills the daemon and reaps it. The FUSE mount lives in the
// container's mount namespace only, which has gone with init (or goes
// with the last reference to it): nothing is left to unmount.
func (d *fuseDaemon) stop() {
	if d == nil {
		return
	}
	_ = unix.Kill(d.pid, unix.SIGKILL)
	<-d.done
}

// FuseMain is the body of `ulxc __fuseoverlay JOB`: as root of the user
// namespace startFuse made (the user's own uid), in new mount and pid
// namespaces, it builds a root that holds nothing but the layers (bound
// on /layers/N, and /rw for the directory of the upper layer and the
// workdir), /usr read-only (the daemon's program and libraries) and a
// proc of its own pid namespace, pivots into it and execs
// fuse-overlayfs on /dev/fd/4, the FUSE connection init mounted. It
// returns only on failure, with the exit status 1.
func FuseMain(args []string) int {
	fmt.Fprintf(os.Stderr, "%v\n", fuseMain(args))
	return 1
}

// fuseFD is the FUSE connection in FuseMain: userns.Options.ExtraFiles[0].
const fuseFD = 4

// fuseMain execs fuse-overlayfs, or returns why it could not.
func fuseMain(args []string) error {
	if err := userns.Enter(); err != nil {
		return err
	}
	if len(args) != 1 {
		return fmt.Errorf("want one argument, got %d", len(args))
	}
	var j fuseJob
	if err := json.Unmarshal([]byte(args[0]), &j); err != nil {
		return fmt.Errorf("job: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	bin, err := unix.Open(j.Binary, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", j.Binary, err)
	}
	// Every layer is cloned, by its path, before the new root hides
	// anything: the root goes on /tmp, under which a layer may lie.
	type bind struct {
		tree int
		dest string
	}
	var binds []bind
	var lower []string
	for i, l := range j.Layers.Lower {
		dest := "layers/" + strconv.Itoa(i)
		tree, err := cloneLayer(l)
		if err != nil {
			return err
		}
		binds = append(binds, bind{tree, dest})
		lower = append(lower, "/"+dest)
	}
	if len(lower) == 0 {
		return errors.New("overlay root without a lower layer")
	}
	upper, work := "/upper", "/work"
	if !j.Layers.Tmpfs {
		// fuse-overlayfs makes a file in the workdir and renames it into
		// the upper layer: the two must be one mount, the bind of the
		// directory that holds both (the container's, usually).
		dir, err := commonDir(j.Layers.Upper, j.Layers.Work)
		if err != nil {
			return err
		}
		tree, err := cloneLayer(dir)
		if err != nil {
			return err
		}
		binds = append(binds, bind{tree, "rw"})
		upper, work = path.Join("/rw", j.Layers.Upper[len(dir):]), path.Join("/rw", j.Layers.Work[len(dir):])
	}
	root, err := newTmpfs()
	if err != nil {
		return fmt.Errorf("root: %w", err)
	}
	// Attached on /tmp (that mount exists only here): pivot_root wants
	// a mount point, and mounts are moved only onto attached ones.
	if err := unix.MoveMount(root, "", unix.AT_FDCWD, "/tmp", unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach the daemon's root: %w", err)
	}
	for _, b := range binds {
		if err := mkdirAllAt(root, b.dest); err != nil {
			return fmt.Errorf("bind overlay layer /%s: %w", b.dest, err)
		}
		if err := moveOnto(b.tree, root, b.dest); err != nil {
			return fmt.Errorf("bind overlay layer /%s: %w", b.dest, err)
		}
		unix.Close(b.tree)
	}
	if j.Layers.Tmpfs {
		// The root tmpfs holds the upper layer; its root takes the
		// owner and mode of the top lower layer's, as init's tmpfs
		// upper layer does.
		for _, d := range []string{"upper", "work"} {
			if err := unix.Mkdirat(root, d, 0o755); err != nil {
				return fmt.Errorf("tmpfs upper layer: %s: %w", d, err)
			}
		}
		var st unix.Stat_t
		if err := unix.Fstatat(root, lower[0][1:], &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("tmpfs upper layer: %w", err)
		}
		if err := unix.Fchownat(root, "upper", int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("tmpfs upper layer: %w", err)
		}
		if err := unix.Fchmodat(root, "upper", st.Mode&0o7777, 0); err != nil {
			return fmt.Errorf("tmpfs upper layer: %w", err)
		}
	}
	if err := systemDirs(root); err != nil {
		return err
	}
	if err := attachNew(root, "proc", "proc"); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	if err := unix.Mkdirat(root, "dev", 0o755); err != nil {
		return fmt.Errorf("mkdir /dev: %w", err)
	}
	if err := pivotInto(root); err != nil {
		return err
	}
	opts := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + upper + ",workdir=" + work
	if j.UIDMapping != "" {
		opts += ",uidmapping=" + j.UIDMapping
	}
	if j.GIDMapping != "" {
		opts += ",gidmapping=" + j.GIDMapping
	}
	argv := []string{fuseOverlayfs, "-f", "-o", opts, "/dev/fd/" + strconv.Itoa(fuseFD)}
	// By its path when the new root has the same file there (under
	// /usr: ps and /proc/PID/comm then name it), else by its descriptor.
	prog := "/proc/self/fd/" + strconv.Itoa(bin)
	var want, there unix.Stat_t
	if unix.Fstat(bin, &want) == nil && unix.Stat(j.Binary, &there) == nil && want.Dev == there.Dev && want.Ino == there.Ino {
		prog = j.Binary
	}
	err = syscall.Exec(prog, argv, []string{"PATH=/usr/bin:/bin"})
	return fmt.Errorf("exec %s: %w", j.Binary, err)
}

// newTmpfs makes a tmpfs (mode 0755), attached nowhere yet, and
// returns a descriptor of its mount.
func newTmpfs() (int, error) {
	fs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fs)
	if err := unix.FsconfigSetString(fs, "mode", "0755"); err != nil {
		return -1, err
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, err
	}
	return unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, 0)
}

// attachNew mounts a new file system of type fstype on dir, which it
// makes in root.
func attachNew(root int, fstype, dir string) error {
	if err := unix.Mkdirat(root, dir, 0o755); err != nil {
		return err
	}
	fs, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(fs)
	if err := unix.FsconfigCreate(fs); err != nil {
		return err
	}
	m, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(m)
	return moveOnto(m, root, dir)
}

// commonDir is the deepest directory that holds both a and b, absolute
// and clean.
func commonDir(a, b string) (string, error) {
	if !filepath.IsAbs(a) || !filepath.IsAbs(b) || filepath.Clean(a) != a || filepath.Clean(b) != b {
		return "", fmt.Errorf("overlay layers %q and %q are not absolute and clean", a, b)
	}
	dir := filepath.Dir(a)
	for dir != "/" && !strings.HasPrefix(b, dir+"/") {
		dir = filepath.Dir(dir)
	}
	return dir, nil
}

// cloneLayer returns a detached recursive bind of the directory src.
func cloneLayer(src string) (int, error) {
	if !filepath.IsAbs(src) {
		return -1, fmt.Errorf("overlay layer %q is not absolute", src)
	}
	fd, err := openDir(unix.AT_FDCWD, src, unix.O_PATH)
	if err != nil {
		return -1, fmt.Errorf("open overlay layer %s: %w", src, err)
	}
	defer unix.Close(fd)
	tree, err := unix.OpenTree(fd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH|unix.AT_RECURSIVE)
	if err != nil {
		return -1, fmt.Errorf("bind overlay layer %s: %w", src, err)
	}
	return tree, nil
}

// systemDirs gives root what fuse-overlayfs needs to run: /usr bound
// read-only, and /bin, /lib... as the host has them (the symlinks of a
// merged /usr, or read-only binds).
func systemDirs(root int) error {
	for _, d := range []string{"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"} {
		fi, err := os.Lstat("/" + d)
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue
		case err != nil:
			return err
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink("/" + d)
			if err != nil {
				return err
			}
			if err := unix.Symlinkat(target, root, d); err != nil {
				return fmt.Errorf("symlink /%s: %w", d, err)
			}
			continue
		case !fi.IsDir():
			continue
		}
		if err := unix.Mkdirat(root, d, 0o755); err != nil {
			return err
		}
		tree, err := unix.OpenTree(unix.AT_FDCWD, "/"+d, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
		if err != nil {
			return fmt.Errorf("bind /%s: %w", d, err)
		}
		err = unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE,
			&unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOSUID})
		if err == nil {
			err = moveOnto(tree, root, d)
		}
		unix.Close(tree)
		if err != nil {
			return fmt.Errorf("bind /%s read-only: %w", d, err)
		}
	}
	return nil
}

// mkdirAllAt makes dir and its parents in root.
func mkdirAllAt(root int, dir string) error {
	parts := strings.Split(dir, "/")
	for i := range parts {
		err := unix.Mkdirat(root, strings.Join(parts[:i+1], "/"), 0o755)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
	}
	return nil
}

// moveOnto attaches the mount m on dir of root, without following a
// symlink there.
func moveOnto(m, root int, dir string) error {
	target, err := unix.Openat(root, dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(target)
	return unix.MoveMount(m, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

// pivotInto makes the mount root the root of this mount namespace and
// lets go of the old one: nothing of the host's tree is left to resolve
// a path in.
func pivotInto(root int) error {
	if err := unix.Fchdir(root); err != nil {
		return fmt.Errorf("enter the daemon's root: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	return nil
}

// chooseOverlay works out the driver of a start and, when fuse-overlayfs
// serves its overlay root from the start (OverlayFuse), its path.
func chooseOverlay(opts Options) (OverlayDriver, string, error) {
	driver, err := overlayDriver(opts)
	if err != nil {
		return "", "", err
	}
	if driver != OverlayFuse || opts.Spec == nil {
		return driver, "", nil
	}
	if _, ok := ocispec.SpecOverlay(opts.Spec); !ok {
		return driver, "", nil
	}
	bin, err := lookFuseOverlayfs()
	return driver, bin, err
}

// fuseFallback reports whether a start that failed with err, with
// driver, and by fuse-overlayfs already or not (fuse), is tried again
// with fuse-overlayfs: the kernel refused overlayfs, and the driver lets
// fuse-overlayfs take over.
func fuseFallback(err error, driver OverlayDriver, fuse bool) bool {
	return errors.Is(err, ErrOverlay) && !errors.Is(err, ErrNoFuseOverlayfs) && driver == OverlayAuto && !fuse
}

// startFuse receives the FUSE connection init mounted and starts
// fuse-overlayfs on it (c.fuse).
func (c *Container) startFuse(sock *os.File, layers *fuseLayers) error {
	dev, err := receiveFuse(sock)
	if err != nil {
		return err
	}
	defer dev.Close()
	d, err := startFuse(c.opts.Spec, c.fuseBin, layers, dev, c.opts.Log)
	if err != nil {
		return err
	}
	c.fuse = d
	c.opts.Log.Info("fuse-overlayfs serves the root", "pid", d.pid)
	return nil
}
