// Package fileio holds the few file operations that ulxc's caches and
// container directories share: a write that is all or nothing, a read
// with a bound, a sync of a file or directory.
package fileio

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteAtomic writes data to name with mode perm through a temporary file
// in the same directory, synced, then renamed over name: a reader sees the
// old content or all of the new, and a crash leaves at most a temporary
// ".NAME.tmp*" file beside it, never a partial name. On error the
// temporary file is removed.
func WriteAtomic(name string, data []byte, perm os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// ReadLimited reads name whole, refusing a file larger than limit bytes
// before reading it.
func ReadLimited(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	buf := make([]byte, fi.Size())
	_, err = f.ReadAt(buf, 0)
	return buf, err
}

// Sync flushes name, a file or a directory (the entries renamed into it),
// to disk.
func Sync(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
