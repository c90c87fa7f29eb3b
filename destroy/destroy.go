package destroy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulxc/ulxc/layer"
	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/store"
	"github.com/ulxc/ulxc/userns"
)

// Options configure Container.
type Options struct {
	// Maps, when set, are the container's id maps instead of its
	// config's lxc.idmap.
	Maps []userns.Map
	// Warn receives warnings; default: discarded.
	Warn func(string)
	// Config, when set, is c's config as the caller already loaded it
	// (lxcconf.Load of c.ConfigPath()), which spares loading it again:
	// with LXC's common.conf and its includes that is a few files and a
	// few tenths of a millisecond.
	Config *lxcconf.Config
}

func (o *Options) warn(format string, a ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, a...))
	}
}

// Container removes the stopped container c completely, rootfs files
// owned by subordinate ids included: those are removed from a child in a
// user namespace with the container's id map (lxc.idmap of its config;
// opts.Maps win) plus the caller's own ids. The caller checks that c does
// not run and holds its lock.
//
// The config is removed first, so that an interrupted removal leaves a
// directory without config, which is no container. A rootfs outside the
// container directory (an lxc.rootfs.path elsewhere) is left alone, with a
// warning: ulxc removes only what it created.
func Container(ctx context.Context, c *store.Container, opts Options) error {
	if err := container(ctx, c, &opts); err != nil {
		return fmt.Errorf("destroy %s: %w", c.Name, err)
	}
	return nil
}

func container(ctx context.Context, c *store.Container, opts *Options) error {
	// An overlay snapshot's lower layer is this container's root: LXC
	// refuses too (lxc_snapshots).
	snaps, err := c.Snapshots()
	if err != nil {
		return err
	}
	if len(snaps) > 0 {
		var names []string
		for _, r := range snaps {
			names = append(names, r.String())
		}
		return fmt.Errorf("%w: %s", store.ErrHasSnapshots, strings.Join(names, ", "))
	}
	origin, isSnap, err := c.Origin()
	if err != nil {
		opts.warn("%v", err)
	}
	cfg, cfgErr := opts.Config, error(nil)
	if cfg == nil {
		cfg, cfgErr = lxcconf.Load(c.ConfigPath(), lxcconf.Options{})
	}
	var layers []*layer.Layer
	if cfgErr == nil {
		layers = layer.Lowers(cfg)
	}
	if err := remove(ctx, c, opts, cfg, cfgErr); err != nil {
		return err
	}
	for _, l := range layers {
		// The record of a removed container does not count anyway; this
		// keeps users/ from growing.
		if err := l.Release(c.Dir); err != nil {
			opts.warn("%v", err)
		}
	}
	if isSnap {
		if err := store.RemoveSnapshot(origin, c.Ref()); err != nil {
			opts.warn("%s no longer depends on %s, but its record says so: %v", c.Name, origin, err)
		}
	}
	return nil
}

// remove removes c's files; cfg and err are what loading its config
// gave.
func remove(ctx context.Context, c *store.Container, opts *Options, cfg *lxcconf.Config, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist) && !errors.As(err, new(*lxcconf.IncludeError)):
		// The remains of an interrupted create or destroy have no config:
		// default.conf's map is what create used unless it was given -m.
		if cfg, err = lxcconf.LoadDefault(lxcconf.Options{}); err != nil {
			opts.warn("%v; using LXC's default id map", err)
			cfg = nil
		}
	case err != nil:
		// The maps are all we need from it; a broken config must not make
		// a container impossible to remove.
		opts.warn("%v; using the default id map", err) // the error names the file (and line)
		cfg = nil
	}
	if cfg != nil {
		if p, ok := cfg.Path("lxc.rootfs.path"); ok {
			// An overlay's own layer is its upper one; the lower ones
			// are the original's.
			if o, isOverlay, err := ocispec.ParseOverlay(p); isOverlay && err == nil {
				p = o.Upper
			}
			if !within(p, c.Dir) {
				opts.warn("rootfs %s is outside %s and is not removed", p, c.Dir)
			}
		}
	}
	plan, _, err := PlanMaps(opts.Maps, cfg)
	if err != nil {
		return err
	}
	if err := os.Remove(c.ConfigPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.RemoveAll(c.Dir); err == nil {
		return nil
	}
	return InNamespace(ctx, plan, c.Dir)
}

func within(path, dir string) bool {
	path = filepath.Clean(path)
	return path == dir || strings.HasPrefix(path, dir+"/")
}
