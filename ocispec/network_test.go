package ocispec

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseForward(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		in   string
		want Forward
		str  string
	}{
		{"8080:80", Forward{"tcp", lo, 8080, 80}, "tcp:127.0.0.1:8080:80"},
		{" tcp:8080:80 ", Forward{"tcp", lo, 8080, 80}, "tcp:127.0.0.1:8080:80"},
		{"udp:5353:53", Forward{"udp", lo, 5353, 53}, "udp:127.0.0.1:5353:53"},
		{"0.0.0.0:8080:80", Forward{"tcp", netip.MustParseAddr("0.0.0.0"), 8080, 80}, "tcp:0.0.0.0:8080:80"},
		{"udp:192.0.2.1:1:65535", Forward{"udp", netip.MustParseAddr("192.0.2.1"), 1, 65535}, "udp:192.0.2.1:1:65535"},
		{"[::1]:8443:443", Forward{"tcp", netip.MustParseAddr("::1"), 8443, 443}, "tcp:[::1]:8443:443"},
		{"udp:[2001:db8::1]:53:53", Forward{"udp", netip.MustParseAddr("2001:db8::1"), 53, 53}, "udp:[2001:db8::1]:53:53"},
	}
	for _, tc := range tests {
		got, err := ParseForward(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseForward(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
			continue
		}
		if got.String() != tc.str {
			t.Errorf("ParseForward(%q).String() = %q, want %q", tc.in, got.String(), tc.str)
		}
		if again, err := ParseForward(got.String()); err != nil || again != got {
			t.Errorf("ParseForward(%q) = %+v, %v, want %+v", got.String(), again, err, got)
		}
	}
	for _, in := range []string{
		"", "80", "8080:80:", ":80", "tcp:80", "sctp:8080:80", "8080:0", "0:80", "65536:80", "08080:80",
		"-1:80", "+80:80", "localhost:8080:80", "::1:8080:80", "[127.0.0.1]:8080:80", "[::1]8080:80",
		"[fe80::1%eth0]:8080:80", "[::1]:1:2:3", "1.2.3.4:5:6:7", "tcp:tcp:80:80", "8080 :80", "80,81:80",
	} {
		if f, err := ParseForward(in); err == nil {
			t.Errorf("ParseForward(%q) = %+v, want an error", in, f)
		} else if !strings.Contains(err.Error(), ForwardSyntax) {
			t.Errorf("ParseForward(%q) = %v, want it to show %s", in, err, ForwardSyntax)
		}
	}
}

func FuzzParseForward(f *testing.F) {
	for _, s := range []string{"8080:80", "udp:[::1]:53:53", "tcp:0.0.0.0:1:2", "[", "::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fw, err := ParseForward(s)
		if err != nil {
			return
		}
		again, err := ParseForward(fw.String())
		if err != nil || again != fw {
			t.Fatalf("ParseForward(%q) = %+v; its String %q reads back as %+v, %v", s, fw, fw.String(), again, err)
		}
		if strings.Contains(fw.String(), ",") {
			t.Fatalf("ParseForward(%q).String() = %q holds the annotation's separator", s, fw.String())
		}
	})
}

func TestUserModeNetErrors(t *testing.T) {
	base := "lxc.idmap = b 0 100000 65536\nlxc.rootfs.path = /r\nlxc.net.0.type = pasta\n"
	tests := []struct {
		name, config string
		want         error
		text         string
	}{
		{"bad forward", base + "lxc.net.0.forward = 80\n", ErrInvalidValue, `lxc.net.0.forward = "80"`},
		{"twice", base + "lxc.net.0.forward = 80:80\nlxc.net.0.forward = tcp:127.0.0.1:80:81\n", ErrInvalidValue, "forwarded twice"},
		{"name too long", base + "lxc.net.0.name = abcdefghijklmnop\n", ErrInvalidValue, "longer than 15"},
		{"name slash", base + "lxc.net.0.name = a/b\n", ErrInvalidValue, "'/'"},
		{"name dots", base + "lxc.net.0.name = ..\n", ErrInvalidValue, "not an interface name"},
		{"mtu", base + "lxc.net.0.mtu = 70000\n", ErrInvalidValue, "MTU from 68 to 65520"},
		{"hwaddr", base + "lxc.net.0.hwaddr = 00:16:3e:xx:xx\n", ErrInvalidValue, "MAC address"},
		{"multicast", base + "lxc.net.0.hwaddr = 01:16:3e:00:00:01\n", ErrInvalidValue, "multicast"},
		{"flags down", base + "lxc.net.0.flags = down\n", ErrInvalidValue, "always up"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Convert(parse(t, tc.config), Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Convert(%q) = %v, want %v", tc.config, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Convert(%q) = %q, want it to mention %q", tc.config, err, tc.text)
			}
		})
	}
}

func TestAddForwards(t *testing.T) {
	spec := func(ann map[string]string) *specs.Spec { return &specs.Spec{Annotations: ann} }
	s := spec(map[string]string{
		"ulxc.net.0.type": "veth", "ulxc.net.1.type": "slirp4netns", "ulxc.net.1.forward": "tcp:127.0.0.1:1:1",
		"ulxc.net.2.type": "pasta",
	})
	if err := AddForwards(s, []string{"8080:80", "udp:[::1]:53:53"}); err != nil {
		t.Fatalf("AddForwards = %v", err)
	}
	if got, want := s.Annotations["ulxc.net.1.forward"], "tcp:127.0.0.1:1:1,tcp:127.0.0.1:8080:80,udp:[::1]:53:53"; got != want {
		t.Errorf("ulxc.net.1.forward = %q, want %q", got, want)
	}
	if _, ok := s.Annotations["ulxc.net.2.forward"]; ok {
		t.Errorf("the forwards went to interface 2 too: %v", s.Annotations)
	}
	if err := AddForwards(s, []string{"1:2"}); !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "twice") {
		t.Errorf("AddForwards of a used host port = %v, want %v naming it", err, ErrInvalidValue)
	}
	if err := AddForwards(s, []string{"x"}); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("AddForwards(x) = %v, want %v", err, ErrInvalidValue)
	}
	if err := AddForwards(spec(map[string]string{"ulxc.net.0.type": "veth"}), []string{"1:2"}); !errors.Is(err, ErrNoUserNet) {
		t.Errorf("AddForwards without a user-mode interface = %v, want %v", err, ErrNoUserNet)
	}
	if err := AddForwards(spec(nil), nil); err != nil {
		t.Errorf("AddForwards(nothing) = %v", err)
	}
}

func TestInterfaces(t *testing.T) {
	got, err := Interfaces(&specs.Spec{Annotations: map[string]string{
		"ulxc.net.10.type": "pasta", "ulxc.net.2.type": "veth", "ulxc.net.2.ipv4.address": "10.0.0.2/24",
		"ulxc.name": "x",
	}})
	want := []Interface{
		{Index: 2, Type: "veth", Keys: map[string]string{"ipv4.address": "10.0.0.2/24"}},
		{Index: 10, Type: "pasta", Keys: map[string]string{}},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Interfaces = %+v, %v, want %+v", got, err, want)
	}
	for _, ann := range []map[string]string{
		{"ulxc.net.0.name": "eth0"}, {"ulxc.net.x.type": "pasta"}, {"ulxc.net.01.type": "pasta"}, {"ulxc.net.0": "pasta"},
	} {
		if got, err := Interfaces(&specs.Spec{Annotations: ann}); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("Interfaces(%v) = %v, %v, want %v", ann, got, err, ErrInvalidValue)
		}
	}
}
