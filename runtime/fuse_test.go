package runtime

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/internal/rawproc"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/userns"
)

// TestDaemonMaps: the daemon's namespace has the user's own id as root
// and the container's host ids from 1 up, never the container's own
// numbering, so no id of the container is the daemon's; fuse-overlayfs'
// mapping (daemon:container:count) undoes the shift.
func TestDaemonMaps(t *testing.T) {
	u := func(c, h, n uint32) userns.Map {
		return userns.Map{Kind: userns.UID, ContainerID: c, HostID: h, Size: n}
	}
	for _, tc := range []struct {
		name      string
		container []userns.Map
		wantMaps  []userns.Map
		want      string
	}{
		{"LXC's map", []userns.Map{u(0, 200000, 65536), {Kind: userns.GID, ContainerID: 0, HostID: 200000, Size: 65536}},
			[]userns.Map{u(0, 1001, 1), u(1, 200000, 65536)}, "1:0:65536"},
		{"split around a host user (start-ephemeral -u)", []userns.Map{u(0, 200000, 1000), u(1000, 1001, 1), u(1001, 201001, 64535)},
			[]userns.Map{u(0, 1001, 1), u(1, 200000, 1000), u(1001, 201001, 64535)}, "1:0:1000:0:1000:1:1001:1001:64535"},
		{"single id", []userns.Map{u(0, 1001, 1)}, []userns.Map{u(0, 1001, 1)}, "0:0:1"},
		{"none", nil, []userns.Map{u(0, 1001, 1)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			maps, mapping := daemonMaps(userns.UID, tc.container, 1001)
			if mapping != tc.want || len(maps) != len(tc.wantMaps) {
				t.Fatalf("daemonMaps(%v) = %v, %q; want %v, %q", tc.container, maps, mapping, tc.wantMaps, tc.want)
			}
			for i := range maps {
				if maps[i] != tc.wantMaps[i] {
					t.Errorf("daemonMaps(%v) map %d = %v, want %v", tc.container, i, maps[i], tc.wantMaps[i])
				}
			}
			// No host id but the user's own is the daemon's root, and every
			// container id the daemon holds is shifted off its number.
			for _, m := range maps[1:] {
				if m.ContainerID == 0 {
					t.Errorf("daemon id 0 is host id %d, not the user's", m.HostID)
				}
			}
		})
	}
}

// TestParseOverlayDriver: the three drivers, "" as auto, and anything
// else refused with the values named.
func TestParseOverlayDriver(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want OverlayDriver
	}{{"", OverlayAuto}, {"auto", OverlayAuto}, {"kernel", OverlayKernel}, {"fuse", OverlayFuse}} {
		if got, err := ParseOverlayDriver(tc.in); got != tc.want || err != nil {
			t.Errorf("ParseOverlayDriver(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"FUSE", "fuse-overlayfs", "overlay"} {
		if _, err := ParseOverlayDriver(in); err == nil || !strings.Contains(err.Error(), "auto, kernel or fuse") {
			t.Errorf("ParseOverlayDriver(%q) = %v, want an error naming the drivers", in, err)
		}
	}
}

// TestFuseFallback: only auto retries with fuse-overlayfs, only after
// the kernel's refusal, and only once.
func TestFuseFallback(t *testing.T) {
	refused := fmt.Errorf("container init: %w: mount overlay of /a (upper /b) with userxattr: %w", ErrOverlay, unix.EPERM)
	other := fmt.Errorf("container init: mount proc on /proc: %w", unix.EPERM)
	for _, tc := range []struct {
		err    error
		driver OverlayDriver
		fuse   bool
		want   bool
	}{
		{refused, OverlayAuto, false, true},
		{refused, OverlayKernel, false, false},
		{refused, OverlayAuto, true, false},
		{other, OverlayAuto, false, false},
		{nil, OverlayAuto, false, false},
		{fmt.Errorf("%w: %w", ErrOverlay, ErrNoFuseOverlayfs), OverlayAuto, false, false},
	} {
		if got := fuseFallback(tc.err, tc.driver, tc.fuse); got != tc.want {
			t.Errorf("fuseFallback(%v, %s, %v) = %v, want %v", tc.err, tc.driver, tc.fuse, got, tc.want)
		}
	}
}

// TestCommonDir: the directory bound for the upper and work layers
// holds both and nothing above what it must.
func TestCommonDir(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{"/s/snap/overlay/delta", "/s/snap/overlay/work", "/s/snap/overlay"},
		{"/s/snap/delta0", "/s/snap/work", "/s/snap"},
		{"/a/b", "/c/d", "/"},
		{"/s/ab", "/s/abc/work", "/s"},
	} {
		if got, err := commonDir(tc.a, tc.b); got != tc.want || err != nil {
			t.Errorf("commonDir(%q, %q) = %q, %v; want %q", tc.a, tc.b, got, err, tc.want)
		}
	}
	for _, bad := range [][2]string{{"s/delta", "/s/work"}, {"/s/../delta", "/s/work"}} {
		if _, err := commonDir(bad[0], bad[1]); err == nil {
			t.Errorf("commonDir(%q, %q) = nil error, want a refusal", bad[0], bad[1])
		}
	}
}

// TestCompileFuse: with Fuse, init opens no layer (the daemon does), mounts
// FUSE with the descriptor it writes into its own option, and sends it;
// a layer fuse-overlayfs cannot take is refused; a failure names the
// overlay and fuse-overlayfs.
func TestCompileFuse(t *testing.T) {
	s := planSpec()
	s.Annotations = map[string]string{ocispec.AnnotationOverlayLower: "/s/a/rootfs", ocispec.AnnotationOverlayUpper: "/s/b/delta0",
		ocispec.AnnotationOverlayWork: "/s/b/work"}
	p, err := compileInit(&initConfig{Spec: s, Fuse: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ov := p.Overlay
	if ov == nil || !ov.Fuse || len(ov.Dirs) != 0 || ov.FDs != 0 {
		t.Fatalf("overlay = %+v, want Fuse with no layer for init to open", ov)
	}
	if ov.FuseValues[0] != &ov.FuseFDText[0] {
		t.Errorf("the fd option does not point at the descriptor init writes")
	}
	var opts []string
	for i, k := range ov.FuseKeys {
		if i > 0 {
			opts = append(opts, goString(k)+"="+goString(ov.FuseValues[i]))
		}
	}
	for _, f := range ov.FuseFlags {
		opts = append(opts, goString(f))
	}
	if got, want := strings.Join(opts, ","), "rootmode=40000,user_id=0,group_id=0,subtype=fuse-overlayfs,source=fuse-overlayfs,allow_other,default_permissions"; got != want {
		t.Errorf("fuse options = %s, want %s", got, want)
	}
	if string(ov.FuseSend.Text) != "fuse" || len(ov.FuseSend.FDs) != 1 || len(ov.FuseSend.Paths) != 0 {
		t.Errorf("fuse message = %q with %d descriptors and %d paths, want \"fuse\", 1, 0", ov.FuseSend.Text, len(ov.FuseSend.FDs), len(ov.FuseSend.Paths))
	}
	if p.fuse == nil || strings.Join(p.fuse.Lower, ":") != "/s/a/rootfs" || p.fuse.Upper != "/s/b/delta0" || p.fuse.Work != "/s/b/work" {
		t.Errorf("the daemon's layers = %+v", p.fuse)
	}
	err = p.describe(failure(rawproc.MsgFuseMount, rawproc.OpNone, 0, unix.ENOTCONN))
	if want := "mount fuse-overlayfs of /s/a/rootfs (upper /s/b/delta0): transport endpoint is not connected"; err == nil || err.Error() != want || !errors.Is(err, unix.ENOTCONN) {
		t.Errorf("describe(fuse mount) = %v, want %q", err, want)
	}
	err = p.describe(failure(rawproc.MsgFuseOpen, rawproc.OpNone, 0, unix.EACCES))
	if err == nil || !strings.Contains(err.Error(), "open /dev/fuse: permission denied: container root may not open it; as root: chmod 0666 /dev/fuse") ||
		!errors.Is(err, unix.EACCES) {
		t.Errorf("describe(fuse open) = %v, want it to name /dev/fuse and the fix", err)
	}

	s.Annotations[ocispec.AnnotationOverlayUpper] = "/s/b,c/delta0"
	if _, err := compileInit(&initConfig{Spec: s, Fuse: true}, nil); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("compileInit of an upper layer with a comma = %v, want ErrInvalidSpec", err)
	}
}

// goString reads a C string.
func goString(p *byte) string {
	var b []byte
	for ; *p != 0; p = (*byte)(unsafe.Add(unsafe.Pointer(p), 1)) {
		b = append(b, *p)
	}
	return string(b)
}
