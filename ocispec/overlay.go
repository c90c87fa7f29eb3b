package ocispec

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The annotations of an overlay root filesystem (lxc.rootfs.path =
// overlay:LOWER:UPPER). Root.Path is then the directory the overlay is
// mounted on, DIR/rootfs, as LXC's snapshots have it.
const (
	// AnnotationOverlayLower is the lower layers, top first, joined
	// with ":" as overlayfs's lowerdir.
	AnnotationOverlayLower = "ulxc.rootfs.overlay.lower"
	// AnnotationOverlayUpper is the upper layer, a directory; or, with
	// AnnotationOverlayTmpfs, the config's upper, stacked as the top
	// lower layer under a tmpfs.
	AnnotationOverlayUpper = "ulxc.rootfs.overlay.upper"
	// AnnotationOverlayWork is overlayfs's workdir: "work" beside the
	// upper layer, where LXC puts it.
	AnnotationOverlayWork = "ulxc.rootfs.overlay.work"
	// AnnotationOverlayTmpfs = "true": the upper layer is a fresh tmpfs
	// that the runtime makes (start-ephemeral -s tmpfs), never a
	// directory on disk. Set by the caller, not from a config key.
	AnnotationOverlayTmpfs = "ulxc.rootfs.overlay.tmpfs"
)

// OverlayWorkName is the name of the overlay workdir beside the upper
// layer, where LXC 4 and 5 put it (storage/overlay.c, ovl_mount; LXC 1 to
// 3 called it olwork). Their snapshots are NAME/overlay/delta and
// NAME/overlay/work.
const OverlayWorkName = "work"

// Overlay is a parsed overlay root filesystem.
type Overlay struct {
	Lower []string // top first
	Upper string
	Work  string // OverlayWorkName beside Upper
}

// ParseOverlay parses an lxc.rootfs.path value "overlay:LOWER:UPPER" (or
// "overlayfs:"), with paths already resolved (lxcconf.Entry.Path), as LXC
// does: the upper layer is what follows the last ":/", so LOWER may be
// several layers separated by ":". ok is false for another backend.
func ParseOverlay(value string) (o Overlay, ok bool, err error) {
	rest, ok := strings.CutPrefix(value, "overlay:")
	if !ok {
		if rest, ok = strings.CutPrefix(value, "overlayfs:"); !ok {
			return Overlay{}, false, nil
		}
	}
	i := strings.LastIndex(rest, ":/")
	if i <= 0 {
		return Overlay{}, true, fmt.Errorf("want overlay:LOWER:UPPER with absolute paths")
	}
	o.Upper = filepath.Clean(rest[i+1:])
	for _, l := range strings.Split(rest[:i], ":") {
		if !filepath.IsAbs(l) {
			return Overlay{}, true, fmt.Errorf("lower layer %q is not an absolute path", l)
		}
		o.Lower = append(o.Lower, filepath.Clean(l))
	}
	for _, p := range append([]string{o.Upper}, o.Lower...) {
		// overlayfs's own separators, and what the runtime cannot pass.
		if strings.ContainsAny(p, ",:\\\x00") {
			return Overlay{}, true, fmt.Errorf("layer %q: a ',' ':' or '\\' cannot be passed to overlayfs", p)
		}
		if p == "/" {
			return Overlay{}, true, fmt.Errorf("layer %q: the host's root cannot be a layer", p)
		}
	}
	o.Work = filepath.Join(filepath.Dir(o.Upper), OverlayWorkName)
	if o.Work == o.Upper {
		return Overlay{}, true, fmt.Errorf("upper layer %q is named %s, the workdir LXC puts beside it", o.Upper, OverlayWorkName)
	}
	return o, true, nil
}

// String is the lxc.rootfs.path value of o.
func (o Overlay) String() string {
	return "overlay:" + strings.Join(o.Lower, ":") + ":" + o.Upper
}

// SpecOverlay returns the overlay root of s, if it has one.
func SpecOverlay(s *specs.Spec) (Overlay, bool) {
	upper, ok := s.Annotations[AnnotationOverlayUpper]
	if !ok {
		return Overlay{}, false
	}
	o := Overlay{Upper: upper, Work: s.Annotations[AnnotationOverlayWork]}
	if l := s.Annotations[AnnotationOverlayLower]; l != "" {
		o.Lower = strings.Split(l, ":")
	}
	return o, true
}

// setOverlay records o in the annotations of the converter's spec.
func (c *converter) setOverlay(o Overlay) {
	c.ann[AnnotationOverlayLower] = strings.Join(o.Lower, ":")
	c.ann[AnnotationOverlayUpper] = o.Upper
	c.ann[AnnotationOverlayWork] = o.Work
}

// ErrOverlayRefused explains the kernel's refusal of overlayfs in a user
// namespace; the kernel's own words are in its log.
var ErrOverlayRefused = errors.New("this kernel refuses overlayfs in a user namespace " +
	"(it needs Linux 5.11 or newer, and a filesystem for the upper layer that stores user.* extended attributes)")

// OverlayRefused reports whether err, from the mount of an overlay in a
// user namespace, is the kernel's refusal of it.
func OverlayRefused(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EOPNOTSUPP)
}

// OverlayMountError is err, from the mount of an overlay of what, with
// ErrOverlayRefused and fix when it is the kernel's refusal.
func OverlayMountError(what string, err error, fix string) error {
	if OverlayRefused(err) {
		return fmt.Errorf("mount overlay of %s: %w: %w; %s", what, err, ErrOverlayRefused, fix)
	}
	return fmt.Errorf("mount overlay of %s: %w", what, err)
}
