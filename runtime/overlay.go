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
	"golang.org/x/sys/unix"
)

// ErrOverlay reports an overlay root filesystem that could not be
// mounted: the kernel refused overlayfs in the container's user
// namespace.
var ErrOverlay = errors.New("overlay rootfs refused")

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
	p.overlayText = o
	if ov.Tmpfs {
		// The config's upper layer, when it was made (an ephemeral copy
		// with an SSH key installed), lies under the tmpfs.
		if fi, err := os.Stat(o.Upper); err == nil && fi.IsDir() {
			o.Lower = append([]string{o.Upper}, o.Lower...)
			p.overlayText = o
		}
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
	p.Overlay = ov
	return nil
}

// describeOverlay is the error of init's report on the overlay step.
func (p *initPlan) describeOverlay(index, sub int, errno unix.Errno) error {
	ov := p.Overlay
	if ov == nil {
		return fmt.Errorf("init: malformed report: no overlay")
	}
	layers := p.overlayText.Lower
	if !ov.Tmpfs {
		layers = append(append([]string{}, layers...), p.overlayText.Upper, p.overlayText.Work)
	}
	msg := ""
	switch sub {
	case rawproc.OvlOpen, rawproc.OvlPlace:
		if index < 0 || index >= len(layers) {
			return fmt.Errorf("init: malformed report: overlay layer %d", index)
		}
		msg = "open overlay layer " + layers[index]
	case rawproc.OvlTmpfs, rawproc.OvlTmpfsDirs:
		msg = "make the tmpfs upper layer"
	case rawproc.OvlHostname:
		msg = "write /etc/hostname of the overlay"
	default:
		upper := p.overlayText.Upper
		if ov.Tmpfs {
			upper = "a tmpfs"
		}
		msg = fmt.Sprintf("mount overlay of %s (upper %s) with userxattr", strings.Join(p.overlayText.Lower, ":"), upper)
		if errno == unix.EPERM || errno == unix.EINVAL || errno == unix.ENODEV || errno == unix.EOPNOTSUPP {
			// The kernel's own words are in its log; what the user can do
			// is on the host.
			return fmt.Errorf("%w: %s: %w: this kernel refuses overlayfs in a user namespace (it needs Linux 5.11 or newer, "+
				"and a filesystem for the upper layer that stores user.* extended attributes), and ulxc has no "+
				"fuse-overlayfs fallback: use a full copy instead (ulxc copy -B dir)", ErrOverlay, msg, errno)
		}
	}
	if errno == 0 {
		return &ChildError{Msg: msg}
	}
	return &ChildError{Msg: msg + ": " + errno.Error(), Errno: errno}
}
