package runtime

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// validSpec is the least a spec must hold to run.
func validSpec() *specs.Spec {
	return &specs.Spec{
		Root:    &specs.Root{Path: "/srv/c/rootfs"},
		Process: &specs.Process{Args: []string{"/sbin/init"}},
		Linux: &specs.Linux{
			UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
			GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
			Namespaces:  []specs.LinuxNamespace{{Type: specs.NetworkNamespace}, {Type: specs.UTSNamespace}},
		},
		Annotations: map[string]string{},
	}
}

func TestCheckSpec(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s *specs.Spec)
		err    error
	}{
		{"valid", func(*specs.Spec) {}, nil},
		{"no root", func(s *specs.Spec) { s.Root = nil }, ErrInvalidSpec},
		{"relative root", func(s *specs.Spec) { s.Root.Path = "rootfs" }, ErrInvalidSpec},
		{"no process", func(s *specs.Spec) { s.Process.Args = nil }, ErrInvalidSpec},
		{"no maps", func(s *specs.Spec) { s.Linux.UIDMappings = nil }, ErrInvalidSpec},
		{"join namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/proc/1/ns/net"})
		}, ErrInvalidSpec},
		{"time namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		}, ErrInvalidSpec},
		{"bad halt signal", func(s *specs.Spec) { s.Annotations["ulxc.signal.halt"] = "SIGNOPE" }, ErrInvalidSpec},
		{"too many ttys", func(s *specs.Spec) { s.Annotations["ulxc.tty.max"] = "1000" }, ErrInvalidSpec},
		{"bad create marker", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/mnt", Type: "tmpfs"}}
			s.Annotations["ulxc.mount.0.create"] = "fifo"
		}, ErrInvalidSpec},
		{"bad pre-mount hook", func(s *specs.Spec) { s.Annotations["ulxc.hook.pre-mount.0"] = "{" }, ErrInvalidSpec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.change(s)
			if err := checkSpec(s); !errors.Is(err, tc.err) {
				t.Errorf("checkSpec(%s) = %v, want %v", tc.name, err, tc.err)
			}
		})
	}
}

func TestHaltSignal(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  unix.Signal
	}{
		{"", unix.SIGPWR},
		{"SIGUSR1", unix.SIGUSR1},
		{"SIGRTMIN+3", unix.Signal(37)},
	} {
		s := validSpec()
		if tc.value != "" {
			s.Annotations["ulxc.signal.halt"] = tc.value
		}
		if got, err := haltSignal(s); err != nil || got != tc.want {
			t.Errorf("haltSignal(%q) = %v, %v, want %v", tc.value, got, err, tc.want)
		}
	}
}

func TestNamespaces(t *testing.T) {
	s := validSpec()
	flags, newNet, err := namespaces(s)
	want := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWUTS)
	if err != nil || flags != want || !newNet {
		t.Errorf("namespaces(net, uts) = %#x, %v, %v, want %#x, true", flags, newNet, err, want)
	}
	s.Linux.Namespaces = nil
	if flags, newNet, _ := namespaces(s); flags != unix.CLONE_NEWNS|unix.CLONE_NEWPID || newNet {
		t.Errorf("namespaces(none) = %#x, %v, want mount and pid only", flags, newNet)
	}
}
