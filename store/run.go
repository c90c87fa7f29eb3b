package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrUnreachable reports a running container whose runtime directory
// (control socket and state) cannot be found or used; it comes wrapped
// with ErrRunning.
var ErrUnreachable = errors.New("its runtime directory is unusable")

// runFile is a container's run lock and the record of its run's runtime
// directory (doc.go, "Whether a container runs").
const runFile = ".ulxc.run"

// maxRecord bounds the record: a path and a newline.
const maxRecord = unix.PathMax + 1

// Run is what a container's directory says about its current or last run.
type Run struct {
	// Held: a supervisor holds the run lock, so the container is
	// starting, running or stopping, whatever its state file says.
	Held bool
	// Dir is the runtime directory of the current run when Held,
	// otherwise that of the last run when its record is still valid,
	// otherwise this environment's (RuntimeDir, not created).
	Dir string
}

// FindRun returns where the container runs or last ran. A held lock with
// a record that cannot be used (doc.go) is an error wrapping ErrRunning
// and ErrUnreachable, with Run.Held set.
func (c *Container) FindRun() (Run, error) {
	// Opened by the system call and wrapped, not os.OpenFile: a regular
	// file gains nothing from Go's poller, whose set-up (four fcntl, an
	// epoll instance and its registration) was the costliest part of
	// this look-up that every attach, stop and info makes.
	// Nor an *os.File at all: wrapping the descriptor cost an fcntl and
	// a finalizer, set and cleared, on the way.
	path := filepath.Join(c.Dir, runFile)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return c.runHere()
	}
	if err != nil {
		return Run{}, fmt.Errorf("%s: run lock: open %s: %w", c.Name, path, err)
	}
	defer unix.Close(fd)
	held, err := isLockedFD(fd)
	if err != nil {
		return Run{}, fmt.Errorf("%s: run lock %s: %w", c.Name, path, err)
	}
	dir, rerr := c.readRecordFD(fd)
	// A supervisor writes its record just after it takes the lock: give
	// one that is that far a moment.
	for i := 0; held && errors.Is(rerr, errIncomplete) && i < 100; i++ {
		time.Sleep(time.Millisecond)
		dir, rerr = c.readRecordFD(fd)
	}
	switch {
	case rerr == nil:
		return Run{Held: held, Dir: dir}, nil
	case held:
		return Run{Held: true}, fmt.Errorf("%s: %w, but %w: %s: %w", c.Name, ErrRunning, ErrUnreachable, path, rerr)
	}
	return c.runHere()
}

// runHere is the Run of this environment's runtime directory.
func (c *Container) runHere() (Run, error) {
	base, err := c.store.runtimeBase()
	if err != nil {
		return Run{}, err
	}
	return Run{Dir: c.runtimeDirIn(base)}, nil
}

// LockRun takes the container's run lock for a run whose runtime
// directory is runtimeDir, and records runtimeDir. The returned file holds
// the lock: the run's supervisor keeps it (or a descriptor inherited from
// it) open until the run is over. ErrRunning when another run holds it.
func (c *Container) LockRun(runtimeDir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(c.Dir, runFile), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: run lock: %w", c.Name, err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		f.Close()
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("%s: %w", c.Name, ErrRunning)
		}
		return nil, fmt.Errorf("%s: run lock %s: %w", c.Name, f.Name(), err)
	}
	// Down to one byte, not zero: a reader meanwhile still sees no
	// newline, hence no record, and ext4 does not mark the file as
	// "truncated to zero, then rewritten", which makes its last close
	// start writeback (auto_da_alloc): that flush was half a millisecond
	// of every ulxc start -F.
	if err := f.Truncate(1); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: run lock %s: %w", c.Name, f.Name(), err)
	}
	// One write, the newline last: a reader that sees the newline sees
	// the whole path.
	if _, err := f.WriteAt([]byte(runtimeDir+"\n"), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: run lock %s: %w", c.Name, f.Name(), err)
	}
	return f, nil
}

// isLocked reports whether some open file description holds a lock on f.
func isLocked(f *os.File) (bool, error) { return isLockedFD(int(f.Fd())) }

func isLockedFD(fd int) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_GETLK, &lk); err != nil {
		return false, err
	}
	return lk.Type != unix.F_UNLCK, nil
}

// errIncomplete reports a record being written.
var errIncomplete = errors.New("record incomplete")

// readRecordFD reads and checks the runtime directory recorded in the
// run file open at fd.
func (c *Container) readRecordFD(fd int) (string, error) {
	b := make([]byte, maxRecord+1)
	n := 0
	for n < len(b) {
		m, err := unix.Pread(fd, b[n:], int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", &os.PathError{Op: "read", Path: filepath.Join(c.Dir, runFile), Err: err}
		}
		if m == 0 {
			break
		}
		n += m
	}
	return c.readRecordBytes(b[:n])
}

// readRecordBytes checks the runtime directory recorded in b, the run
// file's content.
func (c *Container) readRecordBytes(b []byte) (string, error) {
	rec, ok := strings.CutSuffix(string(b), "\n")
	if !ok || rec == "" {
		return "", errIncomplete
	}
	if err := c.checkRunDir(rec); err != nil {
		return "", fmt.Errorf("recorded runtime directory %q: %w", rec, err)
	}
	return rec, nil
}

// checkRunDir checks that dir can be this container's runtime directory:
// an absolute, clean path ending in HASH/NAME whose last three components
// are private directories of the user. HASH may differ from this store's
// when the store was reached through another path (a symlink).
func (c *Container) checkRunDir(dir string) error {
	switch {
	case !filepath.IsAbs(dir) || filepath.Clean(dir) != dir:
		return errors.New("not a clean absolute path")
	case filepath.Base(dir) != c.Name || !isHash(filepath.Base(filepath.Dir(dir))):
		return fmt.Errorf("not a runtime directory of %s (BASE/HASH/%s)", c.Name, c.Name)
	}
	for d, i := dir, 0; i < 3; d, i = filepath.Dir(d), i+1 {
		if err := private(d); err != nil {
			return err
		}
	}
	return nil
}

// private checks that dir is a directory, not a symlink, that the user
// owns and nobody else may enter.
func private(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return &os.PathError{Op: "lstat", Path: dir, Err: err}
	}
	if uid := os.Getuid(); st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != uid || st.Mode&0o077 != 0 {
		return fmt.Errorf("%s: not a private directory owned by uid %d", dir, uid)
	}
	return nil
}

// hash names the store in runtime directories, so that two stores may
// hold containers of the same name.
func (s *Store) hash() string {
	sum := sha256.Sum256([]byte(s.Path))
	return hex.EncodeToString(sum[:hashLen])
}

func isHash(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && len(s) == 2*hashLen && strings.ToLower(s) == s
}

const hashLen = 6

func (c *Container) runtimeDirIn(base string) string {
	return filepath.Join(base, c.store.hash(), c.Name)
}

// RuntimeDir is where a new run of the container keeps its control
// socket, pid and state, created: RuntimeBase/HASH/NAME, where HASH names
// the store so that two stores may hold containers of the same name. A
// running container's is Run.Dir (FindRun), which may differ.
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
