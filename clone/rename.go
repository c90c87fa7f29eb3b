package clone

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulxc/ulxc/destroy"
	"github.com/ulxc/ulxc/layer"
	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/store"
	"golang.org/x/sys/unix"
)

// Rename renames the stopped container c to name in its store: its
// directory (never over an existing one), and in the config every path
// into the directory, lxc.uts.name and the log file's name; /etc/hostname
// and /etc/hosts get the new name as in a copy. The caller holds c's lock
// and has checked that it does not run. A container that snapshots
// depend on is refused (ErrHasSnapshots): their configs name its root.
func Rename(ctx context.Context, s *store.Store, c *store.Container, name string) (*store.Container, error) {
	fail := func(err error) (*store.Container, error) {
		return nil, fmt.Errorf("rename %s to %s: %w", c.Name, name, err)
	}
	if err := store.ValidateName(name); err != nil {
		return fail(err)
	}
	snaps, err := c.Snapshots()
	if err != nil {
		return fail(err)
	}
	if len(snaps) > 0 {
		return fail(fmt.Errorf("%w: %s", store.ErrHasSnapshots, refNames(snaps)))
	}
	src, err := Open(c)
	if err != nil {
		return fail(err)
	}
	plan, _, err := destroy.PlanMaps(nil, src.Config)
	if err != nil {
		return fail(err)
	}
	orig, isSnap, err := c.Origin()
	if err != nil {
		return fail(err)
	}
	newDir := filepath.Join(filepath.Dir(c.Dir), name)
	// The record of the new directory is made first: the old one counts
	// until the rename, the new one from then on, so that no prune in
	// between takes the layer for unused.
	layers := layer.Lowers(src.Config)
	for _, l := range layers {
		if err := l.Use(ctx, newDir); err != nil {
			return fail(fmt.Errorf("record the use of the shared layer: %w", err))
		}
	}
	if err := unix.Renameat2(unix.AT_FDCWD, c.Dir, unix.AT_FDCWD, newDir, unix.RENAME_NOREPLACE); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fail(fmt.Errorf("%s: %w", name, store.ErrExist))
		}
		for _, l := range layers {
			_ = l.Release(newDir)
		}
		return fail(err)
	}
	for _, l := range layers {
		_ = l.Release(c.Dir)
	}
	// From here the directory has its new name; a failure leaves a
	// container that works but may still say the old name inside.
	_ = os.Remove(filepath.Join(newDir, ".ulxc.run")) // names the old runtime directory
	if err := os.Rename(filepath.Join(newDir, c.Name+".log"), filepath.Join(newDir, name+".log")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fail(err)
	}
	cfg, err := lxcconf.Load(filepath.Join(newDir, "config"), lxcconf.Options{})
	if err != nil {
		return fail(err)
	}
	oldLog := filepath.Join(c.Dir, c.Name+".log")
	for i, e := range cfg.Entries {
		if e.Key != "" && strings.Contains(e.Value, c.Dir) {
			v := strings.ReplaceAll(e.Value, oldLog, filepath.Join(newDir, name+".log"))
			cfg.SetAt(i, replacePathPrefix(v, c.Dir, newDir))
		}
	}
	if v, ok := cfg.Get("lxc.uts.name"); !ok || v == c.Name {
		cfg.Set("lxc.uts.name", name)
	}
	var b bytes.Buffer
	if _, err := cfg.WriteTo(&b); err != nil {
		return fail(err)
	}
	if err := lxcconf.WriteFile(filepath.Join(newDir, "config"), b.Bytes()); err != nil {
		return fail(err)
	}
	j := job{Op: opIdentity, Dir: newDir, OldName: c.Name, NewName: name}
	if src.Dir != "" {
		j.Rootfs = []string{replacePathPrefix(src.Dir, c.Dir, newDir)}
	} else {
		j.Rootfs, j.Upper = src.Overlay.Lower, replacePathPrefix(src.Overlay.Upper, c.Dir, newDir)
	}
	if _, err := runChild(ctx, plan, j); err != nil {
		return fail(fmt.Errorf("name inside the rootfs: %w", err))
	}
	if isSnap {
		_ = store.RemoveSnapshot(orig, c.Ref())
		if err := store.AddSnapshot(orig, store.Ref{Path: s.Path, Name: name}); err != nil {
			return fail(fmt.Errorf("record the snapshot in %s: %w", orig, err))
		}
	}
	renamed, err := s.Get(name)
	if err != nil {
		return fail(err)
	}
	return renamed, nil
}

func refNames(refs []store.Ref) string {
	var names []string
	for _, r := range refs {
		names = append(names, r.String())
	}
	return strings.Join(names, ", ")
}
