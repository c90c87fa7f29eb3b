package clone

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ulxc/ulxc/destroy"
	"github.com/ulxc/ulxc/layer"
	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/store"
	"github.com/ulxc/ulxc/userns"
)

// ErrUsage reports options that do not go together.
var ErrUsage = errors.New("invalid copy options")

// Mount is one -m bind=SRC:DEST[:ro] of lxc-copy.
type Mount struct {
	Source, Dest string // absolute; Dest inside the container
	ReadOnly     bool
}

// ParseMount parses lxc-copy's -m value: bind=SRC, bind=SRC:DEST,
// bind=SRC:ro|rw or bind=SRC:DEST:ro|rw (overlay= mounts are not
// supported).
func ParseMount(v string) (Mount, error) {
	kind, rest, ok := strings.Cut(v, "=")
	if !ok || kind != "bind" {
		return Mount{}, fmt.Errorf("%w: -m %q: want bind=SRC[:DEST][:ro]", ErrUsage, v)
	}
	parts := strings.Split(rest, ":")
	m := Mount{Source: parts[0], Dest: parts[0]}
	opt := ""
	switch len(parts) {
	case 1:
	case 2:
		if parts[1] == "ro" || parts[1] == "rw" {
			opt = parts[1]
		} else {
			m.Dest = parts[1]
		}
	case 3:
		m.Dest, opt = parts[1], parts[2]
	default:
		return Mount{}, fmt.Errorf("%w: -m %q: too many ':'", ErrUsage, v)
	}
	if opt != "" && opt != "ro" && opt != "rw" {
		return Mount{}, fmt.Errorf("%w: -m %q: option %q is neither ro nor rw", ErrUsage, v, opt)
	}
	m.ReadOnly = opt == "ro"
	if !filepath.IsAbs(m.Source) || !filepath.IsAbs(m.Dest) || strings.ContainsAny(m.Source+m.Dest, " \t\n\\") {
		return Mount{}, fmt.Errorf("%w: -m %q: paths must be absolute, without blanks or '\\'", ErrUsage, v)
	}
	m.Source, m.Dest = filepath.Clean(m.Source), filepath.Clean(m.Dest)
	return m, nil
}

// Options tune Copy.
type Options struct {
	// Backend of the copy; default Dir, or Overlay with Snapshot.
	Backend store.Backend
	// Snapshot makes an overlay snapshot (lxc-copy -s).
	Snapshot bool
	// KeepName keeps the original's host name (lxc-copy -K).
	KeepName bool
	// KeepMAC keeps the original's MAC addresses (lxc-copy -M).
	KeepMAC bool
	// Mounts are bind mounts added to the copy's config (lxc-copy -m).
	Mounts []Mount
	// Ephemeral marks the copy lxc.ephemeral = 1: removed when it stops.
	Ephemeral bool
	// Tmpfs: the snapshot's upper layer is a tmpfs that the runtime
	// makes at each start (start-ephemeral -s tmpfs), so nothing is
	// made on disk but the directory and the config, and no user
	// namespace is entered, unless AuthorizedKey asks for a file.
	Tmpfs bool
	// KeepID maps a user of the container to the caller's own ids: the
	// container's map is split around them, as podman's keep-id does
	// (start-ephemeral -u with -b). Default none.
	KeepID *User
	// AuthorizedKey is appended to ~/.ssh/authorized_keys of
	// AuthorizedKey.User inside the copy (start-ephemeral -S).
	AuthorizedKey *Key
	// Warn receives warnings (entries not copied); default: discard.
	Warn func(string)
	// AfterCopy, when set, runs on the finished copy while the caller
	// still holds its lock (the lxc.hook.clone hooks); its error fails the
	// copy, which is then removed.
	AfterCopy func(c *store.Container) error
}

func (o *Options) warn(format string, a ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, a...))
	}
}

// Source is what Copy reads of the original.
type Source struct {
	Container *store.Container
	Config    *lxcconf.Config
	// Dir is the original's plain root filesystem, or "" for an overlay.
	Dir string
	// Overlay is the original's overlay root, when it has one.
	Overlay ocispec.Overlay
}

// Open reads the original's config and where its root filesystem is.
func Open(c *store.Container) (*Source, error) {
	cfg, err := lxcconf.Load(c.ConfigPath(), lxcconf.Options{})
	if err != nil {
		return nil, err
	}
	src := &Source{Container: c, Config: cfg, Dir: c.RootfsPath()}
	if p, ok := cfg.Path("lxc.rootfs.path"); ok {
		o, isOverlay, err := ocispec.ParseOverlay(p)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s: lxc.rootfs.path: %w", c.ConfigPath(), err)
		case isOverlay:
			src.Dir, src.Overlay = "", o
		default:
			src.Dir = filepath.Clean(p)
		}
	}
	return src, nil
}

// layers are the original's root as the child reads it.
func (s *Source) layers() []string {
	if s.Dir != "" {
		return []string{s.Dir}
	}
	return append([]string{s.Overlay.Upper}, s.Overlay.Lower...)
}

// Copy makes the container name in dst, a copy of src (see the package
// documentation). The caller holds src's lock and has checked that it does
// not run, unless it allows that. On error nothing of the copy is left.
func Copy(ctx context.Context, src *Source, dst *store.Store, name string, opts Options) (c *store.Container, err error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	c, unlock, err := dst.New(name)
	if err != nil {
		return nil, fmt.Errorf("copy %s to %s: %w", src.Container.Name, name, err)
	}
	defer unlock()
	plan, _, err := destroy.PlanMaps(nil, src.Config)
	if err != nil {
		return nil, fmt.Errorf("copy %s: %w", src.Container.Name, err)
	}
	// The result c is nil by the time an error return runs this.
	made, dir := c, c.Dir
	defer func() {
		if err != nil {
			forgetOrigin(made)
			if rerr := os.RemoveAll(dir); rerr != nil {
				if rerr := destroy.InNamespace(context.WithoutCancel(ctx), plan, dir); rerr != nil {
					err = errors.Join(err, fmt.Errorf("remove %s: %w", dir, rerr))
				}
			}
		}
	}()
	if _, err := makeCopy(ctx, src, c, plan, &opts); err != nil {
		return nil, fmt.Errorf("copy %s to %s: %w", src.Container.Name, name, err)
	}
	if opts.AfterCopy != nil {
		if err := opts.AfterCopy(c); err != nil {
			return nil, fmt.Errorf("copy %s to %s: %w", src.Container.Name, name, err)
		}
	}
	return c, nil
}

// Into is Copy into the container c that the caller has just made with
// store.New and holds locked (start-ephemeral, which takes the run lock
// before the copy exists), and returns the copy's config as Load would
// read it. On error c's directory is removed.
func Into(ctx context.Context, src *Source, c *store.Container, opts Options) (cfg *lxcconf.Config, err error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	plan, _, err := destroy.PlanMaps(nil, src.Config)
	if err != nil {
		return nil, fmt.Errorf("copy %s: %w", src.Container.Name, err)
	}
	defer func() {
		if err != nil {
			forgetOrigin(c)
			if rerr := os.RemoveAll(c.Dir); rerr != nil {
				if rerr := destroy.InNamespace(context.WithoutCancel(ctx), plan, c.Dir); rerr != nil {
					err = errors.Join(err, fmt.Errorf("remove %s: %w", c.Dir, rerr))
				}
			}
		}
	}()
	if cfg, err = makeCopy(ctx, src, c, plan, &opts); err != nil {
		return nil, fmt.Errorf("copy %s to %s: %w", src.Container.Name, c.Name, err)
	}
	if opts.AfterCopy != nil {
		if err := opts.AfterCopy(c); err != nil {
			return nil, fmt.Errorf("copy %s to %s: %w", src.Container.Name, c.Name, err)
		}
	}
	return cfg, nil
}

// forgetOrigin takes the failed copy c out of the snapshot list of the
// original it was recorded in, if it was: a container made later under
// its name would otherwise count as a snapshot and block the original's
// destroy.
func forgetOrigin(c *store.Container) {
	if r, ok, err := c.Origin(); err == nil && ok {
		_ = store.RemoveSnapshot(r, c.Ref())
	}
}

func (o *Options) check() error {
	if o.Backend == "" {
		o.Backend = store.BackendDir
		if o.Snapshot {
			o.Backend = store.BackendOverlay
		}
	}
	if o.Snapshot && o.Backend != store.BackendOverlay {
		return fmt.Errorf("%w: a snapshot is an overlay: -s and -B %s conflict", ErrUsage, o.Backend)
	}
	if o.Backend == store.BackendOverlay {
		o.Snapshot = true
	}
	if o.Tmpfs && !o.Snapshot {
		return fmt.Errorf("%w: a tmpfs upper layer needs an overlay snapshot", ErrUsage)
	}
	return nil
}

func makeCopy(ctx context.Context, src *Source, c *store.Container, plan userns.Plan, opts *Options) (*lxcconf.Config, error) {
	j := job{Dir: c.Dir, Source: src.layers(), OldName: src.Container.Name}
	if !opts.KeepName {
		j.NewName = c.Name
	}
	rootfs := "dir:" + c.RootfsPath()
	var origin *store.Ref
	if opts.Snapshot {
		j.Op = opSnapshot
		if src.Dir != "" {
			j.Lower = []string{src.Dir}
			r := src.Container.Ref()
			origin = &r
		} else {
			// LXC's way: the same lower layers, a copy of the upper one.
			j.Lower, j.CopyUpper = src.Overlay.Lower, src.Overlay.Upper
			if r, ok, err := src.Container.Origin(); err == nil && ok {
				origin = &r
			}
		}
		rootfs = ocispec.Overlay{Lower: j.Lower, Upper: filepath.Join(c.Dir, upperName)}.String()
	} else {
		j.Op = opCopy
	}
	if k := opts.AuthorizedKey; k != nil {
		j.KeyUser, j.Key = k.User, k.Key
	}
	if u := opts.KeepID; u != nil {
		// Under keep-id the user's image files would belong to an id the
		// copy no longer maps: their home becomes the caller's, in the
		// upper layer, through the caller's own id in this namespace.
		uid, gid, ok := selfIDs(plan.Maps)
		if !ok {
			return nil, errors.New("keep-id: the user namespace does not map your own ids")
		}
		j.HomeOwner = &owner{User: u.Name, UID: uid, GID: gid}
	}
	r, err := reply{}, error(nil)
	if opts.Tmpfs && j.Key == "" && j.HomeOwner == nil {
		// Nothing to make in the user namespace: the runtime makes the
		// upper layer and writes /etc/hostname through it. An overlay
		// original is stacked, not copied: the copy lives for one run.
		if src.Dir == "" {
			j.Lower = src.layers()
			rootfs = ocispec.Overlay{Lower: j.Lower, Upper: filepath.Join(c.Dir, upperName)}.String()
		}
		err = os.Mkdir(c.RootfsPath(), 0o755)
	} else {
		r, err = runChild(ctx, plan, j)
	}
	if len(r.Skipped) > 0 {
		opts.warn("not copied (sockets and device nodes): %s", strings.Join(r.Skipped, ", "))
	}
	if len(r.Xattrs) > 0 {
		sort.Strings(r.Xattrs)
		opts.warn("extended attributes the user namespace may not set were not copied: %s", strings.Join(r.Xattrs, ", "))
	}
	if err != nil {
		return nil, err
	}
	if j.Op == opCopy {
		if err := os.Rename(filepath.Join(c.Dir, partialName), c.RootfsPath()); err != nil {
			return nil, fmt.Errorf("commit rootfs: %w", err)
		}
	}
	cfg, err := editConfig(src, c, rootfs, opts)
	if err != nil {
		return nil, err
	}
	// A copy over a shared layer (a snapshot, an ephemeral copy) keeps
	// it alive as its original does; the copy holds its lock and has no
	// config yet, which counts as a use until the config names the layer.
	if opts.Snapshot {
		for _, lower := range strings.Split(strings.TrimPrefix(rootfs, "overlay:"), ":") {
			if l, ok := layer.Of(lower); ok {
				if err := l.Use(ctx, c.Dir); err != nil {
					return nil, fmt.Errorf("record the use of the shared layer: %w", err)
				}
			}
		}
	}
	if origin != nil {
		if err := c.SetOrigin(*origin); err != nil {
			return nil, fmt.Errorf("record the origin: %w", err)
		}
		if err := store.AddSnapshot(*origin, c.Ref()); err != nil {
			return nil, fmt.Errorf("record the snapshot in %s: %w", origin, err)
		}
	}
	// An ephemeral copy's config is not synced: the copy is marked
	// ephemeral (store.EphemeralFile) before it is made, so after a crash
	// it is no container, whatever its config holds.
	upper, _ := c.Ephemeral()
	written, err := cfg.Write(c.ConfigPath(), upper == "")
	if err != nil {
		if origin != nil {
			_ = store.RemoveSnapshot(*origin, c.Ref())
		}
		return nil, err
	}
	return written, nil
}

// editConfig is the original's top config file as the copy's (see the
// package documentation, step 4).
func editConfig(src *Source, c *store.Container, rootfs string, opts *Options) (*lxcconf.Config, error) {
	cfg := src.Config.Clone()
	oldDir, newDir := src.Container.Dir, c.Dir
	for i, e := range cfg.Entries {
		switch {
		case e.Key == "" || e.Key == "lxc.rootfs.path":
		case strings.HasPrefix(e.Key, "lxc.net.") && strings.HasSuffix(e.Key, ".hwaddr") && !opts.KeepMAC:
			cfg.SetAt(i, randomMAC())
		case strings.Contains(e.Value, oldDir):
			cfg.SetAt(i, replacePathPrefix(e.Value, oldDir, newDir))
		}
	}
	// Read before the edits below: a read after an edit rebuilds the
	// config's effective view (lxcconf's Config.sync), which the edits,
	// each of another key, do not need.
	withXattr, withoutXattr := withOption(cfg, "userxattr"), withoutOption(cfg, "userxattr")
	cfg.Set("lxc.rootfs.path", rootfs)
	if opts.Snapshot {
		// LXC mounts an overlay in a user namespace only when told.
		cfg.Set("lxc.rootfs.options", withXattr)
	} else if v := withoutXattr; v == "" {
		// A full copy of an overlay is a plain directory, which the
		// option does not apply to (ocispec refuses it there).
		cfg.Unset("lxc.rootfs.options")
	} else {
		cfg.Set("lxc.rootfs.options", v)
	}
	if !opts.KeepName {
		cfg.Set("lxc.uts.name", c.Name)
	}
	if opts.KeepID != nil {
		maps, err := keepID(src.Config, *opts.KeepID)
		if err != nil {
			return nil, err
		}
		cfg.Unset("lxc.idmap")
		for _, m := range maps {
			cfg.Add("lxc.idmap", userns.FormatLXC(m))
		}
	}
	if opts.Ephemeral {
		cfg.Set("lxc.ephemeral", "1")
	}
	for _, m := range opts.Mounts {
		fi, err := os.Stat(m.Source)
		if err != nil {
			return nil, fmt.Errorf("-m bind=%s: %w", m.Source, err)
		}
		create, rw := "create=dir", "rw"
		if !fi.IsDir() {
			create = "create=file"
		}
		if m.ReadOnly {
			rw = "ro"
		}
		cfg.Add("lxc.mount.entry", fmt.Sprintf("%s %s none bind,%s,%s 0 0", m.Source, strings.TrimPrefix(m.Dest, "/"), rw, create))
	}
	return cfg, nil
}

// selfIDs are the namespace ids of the caller's own uid and gid in maps.
func selfIDs(maps []userns.Map) (uid, gid uint32, ok bool) {
	found := 0
	for _, m := range maps {
		own := uint32(os.Getuid())
		if m.Kind == userns.GID {
			own = uint32(os.Getgid())
		}
		if m.HostID <= own && uint64(own) < uint64(m.HostID)+uint64(m.Size) {
			id := m.ContainerID + (own - m.HostID)
			if m.Kind == userns.UID {
				uid = id
			} else {
				gid = id
			}
			found++
		}
	}
	return uid, gid, found == 2
}

// withOption is lxc.rootfs.options with opt added once.
func withOption(cfg *lxcconf.Config, opt string) string {
	if v := withoutOption(cfg, opt); v != "" {
		return v + "," + opt
	}
	return opt
}

// withoutOption is lxc.rootfs.options without opt.
func withoutOption(cfg *lxcconf.Config, opt string) string {
	v, _ := cfg.Get("lxc.rootfs.options")
	var out []string
	for _, o := range strings.Split(v, ",") {
		if o = strings.TrimSpace(o); o != "" && o != opt {
			out = append(out, o)
		}
	}
	return strings.Join(out, ",")
}

// replacePathPrefix replaces oldDir where it stands as a whole path or a
// path's prefix in value (LXC's update of lxcpath/name in a clone's
// config).
func replacePathPrefix(value, oldDir, newDir string) string {
	var b strings.Builder
	for {
		i := strings.Index(value, oldDir)
		if i < 0 {
			b.WriteString(value)
			return b.String()
		}
		end := i + len(oldDir)
		whole := (i == 0 || strings.ContainsRune(" \t:=,", rune(value[i-1]))) &&
			(end == len(value) || strings.ContainsRune("/ \t:,", rune(value[end])))
		b.WriteString(value[:i])
		if whole {
			b.WriteString(newDir)
		} else {
			b.WriteString(oldDir)
		}
		value = value[end:]
	}
}

// randomMAC is LXC's choice for a clone: 00:16:3e and three random bytes.
func randomMAC() string {
	var b [3]byte
	rand.Read(b[:]) // never fails (it would crash the program)
	return fmt.Sprintf("00:16:3e:%02x:%02x:%02x", b[0], b[1], b[2])
}
