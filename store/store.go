package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"golang.org/x/sys/unix"
)

var (
	// ErrNotExist reports a container that is not in the store.
	ErrNotExist = errors.New("no such container")
	// ErrExist reports a name that is already taken.
	ErrExist = errors.New("container already exists")
	// ErrInvalidName reports a name that cannot be a container name.
	ErrInvalidName = errors.New("invalid container name")
	// ErrRunning reports an operation refused because the container runs.
	ErrRunning = errors.New("container is running")
	// ErrBusy reports a container locked by another ulxc process.
	ErrBusy = errors.New("container is busy")
	// ErrAbandoned reports the remains of an interrupted create or
	// destroy: a directory without a config that nobody works on.
	ErrAbandoned = errors.New("remains of an interrupted create or destroy")
)

// MaxNameLen is the longest container name accepted, in bytes.
const MaxNameLen = 64

// ValidateName checks that name can name a container:
// [A-Za-z0-9][A-Za-z0-9_.-]*, at most MaxNameLen bytes.
func ValidateName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidName, name, why)
	}
	switch {
	case name == "":
		return bad("empty")
	case len(name) > MaxNameLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxNameLen))
	case !isAlnum(name[0]):
		return bad("must start with a letter or digit")
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return bad(fmt.Sprintf("character %q not allowed (use letters, digits, '_', '.', '-')", c))
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// DefaultPath returns ${XDG_DATA_HOME:-~/.local/share}/ulxc.
func DefaultPath() string {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "ulxc")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/"
	}
	return filepath.Join(home, ".local", "share", "ulxc")
}

// Store is one container directory (an lxcpath).
type Store struct {
	// Path is the absolute directory.
	Path string
	// Warn receives the warning, once per Store, when XDG_RUNTIME_DIR is
	// passed over for the private runtime directory (see RuntimeBase).
	// Default: dropped.
	Warn func(msg string)

	baseOnce sync.Once
	base     string
	baseErr  error
}

// Open returns the store at path ("" = DefaultPath), creating the directory
// (0700) if needed.
func Open(path string) (*Store, error) {
	if path == "" {
		path = DefaultPath()
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{Path: abs}, nil
}

// Container is one container of a store.
type Container struct {
	Name  string
	Dir   string // Store.Path/Name
	store *Store
}

// StorePath is the directory of the container's store.
func (c *Container) StorePath() string { return c.store.Path }

// ConfigPath is the container's LXC config file.
func (c *Container) ConfigPath() string { return filepath.Join(c.Dir, "config") }

// RootfsPath is the default rootfs directory (the config's lxc.rootfs.path
// may point elsewhere).
func (c *Container) RootfsPath() string { return filepath.Join(c.Dir, "rootfs") }

// LogPath is the container's own log file.
func (c *Container) LogPath() string { return filepath.Join(c.Dir, c.Name+".log") }

// Get returns the named container, or ErrNotExist.
func (s *Store) Get(name string) (*Container, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	c := &Container{Name: name, Dir: filepath.Join(s.Path, name), store: s}
	if _, err := os.Lstat(c.ConfigPath()); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w in %s", name, ErrNotExist, s.Path)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if c.staleEphemeral() {
		return nil, fmt.Errorf("%s: %w in %s (the remains of an ephemeral container whose ulxc was killed)", name, ErrNotExist, s.Path)
	}
	return c, nil
}

// New makes the directory of a new container, mode 0700, and returns it
// locked (see Lock) with the function that unlocks it. The caller writes
// the config last, so a directory without a config is a creation in
// progress, which List ignores and the caller removes on failure.
//
// The directory is made under a hidden name with its lock taken, then
// renamed into place, so no other ulxc can ever see NAME unlocked while it
// is being created. When NAME is taken the error is ErrExist (a
// container), ErrBusy (another ulxc is creating or destroying it) or
// ErrAbandoned (the remains of an interrupted create or destroy: see
// Abandoned).
func (s *Store) New(name string) (c *Container, unlock func(), err error) {
	if err := ValidateName(name); err != nil {
		return nil, nil, err
	}
	c = &Container{Name: name, Dir: filepath.Join(s.Path, name), store: s}
	tmp, err := os.MkdirTemp(s.Path, "."+name+".new-")
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	staged := &Container{Name: name, Dir: tmp, store: s}
	unlock, err = staged.Lock(false)
	if err == nil {
		err = os.Rename(tmp, c.Dir)
	}
	if err == nil {
		return c, unlock, nil
	}
	if unlock != nil {
		unlock()
	}
	_ = os.RemoveAll(tmp)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.ENOTDIR) {
		return nil, nil, s.taken(name)
	}
	return nil, nil, fmt.Errorf("%s: %w", name, err)
}

// taken explains why the existing NAME cannot be created.
func (s *Store) taken(name string) error {
	c, unlock, err := s.Abandoned(name)
	if err != nil {
		return err
	}
	unlock()
	return fmt.Errorf("%s in %s: %w (remove them with 'ulxc destroy %s')", c.Name, s.Path, ErrAbandoned, c.Name)
}

// Abandoned returns the directory NAME when it is the remains of an
// interrupted create or destroy (a directory without a config that nobody
// holds the lock of), or an ephemeral container whose supervisor is gone
// (EphemeralFile), locked by the caller, who may then remove it. A
// container gives ErrExist, a directory another ulxc works on ErrBusy, and
// no directory ErrNotExist.
func (s *Store) Abandoned(name string) (*Container, func(), error) {
	if err := ValidateName(name); err != nil {
		return nil, nil, err
	}
	c := &Container{Name: name, Dir: filepath.Join(s.Path, name), store: s}
	fi, err := os.Lstat(c.Dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil, fmt.Errorf("%s: %w in %s", name, ErrNotExist, s.Path)
	case err != nil:
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	case !fi.IsDir():
		return nil, nil, fmt.Errorf("%s: %w in %s (and it is not a directory)", name, ErrExist, s.Path)
	}
	unlock, err := c.Lock(false)
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Lstat(c.ConfigPath()); err == nil && !c.staleEphemeral() {
		unlock()
		return nil, nil, fmt.Errorf("%s: %w in %s", name, ErrExist, s.Path)
	}
	return c, unlock, nil
}

// List returns the containers of the store, sorted by name. Directories
// without a config file (a create in progress) are not containers.
func (s *Store) List() ([]*Container, error) {
	ents, err := os.ReadDir(s.Path)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.Path, err)
	}
	var out []*Container
	for _, e := range ents {
		if !e.IsDir() || ValidateName(e.Name()) != nil {
			continue
		}
		if c, err := s.Get(e.Name()); err == nil {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Lock takes the container's exclusive lock (a flock on NAME/.ulxc.lock), so
// that two ulxc processes never create, start, copy or destroy one container
// at once. wait=false returns a *BusyError (ErrBusy) that names the holder
// instead of waiting. The returned function releases it.
func (c *Container) Lock(wait bool) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(c.Dir, ".ulxc.lock"), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", c.Name, err)
	}
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	if err := unix.Flock(int(f.Fd()), how); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, busyError(c.Name, f)
		}
		return nil, fmt.Errorf("lock %s: %w", c.Name, err)
	}
	return func() { f.Close() }, nil
}
