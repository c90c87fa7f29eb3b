// Package fileio holds the few file operations that ulxc's caches and
// container directories share: a write that is all or nothing, a read
// with a bound, a sync of a file or directory.
package fileio

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// WriteAtomic writes data to name with mode perm through a temporary file
// in the same directory, synced, then renamed over name: a reader sees the
// old content or all of the new, and a crash leaves at most a temporary
// ".NAME.tmp*" file beside it, never a partial name. On error the
// temporary file is removed.
func WriteAtomic(name string, data []byte, perm os.FileMode) error {
	return writeAtomic(name, data, perm, true)
}

// WriteAtomicUnsynced is WriteAtomic without the sync: readers still see
// the old content or all of the new, but after a crash the new name may
// hold an empty or partial file. It is for files that a crash makes moot
// (an ephemeral container's, which is no container once its writer is
// gone: store.EphemeralFile), where the sync is the slowest step.
func WriteAtomicUnsynced(name string, data []byte, perm os.FileMode) error {
	return writeAtomic(name, data, perm, false)
}

func writeAtomic(name string, data []byte, perm os.FileMode, sync bool) (err error) {
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
	if sync {
		if err := f.Sync(); err != nil {
			return err
		}
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

// Lock takes an exclusive flock on the file name (made, mode 0600, if
// absent; never through a symlink), waiting for another holder until ctx
// is done. The returned file holds the lock until it is closed.
func Lock(ctx context.Context, name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for the lock on %s: %w", name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
