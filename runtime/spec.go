package runtime

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/seccomp"
	"golang.org/x/sys/unix"
)

// ErrInvalidSpec reports a spec this package cannot run as written.
var ErrInvalidSpec = errors.New("invalid container spec")

// maxTTYs bounds ulxc.tty.max; LXC has no limit, but each tty is a pty.
const maxTTYs = 64

// haltSignal returns the spec's halt signal (ulxc.signal.halt), SIGPWR by
// default as in LXC.
func haltSignal(s *specs.Spec) (unix.Signal, error) {
	return annotatedSignal(s, ocispec.AnnotationSignalHalt, unix.SIGPWR)
}

// stopSignal returns the signal that kills the container (ulxc.signal.stop,
// from lxc.signal.stop): stop -k and stop after its timeout send it.
// SIGKILL by default as in LXC.
func stopSignal(s *specs.Spec) (unix.Signal, error) {
	return annotatedSignal(s, ocispec.AnnotationSignalStop, unix.SIGKILL)
}

// rebootSignal returns the signal that asks init to reboot
// (ulxc.signal.reboot, from lxc.signal.reboot): stop -r sends it. SIGINT
// by default as in LXC.
func rebootSignal(s *specs.Spec) (unix.Signal, error) {
	return annotatedSignal(s, ocispec.AnnotationSignalReboot, unix.SIGINT)
}

func annotatedSignal(s *specs.Spec, key string, def unix.Signal) (unix.Signal, error) {
	v, ok := s.Annotations[key]
	if !ok || v == "" {
		return def, nil
	}
	sig, err := ocispec.ParseSignal(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrInvalidSpec, key, err)
	}
	return sig, nil
}

// ttyCount returns the spec's number of ttys.
func ttyCount(s *specs.Spec) (int, error) {
	v, ok := s.Annotations[ocispec.AnnotationTTYMax]
	if !ok || v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxTTYs {
		return 0, fmt.Errorf("%w: %s = %q: want 0 to %d", ErrInvalidSpec, ocispec.AnnotationTTYMax, v, maxTTYs)
	}
	return n, nil
}

// preMountHooks returns the pre-mount hooks (ulxc.hook.pre-mount.N).
func preMountHooks(s *specs.Spec) ([]specs.Hook, error) {
	hs, err := ocispec.AnnotatedHooks(s, string(HookPreMount))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	return hs, nil
}

// cloneHooks returns the clone hooks that init runs in this start, and
// the original's name (LXC_SRC_NAME): those of an ephemeral copy, whose
// start says so (ocispec.AnnotationCloneSource); none otherwise.
func cloneHooks(s *specs.Spec) ([]specs.Hook, string, error) {
	src, ok := s.Annotations[ocispec.AnnotationCloneSource]
	if !ok {
		return nil, "", nil
	}
	hs, err := ocispec.AnnotatedHooks(s, string(HookClone))
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	return hs, src, nil
}

// mountMarkers returns what the annotations say about Mounts[i]: the kind
// of destination to create and whether a failure may be ignored.
func mountMarkers(s *specs.Spec, i int) (createKind, bool, error) {
	k := createKind(s.Annotations[ocispec.MountCreateKey(i)])
	switch k {
	case createAuto, createDir, createFile:
	default:
		return "", false, fmt.Errorf("%w: %s = %q: want dir or file", ErrInvalidSpec, ocispec.MountCreateKey(i), k)
	}
	return k, s.Annotations[ocispec.MountOptionalKey(i)] == "true", nil
}

// namespaces returns the clone flags for the spec's namespaces. User,
// mount and pid namespaces are always new: the container's init is pid 1
// of its own pid namespace and mounts its own tree. A namespace given by
// path (joining one) is not supported.
func namespaces(s *specs.Spec) (flags uintptr, newNet bool, err error) {
	flags = unix.CLONE_NEWNS | unix.CLONE_NEWPID
	if s.Linux == nil {
		return flags, false, nil
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Path != "" {
			return 0, false, fmt.Errorf("%w: joining the %s namespace at %s is not supported", ErrInvalidSpec, ns.Type, ns.Path)
		}
		switch ns.Type {
		case specs.PIDNamespace, specs.MountNamespace, specs.UserNamespace:
		case specs.NetworkNamespace:
			flags |= unix.CLONE_NEWNET
			newNet = true
		case specs.UTSNamespace:
			flags |= unix.CLONE_NEWUTS
		case specs.IPCNamespace:
			flags |= unix.CLONE_NEWIPC
		case specs.CgroupNamespace:
			flags |= unix.CLONE_NEWCGROUP
		case specs.TimeNamespace:
			return 0, false, fmt.Errorf("%w: time namespaces are not supported", ErrInvalidSpec)
		default:
			return 0, false, fmt.Errorf("%w: unknown namespace type %q", ErrInvalidSpec, ns.Type)
		}
	}
	return flags, newNet, nil
}

// checkSpec rejects what cannot run before any process is made.
func checkSpec(s *specs.Spec) error {
	switch {
	case s == nil:
		return fmt.Errorf("%w: no spec", ErrInvalidSpec)
	case s.Root == nil || s.Root.Path == "":
		return fmt.Errorf("%w: no root path", ErrInvalidSpec)
	case s.Process == nil || len(s.Process.Args) == 0:
		return fmt.Errorf("%w: no process to run", ErrInvalidSpec)
	case s.Linux == nil || len(s.Linux.UIDMappings) == 0 || len(s.Linux.GIDMappings) == 0:
		return fmt.Errorf("%w: no uid and gid mappings (a rootless container needs them)", ErrInvalidSpec)
	}
	_, newNet, err := namespaces(s)
	if err != nil {
		return err
	}
	if ifaces, err := netInterfaces(s); err != nil {
		return err
	} else if len(ifaces) > 0 && !newNet {
		return fmt.Errorf("%w: lxc.net.%d (%s) needs a network namespace of the container's own", ErrInvalidSpec, ifaces[0].Index, ifaces[0].Type)
	}
	if _, err := haltSignal(s); err != nil {
		return err
	}
	if _, err := rebootSignal(s); err != nil {
		return err
	}
	if _, err := stopSignal(s); err != nil {
		return err
	}
	if _, err := ttyCount(s); err != nil {
		return err
	}
	if _, _, err := boundingMask(s.Process.Capabilities); err != nil {
		return err
	}
	if err := checkSysctls(s.Linux.Sysctl); err != nil {
		return err
	}
	if _, _, err := personality(s.Linux.Personality); err != nil {
		return err
	}
	if _, err := seccomp.Compile(s.Linux.Seccomp); err != nil {
		return fmt.Errorf("%w: linux.seccomp: %w", ErrInvalidSpec, err)
	}
	for i := range s.Mounts {
		if _, _, err := mountMarkers(s, i); err != nil {
			return err
		}
	}
	if !filepath.IsAbs(s.Root.Path) {
		return fmt.Errorf("%w: root path %q is not absolute", ErrInvalidSpec, s.Root.Path)
	}
	_, err = preMountHooks(s)
	return err
}
