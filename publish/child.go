package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/userns"
)

// ChildEntry is the hidden verb that ChildMain serves: cmd/ulxc dispatches
// it before parsing any flags.
const ChildEntry = "__pack"

// childTarFD is where the child writes the tar: userns.Options.ExtraFiles[0]
// (fd 4 is RunJob's reply pipe).
const childTarFD = 5

// maxChildWarnings bounds the warnings the child sends: a rootfs of a
// million sockets is the container's to make, not the parent's memory.
const maxChildWarnings = 100

// packJob is what the parent asks of the child, as JSON on its stdin.
type packJob struct {
	Root      string         `json:"root"`
	Devices   []image.Device `json:"devices,omitempty"`
	Name      string         `json:"name,omitempty"`
	Templates []string       `json:"templates,omitempty"`
	Layers    []string       `json:"layers,omitempty"`
}

// packReply is the child's answer.
type packReply struct {
	Report   image.PackReport `json:"report"`
	Warnings []string         `json:"warnings,omitempty"`
}

// Pack implements Source: the child writes the tar into w.
func (n Namespaced) Pack(ctx context.Context, w *os.File) (image.PackReport, error) {
	defer w.Close()
	j := packJob{Root: n.Path, Devices: n.Options.Devices, Name: n.Options.Name, Templates: n.Options.Templates, Layers: n.Layers}
	var clone uintptr
	if len(n.Layers) > 0 {
		// The overlay it mounts stays in its own mount namespace.
		clone = unix.CLONE_NEWNS
	}
	var r packReply
	// The reader sees the end of the stream once the child has exited
	// and this copy of w is closed, when Pack returns.
	err := userns.RunJob(ctx, userns.Options{Plan: n.Plan, Entry: ChildEntry, Dir: "/", Cloneflags: clone, ExtraFiles: []*os.File{w}}, j, &r)
	if n.Options.Warn != nil {
		for _, w := range r.Warnings {
			n.Options.Warn(w)
		}
	}
	if je := (*userns.JobError)(nil); err != nil && !errors.As(err, &je) {
		return r.Report, fmt.Errorf("read rootfs %w", err)
	}
	return r.Report, err
}

// ChildMain is the child's side: as root of the namespace it writes the
// tar of the job's root to fd 5 and replies with the report. It returns
// the exit status.
func ChildMain(args []string) int {
	var j packJob
	return userns.ServeJob(ChildEntry, &j, func() (any, error) {
		var r packReply
		if !filepath.IsAbs(j.Root) {
			return r, fmt.Errorf("rootfs %q is not absolute", j.Root)
		}
		if len(j.Layers) > 0 {
			if err := mountLayers(j.Root, j.Layers); err != nil {
				return r, err
			}
		}
		w := os.NewFile(childTarFD, "rootfs.tar")
		if w == nil {
			return r, errors.New("no tar pipe on fd 5")
		}
		defer w.Close()
		dropped := 0
		warn := func(s string) {
			if len(r.Warnings) < maxChildWarnings {
				r.Warnings = append(r.Warnings, s)
			} else {
				dropped++
			}
		}
		var err error
		r.Report, err = image.Pack(context.Background(), w, j.Root, image.PackOptions{
			Devices: j.Devices, Name: j.Name, Templates: j.Templates, Warn: warn,
		})
		if dropped > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%d more warnings like these", dropped))
		}
		return r, err
	})
}

// mountLayers mounts a read-only overlay of layers (top first) on root,
// in this process's own mount namespace.
func mountLayers(root string, layers []string) error {
	for _, l := range layers {
		if !filepath.IsAbs(l) || strings.ContainsAny(l, ",:\\") {
			return fmt.Errorf("overlay layer %q: want an absolute path without ',' ':' or '\\'", l)
		}
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	opts := "lowerdir=" + strings.Join(layers, ":") + ",userxattr"
	if err := unix.Mount("overlay", root, "overlay", unix.MS_RDONLY, opts); err != nil {
		return ocispec.OverlayMountError(strings.Join(layers, ":")+" on "+root+" (read-only)", err,
			"pack the snapshot's original, or a full copy of it (ulxc copy -B dir)")
	}
	return nil
}
