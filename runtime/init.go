package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// InitHookEntry is the hidden verb of the hook helper: init (a clone of
// the supervisor, initchild.go) runs `ulxc __inithook TYPE [DIR]` for the
// hooks that run inside the container's namespaces, since running them
// takes more than raw system calls.
const InitHookEntry = "__inithook"

// initConfig is what init is made from (compileInit), and what the hook
// helper reads on fd initConfigFD (wire.go).
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

// lateNamespaces are the namespaces init unshares itself, while the
// supervisor still runs newuidmap and newgidmap, instead of in the clone
// that starts it: the helpers need init's pid, so whatever the clone does
// delays them, and creating a network namespace alone costs about half a
// millisecond (the IPC namespace's mqueue mount some more). User, mount
// and pid namespaces stay in the clone (init must be pid 1). The cgroup
// namespace is made after the clone put init in the container's cgroup,
// which becomes the namespace's root.
const lateNamespaces = syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS | syscall.CLONE_NEWCGROUP

// InitHookMain is the body of `ulxc __inithook TYPE [DIR]`: it runs the
// spec's hooks of TYPE (pre-mount, mount or start) as container root in
// init's namespaces, with the hook environment of LXC. For pre-mount, and
// for mount when DIR is not given, the root filesystem is its fd 3; DIR
// is where init moved it for mount hooks. A failure is reported on init's
// error pipe (fd 5), and init gives up.
func InitHookMain(args []string) int {
	// The helper runs as container root beside the hooks it starts: it
	// must not be dumpable (a host binary's memory belongs to the host's
	// user namespace, so this bars container root from tracing it), and
	// the hooks must not inherit its descriptors of init's error pipe and
	// config (init clears close-on-exec for the exec of this helper).
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	unix.CloseOnExec(initErrorFD)
	unix.CloseOnExec(initConfigFD)
	if err := runInitHooks(args); err != nil {
		report(os.NewFile(initErrorFD, "init-errors"), err)
		return 1
	}
	return 0
}

func runInitHooks(args []string) error {
	if len(args) < 1 {
		return errors.New("usage: ulxc " + InitHookEntry + " TYPE [DIR]")
	}
	// Read from the start: init's helpers share the descriptor's offset.
	f := os.NewFile(initConfigFD, "init-config")
	b, err := readWire(io.NewSectionReader(f, 0, maxWire+1))
	f.Close()
	var cfg *initConfig
	if err == nil {
		cfg, err = decodeInitConfig(b)
	}
	if err != nil {
		return fmt.Errorf("hook helper: read container spec: %w", err)
	}
	s := cfg.Spec
	env := hookEnv{Name: cfg.Name, ConfigPath: cfg.ConfigPath, RootfsPath: s.Root.Path, RootfsMount: s.Root.Path,
		State: specs.State{Version: specs.Version, ID: cfg.Name, Status: specs.StateCreating, Pid: os.Getppid(), Annotations: s.Annotations}}
	var hooks []specs.Hook
	t := HookType(args[0])
	switch t {
	case HookPreMount:
		if hooks, err = preMountHooks(s); err != nil {
			return err
		}
		env.Rootfs = os.NewFile(3, "rootfs")
	case HookMount:
		hooks = s.Hooks.CreateContainer
		if len(args) > 1 {
			env.RootfsMount = args[1]
		} else {
			env.Rootfs = os.NewFile(3, "rootfs")
		}
	case HookStart:
		hooks = s.Hooks.StartContainer
		env.RootfsMount = "/"
	default:
		return fmt.Errorf("hook helper: unknown hook type %q", t)
	}
	return runHooks(context.Background(), t, hooks, env, containerEnv(), os.Stderr)
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
