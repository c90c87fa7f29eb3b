package runtime

import (
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	for _, tc := range []struct {
		opts  []string
		flags uintptr
		prop  int
		data  []string
	}{
		{[]string{"nosuid", "nodev", "mode=755", "size=65536k"}, unix.MS_NOSUID | unix.MS_NODEV, 0, []string{"mode=755", "size=65536k"}},
		{[]string{"rbind", "ro", "rprivate"}, unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY, 1, nil},
		{[]string{"ro", "rw"}, 0, 0, nil},
		{[]string{"bind", "", "defaults"}, unix.MS_BIND, 0, nil},
	} {
		o := parseMountOptions(tc.opts)
		if o.flags != tc.flags || len(o.propagation) != tc.prop || !slices.Equal(o.data, tc.data) {
			t.Errorf("parseMountOptions(%q) = %#x, %d propagation, %q, want %#x, %d, %q",
				tc.opts, o.flags, len(o.propagation), o.data, tc.flags, tc.prop, tc.data)
		}
	}
}

func TestDropOption(t *testing.T) {
	in := "newinstance,ptmxmode=0666,mode=0620,gid=5"
	if got, want := dropOption(in, "gid="), "newinstance,ptmxmode=0666,mode=0620"; got != want {
		t.Errorf("dropOption(%q, gid=) = %q, want %q", in, got, want)
	}
}
