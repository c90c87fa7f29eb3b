package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// EphemeralFile marks an ephemeral container (start-ephemeral, copy -e)
// while it exists. It is written before the config, under the run lock of
// the ulxc that makes the container, and its content is how the upper
// layer is held: "tmpfs" or "dir".
//
// An ephemeral container exists only while a supervisor holds its run
// lock: one whose lock is free (its ulxc or monitor was killed before it
// could remove it) is no container. List leaves it out, and Abandoned
// hands it over for removal like the remains of an interrupted create,
// so a later run with the same name reclaims it.
const EphemeralFile = ".ulxc.ephemeral"

// Upper layers of an ephemeral container.
const (
	EphemeralTmpfs = "tmpfs"
	EphemeralDir   = "dir"
)

// MarkEphemeral records c as ephemeral with its upper layer kind.
func (c *Container) MarkEphemeral(upper string) error {
	if upper != EphemeralTmpfs && upper != EphemeralDir {
		return fmt.Errorf("%s: ephemeral upper layer %q", c.Name, upper)
	}
	return os.WriteFile(filepath.Join(c.Dir, EphemeralFile), []byte(upper+"\n"), 0o600)
}

// Ephemeral returns how c's upper layer is held if c is ephemeral ("" if
// it is not).
func (c *Container) Ephemeral() (string, error) {
	b, err := os.ReadFile(filepath.Join(c.Dir, EphemeralFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", c.Name, err)
	}
	// The mark is written unsynced, and so is the copy's config: after
	// a crash the file may exist but be empty, and it still marks the
	// copy. Its upper layer is then unknown; only removal needs the
	// answer, and it removes a directory either way.
	if upper := strings.TrimSpace(string(b)); upper != "" {
		return upper, nil
	}
	return EphemeralDir, nil
}

// UnmarkEphemeral makes c a container that stays (start-ephemeral -k).
func (c *Container) UnmarkEphemeral() error {
	if err := os.Remove(filepath.Join(c.Dir, EphemeralFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// staleEphemeral reports whether c is an ephemeral container that no
// supervisor holds.
func (c *Container) staleEphemeral() bool {
	if _, err := os.Lstat(filepath.Join(c.Dir, EphemeralFile)); err != nil {
		return false
	}
	f, err := os.OpenFile(filepath.Join(c.Dir, runFile), os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return true // never started, and its maker is gone: it took the lock first
	}
	defer f.Close()
	held, err := isLocked(f)
	return err == nil && !held
}
