package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/userns"
)

// CloneHookEntry is the hidden verb of the child that mounts a new
// copy's root and runs its clone hooks there (CloneHooks, CloneHookMain).
const CloneHookEntry = "__clonehook"

// cloneHookJob is what CloneHooks asks of the child, as JSON on its
// stdin: the hooks, LXC's variables, the root's layers (paths the child
// opens once, in its own mount namespace) and the mount point the parent
// made for it.
type cloneHookJob struct {
	Hooks      []specs.Hook `json:"hooks"`
	Name       string       `json:"name"`
	ConfigPath string       `json:"config"`
	RootfsPath string       `json:"rootfs_path"`
	SrcName    string       `json:"src_name"`
	State      specs.State  `json:"state"`
	// Mount is the empty private directory the root is mounted on.
	Mount string `json:"mount"`
	// Dir is a plain root filesystem, bound on Mount; otherwise Lower
	// (top first), Upper and Work are an overlay's.
	Dir   string   `json:"dir,omitempty"`
	Lower []string `json:"lower,omitempty"`
	Upper string   `json:"upper,omitempty"`
	Work  string   `json:"work,omitempty"`
	// Fuse: the overlay is a FUSE mount that fuse-overlayfs, started
	// by the parent, serves (mountFuseAt), not the kernel's overlayfs.
	Fuse bool `json:"fuse,omitempty"`
}

// cloneFuseFD is the socket in the child that the FUSE connection goes
// back to the parent on: the first of userns.Options.ExtraFiles after
// RunJob's reply pipe.
const cloneFuseFD = userns.JobReplyFD + 1

// cloneHookReply is the child's answer when a hook failed: which one,
// and how.
type cloneHookReply struct {
	Hook  string `json:"hook"`
	Error string `json:"error"`
	// Refused is the kernel's refusal of overlayfs (ErrOverlay), which
	// the parent may answer with fuse-overlayfs.
	Refused string `json:"refused,omitempty"`
}

// CloneHooks runs the lxc.hook.clone hooks of the container copy, whose
// spec is s, after it was copied from the container srcName, as LXC runs
// them (lxccontainer.c, clone_update_rootfs under userns_exec_full): in a
// child in a new user namespace with the copy's id maps plus the caller's
// own ids, and a mount namespace of its own, as root of that namespace,
// with the copy's root filesystem mounted (its overlay for a snapshot, a
// bind of its directory otherwise) on a private temporary directory that
// LXC_ROOTFS_MOUNT names. The hooks run in order with the arguments NAME
// lxc clone (lxc.hook.version 0, as ocispec wrote them), LXC_SRC_NAME,
// the copy's LXC_NAME and LXC_CONFIG_FILE, and LXC_ROOTFS_PATH, the root
// as the config names it (overlay:LOWER:UPPER for a snapshot); output
// goes to out. The first failure is returned, a *HookError. Without
// clone hooks nothing is started. (An ephemeral copy's clone hooks run
// inside its start instead, by its init: ocispec.AnnotationCloneSource.)
// driver chooses what serves an overlay root, as for a start
// (Options.Overlay; "" is OverlayAuto).
func CloneHooks(ctx context.Context, s *specs.Spec, name, configPath, srcName string, driver OverlayDriver, out io.Writer) error {
	hooks, err := ocispec.AnnotatedHooks(s, string(HookClone))
	if err != nil || len(hooks) == 0 {
		return err
	}
	if s.Root == nil || s.Root.Path == "" {
		return fmt.Errorf("clone hooks of %s: the spec has no root filesystem", name)
	}
	j := cloneHookJob{Hooks: hooks, Name: name, ConfigPath: configPath, SrcName: srcName,
		RootfsPath: s.Root.Path, Dir: s.Root.Path,
		State: specs.State{Version: specs.Version, ID: name, Status: specs.StateStopped, Annotations: s.Annotations}}
	if o, ok := ocispec.SpecOverlay(s); ok {
		j.RootfsPath, j.Dir = o.String(), ""
		j.Lower, j.Upper, j.Work = o.Lower, o.Upper, o.Work
	}
	err = runCloneHooks(ctx, s, j, driver, out)
	if err != nil {
		var he *HookError
		if errors.As(err, &he) {
			return err
		}
		return fmt.Errorf("clone hooks of %s: %w", name, err)
	}
	return nil
}

// runCloneHooks runs the job with the kernel's overlayfs or
// fuse-overlayfs as driver says, and with fuse-overlayfs after the
// kernel's refusal when driver is auto.
func runCloneHooks(ctx context.Context, s *specs.Spec, j cloneHookJob, driver OverlayDriver, out io.Writer) error {
	driver, err := ParseOverlayDriver(string(driver))
	if err != nil {
		return err
	}
	overlay := j.Dir == ""
	bin := ""
	if overlay && driver == OverlayFuse {
		if bin, err = lookFuseOverlayfs(); err != nil {
			return err
		}
	}
	err = runCloneJob(ctx, s, j, bin, out)
	if overlay && fuseFallback(err, driver, bin != "") {
		if bin, lerr := lookFuseOverlayfs(); lerr == nil {
			err = runCloneJob(ctx, s, j, bin, out)
		}
	}
	return err
}

// runCloneJob runs the job in a child; with fuse-overlayfs (bin) the
// child sends the FUSE connection it mounted back on a socket, and the
// daemon serves it until the child is done.
func runCloneJob(ctx context.Context, s *specs.Spec, j cloneHookJob, bin string, out io.Writer) error {
	var maps []userns.Map
	if s.Linux != nil {
		maps = specMaps(s)
	}
	plan, err := userns.NewPlan(userns.PlanOptions{Config: maps, Purpose: userns.ForContainer, MapSelf: true})
	if err != nil {
		return fmt.Errorf("id maps: %w", err)
	}
	// A directory of the caller's own, empty, outside anything of the
	// container's: the mount on it exists only in the child's mount
	// namespace, and the directory goes once the child has.
	mnt, err := os.MkdirTemp("", "ulxc-clone-")
	if err != nil {
		return err
	}
	defer os.Remove(mnt)
	j.Mount = mnt
	var extra []*os.File
	var served chan fuseServed
	if bin != "" {
		j.Fuse = true
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("fuse socket: %w", err)
		}
		parent, child := os.NewFile(uintptr(pair[0]), "fuse-parent"), os.NewFile(uintptr(pair[1]), "fuse-child")
		defer parent.Close()
		defer child.Close()
		extra = []*os.File{child}
		served = make(chan fuseServed, 1)
		layers := &fuseLayers{Lower: j.Lower, Upper: j.Upper, Work: j.Work}
		go func() {
			var r fuseServed
			dev, err := receiveFuse(parent)
			if err == nil {
				r.daemon, err = startFuse(s, bin, layers, dev, slog.New(slog.DiscardHandler))
				dev.Close()
			}
			r.err = err
			served <- r
		}()
	}
	var r cloneHookReply
	err = userns.RunJob(ctx, userns.Options{Plan: plan, Entry: CloneHookEntry, Dir: "/", Cloneflags: unix.CLONE_NEWNS,
		Stdout: out, ExtraFiles: extra}, j, &r)
	if served != nil {
		// Once the child is gone its end of the socket is ours alone:
		// shut it, and a receive that still waits ends.
		unix.Shutdown(int(extra[0].Fd()), unix.SHUT_RDWR)
		fs := <-served
		var derr error // a daemon that died before its time
		if fs.daemon != nil {
			derr = fs.daemon.exited(0)
			fs.daemon.stop()
		}
		if fs.err != nil && !errors.Is(fs.err, errNoNamespaces) {
			// The daemon's failure says why the child's mount did.
			if err == nil {
				err = fs.err
			} else {
				err = fmt.Errorf("%w; so: %w", fs.err, err)
			}
		}
		if err != nil && derr != nil {
			err = fmt.Errorf("%w; so: %w", derr, err)
		}
	}
	switch {
	case r.Hook != "":
		return &HookError{Type: HookClone, Path: r.Hook, Err: errors.New(r.Error)}
	case r.Refused != "":
		return fmt.Errorf("%w: %s", ErrOverlay, r.Refused)
	}
	return err
}

// fuseServed is the fuse-overlayfs daemon of a clone hook's child, or
// why there is none.
type fuseServed struct {
	daemon *fuseDaemon
	err    error
}

// CloneHookMain is the body of `ulxc __clonehook`: as root of the user
// namespace that CloneHooks made, it mounts the copy's root on the job's
// mount point and runs the hooks, their output on its stdout. It returns
// the exit status.
func CloneHookMain(args []string) int {
	var j cloneHookJob
	return userns.ServeJob(CloneHookEntry, &j, func() (any, error) {
		if len(args) != 0 {
			return nil, fmt.Errorf("want no arguments, got %q", args)
		}
		root, err := j.mountRoot()
		if errors.Is(err, ErrOverlay) && !j.Fuse {
			return cloneHookReply{Refused: strings.TrimPrefix(err.Error(), ErrOverlay.Error()+": ")}, nil
		}
		if err != nil {
			return nil, err
		}
		e := hookEnv{Name: j.Name, ConfigPath: j.ConfigPath, RootfsPath: j.RootfsPath, RootfsMount: root,
			SrcName: j.SrcName, State: j.State}
		err = runHooks(context.Background(), HookClone, j.Hooks, e, hostEnv(), os.Stdout)
		if he := (*HookError)(nil); errors.As(err, &he) {
			return cloneHookReply{Hook: he.Path, Error: he.Err.Error()}, nil
		}
		return nil, err
	})
}

// mountRoot mounts the job's root filesystem on its mount point and
// returns where the root is. Each layer is opened once, here, in this
// mount namespace (a descriptor the parent opened would name a mount of
// the host's namespace, which this one may not bind), and the mounts are
// made from and onto those descriptors: no path is walked again, and no
// path inside the root filesystem is walked at all.
func (j *cloneHookJob) mountRoot() (string, error) {
	for _, p := range append([]string{j.Mount, j.Dir, j.Upper, j.Work}, j.Lower...) {
		if p != "" && !strings.HasPrefix(p, "/") {
			return "", fmt.Errorf("job path %q is not absolute", p)
		}
	}
	// Mounts made here stay in this namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return "", fmt.Errorf("make / private: %w", err)
	}
	target, err := unix.Open(j.Mount, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("open mount point %s: %w", j.Mount, err)
	}
	defer unix.Close(target)
	if j.Dir != "" {
		return j.Mount, bindDir(j.Dir, target)
	}
	if j.Fuse {
		// fuse-overlayfs opens the layers itself, in its own namespaces,
		// and makes a tmpfs upper layer of its own.
		if err := mountFuseAt(target); err != nil {
			return "", fmt.Errorf("mount fuse-overlayfs of %s: %w", strings.Join(j.Lower, ":"), err)
		}
		return j.Mount, nil
	}
	fdPath := func(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }
	var lower []string
	for _, l := range j.Lower {
		fd, err := openDir(unix.AT_FDCWD, l, unix.O_PATH)
		if err != nil {
			return "", fmt.Errorf("open overlay layer %s: %w", l, err)
		}
		defer unix.Close(fd)
		lower = append(lower, fdPath(fd))
	}
	if len(lower) == 0 {
		return "", errors.New("overlay root without a lower layer")
	}
	var upper, work string
	for _, p := range []*string{&j.Upper, &j.Work} {
		fd, err := openDir(unix.AT_FDCWD, *p, unix.O_PATH)
		if err != nil {
			return "", fmt.Errorf("open overlay layer %s: %w", *p, err)
		}
		defer unix.Close(fd)
		if p == &j.Upper {
			upper = fdPath(fd)
		} else {
			work = fdPath(fd)
		}
	}
	if err := mountOverlayAt(lower, upper, work, target); err != nil {
		text := fmt.Sprintf("mount overlay of %s (upper %s) with userxattr", strings.Join(j.Lower, ":"), j.Upper)
		if overlayRefused(err) {
			return "", fmt.Errorf("%w: %s: %w: %s", ErrOverlay, text, err, overlayRefusal)
		}
		return "", fmt.Errorf("%s: %w", text, err)
	}
	return j.Mount, nil
}

// bindDir binds the directory dir (recursively, as a user namespace may)
// on the mount point target.
func bindDir(dir string, target int) error {
	src, err := openDir(unix.AT_FDCWD, dir, unix.O_PATH)
	if err != nil {
		return fmt.Errorf("open root filesystem %s: %w", dir, err)
	}
	defer unix.Close(src)
	tree, err := unix.OpenTree(src, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("bind %s: %w", dir, err)
	}
	defer unix.Close(tree)
	if err := unix.MoveMount(tree, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("bind %s: %w", dir, err)
	}
	return nil
}

// mountOverlayAt mounts an overlay of lower under upper, with work, on
// target, with userxattr as init mounts it.
func mountOverlayAt(lower []string, upper, work string, target int) error {
	fs, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(fs)
	for _, kv := range [][2]string{{"lowerdir", strings.Join(lower, ":")}, {"upperdir", upper}, {"workdir", work}} {
		if err := unix.FsconfigSetString(fs, kv[0], kv[1]); err != nil {
			return fmt.Errorf("%s: %w", kv[0], err)
		}
	}
	if err := unix.FsconfigSetFlag(fs, "userxattr"); err != nil {
		return fmt.Errorf("userxattr: %w", err)
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return err
	}
	m, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(m)
	return unix.MoveMount(m, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

// mountFuseAt mounts a FUSE connection on target as init's mountFuse
// does, with the same options, and sends it to the parent on
// cloneFuseFD, which starts fuse-overlayfs on it.
func mountFuseAt(target int) error {
	dev, err := unix.Open(fuseDevice, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", fuseDevice, err)
	}
	defer unix.Close(dev)
	fs, err := unix.Fsopen("fuse", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(fs)
	for _, kv := range fuseOptions(strconv.Itoa(dev)) {
		if err := unix.FsconfigSetString(fs, kv[0], kv[1]); err != nil {
			return fmt.Errorf("%s: %w", kv[0], err)
		}
	}
	for _, f := range fuseFlags {
		if err := unix.FsconfigSetFlag(fs, f); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return err
	}
	m, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(m)
	if err := unix.Sendmsg(cloneFuseFD, []byte("fuse"), unix.UnixRights(dev), nil, 0); err != nil {
		return fmt.Errorf("send %s to the parent: %w", fuseDevice, err)
	}
	return unix.MoveMount(m, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}
