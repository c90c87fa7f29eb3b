package layer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/internal/fileio"
	"github.com/ulxc/ulxc/userns"
)

// Names in the cache.
const (
	lockName    = ".lock"
	currentName = "current"
	layerPrefix = "layer."
	partialPfx  = ".partial-"
	usersName   = "users"
	keyName     = "key.json"
	// InfoName is the record of a committed layer, in its directory.
	InfoName = "layer.json"
	// RootfsName is the lower layer itself, in the layer's directory.
	RootfsName = "rootfs"
	maxInfo    = 1 << 20
)

// ErrInUse reports a layer that containers use, which is kept.
var ErrInUse = errors.New("layer in use")

// Info is what a layer is made from.
type Info struct {
	// Origin names what the layer is a build of, without the build: a
	// newer layer of the same Origin and Maps supersedes it.
	Origin string `json:"origin"`
	// Source is the exact build (an image's digest, a binary's).
	Source string `json:"source"`
	// Maps is the id map its files were made with.
	Maps []userns.Map `json:"-"`
	// MapsLXC is Maps as lxc.idmap values, as recorded.
	MapsLXC []string `json:"maps"`
	// Data is the builder's own record (what the unpack reported).
	Data json.RawMessage `json:"data,omitempty"`
	// Made is when the layer was committed.
	Made time.Time `json:"made"`
}

// key names the cache directory of i's layers.
func (i *Info) key() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", i.Source)
	for _, m := range i.Maps {
		fmt.Fprintf(h, "%s\x00", userns.FormatLXC(m))
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Cache is a directory of layers.
type Cache struct {
	// Dir holds the layers; default DefaultDir().
	Dir string
	// Remove empties and removes dir, whose files belong to the ids of
	// maps (a layer, or the remains of a killed create): package destroy's
	// InNamespace with those maps. Required to remove anything.
	Remove func(ctx context.Context, dir string, maps []userns.Map) error
}

// DefaultDir returns ${XDG_CACHE_HOME:-~/.cache}/ulxc/layers.
func DefaultDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("layer cache: %w", err)
	}
	return filepath.Join(d, "ulxc", "layers"), nil
}

func (c *Cache) dir() (string, error) {
	if c.Dir != "" {
		return c.Dir, nil
	}
	return DefaultDir()
}

// Layer is a committed layer.
type Layer struct {
	// Dir is the layer's directory; Rootfs the lower layer in it.
	Dir, Rootfs string
	Info        Info
}

// Entry is the locked cache directory of one key: what Open returns.
type Entry struct {
	c    *Cache
	dir  string
	info Info
	lock *os.File
}

// Open takes the lock of info's key, waiting for another process that
// holds it until ctx is done, and removes what a killed create left
// (partial layers).
func (c *Cache) Open(ctx context.Context, info Info) (*Entry, error) {
	root, err := c.dir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, info.key())
	lock, err := lockDir(ctx, dir, true)
	if err != nil {
		return nil, err
	}
	e := &Entry{c: c, dir: dir, info: info, lock: lock}
	if err := e.writeKey(); err != nil {
		e.Close()
		return nil, err
	}
	if err := e.removePartials(ctx); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// lockDir makes dir (with mkdir) and takes its lock, waiting until ctx is
// done, or failing at once unless wait.
func lockDir(ctx context.Context, dir string, mkdir bool) (*os.File, error) {
	if mkdir {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("layer cache: %w", err)
		}
	}
	f, err := fileio.Lock(ctx, filepath.Join(dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("layer cache: %w", err)
	}
	return f, nil
}

// Close releases the lock.
func (e *Entry) Close() { e.lock.Close() }

// Current returns the layer new containers of the key get, or nil.
func (e *Entry) Current() *Layer {
	target, err := os.Readlink(filepath.Join(e.dir, currentName))
	if err != nil || !strings.HasPrefix(target, layerPrefix) || strings.Contains(target, "/") {
		return nil
	}
	l, err := load(filepath.Join(e.dir, target))
	if err != nil {
		return nil
	}
	return l
}

// load reads the committed layer in dir.
func load(dir string) (*Layer, error) {
	info, err := readInfo(filepath.Join(dir, InfoName))
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(filepath.Join(dir, RootfsName))
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", filepath.Join(dir, RootfsName))
	}
	return &Layer{Dir: dir, Rootfs: filepath.Join(dir, RootfsName), Info: *info}, nil
}

// readInfo reads an Info recorded in name.
func readInfo(name string) (*Info, error) {
	data, err := fileio.ReadLimited(name, maxInfo)
	if err != nil {
		return nil, err
	}
	var info Info
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, v := range info.MapsLXC {
		ms, err := userns.ParseLXC(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		info.Maps = append(info.Maps, ms...)
	}
	return &info, nil
}

// Stage makes the directory a new layer is built in: the builder makes
// RootfsName in it, then calls Commit.
func (e *Entry) Stage() (string, error) {
	d, err := os.MkdirTemp(e.dir, partialPfx)
	if err != nil {
		return "", fmt.Errorf("layer cache: %w", err)
	}
	return d, nil
}

// Discard removes a staged layer that could not be made.
func (e *Entry) Discard(ctx context.Context, staged string) error {
	if filepath.Dir(staged) != e.dir || !strings.HasPrefix(filepath.Base(staged), partialPfx) {
		return fmt.Errorf("discard %s: not a staged layer of %s", staged, e.dir)
	}
	return e.remove(ctx, staged)
}

// Commit records the layer staged (with data, the builder's record),
// renames it into place and makes it current. Each rename is atomic: a
// crash leaves the old state or the new one. Layers of the key that no
// container uses any more are removed, and so are the layers of other
// keys that this one supersedes (same Origin and maps) when unused.
func (e *Entry) Commit(ctx context.Context, staged string, data any) (*Layer, error) {
	info := e.info
	info.MapsLXC = nil
	for _, m := range info.Maps {
		info.MapsLXC = append(info.MapsLXC, userns.FormatLXC(m))
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	info.Data, info.Made = raw, time.Now().UTC()
	b, err := json.MarshalIndent(&info, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := fileio.WriteAtomic(filepath.Join(staged, InfoName), append(b, '\n'), 0o444); err != nil {
		return nil, fmt.Errorf("commit layer: %w", err)
	}
	if err := fileio.Sync(staged); err != nil {
		return nil, fmt.Errorf("commit layer: %w", err)
	}
	final, err := os.MkdirTemp(e.dir, layerPrefix)
	if err != nil {
		return nil, fmt.Errorf("commit layer: %w", err)
	}
	// MkdirTemp reserved a unique name; rename(2) replaces the empty
	// directory atomically (os.Rename refuses to).
	if err := unix.Rename(staged, final); err != nil {
		os.Remove(final)
		return nil, fmt.Errorf("commit layer: %w", err)
	}
	if err := os.Chmod(final, 0o555); err != nil {
		return nil, fmt.Errorf("commit layer: %w", err)
	}
	link := filepath.Join(e.dir, ".current.new")
	os.Remove(link)
	if err := os.Symlink(filepath.Base(final), link); err != nil {
		return nil, fmt.Errorf("commit layer: %w", err)
	}
	if err := os.Rename(link, filepath.Join(e.dir, currentName)); err != nil {
		return nil, fmt.Errorf("commit layer: %w", err)
	}
	if err := fileio.Sync(e.dir); err != nil {
		return nil, fmt.Errorf("commit layer: %w", err)
	}
	l, err := load(final)
	if err != nil {
		return nil, fmt.Errorf("commit layer: %w", err)
	}
	// Old layers are garbage once unused: a failure to remove one is
	// retried by the next Commit or Prune.
	_, _ = e.prune(ctx, filepath.Base(final))
	_ = e.c.supersede(ctx, e.dir, &info)
	return l, nil
}

// Flush drops the current layer, so that the next create makes a new
// one, and removes every layer of the key that no container uses. The
// layers in use are kept for their containers; they are listed in the
// error, which wraps ErrInUse.
func (e *Entry) Flush(ctx context.Context) error {
	if err := os.Remove(filepath.Join(e.dir, currentName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("flush layer: %w", err)
	}
	kept, err := e.prune(ctx, "")
	if err != nil {
		return fmt.Errorf("flush layer: %w", err)
	}
	if len(kept) > 0 {
		return fmt.Errorf("%w: %s kept for %s", ErrInUse, strings.Join(kept, ", "), strings.Join(e.usersOf(kept), ", "))
	}
	return nil
}

// usersOf names the containers that use the layers dirs.
func (e *Entry) usersOf(dirs []string) []string {
	var names []string
	for _, d := range dirs {
		names = append(names, e.users(filepath.Join(d, RootfsName))...)
	}
	return names
}

// prune removes the layers of the key other than keep (and the current
// one, when keep is "") that no container uses; it returns those it kept
// because they are in use.
func (e *Entry) prune(ctx context.Context, keep string) (inUse []string, err error) {
	names, err := os.ReadDir(e.dir)
	if err != nil {
		return nil, err
	}
	current, _ := os.Readlink(filepath.Join(e.dir, currentName))
	for _, n := range names {
		name := n.Name()
		if !strings.HasPrefix(name, layerPrefix) || name == keep || (keep == "" && name == current) {
			continue
		}
		dir := filepath.Join(e.dir, name)
		if len(e.users(filepath.Join(dir, RootfsName))) > 0 {
			inUse = append(inUse, dir)
			continue
		}
		if err := e.remove(ctx, dir); err != nil {
			return inUse, err
		}
	}
	e.dropStaleUsers()
	return inUse, nil
}

// pruneUnused removes every layer of the key that no container uses,
// the current one too; a current layer in use stays current.
func (e *Entry) pruneUnused(ctx context.Context) error {
	// No layer is named this: none is spared for its name.
	if _, err := e.prune(ctx, "/"); err != nil {
		return err
	}
	if e.Current() == nil {
		if err := os.Remove(filepath.Join(e.dir, currentName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// remove removes the layer or partial layer dir.
func (e *Entry) remove(ctx context.Context, dir string) error {
	if err := os.Chmod(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	// What is the user's own goes without a namespace.
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	if e.c.Remove == nil {
		return fmt.Errorf("remove %s: no way to remove files of the container's ids", dir)
	}
	if err := e.c.Remove(ctx, dir, e.info.Maps); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// removePartials removes the layers that a killed create left half made:
// with the lock held, nobody is making one.
func (e *Entry) removePartials(ctx context.Context) error {
	names, err := os.ReadDir(e.dir)
	if err != nil {
		return fmt.Errorf("layer cache: %w", err)
	}
	for _, n := range names {
		if strings.HasPrefix(n.Name(), partialPfx) {
			if err := e.remove(ctx, filepath.Join(e.dir, n.Name())); err != nil {
				return fmt.Errorf("layer cache: remove the remains of an interrupted create: %w", err)
			}
		}
	}
	return nil
}

// supersede drops the layers of other keys with info's Origin and maps:
// their current link goes, and each is removed unless a container uses
// it. A key locked by another process is left for next time.
func (c *Cache) supersede(ctx context.Context, keep string, info *Info) error {
	root := filepath.Dir(keep)
	names, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	want := strings.Join(info.MapsLXC, "\n")
	for _, n := range names {
		dir := filepath.Join(root, n.Name())
		if dir == keep || !n.IsDir() {
			continue
		}
		e, err := c.tryOpen(dir)
		if err != nil {
			continue
		}
		if e.info.Origin == info.Origin && strings.Join(e.info.MapsLXC, "\n") == want {
			_ = e.Flush(ctx)
		}
		e.Close()
	}
	return nil
}

// tryOpen locks the key directory dir without waiting.
func (c *Cache) tryOpen(dir string) (*Entry, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	e := &Entry{c: c, dir: dir, lock: f}
	if err := e.readKey(); err != nil {
		f.Close()
		return nil, err
	}
	return e, nil
}

// writeKey records what the key is, maps included, so that a partial
// layer whose create was killed can be removed by any later process.
func (e *Entry) writeKey() error {
	if _, err := os.Lstat(filepath.Join(e.dir, keyName)); err == nil {
		return nil
	}
	info := e.info
	info.MapsLXC = nil
	for _, m := range info.Maps {
		info.MapsLXC = append(info.MapsLXC, userns.FormatLXC(m))
	}
	b, err := json.Marshal(&info)
	if err != nil {
		return err
	}
	if err := fileio.WriteAtomic(filepath.Join(e.dir, keyName), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("layer cache: %w", err)
	}
	return nil
}

// readKey reads what writeKey recorded.
func (e *Entry) readKey() error {
	info, err := readInfo(filepath.Join(e.dir, keyName))
	if err != nil {
		return err
	}
	e.info = *info
	return nil
}

// Prune removes every layer that no container uses (the current ones
// too: the next create makes them again) and the remains of killed
// creates, and returns the directories removed. Keys that another
// process holds are skipped.
func (c *Cache) Prune(ctx context.Context) (removed []string, err error) {
	root, err := c.dir()
	if err != nil {
		return nil, err
	}
	names, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("layer cache: %w", err)
	}
	for _, n := range names {
		dir := filepath.Join(root, n.Name())
		e, err := c.tryOpen(dir)
		if err != nil {
			continue
		}
		before := e.layerDirs()
		perr := e.removePartials(ctx)
		if perr == nil {
			perr = e.pruneUnused(ctx)
		}
		e.Close()
		for _, d := range before {
			if _, err := os.Lstat(d); errors.Is(err, fs.ErrNotExist) {
				removed = append(removed, d)
			}
		}
		if perr != nil && !errors.Is(perr, ErrInUse) {
			return removed, perr
		}
	}
	return removed, nil
}

func (e *Entry) layerDirs() []string {
	names, _ := os.ReadDir(e.dir)
	var dirs []string
	for _, n := range names {
		if strings.HasPrefix(n.Name(), layerPrefix) {
			dirs = append(dirs, filepath.Join(e.dir, n.Name()))
		}
	}
	return dirs
}
