package publish

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrExist means a file or build directory that is never replaced already
// exists.
var ErrExist = errors.New("already exists")

// WriteFile writes data to name atomically: a temporary file beside it,
// fsynced, renamed over name.
func WriteFile(name string, data []byte, perm fs.FileMode) error {
	return writeFile(name, data, perm, false)
}

// CreateFile is WriteFile that never replaces an existing name: it fails
// with ErrExist instead, leaving nothing behind.
func CreateFile(name string, data []byte, perm fs.FileMode) error {
	return writeFile(name, data, perm, true)
}

func writeFile(name string, data []byte, perm fs.FileMode, exclusive bool) (err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// CreateTemp makes 0600; chmod says what the caller asked for,
	// whatever the umask.
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if !exclusive {
		return os.Rename(f.Name(), name)
	}
	if err := unix.Renameat2(unix.AT_FDCWD, f.Name(), unix.AT_FDCWD, name, unix.RENAME_NOREPLACE); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("%s: %w", name, ErrExist)
		}
		return &os.LinkError{Op: "rename", Old: f.Name(), New: name, Err: err}
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
