package layer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/ocispec"
)

// Of returns the layer whose rootfs is lower (a lower layer of an
// overlay container's config), when lower is one: its directory holds a
// layer record and sits in a key directory.
func Of(lower string) (*Layer, bool) {
	lower = filepath.Clean(lower)
	if filepath.Base(lower) != RootfsName || !strings.HasPrefix(filepath.Base(filepath.Dir(lower)), layerPrefix) {
		return nil, false
	}
	l, err := load(filepath.Dir(lower))
	if err != nil {
		return nil, false
	}
	return l, true
}

// Lowers returns the layers among the lower layers of the container
// config cfg's rootfs.
func Lowers(cfg *lxcconf.Config) []*Layer {
	p, ok := cfg.Path("lxc.rootfs.path")
	if !ok {
		return nil
	}
	o, isOverlay, err := ocispec.ParseOverlay(p)
	if !isOverlay || err != nil {
		return nil
	}
	var ls []*Layer
	for _, lower := range o.Lower {
		if l, ok := Of(lower); ok {
			ls = append(ls, l)
		}
	}
	return ls
}

// userName is the record of the container directory dir in users/.
func userName(dir string) string {
	sum := sha256.Sum256([]byte(filepath.Clean(dir)))
	return hex.EncodeToString(sum[:16])
}

// Use records that the container in dir uses l, under the lock of l's
// key, and fails if l is gone (flushed and pruned since it was found).
// The caller holds the container's lock until its config names l (see
// the package documentation, Users).
func (l *Layer) Use(ctx context.Context, dir string) error {
	keyDir := filepath.Dir(l.Dir)
	lock, err := lockDir(ctx, keyDir, false)
	if err != nil {
		return err
	}
	defer lock.Close()
	if _, err := os.Lstat(filepath.Join(l.Rootfs)); err != nil {
		return fmt.Errorf("use layer %s: %w", l.Dir, err)
	}
	return use(keyDir, dir)
}

// Use records that the container in dir uses l, a layer of e's key,
// under e's lock (see Layer.Use).
func (e *Entry) Use(l *Layer, dir string) error {
	if filepath.Dir(l.Dir) != e.dir {
		return fmt.Errorf("use layer %s: not a layer of %s", l.Dir, e.dir)
	}
	return use(e.dir, dir)
}

// use records dir in keyDir/users; the caller holds the key's lock.
func use(keyDir, dir string) error {
	users := filepath.Join(keyDir, usersName)
	if err := os.Mkdir(users, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("use layer: %w", err)
	}
	name := filepath.Join(users, userName(dir))
	tmp := name + ".new"
	os.Remove(tmp)
	if err := os.Symlink(filepath.Clean(dir), tmp); err != nil {
		return fmt.Errorf("use layer: %w", err)
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("use layer: %w", err)
	}
	return nil
}

// Release drops the record that the container in dir uses l. A record
// that is already gone is no error.
func (l *Layer) Release(dir string) error {
	err := os.Remove(filepath.Join(filepath.Dir(l.Dir), usersName, userName(dir)))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("release layer %s: %w", l.Dir, err)
	}
	return nil
}

// Users returns the directories of the containers that use l, by the
// rule of the package documentation.
func (l *Layer) Users() []string {
	return usersOf(filepath.Dir(l.Dir), l.Rootfs)
}

// users returns the containers that use the layer whose rootfs is rootfs.
func (e *Entry) users(rootfs string) []string { return usersOf(e.dir, rootfs) }

func usersOf(keyDir, rootfs string) []string {
	names, _ := os.ReadDir(filepath.Join(keyDir, usersName))
	var dirs []string
	for _, n := range names {
		target, err := os.Readlink(filepath.Join(keyDir, usersName, n.Name()))
		if err != nil || !filepath.IsAbs(target) {
			continue
		}
		if u := uses(target); slices.Contains(u, rootfs) || slices.Contains(u, inProgress) {
			dirs = append(dirs, target)
		}
	}
	return dirs
}

// dropStaleUsers removes the records that count for no layer of the key.
func (e *Entry) dropStaleUsers() {
	users := filepath.Join(e.dir, usersName)
	names, _ := os.ReadDir(users)
	for _, n := range names {
		p := filepath.Join(users, n.Name())
		target, err := os.Readlink(p)
		if err != nil || !filepath.IsAbs(target) {
			os.Remove(p)
			continue
		}
		live := false
		for _, r := range uses(target) {
			if r == inProgress || filepath.Dir(filepath.Dir(r)) == e.dir {
				live = true
			}
		}
		if !live {
			os.Remove(p)
		}
	}
}

// inProgress is a rootfs no layer has: a container without config yet,
// whose create or copy holds its lock, counts as a user of every layer of
// the key that recorded it.
const inProgress = "\x00in progress"

// uses returns the lower layers that the container in dir uses now: those
// of its config's overlay rootfs; for a container being made (no config,
// its lock held), the layers of the key that recorded it, which cannot be
// told apart yet.
func uses(dir string) []string {
	cfgPath := filepath.Join(dir, "config")
	if _, err := os.Lstat(cfgPath); errors.Is(err, fs.ErrNotExist) {
		if locked(filepath.Join(dir, ".ulxc.lock")) {
			return []string{inProgress}
		}
		return nil
	}
	cfg, err := lxcconf.Load(cfgPath, lxcconf.Options{})
	if err != nil {
		// An unreadable config may still name the layer: keep it, a
		// layer removed under a container is the one loss that matters.
		return []string{inProgress}
	}
	var lowers []string
	for _, l := range Lowers(cfg) {
		lowers = append(lowers, l.Rootfs)
	}
	return lowers
}

// locked says whether another process holds the flock on name (store's
// container lock). It takes the lock for an instant when it is free.
func locked(name string) bool {
	f, err := os.OpenFile(name, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	return errors.Is(err, unix.EWOULDBLOCK)
}
