package clone

import (
	"errors"
	"reflect"
	"testing"

	"github.com/ulxc/ulxc/userns"
)

func TestRenameHost(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"127.0.1.1 ct\n", "127.0.1.1 new\n"},
		{"127.0.1.1\tct ct.lan  # ct here\n", "127.0.1.1\tnew new.lan  # ct here\n"},
		{"127.0.0.1 localhost\n::1 ip6-localhost\n", "127.0.0.1 localhost\n::1 ip6-localhost\n"},
		{"10.0.0.1 ctx act\n", "10.0.0.1 ctx act\n"},
		{"ct 10.0.0.1\n", "ct 10.0.0.1\n"}, // the address field is never a name
		{"# 127.0.1.1 ct\n", "# 127.0.1.1 ct\n"},
		{"127.0.1.1 ct", "127.0.1.1 new"},
	} {
		if got := string(renameHost([]byte(tc.in), "ct", "new")); got != tc.want {
			t.Errorf("renameHost(%q, ct, new) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseMount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mount
		err  bool
	}{
		{"bind=/srv", Mount{Source: "/srv", Dest: "/srv"}, false},
		{"bind=/srv:/data", Mount{Source: "/srv", Dest: "/data"}, false},
		{"bind=/srv:ro", Mount{Source: "/srv", Dest: "/srv", ReadOnly: true}, false},
		{"bind=/srv/:/data:ro", Mount{Source: "/srv", Dest: "/data", ReadOnly: true}, false},
		{"bind=/srv:/data:rx", Mount{}, true},
		{"overlay=/srv", Mount{}, true},
		{"bind=srv", Mount{}, true},
		{"bind=/a b", Mount{}, true},
		{"bind=/a:/b:ro:x", Mount{}, true},
	} {
		got, err := ParseMount(tc.in)
		if (err != nil) != tc.err || err != nil && !errors.Is(err, ErrUsage) || got != tc.want {
			t.Errorf("ParseMount(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestReplacePathPrefix(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/s/ct/ct.log", "/s/new/ct.log"},
		{"/s/ct", "/s/new"},
		{"/s/ctx/a", "/s/ctx/a"},
		{"/x/s/ct/a", "/x/s/ct/a"},
		{"overlay:/s/ct/rootfs:/s/ct/overlay/delta", "overlay:/s/new/rootfs:/s/new/overlay/delta"},
		{"/s/ct/hook arg /s/ct", "/s/new/hook arg /s/new"},
	} {
		if got := replacePathPrefix(tc.in, "/s/ct", "/s/new"); got != tc.want {
			t.Errorf("replacePathPrefix(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestSplitMaps: keep-id maps one container id to the host's and keeps
// every other id where it was.
func TestSplitMaps(t *testing.T) {
	in := []userns.Map{{Kind: userns.UID, ContainerID: 0, HostID: 200000, Size: 65536}, {Kind: userns.GID, ContainerID: 0, HostID: 200000, Size: 65536}}
	got, err := splitMaps(in, userns.UID, 1000, 1001)
	want := []userns.Map{{Kind: userns.UID, ContainerID: 0, HostID: 200000, Size: 1000}, {Kind: userns.UID, ContainerID: 1000, HostID: 1001, Size: 1},
		{Kind: userns.UID, ContainerID: 1001, HostID: 201001, Size: 64535}, in[1]}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("splitMaps(uid 1000 -> 1001) = %v, %v; want %v", got, err, want)
	}
	if got, err := splitMaps(in, userns.UID, 0, 1001); err != nil || got[0] != (userns.Map{Kind: userns.UID, ContainerID: 0, HostID: 1001, Size: 1}) {
		t.Errorf("splitMaps(uid 0) = %v, %v", got, err)
	}
	if _, err := splitMaps(in, userns.UID, 70000, 1001); err == nil {
		t.Errorf("splitMaps of an unmapped id: no error")
	}
}
