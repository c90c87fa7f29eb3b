package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/cgroup"
	"golang.org/x/sys/unix"
)

// ErrCgroupLimits reports a container that asks for resource limits on a
// host where the caller cannot set them: starting it unlimited would be a
// silent lie.
var ErrCgroupLimits = errors.New("resource limits need a delegated cgroup")

// cgroupLeaf is the container's own cgroup, when the caller's cgroup is
// delegated; otherwise empty, with note saying why.
type cgroupLeaf struct {
	dir  string
	dirf *os.File
	note string
}

func (l *cgroupLeaf) fd() int {
	if l == nil || l.dirf == nil {
		return 0
	}
	return int(l.dirf.Fd())
}

func (l *cgroupLeaf) path() string {
	if l == nil {
		return ""
	}
	return l.dir
}

// remove closes and removes the leaf (empty once init's pid namespace is
// gone).
func (l *cgroupLeaf) remove() {
	if l == nil || l.dirf == nil {
		return
	}
	l.dirf.Close()
	l.dirf = nil
	_ = os.Remove(l.dir)
}

// limits returns the spec's cgroup v2 limits: linux.resources.unified.
func limits(s *specs.Spec) map[string]string {
	if s.Linux == nil || s.Linux.Resources == nil {
		return nil
	}
	return s.Linux.Resources.Unified
}

// newCgroup makes the container's leaf in the caller's cgroup when that is
// delegated, and writes the limits into it. Without delegation the
// container runs without a cgroup, unless it asks for limits.
func newCgroup(name string, s *specs.Spec) (*cgroupLeaf, error) {
	lim := limits(s)
	parent, err := ownCgroup()
	if err != nil {
		if len(lim) > 0 {
			return nil, fmt.Errorf("%w: %s asks for %s: %w", ErrCgroupLimits, name, keys(lim), err)
		}
		return &cgroupLeaf{note: err.Error()}, nil
	}
	dir := filepath.Join(parent, "ulxc-"+name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		if len(lim) > 0 {
			return nil, fmt.Errorf("%w: %s asks for %s: %w", ErrCgroupLimits, name, keys(lim), err)
		}
		return &cgroupLeaf{note: err.Error()}, nil
	}
	l := &cgroupLeaf{dir: dir}
	if err := l.apply(parent, lim); err != nil {
		_ = os.Remove(dir)
		return nil, fmt.Errorf("cgroup %s: %w", dir, err)
	}
	f, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = os.Remove(dir)
		return nil, fmt.Errorf("cgroup %s: %w", dir, err)
	}
	l.dirf = f
	return l, nil
}

// ownCgroup returns the directory of the caller's cgroup if it is
// delegated to the caller.
func ownCgroup() (string, error) {
	mp, err := cgroup.Mountpoint()
	if err != nil {
		return "", err
	}
	cur, err := cgroup.Current()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(mp, cur)
	if _, err := cgroup.Delegation(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// apply enables the controllers the limits need and writes them.
func (l *cgroupLeaf) apply(parent string, lim map[string]string) error {
	ctrls := map[string]bool{}
	for _, k := range sortedKeys(lim) {
		ctrl, _, ok := strings.Cut(k, ".")
		if !ok || strings.ContainsAny(k, "/\x00") || ctrl == "cgroup" || k == "" {
			return fmt.Errorf("%w: linux.resources.unified key %q", ErrInvalidSpec, k)
		}
		ctrls[ctrl] = true
	}
	for _, ctrl := range sortedKeys(ctrls) {
		f := filepath.Join(parent, "cgroup.subtree_control")
		if err := os.WriteFile(f, []byte("+"+ctrl), 0); err != nil {
			return fmt.Errorf("%w: enable the %s controller in %s: %w", ErrCgroupLimits, ctrl, f, err)
		}
	}
	for _, k := range sortedKeys(lim) {
		if err := os.WriteFile(filepath.Join(l.dir, k), []byte(lim[k]), 0); err != nil {
			return fmt.Errorf("set %s = %s: %w", k, lim[k], err)
		}
	}
	return nil
}

func keys[V any](m map[string]V) string { return strings.Join(sortedKeys(m), ", ") }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
