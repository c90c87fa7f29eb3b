package runtime

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/ocispec"
	"golang.org/x/sys/unix"
)

// ErrOverlay reports an overlay root filesystem that could not be
// mounted: the kernel refused overlayfs in the container's user
// namespace.
var ErrOverlay = errors.New("overlay rootfs refused")

// overlayStep is the overlay root filesystem of a plan (ocispec's
// ulxc.rootfs.overlay.* annotations), which init mounts in place of the
// bind of the root filesystem (mountOverlay).
//
// The layers live under the user's 0700 directories, which container
// root may not walk, so init opens them before it enters the namespace,
// as it opens the root filesystem, and gives overlayfs their descriptors
// as /proc/self/fd/N: each is placed at a fixed descriptor number
// (initFDs+i, placed before anything else is opened), so that the
// option strings are worked out here. A tmpfs upper layer is made by
// init itself, inside the namespace (it is container root's), attached
// on the mount point, with the overlay mounted on a directory of it.
type overlayStep struct {
	dirs   []*byte // the host paths opened before enter: the lowers, then upper and work unless tmpfs
	fds    int     // descriptors from initFDs on that the step holds (dirs, and 2 more for a tmpfs)
	tmpfs  bool
	lower  *byte // "/proc/self/fd/8:/proc/self/fd/9"...
	upper  *byte
	work   *byte
	upFD   int // the fixed descriptors of a tmpfs's upper and work
	workFD int
	// Constant strings for the system calls.
	fsOverlay, fsTmpfs, keyLower, keyUpper, keyWork, keyUserxattr, keyMode, mode755 *byte
	nameUpper, nameWork, nameMerged                                                 *byte
	// hostname, with a tmpfs upper layer, is written to /etc/hostname
	// of the new root when that is a regular file: the name a copy has
	// (LXC's lxc-copy -e -t does the same in a pre-mount script).
	hostnameFile *byte
	hostname     []byte

	// For describe.
	text ocispec.Overlay
}

// compileOverlay prepares the overlay root of s, if it has one.
func (p *initPlan) compileOverlay(s *specs.Spec) error {
	o, ok := ocispec.SpecOverlay(s)
	if !ok {
		return nil
	}
	if len(o.Lower) == 0 || o.Upper == "" || o.Work == "" {
		return fmt.Errorf("%w: overlay rootfs needs lower, upper and work layers", ErrInvalidSpec)
	}
	ov := &overlayStep{tmpfs: s.Annotations[ocispec.AnnotationOverlayTmpfs] == "true", text: o}
	if ov.tmpfs {
		// The config's upper layer, when it was made (an ephemeral copy
		// with an SSH key installed), lies under the tmpfs.
		if fi, err := os.Stat(o.Upper); err == nil && fi.IsDir() {
			o.Lower = append([]string{o.Upper}, o.Lower...)
			ov.text = o
		}
	}
	paths := append([]string{}, o.Lower...)
	if !ov.tmpfs {
		paths = append(paths, o.Upper, o.Work)
	}
	for _, d := range paths {
		if strings.IndexByte(d, 0) >= 0 || strings.ContainsAny(d, ",:") {
			return fmt.Errorf("%w: overlay layer %q", ErrInvalidSpec, d)
		}
		ov.dirs = append(ov.dirs, cstr(d))
	}
	fdPathOf := func(i int) string { return "/proc/self/fd/" + strconv.Itoa(initFDs+i) }
	var lower []string
	for i := range o.Lower {
		lower = append(lower, fdPathOf(i))
	}
	ov.lower = cstr(strings.Join(lower, ":"))
	ov.fds = len(ov.dirs)
	if ov.tmpfs {
		ov.upFD, ov.workFD = initFDs+ov.fds, initFDs+ov.fds+1
		ov.upper, ov.work = cstr(fdPathOf(ov.fds)), cstr(fdPathOf(ov.fds+1))
		ov.fds += 2
		if s.Hostname != "" {
			ov.hostnameFile, ov.hostname = cstr("/etc/hostname"), []byte(s.Hostname+"\n")
		}
	} else {
		ov.upper, ov.work = cstr(fdPathOf(len(o.Lower))), cstr(fdPathOf(len(o.Lower)+1))
	}
	ov.fsOverlay, ov.fsTmpfs = cstr("overlay"), cstr("tmpfs")
	ov.keyLower, ov.keyUpper, ov.keyWork, ov.keyUserxattr = cstr("lowerdir"), cstr("upperdir"), cstr("workdir"), cstr("userxattr")
	ov.keyMode, ov.mode755 = cstr("mode"), cstr("0755")
	ov.nameUpper, ov.nameWork, ov.nameMerged = cstr("upper"), cstr("work"), cstr("merged")
	p.overlay = ov
	return nil
}

// Sub-steps of stOverlay, for describe.
const (
	ovlOpen = iota + 1
	ovlPlace
	ovlTmpfs
	ovlTmpfsDirs
	ovlOpenFS
	ovlConfig
	ovlCreate
	ovlMount
	ovlAttach
	ovlHostname
)

// describeOverlay is the error of init's report on the overlay step.
func (p *initPlan) describeOverlay(index, sub int, errno unix.Errno) error {
	ov := p.overlay
	if ov == nil {
		return fmt.Errorf("init: malformed report: no overlay")
	}
	layers := ov.text.Lower
	if !ov.tmpfs {
		layers = append(append([]string{}, layers...), ov.text.Upper, ov.text.Work)
	}
	msg := ""
	switch sub {
	case ovlOpen, ovlPlace:
		if index < 0 || index >= len(layers) {
			return fmt.Errorf("init: malformed report: overlay layer %d", index)
		}
		msg = "open overlay layer " + layers[index]
	case ovlTmpfs, ovlTmpfsDirs:
		msg = "make the tmpfs upper layer"
	case ovlHostname:
		msg = "write /etc/hostname of the overlay"
	default:
		upper := ov.text.Upper
		if ov.tmpfs {
			upper = "a tmpfs"
		}
		msg = fmt.Sprintf("mount overlay of %s (upper %s) with userxattr", strings.Join(ov.text.Lower, ":"), upper)
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
