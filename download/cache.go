package download

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/internal/fileio"
)

// entry is one image directory of the cache, locked while in use.
type entry struct {
	dir  string
	lock *os.File
}

const (
	lockName    = ".lock"
	currentName = "current"
	stateName   = "state.json"
	buildPrefix = "build."
	partialPfx  = ".partial-"
	maxState    = 64 << 10
)

// state is what the cache records about a committed build.
type state struct {
	Build       string    `json:"build"`
	Validated   bool      `json:"validated"`
	Fingerprint string    `json:"fingerprint,omitempty"` // the key that validated it
	Expiry      time.Time `json:"expiry,omitzero"`       // from meta.tar.xz; zero: none
	Fetched     time.Time `json:"fetched"`
	Server      string    `json:"server"`
	// Rootfs is the digest of rootfs.tar.xz as it was verified: a kept
	// decompressed tar must come from exactly this file (see OpenTar).
	// Entries committed before it existed have none and keep no tar.
	Rootfs *fileDigest `json:"rootfs,omitempty"`
}

// DefaultCacheDir returns ${XDG_CACHE_HOME:-~/.cache}/ulxc/download.
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	return filepath.Join(d, "ulxc", "download"), nil
}

// openEntry creates the image directory and takes its lock, waiting for
// another process or goroutine that holds it until ctx is done.
func openEntry(ctx context.Context, cacheDir string, r Request) (*entry, error) {
	dir := filepath.Join(cacheDir, r.Dist, r.Release, r.Arch, r.Variant)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	f, err := fileio.Lock(ctx, filepath.Join(dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return &entry{dir: dir, lock: f}, nil
}

// close releases the lock.
func (e *entry) close() { e.lock.Close() }

// current returns the committed build directory and its state, or nil if
// nothing (readable) is committed.
func (e *entry) current() (string, *state) {
	target, err := os.Readlink(filepath.Join(e.dir, currentName))
	if err != nil || !strings.HasPrefix(target, buildPrefix) || strings.Contains(target, "/") {
		return "", nil
	}
	dir := filepath.Join(e.dir, target)
	data, err := fileio.ReadLimited(filepath.Join(dir, stateName), maxState)
	if err != nil {
		return "", nil
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil || !safeName(st.Build, true) {
		return "", nil
	}
	return dir, &st
}

// flush removes everything but the lock file.
func (e *entry) flush() error {
	names, err := os.ReadDir(e.dir)
	if err != nil {
		return fmt.Errorf("flush cache: %w", err)
	}
	// Drop the pointer first, so a crash mid-way leaves no entry at all.
	if err := os.Remove(filepath.Join(e.dir, currentName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("flush cache: %w", err)
	}
	for _, n := range names {
		if n.Name() == lockName || n.Name() == currentName {
			continue
		}
		if err := os.RemoveAll(filepath.Join(e.dir, n.Name())); err != nil {
			return fmt.Errorf("flush cache: %w", err)
		}
	}
	return fileio.Sync(e.dir)
}

// staging returns the staging directory for build, keeping the files of an
// earlier interrupted download of the same build so that they resume. The
// partial downloads of other builds are removed: they can never resume
// once the server offers this one, and keeping one partial per image bounds
// what a server can leave in the cache to one build's size limits.
func (e *entry) staging(build string) (string, error) {
	name := partialPfx + build
	names, err := os.ReadDir(e.dir)
	if err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	for _, n := range names {
		if strings.HasPrefix(n.Name(), partialPfx) && n.Name() != name {
			if err := os.RemoveAll(filepath.Join(e.dir, n.Name())); err != nil {
				return "", fmt.Errorf("cache: remove stale partial download: %w", err)
			}
		}
	}
	dir := filepath.Join(e.dir, name)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("cache: %w", err)
	}
	return dir, nil
}

// commit records st in the staged directory, makes it durable and points
// "current" at it. Each rename is atomic, so a crash leaves either the old
// or the new entry. It returns the committed directory.
func (e *entry) commit(staged string, st *state) (string, error) {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return "", err
	}
	if err := fileio.WriteAtomic(filepath.Join(staged, stateName), append(data, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	for _, n := range []string{"rootfs.tar.xz", "meta.tar.xz"} {
		if err := fileio.Sync(filepath.Join(staged, n)); err != nil {
			return "", fmt.Errorf("commit: %w", err)
		}
	}
	if err := fileio.Sync(staged); err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	final, err := os.MkdirTemp(e.dir, buildPrefix)
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	// MkdirTemp reserved a unique name; rename(2) replaces the empty
	// directory atomically (os.Rename refuses to).
	if err := unix.Rename(staged, final); err != nil {
		os.Remove(final)
		return "", fmt.Errorf("commit: %w", err)
	}
	link := filepath.Join(e.dir, ".current.new")
	os.Remove(link)
	if err := os.Symlink(filepath.Base(final), link); err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	if err := os.Rename(link, filepath.Join(e.dir, currentName)); err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	if err := fileio.Sync(e.dir); err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	e.prune(filepath.Base(final))
	return final, nil
}

// prune removes build directories other than keep and stale partial
// downloads. Errors are ignored: a leftover directory is garbage, never
// trusted, and retried next time.
func (e *entry) prune(keep string) {
	names, _ := os.ReadDir(e.dir)
	for _, n := range names {
		if (strings.HasPrefix(n.Name(), buildPrefix) || strings.HasPrefix(n.Name(), partialPfx)) && n.Name() != keep {
			os.RemoveAll(filepath.Join(e.dir, n.Name()))
		}
	}
}
