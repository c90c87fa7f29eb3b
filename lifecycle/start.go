package lifecycle

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/store"
)

// StartOptions configure Start.
type StartOptions struct {
	// Options say which spec to run (Spec).
	Options
	// Foreground starts the container's init in this process
	// (runtime.Start), supervised by it; default: under a monitor process
	// of its own (runtime.Daemon) that outlives the caller.
	Foreground bool
	// Runtime holds what the caller decides of the run: Stdin, Stdout,
	// Stderr, Console, Terminal and Log in the foreground, and PidFile.
	// Start sets its Name, Spec, ConfigPath, RuntimeDir and
	// ConsoleLogPath. Default the zero runtime.Options.
	Runtime runtime.Options
	// ExtraLogPath and LogLevel are the monitor's, as in
	// runtime.DaemonOptions; LogPath is the container's log. Unused in
	// the foreground.
	ExtraLogPath string
	LogLevel     slog.Level
	// Warn receives, once per start and before anything is locked, what
	// the user should know of the spec: config keys ulxc knows but does
	// not enforce, and device nodes of the image the container does not
	// get. Default none.
	Warn func(string)
}

// Run is a start of a container.
type Run struct {
	Container *store.Container
	// Spec is what runs: the spec that Spec returns for the same Options.
	Spec *specs.Spec
	// Init is the container's init, supervised by this process, in the
	// foreground; nil under a monitor.
	Init *runtime.Container

	unlock  func()
	runLock *os.File
}

// Unlock releases the container's lock, which a foreground start keeps
// until the state file says that the container runs: from then on, the
// run lock tells other commands. Calling it again does nothing.
func (r *Run) Unlock() {
	if r.unlock != nil {
		r.unlock()
		r.unlock = nil
	}
}

// Close releases the container's lock and its run lock, which a
// foreground supervisor holds until the container has stopped and its
// teardown is over. Calling it again does nothing.
func (r *Run) Close() {
	r.Unlock()
	if r.runLock != nil {
		r.runLock.Close()
		r.runLock = nil
	}
}

// What Start hands the spec to. Tests replace them to see what would run
// without running it; nothing outside this package can.
var (
	runtimeStart  = runtime.Start
	runtimeDaemon = runtime.Daemon
)

// Start starts the container name of s as opts say: its spec (Spec), the
// container's lock, then its run lock (LockRun: store.ErrRunning when a
// run goes on), then the runtime. Under a monitor it returns once the
// container's init runs, with every lock of its own released (the
// monitor holds the run lock). In the foreground the caller waits for
// Run.Init and then calls Run.Close; on error nothing is held.
func Start(ctx context.Context, s *store.Store, name string, opts StartOptions) (_ *Run, err error) {
	c, spec, err := Spec(s, name, opts.Options)
	if err != nil {
		return nil, err
	}
	if opts.Warn != nil {
		warnSpec(c, spec, opts.Warn)
	}
	r := &Run{Container: c, Spec: spec}
	if r.unlock, err = c.Lock(false); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil || !opts.Foreground {
			r.Close()
		}
	}()
	// Held by this process (foreground) or the monitor until the run is
	// over.
	runLock, dir, err := LockRun(c)
	if err != nil {
		return nil, err
	}
	r.runLock = runLock
	ro := opts.Runtime
	ro.Name, ro.Spec, ro.ConfigPath, ro.RuntimeDir = c.Name, spec, opts.Source.Path(c), dir
	ro.ConsoleLogPath = spec.Annotations[ocispec.AnnotationConsoleLog]
	if !opts.Foreground {
		_, err := runtimeDaemon(ctx, runtime.DaemonOptions{Options: ro, LogPath: c.LogPath(),
			ExtraLogPath: opts.ExtraLogPath, LogLevel: opts.LogLevel, RunLock: runLock})
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	if r.Init, err = runtimeStart(ctx, ro); err != nil {
		return nil, err
	}
	return r, nil
}

// warnSpec says which keys of the config ulxc knows but does not enforce
// (ocispec.Unapplied), and which device nodes of the image the container
// does not get from the host (ocispec.LeftOutDevices) with the line of
// LXC's own syntax that binds one: that choice is the user's, not the
// image's. ls and info, which convert the config too, keep quiet.
func warnSpec(c *store.Container, spec *specs.Spec, warn func(string)) {
	if un := ocispec.Unapplied(spec); len(un) > 0 {
		warn(c.Name + ": not enforced: " + strings.Join(un, ", "))
	}
	devs, err := store.ReadDevices(c.Dir)
	if err != nil {
		warn(c.Name + ": recorded device nodes: " + err.Error())
		return
	}
	var paths []string
	for _, d := range devs {
		paths = append(paths, d.Path)
	}
	out := ocispec.LeftOutDevices(spec, paths)
	if len(out) == 0 {
		return
	}
	names := make([]string, len(out))
	for i, p := range out {
		names[i] = p
		if ocispec.DeviceMountEntry(p) == "" {
			names[i] = strconv.Quote(p)
		}
	}
	warn(c.Name + ": device nodes of the image not bound from the host: " + strings.Join(names, ", "))
	for _, p := range out {
		if line := ocispec.DeviceMountEntry(p); line != "" {
			warn(c.Name + ": to bind the host's " + p + ", add to " + c.ConfigPath() + ": " + line)
		}
	}
}
