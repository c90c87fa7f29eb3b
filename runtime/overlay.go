package runtime

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ulxc/ulxc/internal/rawproc"
	"github.com/ulxc/ulxc/ocispec"
)

// ErrOverlay reports an overlay root filesystem that could not be
// mounted: the kernel refused overlayfs in the container's user
// namespace.
var ErrOverlay = errors.New("overlay rootfs refused")

// overlayRefusal explains ErrOverlay. The kernel's own words are in its
// log; what the user can do is on the host.
const overlayRefusal = "this kernel refuses overlayfs in a user namespace (it needs Linux 5.11 or newer, " +
	"and a filesystem for the upper layer that stores user.* extended attributes); fuse-overlayfs serves " +
	"the root instead when it is in $PATH (apt-get install fuse-overlayfs; ULXC_OVERLAY=fuse forces it), " +
	"or make a full copy (ulxc copy -B dir)"

// overlayRefused reports whether err, from the mount of an overlay, is
// the kernel's refusal of overlayfs in a user namespace.
func overlayRefused(err error) bool { return ocispec.OverlayRefused(err) }

// compileOverlay prepares the overlay root of s, if it has one.
func (p *initPlan) compileOverlay(s *specs.Spec) error {
	o, ok := ocispec.SpecOverlay(s)
	if !ok {
		return nil
	}
	if len(o.Lower) == 0 || o.Upper == "" || o.Work == "" {
		return fmt.Errorf("%w: overlay rootfs needs lower, upper and work layers", ErrInvalidSpec)
	}
	ov := &rawproc.Overlay{Tmpfs: s.Annotations[ocispec.AnnotationOverlayTmpfs] == "true"}
	if ov.Tmpfs {
		// The config's upper layer, when it was made (an ephemeral copy
		// with an SSH key installed), lies under the tmpfs.
		if fi, err := os.Stat(o.Upper); err == nil && fi.IsDir() {
			o.Lower = append([]string{o.Upper}, o.Lower...)
		}
	}
	if p.cfg.Fuse {
		return p.compileFuse(s, o, ov)
	}
	paths := append([]string{}, o.Lower...)
	if !ov.Tmpfs {
		paths = append(paths, o.Upper, o.Work)
	}
	for _, d := range paths {
		if strings.IndexByte(d, 0) >= 0 || strings.ContainsAny(d, ",:") {
			return fmt.Errorf("%w: overlay layer %q", ErrInvalidSpec, d)
		}
		ov.Dirs = append(ov.Dirs, cstr(d))
	}
	fdPathOf := func(i int) string { return "/proc/self/fd/" + strconv.Itoa(rawproc.InitFDs+i) }
	var lower []string
	for i := range o.Lower {
		lower = append(lower, fdPathOf(i))
	}
	ov.Lower = cstr(strings.Join(lower, ":"))
	ov.FDs = len(ov.Dirs)
	if ov.Tmpfs {
		ov.UpFD, ov.WorkFD = rawproc.InitFDs+ov.FDs, rawproc.InitFDs+ov.FDs+1
		ov.Upper, ov.Work = cstr(fdPathOf(ov.FDs)), cstr(fdPathOf(ov.FDs+1))
		ov.FDs += 2
		if s.Hostname != "" {
			ov.HostnameFile, ov.Hostname = cstr("/etc/hostname"), []byte(s.Hostname+"\n")
		}
	} else {
		ov.Upper, ov.Work = cstr(fdPathOf(len(o.Lower))), cstr(fdPathOf(len(o.Lower)+1))
	}
	ov.FsOverlay, ov.FsTmpfs = cstr("overlay"), cstr("tmpfs")
	ov.KeyLower, ov.KeyUpper, ov.KeyWork, ov.KeyUserxattr = cstr("lowerdir"), cstr("upperdir"), cstr("workdir"), cstr("userxattr")
	ov.KeyMode, ov.Mode755 = cstr("mode"), cstr("0755")
	ov.NameUpper, ov.NameWork, ov.NameMerged = cstr("upper"), cstr("work"), cstr("merged")
	ov.LayerMsg = rawproc.Msg(len(p.msgs))
	for _, d := range paths {
		p.addMsg(initMsg{text: "open overlay layer " + d})
	}
	upper := o.Upper
	if ov.Tmpfs {
		upper = "a tmpfs"
	}
	p.setMsg(rawproc.MsgOverlayMount, fmt.Sprintf("mount overlay of %s (upper %s) with userxattr", strings.Join(o.Lower, ":"), upper), msgOverlay)
	p.Overlay = ov
	return nil
}

// compileFuse prepares init's half of an overlay root that
// fuse-overlayfs serves (fuse.go): init mounts the FUSE file system on
// the mount point and sends its descriptor; the layers go to the
// daemon, which the supervisor starts (startFuse).
func (p *initPlan) compileFuse(s *specs.Spec, o ocispec.Overlay, ov *rawproc.Overlay) error {
	for _, d := range append(append([]string{}, o.Lower...), o.Upper, o.Work) {
		// fuse-overlayfs splits its options at commas and lowerdir at
		// colons, as overlayfs does.
		if strings.IndexByte(d, 0) >= 0 || strings.ContainsAny(d, ",:") || !strings.HasPrefix(d, "/") {
			return fmt.Errorf("%w: overlay layer %q", ErrInvalidSpec, d)
		}
	}
	ov.Fuse = true
	ov.FuseDev, ov.FsFuse = cstr(fuseDevice), cstr("fuse")
	for i, kv := range fuseOptions("") {
		ov.FuseKeys[i] = cstr(kv[0])
		if i > 0 {
			ov.FuseValues[i] = cstr(kv[1])
		}
	}
	ov.FuseValues[0] = &ov.FuseFDText[0]
	for i, f := range fuseFlags {
		ov.FuseFlags[i] = cstr(f)
	}
	prepareSend(&ov.FuseSend, 1, "fuse", rawproc.MsgFuseSend)
	if ov.Tmpfs && s.Hostname != "" {
		ov.HostnameFile, ov.Hostname = cstr("/etc/hostname"), []byte(s.Hostname+"\n")
	}
	upper := o.Upper
	if ov.Tmpfs {
		upper = "a tmpfs"
	}
	what := fmt.Sprintf("mount fuse-overlayfs of %s (upper %s)", strings.Join(o.Lower, ":"), upper)
	p.setMsg(rawproc.MsgFuseOpen, what+": open "+fuseDevice, msgFuseDev)
	p.setMsg(rawproc.MsgFuseMount, what, msgPlain)
	p.setMsg(rawproc.MsgFuseSend, what+": send /dev/fuse to the supervisor", msgPlain)
	p.Overlay = ov
	p.fuse = &fuseLayers{Lower: o.Lower, Upper: o.Upper, Work: o.Work, Tmpfs: ov.Tmpfs}
	return nil
}

// fuseOptions are the string options of the FUSE mount of an overlay
// root, the connection's descriptor fd first (init writes it itself).
// rootmode is the root's file type and mode as the kernel wants it
// before FUSE_INIT (octal S_IFDIR); user_id and group_id, in the
// container's namespace, own the connection; subtype and source name it
// in mountinfo as fuse-overlayfs names its own mounts
// (fuse.fuse-overlayfs).
func fuseOptions(fd string) [6][2]string {
	return [6][2]string{{"fd", fd}, {"rootmode", "40000"}, {"user_id", "0"}, {"group_id", "0"},
		{"subtype", fuseOverlayfs}, {"source", fuseOverlayfs}}
}

// fuseFlags are the flags of the FUSE mount of an overlay root:
// allow_other lets every id of the container use it (only processes of
// the container's user namespace and its descendants may,
// fuse_allow_current_process), and default_permissions makes the kernel
// check modes and owners against what the daemon reports, as it does
// for overlayfs: the daemon itself has every capability over the layers.
var fuseFlags = [2]string{"allow_other", "default_permissions"}
