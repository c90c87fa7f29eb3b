package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/seccomp"
	"github.com/ulxc/ulxc/userns"
	"golang.org/x/sys/unix"
)

// InitEntry is the hidden verb of the container's init process.
const InitEntry = "__init"

// The descriptors init inherits (fd 3 is userns's sync pipe).
const (
	initConfigFD = 4 // read: the initConfig (wire.go)
	initErrorFD  = 5 // write: a ChildError, or EOF when the exec worked
	initPtyFD    = 6 // unix socket: the pty masters (only with a console)
)

// initConfig is what the supervisor tells init.
type initConfig struct {
	Spec       *specs.Spec // what runtime reads of it: wire.go
	Name       string
	ConfigPath string
	Console    bool // allocate /dev/console and the ttys; send the masters on fd 6
	// ConsoleRows and ConsoleCols size the console before the container's
	// process runs (start -F on a terminal); 0 leaves the kernel's 0x0.
	ConsoleRows, ConsoleCols uint16
	TTYs                     int
	NewNet                   bool
	// Unshare are the namespaces init makes itself rather than in the
	// clone that started it (lateNamespaces).
	Unshare uintptr
}

// ChildError is an error that init reported before it could exec the
// container's process. It keeps the errno, so errors.Is(err, unix.EPERM)
// works across the process boundary.
type ChildError struct {
	Msg   string
	Errno syscall.Errno
}

func (e *ChildError) Error() string { return e.Msg }

func (e *ChildError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// InitMain is the body of `ulxc __init`: it becomes root of the new user
// namespace, builds the container's root filesystem and execs the spec's
// process. It returns only on failure, after reporting it on fd 5.
func InitMain(args []string) int {
	errPipe := os.NewFile(initErrorFD, "init-errors")
	// Before Enter, while init still has the user's host credentials,
	// read the spec and open what container root may not reach.
	cfg, pre, prepErr := prepare()
	if prepErr == nil && cfg.Unshare != 0 {
		prepErr = unshareLate(cfg.Unshare)
	}
	err := userns.Enter()
	if err == nil {
		err = prepErr
	}
	if err == nil {
		err = setup(cfg, pre)
	}
	report(errPipe, err)
	return 1
}

// lateNamespaces are the namespaces init unshares itself, while the
// supervisor still runs newuidmap and newgidmap, instead of in the clone
// that starts init: the helpers need init's pid, so whatever the clone
// does delays them, and creating a network namespace alone costs about
// half a millisecond (the IPC namespace's mqueue mount some more). User,
// mount and pid namespaces stay in the clone (init must be pid 1 and
// cannot unshare a user namespace once the Go runtime runs threads). The
// cgroup namespace is made here too, after init has read its config: a
// prestarted init (package nsenter) is moved into the container's cgroup
// only after its clone, and the namespace's root is the cgroup init is
// in when it makes it.
const lateNamespaces = unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP

// unshareLate makes the namespaces in flags (lateNamespaces) for init.
//
// These namespaces belong to a thread, and unshare moves only the calling
// one: init's goroutine is locked to its thread for good (Enter locks it
// again), and everything that depends on them happens on it: the sysfs
// and mqueue mounts, bringing lo up, the host name, the hooks' fork, and
// the exec of the container's process, which keeps only the calling
// thread. The ambient capabilities init was started with give it
// CAP_SYS_ADMIN in its user namespace already, maps or not.
func unshareLate(flags uintptr) error {
	goruntime.LockOSThread()
	if err := unix.Unshare(int(flags)); err != nil {
		var names []string
		for _, ns := range []struct {
			flag uintptr
			name string
		}{{unix.CLONE_NEWNET, "network"}, {unix.CLONE_NEWIPC, "IPC"}, {unix.CLONE_NEWUTS, "UTS"},
			{unix.CLONE_NEWCGROUP, "cgroup"}} {
			if flags&ns.flag != 0 {
				names = append(names, ns.name)
			}
		}
		return fmt.Errorf("new %s namespace: %w", strings.Join(names, ", "), err)
	}
	return nil
}

func report(w *os.File, err error) {
	ce := &ChildError{Msg: err.Error()}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		ce.Errno = errno
	}
	b, _ := json.Marshal(ce)
	w.Write(b)
	w.Close()
}

// prepared is what init opened before it became root in the namespace.
type prepared struct {
	rootfs  int
	sources map[int]int
}

func prepare() (*initConfig, *prepared, error) {
	f := os.NewFile(initConfigFD, "init-config")
	b, err := readWire(f)
	f.Close()
	var cfg *initConfig
	if err == nil {
		cfg, err = decodeInitConfig(b)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read container spec: %w", err)
	}
	for _, fd := range []int{initErrorFD, initPtyFD} {
		unix.CloseOnExec(fd)
	}
	s := cfg.Spec
	pre := &prepared{sources: map[int]int{}}
	root, err := unix.Open(s.Root.Path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open rootfs %s: %w", s.Root.Path, err)
	}
	pre.rootfs = root
	for i, m := range s.Mounts {
		o := parseMountOptions(m.Options)
		_, optional, err := mountMarkers(s, i)
		if err != nil {
			return nil, nil, err
		}
		if !isBind(m, o) {
			continue
		}
		fd, err := unix.Open(m.Source, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			if optional {
				continue
			}
			return nil, nil, fmt.Errorf("mount %s on %s: open source: %w", m.Source, m.Destination, err)
		}
		pre.sources[i] = fd
	}
	return cfg, pre, nil
}

// setup runs the steps from a fresh mount namespace to exec.
func setup(cfg *initConfig, pre *prepared) error {
	s := cfg.Spec
	env := hookEnv{Name: cfg.Name, ConfigPath: cfg.ConfigPath, RootfsPath: s.Root.Path, RootfsMount: s.Root.Path,
		State: specs.State{Version: specs.Version, ID: cfg.Name, Status: specs.StateCreating, Pid: os.Getpid(), Annotations: s.Annotations}}
	ctx := context.Background()

	// Through init's /proc, in the container's network and IPC
	// namespaces, which init made already.
	if err := writeSysctls(s.Linux.Sysctl); err != nil {
		return err
	}
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make / a slave mount: %w", err)
	}
	hooks, err := preMountHooks(s)
	if err != nil {
		return err
	}
	env.Rootfs = os.NewFile(uintptr(pre.rootfs), "rootfs")
	if err := runHooks(ctx, HookPreMount, hooks, env, containerEnv(), os.Stderr); err != nil {
		return err
	}
	root, err := bindRootfs(pre.rootfs)
	if err != nil {
		return err
	}
	env.Rootfs = os.NewFile(uintptr(root), "rootfs")
	m := &mounter{root: root, newNet: cfg.NewNet, sources: pre.sources, mounted: map[string]bool{}}
	if err := m.mountAll(s); err != nil {
		return err
	}
	if m.devTmp {
		var devs []specs.LinuxDevice
		if s.Linux != nil {
			devs = s.Linux.Devices
		}
		if err := m.populateDev(devs); err != nil {
			return err
		}
	}
	console := -1
	if cfg.Console {
		if console, err = consoles(root, cfg.TTYs, initPtyFD, cfg.ConsoleRows, cfg.ConsoleCols); err != nil {
			return err
		}
	}
	if cfg.NewNet {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	if s.Hooks != nil {
		if len(s.Hooks.CreateContainer) > 0 {
			if dir := exposeRootfs(root); dir != "" {
				env.RootfsMount, env.Rootfs = dir, nil
			}
		}
		if err := runHooks(ctx, HookMount, s.Hooks.CreateContainer, env, containerEnv(), os.Stderr); err != nil {
			return err
		}
	}
	if s.Linux != nil {
		if err := m.maskPaths(s.Linux.MaskedPaths); err != nil {
			return err
		}
		if err := m.readonlyPaths(s.Linux.ReadonlyPaths); err != nil {
			return err
		}
	}
	if err := pivotRoot(root); err != nil {
		return err
	}
	if s.Root.Readonly {
		if err := remountRootReadonly(); err != nil {
			return err
		}
	}
	if err := identity(s); err != nil {
		return err
	}
	if s.Hooks != nil {
		env.RootfsMount, env.Rootfs = "/", nil
		if err := runHooks(ctx, HookStart, s.Hooks.StartContainer, env, containerEnv(), os.Stderr); err != nil {
			return err
		}
	}
	filter, err := seccomp.Compile(s.Linux.Seccomp)
	if err != nil {
		return fmt.Errorf("linux.seccomp: %w", err)
	}
	return execProcess(s.Process, s.Linux.Personality, filter, console)
}

// bindRootfs makes the root filesystem a mount of its own (a recursive
// clone of it moved on top of itself) and returns a descriptor of the new
// mount's root. The clone is made from the descriptor opened before
// Enter, because container root cannot walk the user's directories.
func bindRootfs(rootfs int) (int, error) {
	tree, err := unix.OpenTree(rootfs, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_EMPTY_PATH)
	if err != nil {
		return -1, fmt.Errorf("bind rootfs: clone mount: %w", err)
	}
	if err := unix.MoveMount(tree, "", rootfs, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		unix.Close(tree)
		return -1, fmt.Errorf("bind rootfs: attach mount: %w", err)
	}
	return tree, nil
}

// lxcRootfsMounts are where LXC mounts a container's root filesystem (the
// compiled-in default of lxc.rootfs.mount), first match wins.
var lxcRootfsMounts = []string{"/usr/lib/*/lxc/rootfs", "/usr/lib/lxc/rootfs", "/usr/local/lib/lxc/rootfs"}

// exposeRootfs moves the root filesystem's mount onto LXC's rootfs mount
// point, when the host has one, and returns it ("" when it has none).
// Mount hooks written for LXC need a LXC_ROOTFS_MOUNT that container root
// can walk and canonicalise: lxcfs's runs `readlink -f` on it, which fails
// on /proc/self/fd/3 (it resolves to the user's 0700 container directory).
// The move happens in the container's mount namespace, a slave of the
// host's, so the host never sees it; pivotRoot works on root wherever it
// is mounted.
func exposeRootfs(root int) string {
	for _, pattern := range lxcRootfsMounts {
		dirs, _ := filepath.Glob(pattern)
		for _, dir := range dirs {
			fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
			err = unix.MoveMount(root, "", fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
			unix.Close(fd)
			if err == nil {
				return dir
			}
		}
	}
	return ""
}

// pivotRoot makes root the root of the mount namespace and detaches the
// old root, with runc's pivot_root(".", ".") that needs no directory for
// the old root inside the container (credited there to LXC).
func pivotRoot(root int) error {
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	defer unix.Close(oldRoot)
	if err := unix.Fchdir(root); err != nil {
		return fmt.Errorf("pivot_root: chdir to rootfs: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return fmt.Errorf("pivot_root: chdir to old root: %w", err)
	}
	// The old root must not propagate the unmount to the host.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("pivot_root: make old root a slave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("pivot_root: detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("pivot_root: chdir /: %w", err)
	}
	return nil
}

func remountRootReadonly() error {
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("read-only root: %w", err)
	}
	defer unix.Close(fd)
	if err := remountBind(fd, unix.MS_RDONLY); err != nil {
		return fmt.Errorf("read-only root: %w", err)
	}
	return nil
}

// identity sets what the process sees of itself: host and domain name,
// resource limits.
func identity(s *specs.Spec) error {
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return fmt.Errorf("set hostname %q: %w", s.Hostname, err)
		}
	}
	if s.Domainname != "" {
		if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
			return fmt.Errorf("set domain name %q: %w", s.Domainname, err)
		}
	}
	for _, rl := range s.Process.Rlimits {
		res, ok := rlimits[rl.Type]
		if !ok {
			return fmt.Errorf("%w: unknown rlimit %q", ErrInvalidSpec, rl.Type)
		}
		if err := unix.Prlimit(0, res, &unix.Rlimit{Cur: rl.Soft, Max: rl.Hard}, nil); err != nil {
			return fmt.Errorf("set %s: %w", rl.Type, err)
		}
	}
	return nil
}

var rlimits = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}

// execProcess becomes the spec's process: its user, its terminal, its
// directory, and execs it. Every descriptor but 0-2 closes on exec, the
// error pipe included, which tells the supervisor the exec worked.
func execProcess(p *specs.Process, linuxPersonality *specs.LinuxPersonality, filter seccomp.Program, console int) error {
	if console >= 0 {
		if _, err := unix.Setsid(); err != nil {
			return fmt.Errorf("setsid: %w", err)
		}
		if err := unix.IoctlSetInt(console, unix.TIOCSCTTY, 0); err != nil {
			return fmt.Errorf("set controlling terminal: %w", err)
		}
		for fd := 0; fd <= 2; fd++ {
			if err := unix.Dup3(console, fd, 0); err != nil {
				return fmt.Errorf("console stdio: %w", err)
			}
		}
		unix.Close(console)
	}
	if p.OOMScoreAdj != nil {
		if err := setOOMScoreAdj(*p.OOMScoreAdj); err != nil {
			return err
		}
	}
	// The personality and the bounding set belong to the thread that
	// execs, this one; the bounding set needs CAP_SETPCAP, so it goes
	// while init is still root of the namespace.
	if pers, ok, err := personality(linuxPersonality); err != nil {
		return err
	} else if ok {
		if _, _, errno := unix.Syscall(unix.SYS_PERSONALITY, uintptr(pers), 0, 0); errno != 0 {
			return fmt.Errorf("personality %#x: %w", pers, errno)
		}
	}
	if keep, ok, err := boundingMask(p.Capabilities); err != nil {
		return err
	} else if ok {
		if err := dropBounding(keep); err != nil {
			return err
		}
	}
	u := p.User
	// The seccomp filter goes last, so that the policy binds as little of
	// init's own work as can be, but while init is still root of the
	// namespace (CAP_SYS_ADMIN) when the process runs as another user.
	if u.UID != 0 {
		if err := filter.Install(); err != nil {
			return err
		}
	}
	if len(u.AdditionalGids) > 0 {
		gids := make([]int, len(u.AdditionalGids))
		for i, g := range u.AdditionalGids {
			gids[i] = int(g)
		}
		if err := syscall.Setgroups(gids); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
	}
	if u.GID != 0 {
		if err := syscall.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
			return fmt.Errorf("setgid %d: %w", u.GID, err)
		}
	}
	if u.UID != 0 {
		if err := syscall.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
			return fmt.Errorf("setuid %d: %w", u.UID, err)
		}
	}
	if u.Umask != nil {
		unix.Umask(int(*u.Umask))
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if err := unix.Chdir(cwd); err != nil {
		return fmt.Errorf("chdir %s: %w", cwd, err)
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	argv0, err := lookPath(p.Args[0], p.Env)
	if err != nil {
		return err
	}
	closeExtraFDs()
	if u.UID == 0 {
		if err := filter.Install(); err != nil {
			return err
		}
	}
	if err := unix.Exec(argv0, p.Args, p.Env); err != nil {
		return fmt.Errorf("exec %s: %w", p.Args[0], err)
	}
	return nil
}

// lookPath finds file in the container's PATH (its own, from env).
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	dirs := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			dirs = v
		}
	}
	for _, d := range strings.Split(dirs, ":") {
		if d == "" {
			d = "."
		}
		p := path.Join(d, file)
		var st unix.Stat_t
		if unix.Stat(p, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && unix.Access(p, unix.X_OK) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec %s: %w in $PATH", file, unix.ENOENT)
}

// closeExtraFDs marks every descriptor above 2 close-on-exec.
func closeExtraFDs() {
	_ = unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
}
