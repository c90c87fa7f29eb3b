package ocispec

import (
	"slices"
	"testing"
)

func TestLeftOutDevices(t *testing.T) {
	recorded := []string{
		"dev/null", "/dev/zero", "dev/full", "dev/random", "dev/urandom", "dev/tty", // LXC's standard set
		"dev/console", "dev/ptmx", "dev/pts/0", "dev/tty1", "dev/tty12", // the runtime's own
		"dev/net/tun", "dev/kvm", "/dev/dri/card0", "dev/kvm", // twice: once out
		"dev/tty0", "dev/sda1", "dev/../etc/shadow", "dev/fuse",
	}
	tests := []struct {
		name   string
		config string
		want   []string
	}{
		{"nothing bound", "", []string{"/dev/dri/card0", "/dev/fuse", "/dev/kvm", "/dev/net/tun", "/dev/sda1", "/dev/tty0", "/etc/shadow"}},
		{"the user binds two", "lxc.mount.entry = /dev/net/tun dev/net/tun none bind,create=file 0 0\n" +
			"lxc.mount.entry = /dev/fuse dev/fuse none bind,create=file,optional 0 0\n",
			[]string{"/dev/dri/card0", "/dev/kvm", "/dev/sda1", "/dev/tty0", "/etc/shadow"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Convert(parse(t, base+tc.config), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := LeftOutDevices(s, recorded); !slices.Equal(got, tc.want) {
				t.Errorf("LeftOutDevices(%q) = %q, want %q", tc.config, got, tc.want)
			}
		})
	}
}

func TestDeviceMountEntry(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/dev/net/tun", "lxc.mount.entry = /dev/net/tun dev/net/tun none bind,create=file 0 0"},
		{"/dev/kvm", "lxc.mount.entry = /dev/kvm dev/kvm none bind,create=file 0 0"},
		{"/dev/input/by-id/usb-0:1.2", "lxc.mount.entry = /dev/input/by-id/usb-0:1.2 dev/input/by-id/usb-0:1.2 none bind,create=file 0 0"},
		{"/etc/shadow", ""},
		{"/dev", ""},
		{"/dev/", ""},
		{"/dev/../etc/shadow", ""},
		{"/dev/.hidden", ""},
		{"/dev/a b", ""},
		{"/dev/a\\040b", ""},
		{"/dev/x\n", ""},
		{"/dev/\x1b[2J", ""},
	}
	for _, tc := range tests {
		got := DeviceMountEntry(tc.path)
		if got != tc.want {
			t.Errorf("DeviceMountEntry(%q) = %q, want %q", tc.path, got, tc.want)
		}
		if got == "" {
			continue
		}
		// The line is the user's opt-in: converted, it binds the host's
		// node at the same path, and the node is no longer left out.
		s, err := Convert(parse(t, base+got+"\n"), Options{})
		if err != nil {
			t.Fatalf("Convert(%q): %v", got, err)
		}
		m := s.Mounts[len(s.Mounts)-1]
		if m.Source != tc.path || m.Destination != tc.path || m.Type != "bind" {
			t.Errorf("%q converts to %+v, want a bind of %s onto itself", got, m, tc.path)
		}
		if out := LeftOutDevices(s, []string{tc.path}); len(out) != 0 {
			t.Errorf("LeftOutDevices after %q = %q, want none", got, out)
		}
	}
}
