package template

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ulxc/ulxc/destroy"
	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/layer"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/userns"
)

// layerVersion changes when what a layer holds changes (a new step of
// the unpack, a new busybox template), so that older layers are not
// taken for current ones.
const layerVersion = "1"

// layerRecord is what the build of a layer reported, kept with it for the
// containers made from it later.
type layerRecord struct {
	Report image.Report `json:"report"`
	Locked bool         `json:"locked,omitempty"`
}

// NewLayerCache is the layer cache of dir (default layer.DefaultDir()),
// removing layers with package destroy.
func NewLayerCache(dir string) *layer.Cache {
	return &layer.Cache{Dir: dir, Remove: removeLayer}
}

func removeLayer(ctx context.Context, dir string, maps []userns.Map) error {
	plan, _, err := destroy.PlanMaps(maps, nil)
	if err != nil {
		return err
	}
	return destroy.InNamespace(ctx, plan, dir)
}

// layerInfo says what the layer of this create is made from.
func (cr *creation) layerInfo(j *job, img *download.Image, maps []userns.Map) (layer.Info, error) {
	info := layer.Info{Maps: maps}
	switch cr.opts.Template {
	case Download:
		sum := img.RootfsSHA256()
		if sum == "" {
			sum = "entry " + img.Dir
		}
		r := img.Request
		info.Origin = fmt.Sprintf("download %s %s/%s/%s/%s", r.Server, r.Dist, r.Release, r.Arch, r.Variant)
		info.Source = fmt.Sprintf("download v%s rootfs.tar.xz sha256:%s build %s key %s validated %t excludes %q",
			layerVersion, sum, img.Build, img.Fingerprint, img.Validated, j.Excludes)
	case Busybox:
		sum, err := fileSHA256(j.Busybox)
		if err != nil {
			return info, fmt.Errorf("busybox template: %w", err)
		}
		info.Origin = "busybox " + j.Busybox
		info.Source = fmt.Sprintf("busybox v%s sha256:%s", layerVersion, sum)
	}
	return info, nil
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// overlay makes the container an upper layer over the shared layer of
// its image and maps, building the layer first when the cache has none;
// it returns what the layer's build reported and the container's rootfs.
func (cr *creation) overlay(ctx context.Context, plan userns.Plan, j job, img *download.Image, maps []userns.Map) (reply, ocispec.Overlay, error) {
	o := cr.opts
	info, err := cr.layerInfo(&j, img, maps)
	if err != nil {
		return reply{}, ocispec.Overlay{}, err
	}
	cache := o.Layers
	if cache == nil {
		cache = NewLayerCache("")
	}
	e, err := cache.Open(ctx, info)
	if err != nil {
		return reply{}, ocispec.Overlay{}, err
	}
	l, built, err := cr.layer(ctx, e, plan, j, img)
	if err == nil {
		// Recorded before the lock goes: a prune that runs next sees a
		// container being made (no config, its lock held) over l.
		err = e.Use(l, cr.c.Dir)
	}
	e.Close()
	if err != nil {
		return reply{}, ocispec.Overlay{}, err
	}
	cr.lay = l
	o.log().Debug("layer ready", "dir", l.Dir, "built", built)
	var rec layerRecord
	if err := json.Unmarshal(l.Info.Data, &rec); err != nil {
		return reply{}, ocispec.Overlay{}, fmt.Errorf("layer %s: %s: %w", l.Dir, layer.InfoName, err)
	}
	up := job{Op: opUpper, Dir: cr.c.Dir, Lower: l.Rootfs, Templates: j.Templates, Vars: j.Vars}
	if o.Template == Busybox {
		up.Templates = image.BusyboxTemplates()
	}
	r, err := runChild(ctx, plan, up, nil)
	r.Report, r.Locked = rec.Report, rec.Locked
	if err != nil {
		return r, ocispec.Overlay{}, fmt.Errorf("upper layer: %w", err)
	}
	return r, ocispec.Overlay{Lower: []string{l.Rootfs}, Upper: filepath.Join(cr.c.Dir, upperName)}, nil
}

// layer returns the current layer of e, or builds it: unpacked (or the
// busybox system made) without the container's name, which the upper
// layer gets. --flush-cache makes a new one; the old one stays for the
// containers that use it.
func (cr *creation) layer(ctx context.Context, e *layer.Entry, plan userns.Plan, j job, img *download.Image) (*layer.Layer, bool, error) {
	o := cr.opts
	if o.Fetch.FlushCache {
		if err := e.Flush(ctx); err != nil {
			if !errors.Is(err, layer.ErrInUse) {
				return nil, false, err
			}
			o.warn("--flush-cache: %v", err)
		}
	} else if l := e.Current(); l != nil {
		return l, false, nil
	}
	staged, err := e.Stage()
	if err != nil {
		return nil, false, err
	}
	lj := j
	lj.Dir, lj.Templates, lj.Vars = staged, nil, nil
	if lj.Op == opBusybox {
		lj.Op = opBusyboxLayer
	}
	var r reply
	if o.Template == Download {
		r, err = cr.unpackImage(ctx, plan, lj, img)
	} else {
		r, err = runChild(ctx, plan, lj, nil)
	}
	for _, w := range r.Warnings {
		o.warn("%s", w)
	}
	if err == nil {
		err = os.Rename(filepath.Join(staged, partialName), filepath.Join(staged, layer.RootfsName))
	}
	var l *layer.Layer
	if err == nil {
		l, err = e.Commit(ctx, staged, layerRecord{Report: r.Report, Locked: r.Locked})
	}
	if err != nil {
		if derr := e.Discard(context.WithoutCancel(ctx), staged); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, false, fmt.Errorf("make the shared layer: %w", err)
	}
	return l, true, nil
}

// overlayConfigOptions is lxc.rootfs.options of an overlay container:
// LXC mounts an overlay in a user namespace only when told.
const overlayConfigOptions = "userxattr"

// upperDirs are what the child of opUpper makes in the container's
// directory.
func upperDirs(dir string) (overlayDir, upper, work, mountPoint string) {
	overlayDir = filepath.Join(dir, "overlay")
	return overlayDir, filepath.Join(dir, upperName), filepath.Join(overlayDir, ocispec.OverlayWorkName), filepath.Join(dir, "rootfs")
}

// upperName is LXC 4 and 5's upper layer; its workdir is overlay/work.
const upperName = "overlay/delta"
