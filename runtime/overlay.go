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
