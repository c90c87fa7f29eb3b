package store

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// The files LXC keeps about overlay snapshots, in its own format (pairs of
// lines: the store path, then the name), so that LXC and ulxc see the same
// dependencies.
const (
	// SnapshotsFile, in an original's directory, lists the containers
	// whose root filesystem is an overlay over its own.
	SnapshotsFile = "lxc_snapshots"
	// OriginFile, in a snapshot's directory, names the original.
	OriginFile = "lxc_rdepends"
)

// ErrHasSnapshots reports a container that snapshots depend on.
var ErrHasSnapshots = errors.New("container has snapshots")

// Ref names a container of a store, possibly another store's.
type Ref struct {
	Path string // the store (lxcpath)
	Name string
}

func (r Ref) String() string { return filepath.Join(r.Path, r.Name) }

// Ref is c's own reference.
func (c *Container) Ref() Ref { return Ref{Path: c.store.Path, Name: c.Name} }

// Snapshots returns the containers recorded as snapshots of c whose
// config still exists, and that are not the remains of an ephemeral
// container (EphemeralFile); records of containers that are gone are
// left out.
func (c *Container) Snapshots() ([]Ref, error) {
	refs, err := readRefs(filepath.Join(c.Dir, SnapshotsFile))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	var live []Ref
	for _, r := range refs {
		dep := &Container{Name: r.Name, Dir: filepath.Join(r.Path, r.Name)}
		if _, err := os.Lstat(dep.ConfigPath()); err == nil && !dep.staleEphemeral() {
			live = append(live, r)
		}
	}
	return live, nil
}

// Origin returns the container c is a snapshot of, if it is one.
func (c *Container) Origin() (Ref, bool, error) {
	refs, err := readRefs(filepath.Join(c.Dir, OriginFile))
	if err != nil || len(refs) == 0 {
		return Ref{}, false, err
	}
	return refs[0], true, nil
}

// SetOrigin records that c is a snapshot of orig.
func (c *Container) SetOrigin(orig Ref) error {
	return writeRefs(filepath.Join(c.Dir, OriginFile), []Ref{orig})
}

// AddSnapshot records in the directory of orig (a container of any store)
// that snap depends on it.
func AddSnapshot(orig, snap Ref) error {
	dir := filepath.Join(orig.Path, orig.Name)
	unlock, err := lockRefs(dir)
	if err != nil {
		return err
	}
	defer unlock()
	file := filepath.Join(dir, SnapshotsFile)
	refs, err := readRefs(file)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if r == snap {
			return nil
		}
	}
	return writeRefs(file, append(refs, snap))
}

// RemoveSnapshot drops snap from the snapshots of orig; a missing record
// (or original) is no error.
func RemoveSnapshot(orig, snap Ref) error {
	dir := filepath.Join(orig.Path, orig.Name)
	unlock, err := lockRefs(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unlock()
	file := filepath.Join(dir, SnapshotsFile)
	refs, err := readRefs(file)
	if err != nil {
		return err
	}
	out := refs[:0]
	for _, r := range refs {
		if r != snap {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return writeRefs(file, out)
}

// snapshotsLock, in an original's directory, serializes the edits of its
// SnapshotsFile. Copies being made add to it holding the original's lock,
// but copies being removed (destroy, the end of an ephemeral run) hold
// only their own, so a removal and an addition could both read the file
// and one write lose the other's change: a copy that ran on the
// original's root without a record, and the original's destroy allowed.
// (The original's lock itself would order badly against destroy -s,
// which holds it while it takes each snapshot's.) The lock is held for
// nothing but the read, change and write of the records.
const snapshotsLock = ".ulxc.snapshots.lock"

// lockRefs takes the exclusive lock of the snapshot records of the
// container directory dir; the returned function releases it.
func lockRefs(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, snapshotsLock), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the snapshot records: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the snapshot records %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}

// readRefs reads LXC's pairs of lines; a missing file is no reference.
func readRefs(file string) ([]Ref, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines)%2 != 0 {
		return nil, fmt.Errorf("%s: want pairs of lines (store, name), got %d lines", file, len(lines))
	}
	var refs []Ref
	for i := 0; i < len(lines); i += 2 {
		r := Ref{Path: lines[i], Name: lines[i+1]}
		if !filepath.IsAbs(r.Path) || ValidateName(r.Name) != nil {
			return nil, fmt.Errorf("%s:%d: %q %q is no container", file, i+1, r.Path, r.Name)
		}
		refs = append(refs, r)
	}
	return refs, nil
}

// writeRefs replaces file atomically.
func writeRefs(file string, refs []Ref) error {
	var b bytes.Buffer
	for _, r := range refs {
		if strings.ContainsAny(r.Path, "\n\x00") {
			return fmt.Errorf("%s: store path %q", file, r.Path)
		}
		fmt.Fprintf(&b, "%s\n%s\n", r.Path, r.Name)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".ulxc-refs-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}
