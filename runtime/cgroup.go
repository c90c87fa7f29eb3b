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

// supervisorsCgroup is the leaf, beside the containers' cgroups, where
// ulxc's supervisors move themselves when a container needs controllers
// enabled in the caller's cgroup (see doc.go, "Cgroups").
const supervisorsCgroup = "ulxc.supervisors"

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
// gone), then hands the caller's cgroup back the way prepareCgroup found
// it if this was the last container there.
func (l *cgroupLeaf) remove() {
	if l == nil || l.dirf == nil {
		return
	}
	l.dirf.Close()
	l.dirf = nil
	_ = os.Remove(l.dir)
	releaseCgroup()
}

// limits returns the spec's cgroup v2 limits: linux.resources.unified.
func limits(s *specs.Spec) map[string]string {
	if s.Linux == nil || s.Linux.Resources == nil {
		return nil
	}
	return s.Linux.Resources.Unified
}

// limitControllers returns the controllers that the limits' files belong
// to ("memory" for memory.max), sorted.
func limitControllers(lim map[string]string) ([]string, error) {
	ctrls := map[string]bool{}
	for _, k := range sortedKeys(lim) {
		ctrl, _, ok := strings.Cut(k, ".")
		if !ok || strings.ContainsAny(k, "/\x00") || ctrl == "cgroup" || ctrl == "" {
			return nil, fmt.Errorf("%w: linux.resources.unified key %q", ErrInvalidSpec, k)
		}
		ctrls[ctrl] = true
	}
	return sortedKeys(ctrls), nil
}

// newCgroup makes the container's leaf and writes the limits into it.
// Without limits the leaf goes into the caller's cgroup when that is
// delegated, and the container runs without a cgroup otherwise. With
// limits, prepareCgroup first makes room for the controllers, and any
// failure is an error.
func newCgroup(name string, s *specs.Spec) (l *cgroupLeaf, err error) {
	lim := limits(s)
	var parent string
	if len(lim) > 0 {
		if parent, err = prepareCgroup(name, s); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				releaseCgroup()
			}
		}()
	} else if parent, err = cgroupParent(); err != nil {
		return &cgroupLeaf{note: err.Error()}, nil
	}
	dir := filepath.Join(parent, "ulxc-"+name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		if len(lim) > 0 {
			return nil, fmt.Errorf("%w: %s asks for %s: %w", ErrCgroupLimits, name, keys(lim), err)
		}
		return &cgroupLeaf{note: err.Error()}, nil
	}
	for _, k := range sortedKeys(lim) {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(lim[k]), 0); err != nil {
			_ = os.Remove(dir)
			return nil, fmt.Errorf("cgroup %s: set %s = %s: %w", dir, k, lim[k], err)
		}
	}
	f, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = os.Remove(dir)
		return nil, fmt.Errorf("cgroup %s: %w", dir, err)
	}
	return &cgroupLeaf{dir: dir, dirf: f}, nil
}

// prepareCgroup readies the caller's delegated cgroup PARENT for a
// container with limits and returns PARENT's directory: it moves the
// calling process into PARENT/ulxc.supervisors (unless it is there
// already), and enables the limits' controllers in PARENT, which the kernel
// allows only once PARENT holds no process. Processes it cannot move (the
// user's shell) make it fail with a *cgroup.BusyError and the fix; so do a
// missing delegation (ErrCgroupLimits) and a controller PARENT does not
// have (cgroup.ErrNoController). On failure the caller is back where it
// was.
//
// Daemon calls it in `ulxc start` before it spawns the monitor, so that
// the monitor is born in the supervisors' leaf and the client leaves
// PARENT too; the monitor's own call finds everything in place.
func prepareCgroup(name string, s *specs.Spec) (parent string, err error) {
	lim := limits(s)
	if len(lim) == 0 {
		return "", nil
	}
	ctrls, err := limitControllers(lim)
	if err != nil {
		return "", err
	}
	fail := func(err error) error {
		return fmt.Errorf("%w: %s asks for %s: %w", ErrCgroupLimits, name, keys(lim), err)
	}
	own, err := ownCgroup()
	if err != nil {
		return "", fail(err)
	}
	parent, moved := own, false
	if filepath.Base(own) == supervisorsCgroup {
		parent = filepath.Dir(own)
	}
	unlock, err := cgroup.Lock(parent)
	if err != nil {
		return "", fail(err)
	}
	defer unlock()
	if parent == own && !isRootCgroup(parent) {
		sup := filepath.Join(parent, supervisorsCgroup)
		if err := os.Mkdir(sup, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fail(fmt.Errorf("make %s: %w", sup, err))
		}
		if err := cgroup.Move(sup, 0); err != nil {
			_ = os.Remove(sup)
			return "", fail(fmt.Errorf("move into %s: %w", sup, err))
		}
		moved = true
	}
	if err := cgroup.Enable(parent, ctrls); err != nil {
		if moved {
			leaveSupervisors(parent)
		}
		if errors.Is(err, cgroup.ErrBusy) {
			// Only a cgroup free of processes may enable controllers for
			// its children, and ulxc moves only itself.
			err = fmt.Errorf("%w (not ulxc's to move); give ulxc a delegated cgroup of its own: "+
				"systemd-run --user --scope -p Delegate=yes ulxc start %s", err, name)
		}
		return "", fail(err)
	}
	return parent, nil
}

// releaseCgroup undoes prepareCgroup when the calling process is the last
// one in PARENT/ulxc.supervisors and PARENT has no other child: it
// disables the controllers in PARENT, moves the caller back into PARENT
// and removes the supervisors' leaf. Otherwise, and on any error, it
// leaves things as they are: the last supervisor out tidies up.
func releaseCgroup() {
	own, err := ownCgroup()
	if err != nil || filepath.Base(own) != supervisorsCgroup {
		return
	}
	parent := filepath.Dir(own)
	unlock, err := cgroup.Lock(parent)
	if err != nil {
		return
	}
	defer unlock()
	kids, err := cgroup.Children(parent)
	if err != nil || len(kids) != 1 || kids[0] != supervisorsCgroup {
		return
	}
	procs, err := cgroup.Procs(own)
	if err != nil || len(procs) != 1 || procs[0].Pid != os.Getpid() {
		return
	}
	// PARENT held our process when prepareCgroup enabled them, so every
	// controller enabled there now is one that ulxc enabled.
	on, err := cgroup.SubtreeControl(parent)
	if err != nil || cgroup.Disable(parent, on) != nil {
		return
	}
	leaveSupervisors(parent)
}

// leaveSupervisors moves the caller from PARENT/ulxc.supervisors back into
// PARENT and removes the leaf if that left it empty.
func leaveSupervisors(parent string) {
	if cgroup.Move(parent, 0) == nil {
		_ = os.Remove(filepath.Join(parent, supervisorsCgroup))
	}
}

// cgroupParent returns the directory that the container's cgroup goes
// into: the caller's own cgroup if it is delegated, or the parent of the
// supervisors' leaf when the caller sits in one.
func cgroupParent() (string, error) {
	own, err := ownCgroup()
	if err != nil {
		return "", err
	}
	if filepath.Base(own) == supervisorsCgroup {
		return filepath.Dir(own), nil
	}
	return own, nil
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

// isRootCgroup reports whether dir is a hierarchy's root, where processes
// and enabled controllers may coexist. Only the root lacks cgroup.freeze
// (the kernel's CFTYPE_NOT_ON_ROOT), which also holds inside a cgroup
// namespace, whose root is an ordinary cgroup bound by the rule.
func isRootCgroup(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "cgroup.stat"))
	_, perr := os.Stat(filepath.Join(dir, "cgroup.freeze"))
	return err == nil && errors.Is(perr, os.ErrNotExist)
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
