package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/ocispec"
)

// HookType is an LXC hook type (LXC_HOOK_TYPE).
type HookType string

// The hook types and where they run. The OCI lists map onto them as
// package ocispec writes them: Prestart and CreateRuntime run as pre-start
// (LXC's pre-start and start-host), CreateContainer as mount,
// StartContainer as start, Poststart as start-host, Poststop as post-stop;
// pre-mount comes from the ulxc.hook.pre-mount.N annotations.
const (
	HookPreStart  HookType = "pre-start"  // host, before any namespace exists
	HookPreMount  HookType = "pre-mount"  // container mount namespace, before the root filesystem is set up
	HookMount     HookType = "mount"      // container mount namespace, after the mounts, before pivot_root
	HookStart     HookType = "start"      // inside the container, just before its init runs
	HookStartHost HookType = "start-host" // host, once the container's init runs
	HookPostStop  HookType = "post-stop"  // host, after the container stopped and was torn down
	HookClone     HookType = "clone"      // after a copy, as the copy's root in a user namespace, with its root mounted (clonehook.go); an ephemeral copy's in its start, by init
	HookDestroy   HookType = "destroy"    // host, before a stopped container's files are removed
	HookStop      HookType = "stop"       // host, once init exited, with references to its namespaces
)

// hookEnv is what hooks know about the container, as LXC exports it.
type hookEnv struct {
	Name, ConfigPath, RootfsPath, RootfsMount string
	State                                     specs.State
	// Rootfs, when set, is passed to the hook as fd 3 and RootfsMount is
	// /proc/self/fd/3: container root, which runs the hooks inside the
	// container's mount namespace, may not walk the user's 0700 container
	// directory to the rootfs, but it may walk from a descriptor of it.
	Rootfs *os.File
	// Target is LXC_TARGET for the post-stop hooks, as LXC sets it: "stop",
	// or "reboot" when the container will start again.
	Target string
	// SrcName is LXC_SRC_NAME for the clone hooks: the original's name.
	SrcName string
	// NS are the container's namespaces for the stop hooks, passed as
	// inherited descriptors 3, 4, ...
	NS []nsRef
}

// nsRef is an open namespace of the container: LXC's name for it (mnt,
// pid, ...) and the variable hook version 1 names it in.
type nsRef struct {
	name, env string
	f         *os.File
}

// nsKinds are the namespaces a stop hook is given, in LXC's order, with
// their /proc/PID/ns names and LXC's variables.
var nsKinds = []struct{ name, proc, env string }{
	{"user", "user", "LXC_USER_NS"}, {"mnt", "mnt", "LXC_MNT_NS"}, {"pid", "pid", "LXC_PID_NS"},
	{"uts", "uts", "LXC_UTS_NS"}, {"ipc", "ipc", "LXC_IPC_NS"}, {"net", "net", "LXC_NET_NS"},
	{"cgroup", "cgroup", "LXC_CGROUP_NS"}, {"time", "time", "LXC_TIME_NS"},
}

// stopNamespaceKinds are the indexes in nsKinds of the namespaces this
// kernel has, which init sends for the stop hooks (compileStopNS).
func stopNamespaceKinds() []int {
	var out []int
	for i, k := range nsKinds {
		if _, err := os.Lstat("/proc/self/ns/" + k.proc); err == nil {
			out = append(out, i)
		}
	}
	return out
}

// errNoStopNamespaces reports an init that exited before it sent its
// namespaces for the stop hooks: its own report says why.
var errNoStopNamespaces = errors.New("init exited before it sent its namespaces")

// receiveStopNamespaces reads the namespaces init sent for the stop hooks
// (nsKinds[kinds[i]] each) from its socket, and keeps those that differ
// from the supervisor's own: the ones the container has of its own, as
// LXC passes them. Init sends them before its exec, so they are all
// there however soon the container's process exits.
func receiveStopNamespaces(sock *os.File, kinds []int) ([]nsRef, error) {
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4*len(kinds)))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("stop hooks: receive init's namespaces: %w", err)
	}
	if n == 0 && oobn == 0 {
		return nil, errNoStopNamespaces
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if f, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, f...)
			}
		}
	}
	links := make([]string, len(fds))
	ok := string(buf[:n]) == "stop" && len(fds) == len(kinds)
	for i := 0; ok && i < len(fds); i++ {
		links[i], err = os.Readlink("/proc/self/fd/" + strconv.Itoa(fds[i]))
		ok = err == nil && strings.HasPrefix(links[i], nsKinds[kinds[i]].proc+":[")
	}
	if !ok {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("stop hooks: malformed namespaces message from init")
	}
	var out []nsRef
	for i, fd := range fds {
		k := nsKinds[kinds[i]]
		if mine, err := os.Readlink("/proc/self/ns/" + k.proc); err != nil || mine == links[i] {
			unix.Close(fd)
			continue
		}
		out = append(out, nsRef{name: k.name, env: k.env, f: os.NewFile(uintptr(fd), k.proc)})
	}
	return out, nil
}

func closeNamespaces(ns []nsRef) {
	for _, n := range ns {
		n.f.Close()
	}
}

func (e hookEnv) vars(t HookType) []string {
	vars := []string{
		"LXC_NAME=" + e.Name,
		"LXC_ROOTFS_MOUNT=" + e.RootfsMount,
		"LXC_ROOTFS_PATH=" + e.RootfsPath,
		"LXC_CONFIG_FILE=" + e.ConfigPath,
		"LXC_HOOK_TYPE=" + string(t),
		"LXC_HOOK_SECTION=lxc",
	}
	if t == HookPostStop && e.Target != "" {
		vars = append(vars, "LXC_TARGET="+e.Target)
	}
	if t == HookClone {
		vars = append(vars, "LXC_SRC_NAME="+e.SrcName)
	}
	return vars
}

// HookError is a hook that failed; it keeps the hook's stderr tail.
type HookError struct {
	Type HookType
	Path string
	Err  error
}

func (e *HookError) Error() string {
	return fmt.Sprintf("%s hook %s: %v", e.Type, e.Path, e.Err)
}

func (e *HookError) Unwrap() error { return e.Err }

// DestroyHooks runs the lxc.hook.destroy hooks of the stopped container
// name, whose spec is s, on the host before its files are removed, as
// lxc-destroy runs them (arguments NAME lxc destroy); the first failure
// is returned, a *HookError, and the caller then keeps the container.
func DestroyHooks(ctx context.Context, s *specs.Spec, name, configPath string, out io.Writer) error {
	return annotatedHostHooks(ctx, HookDestroy, s, hookEnv{Name: name, ConfigPath: configPath}, out)
}

func annotatedHostHooks(ctx context.Context, t HookType, s *specs.Spec, e hookEnv, out io.Writer) error {
	hooks, err := ocispec.AnnotatedHooks(s, string(t))
	if err != nil || len(hooks) == 0 {
		return err
	}
	if s.Root != nil {
		e.RootfsPath, e.RootfsMount = s.Root.Path, s.Root.Path
	}
	e.State = specs.State{Version: specs.Version, ID: e.Name, Status: specs.StateStopped, Annotations: s.Annotations}
	return runHooks(ctx, t, hooks, e, hostEnv(), out)
}

// runHooks runs hooks in order, each with base, its own Env and LXC's
// variables, the OCI state on stdin and output to out; the first failure
// stops.
func runHooks(ctx context.Context, t HookType, hooks []specs.Hook, e hookEnv, base []string, out io.Writer) error {
	if len(hooks) == 0 {
		return nil
	}
	state := appendOCIState(nil, e.State)
	for _, h := range hooks {
		if err := runHook(ctx, t, h, e, base, state, out); err != nil {
			return err
		}
	}
	return nil
}

func runHook(ctx context.Context, t HookType, h specs.Hook, e hookEnv, base []string, state []byte, out io.Writer) error {
	if h.Timeout != nil && *h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	if e.Rootfs != nil {
		cmd.ExtraFiles = []*os.File{e.Rootfs}
		e.RootfsMount = "/proc/self/fd/3"
	}
	var nsVars []string
	if len(e.NS) > 0 {
		// LXC passes NAME:/proc/MONITOR/fd/N (hook version 0, as
		// arguments) or /proc/MONITOR/fd/N in LXC_NAME_NS (version 1).
		// The hook inherits the descriptors instead, so the references
		// hold whether or not it may read the supervisor's descriptors,
		// and in whatever it runs with them.
		v1 := slices.Contains(h.Env, "LXC_HOOK_VERSION=1")
		cmd.ExtraFiles = nil
		for i, n := range e.NS {
			cmd.ExtraFiles = append(cmd.ExtraFiles, n.f)
			ref := fmt.Sprintf("/proc/self/fd/%d", 3+i)
			if v1 {
				nsVars = append(nsVars, n.env+"="+ref)
			} else {
				cmd.Args = append(cmd.Args, n.name+":"+ref)
			}
		}
	}
	// The runtime's own variables come last and win: only it knows where
	// the rootfs is reachable from the hook.
	cmd.Env = append(append(append(append([]string{}, base...), h.Env...), e.vars(t)...), nsVars...)
	cmd.Stdin = bytes.NewReader(state)
	// Output through a pipe of our own, passed on up to maxHookOutput: a
	// hook, or something it leaves running, gets neither the log file
	// nor the caller's terminal, and cannot fill the log.
	r, w, err := os.Pipe()
	if err != nil {
		return &HookError{Type: t, Path: h.Path, Err: err}
	}
	cmd.Stdout, cmd.Stderr = w, w
	copied := make(chan struct{})
	go func() {
		copyBounded(out, r, maxHookOutput)
		close(copied)
	}()
	err = cmd.Start()
	w.Close()
	if err == nil {
		err = cmd.Wait()
	}
	// What the hook wrote is in the pipe; a process it left behind that
	// still holds the pipe is not waited for, and writes to nothing once
	// the read end is closed.
	r.SetReadDeadline(time.Now().Add(hookOutputGrace))
	<-copied
	r.Close()
	if err != nil {
		return &HookError{Type: t, Path: h.Path, Err: err}
	}
	return nil
}

// maxHookOutput is how much of one hook's output reaches the log (or the
// terminal); the rest is read and dropped, so the hook never blocks on it.
const maxHookOutput = 1 << 20

// hookOutputGrace is how long the output of a hook that has exited is
// still read, for what it wrote just before.
const hookOutputGrace = 200 * time.Millisecond

// copyBounded copies r to w until EOF or an error, passing on at most
// limit bytes and a note that the rest was dropped.
func copyBounded(w io.Writer, r io.Reader, limit int64) {
	if w == nil {
		w = io.Discard
	}
	n, err := io.Copy(w, io.LimitReader(r, limit))
	if err != nil || n < limit {
		return
	}
	if dropped, _ := io.Copy(io.Discard, r); dropped > 0 {
		fmt.Fprintf(w, "\n[ulxc: hook output over %d bytes: %d more dropped]\n", limit, dropped)
	}
}

// hostEnv is the environment of hooks that run on the host.
func hostEnv() []string { return os.Environ() }
