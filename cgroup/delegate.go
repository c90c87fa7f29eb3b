package cgroup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNotDelegated means the caller may not manage a cgroup: it cannot create
// children in it, move processes into them or enable controllers for them.
var ErrNotDelegated = errors.New("cgroup not delegated")

// The files of a cgroup a delegatee must be able to write, besides the
// directory itself (see /sys/kernel/cgroup/delegate).
const (
	procsFile          = "cgroup.procs"
	subtreeControlFile = "cgroup.subtree_control"
	controllersFile    = "cgroup.controllers"
)

// Delegated describes one cgroup directory as the caller sees it.
type Delegated struct {
	Dir   string // the cgroup's directory under the cgroup2 mount
	Owner uint32 // uid that owns Dir

	// What the caller may write: Dir (create child cgroups), its
	// cgroup.procs (move processes) and its cgroup.subtree_control
	// (enable controllers for children).
	Writable, ProcsWritable, SubtreeControlWritable bool

	// Controllers lists cgroup.controllers: what this cgroup may enable
	// for its children. SubtreeControl lists cgroup.subtree_control: what
	// is enabled for them now.
	Controllers, SubtreeControl []string
}

// OK reports whether the caller may manage the cgroup.
func (d Delegated) OK() bool { return d.Writable && d.ProcsWritable && d.SubtreeControlWritable }

// NotDelegatedError says which parts of a cgroup the caller may not write.
// It matches ErrNotDelegated.
type NotDelegatedError struct {
	Dir      string
	Owner    uint32
	ReadOnly []string // "directory", "cgroup.procs", "cgroup.subtree_control"
}

func (e *NotDelegatedError) Error() string {
	return fmt.Sprintf("%s: %v: %s not writable (owner uid %d)",
		e.Dir, ErrNotDelegated, strings.Join(e.ReadOnly, ", "), e.Owner)
}

func (e *NotDelegatedError) Unwrap() error { return ErrNotDelegated }

// Delegation inspects the cgroup directory dir. It returns what it found
// and, when the caller may not manage dir, a *NotDelegatedError.
func Delegation(dir string) (Delegated, error) {
	return delegation(dir, func(p string) bool { return unix.Access(p, unix.W_OK) == nil })
}

// delegation is Delegation with the permission test injected, so that tests
// running as root (who may write everything) can exercise refusals.
func delegation(dir string, writable func(string) bool) (Delegated, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return Delegated{}, err
	}
	if !fi.IsDir() {
		return Delegated{}, fmt.Errorf("%s: %w", dir, syscall.ENOTDIR)
	}
	d := Delegated{Dir: dir}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		d.Owner = st.Uid
	}
	if d.Controllers, err = readList(filepath.Join(dir, controllersFile)); err != nil {
		return d, err
	}
	if d.SubtreeControl, err = readList(filepath.Join(dir, subtreeControlFile)); err != nil {
		return d, err
	}
	d.Writable = writable(dir)
	d.ProcsWritable = writable(filepath.Join(dir, procsFile))
	d.SubtreeControlWritable = writable(filepath.Join(dir, subtreeControlFile))
	if d.OK() {
		return d, nil
	}
	e := &NotDelegatedError{Dir: dir, Owner: d.Owner}
	for _, c := range []struct {
		ok   bool
		name string
	}{{d.Writable, "directory"}, {d.ProcsWritable, procsFile}, {d.SubtreeControlWritable, subtreeControlFile}} {
		if !c.ok {
			e.ReadOnly = append(e.ReadOnly, c.name)
		}
	}
	return d, e
}

// readList reads a space-separated list file such as cgroup.controllers.
func readList(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseList(f)
}

// ParseList parses the space-separated names of cgroup.controllers or
// cgroup.subtree_control.
func ParseList(r io.Reader) ([]string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}
