package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
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
}

// cloneHookReply is the child's answer when a hook failed: which one,
// and how.
type cloneHookReply struct {
	Hook  string `json:"hook"`
	Error string `json:"error"`
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
func CloneHooks(ctx context.Context, s *specs.Spec, name, configPath, srcName string, out io.Writer) error {
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
	if err := runCloneHooks(ctx, s, j, out); err != nil {
		var he *HookError
		if errors.As(err, &he) {
			return err
		}
		return fmt.Errorf("clone hooks of %s: %w", name, err)
	}
	return nil
}

func runCloneHooks(ctx context.Context, s *specs.Spec, j cloneHookJob, out io.Writer) error {
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
	var r cloneHookReply
	err = userns.RunJob(ctx, userns.Options{Plan: plan, Entry: CloneHookEntry, Dir: "/", Cloneflags: unix.CLONE_NEWNS,
		Stdout: out}, j, &r)
	if r.Hook != "" {
		return &HookError{Type: HookClone, Path: r.Hook, Err: errors.New(r.Error)}
	}
	return err
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
		return "", fmt.Errorf("%w: mount overlay of %s (upper %s) with userxattr: %w", ErrOverlay, strings.Join(j.Lower, ":"), j.Upper, err)
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
