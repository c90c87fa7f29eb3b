package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/userns"
)

// ChildEntry is the hidden verb that ChildMain serves: cmd/ulxc dispatches
// it before parsing any flags.
const ChildEntry = "__pack"

// childTarFD is where the child writes the tar: userns.Options.ExtraFiles[0].
const childTarFD = 4

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

// packReply is the child's answer, as JSON on its stdout.
type packReply struct {
	Report   image.PackReport `json:"report"`
	Warnings []string         `json:"warnings,omitempty"`
	Error    string           `json:"error,omitempty"`
}

// Pack implements Source: the child writes the tar into w.
func (n Namespaced) Pack(ctx context.Context, w *os.File) (image.PackReport, error) {
	defer w.Close()
	in, err := json.Marshal(packJob{Root: n.Path, Devices: n.Options.Devices, Name: n.Options.Name, Templates: n.Options.Templates, Layers: n.Layers})
	if err != nil {
		return image.PackReport{}, err
	}
	var clone uintptr
	if len(n.Layers) > 0 {
		// The overlay it mounts stays in its own mount namespace.
		clone = unix.CLONE_NEWNS
	}
	var stdout, stderr bytes.Buffer
	cmd, err := userns.Start(ctx, userns.Options{
		Plan: n.Plan, Entry: ChildEntry, Dir: "/", Cloneflags: clone,
		Stdin: bytes.NewReader(in), Stdout: &stdout, Stderr: &stderr,
		ExtraFiles: []*os.File{w},
	})
	// The child has its own copy: the reader sees the end of the stream
	// when the child's is closed.
	w.Close()
	if err != nil {
		return image.PackReport{}, err
	}
	werr := cmd.Wait()
	var r packReply
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if werr == nil {
			werr = fmt.Errorf("bad reply: %w", err)
		}
		if msg != "" {
			return image.PackReport{}, fmt.Errorf("read rootfs in user namespace: %w: %s", werr, strings.ReplaceAll(msg, "\n", "; "))
		}
		return image.PackReport{}, fmt.Errorf("read rootfs in user namespace: %w", werr)
	}
	if n.Options.Warn != nil {
		for _, w := range r.Warnings {
			n.Options.Warn(w)
		}
	}
	switch {
	case r.Error != "":
		return r.Report, errors.New(r.Error)
	case werr != nil:
		return r.Report, fmt.Errorf("read rootfs in user namespace: %w", werr)
	}
	return r.Report, nil
}

// ChildMain is the child's side: it becomes root of the namespace, reads
// its job from stdin, writes the tar of the job's root to fd 4 and its
// reply to stdout. It returns the exit status.
func ChildMain(args []string) int {
	r := childMain()
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintf(os.Stderr, "ulxc: error: %s: %v\n", ChildEntry, err)
		return 1
	}
	if r.Error != "" {
		return 1
	}
	return 0
}

func childMain() (r packReply) {
	fail := func(err error) packReply {
		r.Error = err.Error()
		return r
	}
	if err := userns.Enter(); err != nil {
		return fail(err)
	}
	var j packJob
	if err := json.NewDecoder(io.LimitReader(os.Stdin, 16<<20)).Decode(&j); err != nil {
		return fail(fmt.Errorf("read job: %w", err))
	}
	if !filepath.IsAbs(j.Root) {
		return fail(fmt.Errorf("rootfs %q is not absolute", j.Root))
	}
	if len(j.Layers) > 0 {
		if err := mountLayers(j.Root, j.Layers); err != nil {
			return fail(err)
		}
	}
	w := os.NewFile(childTarFD, "rootfs.tar")
	if w == nil {
		return fail(errors.New("no tar pipe on fd 4"))
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
	if err != nil {
		return fail(err)
	}
	return r
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
		return fmt.Errorf("mount a read-only overlay of %s on %s: %w", strings.Join(layers, ":"), root, err)
	}
	return nil
}
