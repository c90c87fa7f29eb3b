package runtime

import (
	"errors"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// initConfig is what init is made from (compileInit).
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
	// NetPhase: the spec has interfaces the supervisor sets up in init's
	// network namespace before the container's process runs (network.go).
	NetPhase bool
	// Unshare are the namespaces init makes itself rather than in the
	// clone that started it (lateNamespaces).
	Unshare uintptr
	// Fuse: an overlay root is mounted as FUSE and served by
	// fuse-overlayfs (fuse.go), not by the kernel's overlayfs.
	Fuse bool
}

// ChildError is an error that init reported before it could exec the
// container's process. It keeps the errno, so errors.Is(err, unix.EPERM)
// works across the process boundary, and the type of the hook whose
// failure it is, if a hook's, so errors.Is(err, ErrCloneHook) does.
type ChildError struct {
	Msg   string
	Errno syscall.Errno
	Hook  HookType `json:",omitempty"`
}

// ErrCloneHook is the failure of a clone hook that init ran in the start
// of an ephemeral copy (ocispec.AnnotationCloneSource): the copy never
// became whole, and its caller removes it, as a copy whose clone hook
// fails is removed.
var ErrCloneHook = errors.New("clone hook failed")

func (e *ChildError) Error() string { return e.Msg }

// Is makes a clone hook's failure ErrCloneHook.
func (e *ChildError) Is(target error) bool { return target == ErrCloneHook && e.Hook == HookClone }

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
