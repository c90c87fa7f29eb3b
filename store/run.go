package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// private checks that dir is a directory, not a symlink, that the user
// owns and nobody else may enter.
func private(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return &os.PathError{Op: "lstat", Path: dir, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Getuid() || st.Mode&0o077 != 0 {
		return fmt.Errorf("%s: not a private directory owned by uid %d", dir, os.Getuid())
	}
	return nil
}

// hash names the store in runtime directories, so that two stores may
// hold containers of the same name.
func (s *Store) hash() string {
	sum := sha256.Sum256([]byte(s.Path))
	return hex.EncodeToString(sum[:hashLen])
}

const hashLen = 6

func (c *Container) runtimeDirIn(base string) string {
	return filepath.Join(base, c.store.hash(), c.Name)
}

// RuntimeDir is where a running container keeps its control socket, pid
// and state, created: RuntimeBase/HASH/NAME, where HASH names the store so
// that two stores may hold containers of the same name.
func (c *Container) RuntimeDir() (string, error) {
	base, err := c.store.runtimeBase()
	if err != nil {
		return "", err
	}
	dir := c.runtimeDirIn(base)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("runtime dir: %w", err)
	}
	return dir, nil
}

// runtimeBase is RuntimeBase, once per store, its warning to s.Warn.
func (s *Store) runtimeBase() (string, error) {
	s.baseOnce.Do(func() {
		var warning string
		s.base, warning, s.baseErr = RuntimeBase()
		if warning != "" && s.Warn != nil {
			s.Warn(warning)
		}
	})
	return s.base, s.baseErr
}

// RuntimeBase returns the per-user runtime directory of ulxc, creating it:
// $XDG_RUNTIME_DIR/ulxc, or, when XDG_RUNTIME_DIR is unset, relative, or
// not a directory the user owns and may write, TMPDIR/ulxc-UID (doc.go,
// "The runtime directory"). warning says why a set XDG_RUNTIME_DIR was
// passed over.
func RuntimeBase() (dir, warning string, err error) {
	dir = filepath.Join(os.TempDir(), "ulxc-"+strconv.Itoa(os.Getuid()))
	if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" {
		xdir, err := xdgBase(x)
		if err == nil {
			return xdir, "", nil
		}
		warning = fmt.Sprintf("XDG_RUNTIME_DIR=%s: %v: using %s instead", x, err, dir)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", warning, fmt.Errorf("runtime dir: %w", err)
	}
	// /tmp is shared: another user may have planted the name first.
	if err := private(dir); err != nil {
		return "", warning, fmt.Errorf("runtime dir: %w (remove it, or set XDG_RUNTIME_DIR)", err)
	}
	return dir, warning, nil
}

// xdgBase returns x/ulxc, created, when x is an absolute directory of the
// user's that the user may write.
func xdgBase(x string) (string, error) {
	if !filepath.IsAbs(x) {
		return "", errors.New("not an absolute path")
	}
	var st unix.Stat_t
	if err := unix.Stat(x, &st); err != nil {
		return "", err
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return "", errors.New("not a directory")
	case int(st.Uid) != os.Getuid():
		return "", fmt.Errorf("owned by uid %d, not by you (uid %d)", st.Uid, os.Getuid())
	}
	if err := unix.Access(x, unix.W_OK|unix.X_OK); err != nil {
		return "", fmt.Errorf("not writable: %w", err)
	}
	dir := filepath.Join(x, "ulxc")
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	if err := private(dir); err != nil {
		return "", err
	}
	return dir, nil
}
