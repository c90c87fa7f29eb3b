package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ulxc/ulxc/destroy"
	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/store"
	"github.com/ulxc/ulxc/userns"
)

// TemplateFiles are the files a packed rootfs is searched for the
// LXC_NAME placeholder in, as distrobuilder's hostname and hosts
// generators write them.
var TemplateFiles = []string{"/etc/hostname", "/etc/hosts"}

// Dir is a rootfs read by this process as it is: for root, who can read
// any tree, and for tests.
type Dir struct {
	Path    string
	Options image.PackOptions
}

// Pack implements Source.
func (d Dir) Pack(ctx context.Context, w *os.File) (image.PackReport, error) {
	defer w.Close()
	return image.Pack(ctx, w, d.Path, d.Options)
}

// Namespaced is a rootfs read by a child in a new user namespace with
// Plan's maps (see ChildMain): files of subordinate ids can only be read
// there, and there their owners are the ids the container sees. Options'
// Owner does not cross into the child, whose kernel maps the owners, and
// its Warn is called with the child's warnings when it is done.
type Namespaced struct {
	Plan    userns.Plan
	Path    string
	Options image.PackOptions
	// Layers, when set, are an overlay root's layers, top first (its
	// upper layer, then its lower ones): the child mounts them read-only
	// on Path, in a mount namespace of its own, and packs what the
	// container sees.
	Layers []string
}

// ContainerSource returns the Source of the stopped container c's rootfs
// for Pack, and its config for DistributionConfig. The caller holds c's
// lock and has checked that c does not run. The rootfs is read inside a
// user namespace with the container's id map (root reads it directly and
// maps owners back itself); the device nodes its create recorded are
// added; its name is put back to LXC_NAME in TemplateFiles.
func ContainerSource(c *store.Container, warn func(string)) (Source, string, error) {
	text, err := os.ReadFile(c.ConfigPath())
	if err != nil {
		return nil, "", fmt.Errorf("container %s: %w", c.Name, err)
	}
	cfg, err := lxcconf.Load(c.ConfigPath(), lxcconf.Options{})
	if err != nil {
		return nil, "", fmt.Errorf("container %s: %w", c.Name, err)
	}
	rootfs := c.RootfsPath()
	var layers []string
	if p, ok := cfg.Path("lxc.rootfs.path"); ok {
		o, isOverlay, err := ocispec.ParseOverlay(p)
		switch {
		case err != nil:
			return nil, "", fmt.Errorf("container %s: lxc.rootfs.path: %w", c.Name, err)
		case isOverlay:
			// A snapshot, or a container over a shared layer: what it
			// sees is the overlay, read where it is mounted.
			layers = append([]string{o.Upper}, o.Lower...)
		default:
			rootfs = p
		}
	}
	devs, err := store.ReadDevices(c.Dir)
	if err != nil {
		return nil, "", fmt.Errorf("container %s: %w", c.Name, err)
	}
	opts := image.PackOptions{Devices: devs, Name: c.Name, Templates: TemplateFiles, Warn: warn}
	plan, maps, err := destroy.PlanMaps(nil, cfg)
	if err != nil {
		return nil, "", fmt.Errorf("container %s: %w", c.Name, err)
	}
	if os.Geteuid() == 0 && len(layers) == 0 {
		opts.Owner = OwnerFromMaps(maps)
		return Dir{Path: rootfs, Options: opts}, string(text), nil
	}
	if plan.Warning != "" && warn != nil {
		warn(plan.Warning)
	}
	return Namespaced{Plan: plan, Path: rootfs, Options: opts, Layers: layers}, string(text), nil
}

// DirSource returns the Source of the rootfs directory path. Root reads
// it as it is. Anyone else reads it inside a user namespace with maps
// (default: the caller as 0 and its subordinate ids from 1 upward, the
// map of `ulxc usernsexec` and `podman unshare` that such a tree is built
// in), so that files of subordinate ids can be read and owners are the
// ids the tree's builder saw.
func DirSource(path string, maps []userns.Map, warn func(string)) (Source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(abs); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", path)
	}
	opts := image.PackOptions{Templates: TemplateFiles, Warn: warn}
	if os.Geteuid() == 0 && len(maps) == 0 {
		return Dir{Path: abs, Options: opts}, nil
	}
	plan, err := userns.NewPlan(userns.PlanOptions{Explicit: maps, Purpose: userns.ForExec})
	if err != nil {
		return nil, err
	}
	if plan.Warning != "" && warn != nil {
		warn(plan.Warning)
	}
	return Namespaced{Plan: plan, Path: abs, Options: opts}, nil
}

// ErrUnmappedOwner means a file of a container's rootfs belongs to an id
// outside the container's map: the container cannot see its owner, and an
// image cannot say it.
var ErrUnmappedOwner = errors.New("owner outside the container's id map")

// OwnerFromMaps maps host owners to the ids the container with maps sees.
func OwnerFromMaps(maps []userns.Map) func(uid, gid uint32) (int, int, error) {
	find := func(k userns.Kind, id uint32) (int, bool) {
		for _, m := range maps {
			if m.Kind == k && id >= m.HostID && uint64(id) < uint64(m.HostID)+uint64(m.Size) {
				return int(m.ContainerID + (id - m.HostID)), true
			}
		}
		return 0, false
	}
	return func(uid, gid uint32) (int, int, error) {
		u, ok := find(userns.UID, uid)
		if !ok {
			return 0, 0, fmt.Errorf("uid %d: %w", uid, ErrUnmappedOwner)
		}
		g, ok := find(userns.GID, gid)
		if !ok {
			return 0, 0, fmt.Errorf("gid %d: %w", gid, ErrUnmappedOwner)
		}
		return u, g, nil
	}
}
