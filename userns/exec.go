package userns

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Options configure Start.
type Options struct {
	Plan       Plan    // the maps; from NewPlan
	Cloneflags uintptr // namespaces besides CLONE_NEWUSER (CLONE_NEWNS...); default none
	// Entry is the hidden verb the child runs: its argv is
	// [/proc/self/exe, Entry, Args...]. Required.
	Entry string
	Args  []string
	Env   []string // default os.Environ()
	Dir   string   // default the current directory
	// Stdin, Stdout, Stderr default to /dev/null, as in os/exec.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// ExtraFiles appear in the child as fd 4, 5, ...; fd 3 is the sync pipe.
	ExtraFiles []*os.File
	CgroupFD   int // >0: start the child in this cgroup (CLONE_INTO_CGROUP); default none
	// Setsid, Setctty, Foreground and Ctty pass through to
	// syscall.SysProcAttr for a console; default off.
	Setsid, Setctty, Foreground bool
	Ctty                        int
}

// HelperError is a failed run of newuidmap or newgidmap, with its stderr.
type HelperError struct {
	Helper string
	Args   []string
	Stderr string
	Err    error
}

func (e *HelperError) Error() string {
	msg := fmt.Sprintf("%s %s: %v", e.Helper, strings.Join(e.Args, " "), e.Err)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + strings.ReplaceAll(s, "\n", "; ")
	}
	return msg
}

func (e *HelperError) Unwrap() error { return e.Err }

// Start starts /proc/self/exe as opts.Entry in a new user namespace (and
// the namespaces in opts.Cloneflags), writes the maps of opts.Plan, checks
// them in /proc/PID/uid_map and gid_map, and then releases the child, which
// must call Enter first. The caller waits for the returned command. On
// error the child has been killed and reaped, and the error carries what
// Diagnose found.
func Start(ctx context.Context, opts Options) (*exec.Cmd, error) {
	if err := checkMaps(opts.Plan.Maps); err != nil {
		return nil, fmt.Errorf("start user namespace: %w", err)
	}
	cmd, syncW, err := spawn(ctx, opts, opts.Plan.Single)
	if err != nil {
		return nil, err
	}
	defer syncW.Close() // EOF without a go-ahead tells the child to give up
	if err := release(cmd.Process.Pid, opts.Plan, syncW); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, diagnosed(fmt.Errorf("start user namespace: %w", err))
	}
	return cmd, nil
}

// Spawn starts the child as Start does but leaves it unmapped and waiting:
// the caller maps and releases it with Release (with opts.Plan, which
// Spawn ignores), or kills it; closing sync without a go-ahead makes it
// give up. It lets a caller start the child before it knows the maps.
func Spawn(ctx context.Context, opts Options) (cmd *exec.Cmd, sync *os.File, err error) {
	return spawn(ctx, opts, false)
}

func spawn(ctx context.Context, opts Options, single bool) (*exec.Cmd, *os.File, error) {
	if opts.Entry == "" {
		return nil, nil, errors.New("start user namespace: no entry point")
	}
	caps, err := allCaps()
	if err != nil {
		return nil, nil, fmt.Errorf("start user namespace: %w", err)
	}
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("start user namespace: %w", err)
	}
	cmd := exec.CommandContext(ctx, "/proc/self/exe", append([]string{opts.Entry}, opts.Args...)...)
	cmd.Env, cmd.Dir = opts.Env, opts.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	cmd.ExtraFiles = append([]*os.File{syncR}, opts.ExtraFiles...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | opts.Cloneflags,
		// The child execs while its uid is still unmapped, which drops the
		// namespace capabilities it needs to become root once mapped;
		// ambient capabilities survive that exec. Enter clears them.
		AmbientCaps: caps,
		Pdeathsig:   syscall.SIGKILL,
		Setsid:      opts.Setsid,
		Setctty:     opts.Setctty,
		Foreground:  opts.Foreground,
		Ctty:        opts.Ctty,
	}
	if opts.CgroupFD > 0 {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = opts.CgroupFD
	}
	if single {
		cmd.SysProcAttr.UidMappings = idMaps(opts.Plan.Maps, UID)
		cmd.SysProcAttr.GidMappings = idMaps(opts.Plan.Maps, GID)
		cmd.SysProcAttr.GidMappingsEnableSetgroups = false
	}
	err = cmd.Start()
	syncR.Close()
	if err != nil {
		syncW.Close()
		return nil, nil, diagnosed(fmt.Errorf("start user namespace: %w", err))
	}
	return cmd, syncW, nil
}

// Release does for a child that Spawn started what Start does for its
// own: it writes and verifies the maps of plan for pid, then the go-ahead
// on sync, the write end of the child's fd 3, where the child waits in
// Enter. On error the caller kills the child; the error carries what
// Diagnose found.
func Release(pid int, plan Plan, sync *os.File) error {
	if err := checkMaps(plan.Maps); err != nil {
		return fmt.Errorf("start user namespace: %w", err)
	}
	if plan.Single {
		if err := writeOwnMaps(pid, plan.Maps); err != nil {
			return diagnosed(fmt.Errorf("start user namespace: %w", err))
		}
	}
	if err := release(pid, plan, sync); err != nil {
		return diagnosed(fmt.Errorf("start user namespace: %w", err))
	}
	return nil
}

// writeOwnMaps writes a single-id plan's maps as the namespace's owner
// may without a helper: setgroups denied first, as the kernel requires
// for an unprivileged gid_map.
func writeOwnMaps(pid int, maps []Map) error {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	if err := os.WriteFile(dir+"setgroups", []byte("deny"), 0); err != nil {
		return fmt.Errorf("write id map: %w", err)
	}
	for _, k := range []Kind{UID, GID} {
		var b strings.Builder
		for _, m := range maps {
			if m.Kind == k {
				fmt.Fprintf(&b, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
			}
		}
		if err := os.WriteFile(dir+k.String()+"_map", []byte(b.String()), 0); err != nil {
			return fmt.Errorf("write id map: %w", err)
		}
	}
	return nil
}

// release maps the child's ids, verifies them and writes the go-ahead.
func release(pid int, plan Plan, syncW *os.File) error {
	if !plan.Single {
		// The two helpers write different files of the same process, so
		// they run at once: a start pays for one helper, not two.
		gidErr := make(chan error, 1)
		go func() { gidErr <- runHelper(plan, GID, pid) }()
		uidErr := runHelper(plan, UID, pid)
		if err := cmp.Or(uidErr, <-gidErr); err != nil {
			return err
		}
	}
	for _, k := range []Kind{UID, GID} {
		if err := verify(pid, k, plan.Maps); err != nil {
			return err
		}
	}
	if _, err := syncW.Write([]byte{goAhead}); err != nil {
		return fmt.Errorf("release child: %w", err)
	}
	return nil
}

// goAhead is the byte that tells the child its maps are in place.
const goAhead = GoAhead

// GoAhead is the byte Release writes on the sync pipe once the child's
// id maps are in place: a child that does not run Enter (runtime's init,
// a fork) waits for it itself.
const GoAhead = '1'

func runHelper(plan Plan, k Kind, pid int) error {
	helper, name := plan.NewUIDMap, "newuidmap"
	if k == GID {
		helper, name = plan.NewGIDMap, "newgidmap"
	}
	if helper == "" {
		var err error
		if helper, err = CheckHelper(name); err != nil {
			return err
		}
	}
	args := []string{strconv.Itoa(pid)}
	for _, m := range plan.Maps {
		if m.Kind == k {
			args = append(args, strconv.FormatUint(uint64(m.ContainerID), 10),
				strconv.FormatUint(uint64(m.HostID), 10), strconv.FormatUint(uint64(m.Size), 10))
		}
	}
	var stderr bytes.Buffer
	c := exec.Command(helper, args...)
	c.Stderr = &stderr
	c.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	if err := c.Run(); err != nil {
		return &HelperError{Helper: helper, Args: args, Stderr: stderr.String(), Err: err}
	}
	return nil
}

// verify reads /proc/PID/{uid,gid}_map back and compares it with maps.
func verify(pid int, k Kind, maps []Map) error {
	file := fmt.Sprintf("/proc/%d/%s_map", pid, k)
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("verify id map: %w", err)
	}
	var got, want []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			got = append(got, strings.Join(f, " "))
		}
	}
	for _, m := range maps {
		if m.Kind == k {
			want = append(want, fmt.Sprintf("%d %d %d", m.ContainerID, m.HostID, m.Size))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("verify id map: %s holds %q, want %q", file, got, want)
	}
	return nil
}

func idMaps(maps []Map, k Kind) []syscall.SysProcIDMap {
	var out []syscall.SysProcIDMap
	for _, m := range maps {
		if m.Kind == k {
			out = append(out, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
		}
	}
	return out
}

// allCaps lists every capability the running kernel knows.
func allCaps() ([]uintptr, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return nil, err
	}
	last, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || last < 0 || last > 63 {
		return nil, fmt.Errorf("/proc/sys/kernel/cap_last_cap: bad value %q", bytes.TrimSpace(b))
	}
	caps := make([]uintptr, last+1)
	for i := range caps {
		caps[i] = uintptr(i)
	}
	return caps, nil
}
