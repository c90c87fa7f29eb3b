package template

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ulxc/ulxc/destroy"
	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/layer"
	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/store"
	"github.com/ulxc/ulxc/userns"
)

// Kind names a template.
type Kind string

// The templates Create knows.
const (
	// Download unpacks a verified image from an LXC image server.
	Download Kind = "download"
	// Busybox builds a system from the host's static busybox, offline.
	Busybox Kind = "busybox"
)

// ErrUnknownTemplate is a template name that is neither download nor
// busybox.
var ErrUnknownTemplate = errors.New("unknown template")

// ParseKind accepts a template name as lxc-create does: "download",
// "lxc-download" or a path ending in either (and the same for busybox).
func ParseKind(s string) (Kind, error) {
	k := Kind(strings.TrimPrefix(filepath.Base(s), "lxc-"))
	switch k {
	case Download, Busybox:
		return k, nil
	default:
		return "", fmt.Errorf("%w %q (ulxc has download and busybox)", ErrUnknownTemplate, s)
	}
}

// The standard LXC directories that the template placeholders name.
const (
	TemplateConfigDir = image.LXCConfigDir
	HookDir           = "/usr/share/lxc/hooks"
)

// DefaultBusybox is the static busybox the busybox template copies
// (Debian's busybox-static).
const DefaultBusybox = "/bin/busybox"

// Names in the container directory.
const (
	partialName = "rootfs.partial"
	// ExcludedFile lists, one per line, the archive members that the
	// image's excludes-user made Create skip (its device nodes, usually).
	ExcludedFile = "ulxc-excluded"
)

// Options tune Create.
type Options struct {
	// Template selects the template; default Download.
	Template Kind
	// Backend stores the root filesystem: Dir (the default) unpacks it
	// into the container's directory; Overlay makes the container an
	// upper layer over the shared layer of its image (package layer).
	Backend store.Backend
	// Layers is the cache of shared layers of Overlay; default
	// NewLayerCache("").
	Layers *layer.Cache
	// Image names the image of the download template (Dist and Release are
	// required there); unused for busybox.
	Image download.Request
	// Fetch tunes the download (cache, key, flush/force, progress, warn).
	Fetch download.Options
	// Maps are explicit id maps (create -m); default: lxc.idmap of Config,
	// else LXC's convention (see package userns, ForContainer).
	Maps []userns.Map
	// Config is the default configuration the container's config starts
	// from; default lxcconf.LoadDefault (~/.config/lxc/default.conf).
	Config *lxcconf.Config
	// Busybox is the busybox binary of the busybox template; default
	// DefaultBusybox.
	Busybox string
	// Comment lines (without "#") for the top of the config, e.g. the
	// command line; default none.
	Comment []string
	// Warn receives warnings (fallback id maps, dropped image config
	// lines, skipped archive members); default: discard.
	Warn func(string)
	// XZ selects the decoder of rootfs.tar.xz when no decompressed copy
	// is kept in the cache; default image.XZAuto (xz-utils when
	// installed).
	XZ image.XZDecoder
	// Log receives debug messages: where the rootfs came from, which
	// decoder ran, how long each step took; default: discard.
	Log *slog.Logger
}

func (o *Options) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

func (o *Options) warn(format string, a ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, a...))
	}
}

// Result describes a created container.
type Result struct {
	Container *store.Container
	// Image is the cached image used (nil for busybox).
	Image *download.Image
	// CreateMessage is the image's create-message, to be shown to the user.
	CreateMessage string
	// Report is what the unpack did: devices and excluded members skipped.
	Report image.Report
	// PasswordLocked says that the image shipped a root password, now
	// locked.
	PasswordLocked bool
	// Maps is the container's id map as written to its config.
	Maps []userns.Map
}

// Create makes the container name in s and populates it with the
// template of opts (see the package documentation for the steps). On error
// nothing of the container is left: its directory is removed, from inside
// the user namespace where needed.
func Create(ctx context.Context, s *store.Store, name string, opts Options) (res *Result, err error) {
	if opts.Template == "" {
		opts.Template = Download
	}
	if _, err := ParseKind(string(opts.Template)); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	if opts.Backend == "" {
		opts.Backend = store.BackendDir
	}
	if _, err := store.ParseBackend(string(opts.Backend)); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	c, unlock, err := s.New(name)
	if errors.Is(err, store.ErrAbandoned) {
		c, unlock, err = reclaim(ctx, s, name, &opts)
	}
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	// Unlocked last, after any rollback: an unlocked directory without a
	// config is what another ulxc takes for abandoned remains.
	defer unlock()
	cr := &creation{c: c, opts: &opts}
	defer func() {
		if err != nil {
			if rerr := cr.rollback(context.WithoutCancel(ctx)); rerr != nil {
				err = errors.Join(err, fmt.Errorf("create %s: remove %s: %w", name, c.Dir, rerr))
			}
		}
	}()
	if res, err = cr.run(ctx); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	return res, nil
}

// reclaim removes the remains of an interrupted create or destroy of name
// (see store.Abandoned), with a warning, and makes the directory anew.
func reclaim(ctx context.Context, s *store.Store, name string, opts *Options) (*store.Container, func(), error) {
	old, unlock, err := s.Abandoned(name)
	if err != nil {
		return nil, nil, err
	}
	opts.warn("removing %s, the remains of an interrupted create or destroy", old.Dir)
	err = destroy.Container(ctx, old, destroy.Options{Maps: opts.Maps, Warn: opts.Warn})
	unlock()
	if err != nil {
		return nil, nil, fmt.Errorf("remove the remains of an interrupted create or destroy: %w", err)
	}
	return s.New(name)
}

// creation is one Create in progress.
type creation struct {
	c    *store.Container
	opts *Options
	plan *userns.Plan // set once a namespace may have written files
	lay  *layer.Layer // the shared layer an Overlay create uses
}

// run is the list of steps between the directory and the commit.
func (cr *creation) run(ctx context.Context) (*Result, error) {
	o := cr.opts
	def := o.Config
	if def == nil {
		var err error
		if def, err = lxcconf.LoadDefault(lxcconf.Options{}); err != nil {
			return nil, fmt.Errorf("load default config: %w", err)
		}
	}
	plan, ctrMaps, err := destroy.PlanMaps(o.Maps, def)
	if err != nil {
		return nil, err
	}
	if plan.Warning != "" {
		o.warn("%s", plan.Warning)
	}
	res := &Result{Container: cr.c, Maps: ctrMaps}
	j := job{
		Dir:       cr.c.Dir,
		IDMapSize: mapSize(ctrMaps),
		Vars: map[string]string{
			"LXC_NAME":            cr.c.Name,
			"LXC_PATH":            cr.c.Dir,
			"LXC_ROOTFS":          cr.c.RootfsPath(),
			"LXC_TEMPLATE_CONFIG": TemplateConfigDir,
			"LXC_HOOK_DIR":        HookDir,
		},
	}
	var distribution string
	switch o.Template {
	case Download:
		start := time.Now()
		img, meta, err := fetch(ctx, o)
		if err != nil {
			return nil, err
		}
		o.log().Debug("image ready", "dir", img.Dir, "build", img.Build, "downloaded", img.Downloaded, "seconds", time.Since(start).Seconds())
		res.Image, res.CreateMessage = img, strings.TrimRight(meta.CreateMessage, "\n")
		distribution = meta.ConfigUser
		if distribution == "" {
			// LXC: "meta tarball is missing the configuration file".
			if distribution = meta.Config; distribution == "" {
				return nil, errors.New("image meta.tar.xz has no config-user or config")
			}
		}
		j.Op, j.Excludes, j.Templates = opUnpack, meta.ExcludesUser, meta.Templates
	case Busybox:
		j.Op, j.Busybox = opBusybox, o.Busybox
		if j.Busybox == "" {
			j.Busybox = DefaultBusybox
		}
		distribution = image.BusyboxConfig()
	}

	cr.plan = &plan
	var r reply
	rootfs := rootfsConfig{Path: "dir:" + cr.c.RootfsPath()}
	switch {
	case o.Backend == store.BackendOverlay:
		var ov ocispec.Overlay
		r, ov, err = cr.overlay(ctx, plan, j, res.Image, ctrMaps)
		rootfs = rootfsConfig{Path: ov.String(), Options: overlayConfigOptions}
	case o.Template == Download:
		r, err = cr.unpackImage(ctx, plan, j, res.Image)
	default:
		r, err = runChild(ctx, plan, j, nil)
	}
	if o.Backend != store.BackendOverlay {
		for _, w := range r.Warnings {
			o.warn("%s", w)
		}
	}
	if err != nil {
		return nil, err
	}
	res.Report, res.PasswordLocked = r.Report, r.Locked
	if o.Backend == store.BackendDir {
		if err := os.Rename(filepath.Join(cr.c.Dir, partialName), cr.c.RootfsPath()); err != nil {
			return nil, fmt.Errorf("commit rootfs: %w", err)
		}
	}
	if err := store.WriteDevices(cr.c.Dir, r.Report.Devices); err != nil {
		return nil, fmt.Errorf("record devices: %w", err)
	}
	if err := writeExcluded(cr.c.Dir, r.Report.Excluded); err != nil {
		return nil, fmt.Errorf("record excluded members: %w", err)
	}
	network := busyboxNetwork
	if o.Template == Download {
		network = chooseNetwork(lookPath)
	}
	conf, err := buildConfig(configInput{
		Name: cr.c.Name, Rootfs: rootfs, Distribution: distribution,
		Default: def, Maps: ctrMaps, Comment: o.Comment, Vars: j.Vars, Warn: o.Warn, Network: network,
	})
	if err != nil {
		return nil, err
	}
	if err := lxcconf.WriteFile(cr.c.ConfigPath(), conf); err != nil {
		return nil, err
	}
	return res, nil
}

// fetch gets the verified image and reads its meta.tar.xz. A concurrent
// Fetch of a newer build may prune the entry between Fetch and the open;
// then it is fetched once more. The rootfs is opened later, by
// unpackImage; should the entry vanish in between, that fails cleanly.
func fetch(ctx context.Context, o *Options) (*download.Image, *image.Meta, error) {
	if o.Image.Dist == "" || o.Image.Release == "" {
		return nil, nil, fmt.Errorf("%w: the download template needs a distribution and a release", download.ErrBadRequest)
	}
	for attempt := 0; ; attempt++ {
		img, err := download.Fetch(ctx, o.Image, o.Fetch)
		if err != nil {
			return nil, nil, err
		}
		meta, err := readMeta(img.Meta)
		if errors.Is(err, fs.ErrNotExist) && attempt == 0 {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		return img, meta, nil
	}
}

func readMeta(name string) (*image.Meta, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open image meta: %w", err)
	}
	defer f.Close()
	xr, err := image.NewXZReader(f)
	if err != nil {
		return nil, fmt.Errorf("read image meta: %w", err)
	}
	defer xr.Close()
	return image.ReadMeta(xr)
}

// rollback removes the container directory. Files that the namespace's
// root made belong to subordinate ids, which only that namespace can
// remove.
func (cr *creation) rollback(ctx context.Context) error {
	if cr.lay != nil {
		_ = cr.lay.Release(cr.c.Dir) // a record of a removed directory does not count anyway
	}
	err := os.RemoveAll(cr.c.Dir)
	if err == nil || cr.plan == nil {
		return err
	}
	return destroy.InNamespace(ctx, *cr.plan, cr.c.Dir)
}

func writeExcluded(dir string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	return os.WriteFile(filepath.Join(dir, ExcludedFile), []byte(strings.Join(names, "\n")+"\n"), 0o600)
}
