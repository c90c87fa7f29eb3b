package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/store"
)

const startUsage = `Usage: ulxc start [-F|-d] [-f CONFIG] [-s KEY=VAL]... [-p PIDFILE] [-c CONSOLE] [-L CONSOLELOG] [--publish [ADDR:]HOSTPORT:CTPORT]... NAME [-- CMD [ARGS...]]

Start the container NAME, by default in the background under a monitor
process that keeps its console (as lxc-start does since LXC 2). With -F it
runs in the foreground and ulxc exits with its status: on a terminal, the
container's /dev/console (and its ttys) come from its own devpts and your
terminal is relayed to the console, as with lxc-start -F; otherwise the
container's stdio is ulxc's. SIGINT, SIGTERM and SIGHUP sent to ulxc are
passed on to the container's init. CMD replaces the init command. Options
may come before or after NAME; only -- ends them.

As lxc-start: -f reads CONFIG instead of the container's config file (the
container must exist: ulxc keeps its locks and state in its directory), -s
sets a config key on top (repeatable: a list key gets one more value), -p
writes the pid of the container's supervisor to PIDFILE until it stops, -c
relays the console to the terminal CONSOLE (lxc.console.path) and -L
appends the console's output to CONSOLELOG (lxc.console.logfile).

--publish forwards a port of this host to the container, for this run, through
its first pasta or slirp4netns interface (lxc.net.N.forward does it for
every run): [tcp:|udp:][ADDR:]HOSTPORT:CTPORT, on 127.0.0.1 unless ADDR
says otherwise (0.0.0.0 for every address; an IPv6 one in brackets).
It has no short form: -p is lxc-start's pid file.

Examples:
  ulxc start web
  ulxc start --publish 8080:80 --publish udp:5353:53 web
  ulxc start -F web -- /bin/sh -c 'echo hello'
  ulxc start web -F -- /bin/sh
  ulxc start -s lxc.uts.name=test -p /tmp/web.pid web
`

func cmdStart(e *env, args []string) error {
	fs := e.newFlagSet("start")
	name := fs.StringP("name", "n", "", "container `NAME`")
	fg := fs.BoolP("foreground", "F", false, "run in the foreground")
	daemon := fs.BoolP("daemon", "d", false, "run in the background (the default)")
	var src configSource
	fs.StringVarP(&src.rcfile, "rcfile", "f", "", "read the config from `FILE`")
	fs.StringArrayVarP(&src.defines, "define", "s", nil, "set config `KEY=VAL` (repeatable)")
	pidFile := fs.StringP("pidfile", "p", "", "write the supervisor's pid to `FILE`")
	consolePath := fs.StringP("console", "c", "", "relay the console to the terminal `FILE`")
	consoleLog := fs.StringP("console-log", "L", "", "append the console's output to `FILE`")
	fs.BoolP("close-all-fds", "C", false, "close inherited descriptors (ulxc always does)")
	// Not -p, which is lxc-start's pid file.
	publish := fs.StringArray("publish", nil, "forward `[ADDR:]HOSTPORT:CTPORT` of this host to the container (default ADDR 127.0.0.1; repeatable)")
	if err := e.parse(fs, startUsage, args); err != nil {
		return err
	}
	for _, p := range []struct {
		flag string
		val  *string
		key  string
	}{{"-p", pidFile, ""}, {"-c", consolePath, "lxc.console.path"}, {"-L", consoleLog, "lxc.console.logfile"}} {
		if *p.val == "" {
			continue
		}
		abs, err := filepath.Abs(*p.val)
		if err != nil {
			return usagef("start: %s %s: %v", p.flag, *p.val, err)
		}
		*p.val = abs
		if p.key != "" {
			src.defines = append(src.defines, p.key+"="+abs)
		}
	}
	if err := src.check("start"); err != nil {
		return err
	}
	if *fg && *daemon {
		return usagef("start: -F and -d conflict")
	}
	rest, err := nameAndCommand(fs, name, "start")
	if err != nil {
		return err
	}
	c, spec, err := e.loadContainerFrom(*name, src, rest)
	if err != nil {
		return fmt.Errorf("start %s: %w", *name, err)
	}
	if err := ocispec.AddForwards(spec, *publish); err != nil {
		if errors.Is(err, ocispec.ErrInvalidValue) {
			return usagef("start: --publish: %v", err)
		}
		return fmt.Errorf("start %s: --publish: %w", *name, err)
	}
	e.warnUnapplied(c, spec)
	e.noteDevices(c, spec)
	unlock, err := c.Lock(false)
	if err != nil {
		return fmt.Errorf("start %s: %w", *name, err)
	}
	defer unlock()
	// Held by this process (-F) or the monitor until the run is over.
	runLock, dir, err := lockRun(c)
	switch {
	case errors.Is(err, store.ErrRunning) && !errors.Is(err, store.ErrUnreachable) && !*fg:
		// As lxc-start -d: what was asked for is so already.
		e.infof("%s is already running", *name)
		return nil
	case errors.Is(err, store.ErrRunning) && *fg:
		return fmt.Errorf("start %s: %w: -F runs a new one in the foreground; to reach this one: ulxc console %s, or ulxc attach %s", *name, err, *name, *name)
	case err != nil:
		return fmt.Errorf("start %s: %w", *name, err)
	}
	defer runLock.Close()
	opts := runtime.Options{Name: c.Name, Spec: spec, ConfigPath: src.path(c), RuntimeDir: dir,
		ConsoleLogPath: spec.Annotations[ocispec.AnnotationConsoleLog], PidFile: *pidFile}
	if !*fg {
		_, err := runtime.Daemon(context.Background(), runtime.DaemonOptions{Options: opts,
			LogPath: c.LogPath(), ExtraLogPath: e.logFile, LogLevel: logLevel(e.logPriority), RunLock: runLock})
		if err != nil {
			return fmt.Errorf("start %s: %w", *name, err)
		}
		return nil
	}
	err = e.foreground(opts, unlock)
	if spec.Annotations[ocispec.AnnotationEphemeral] == "1" {
		// lxc.ephemeral: removed once it stopped, as LXC does.
		unlock()
		if rerr := e.removeEphemeral(c); rerr != nil {
			e.warnf("%v", rerr)
		}
	}
	return err
}

// foreground runs the container on the caller's stdio and exits with its
// status.
func (e *env) foreground(opts runtime.Options, unlock func()) error {
	// signal.Notify starts the runtime's signal-watching goroutine and a
	// thread for it, a few hundred microseconds that run beside the start
	// rather than before it. A signal that comes before it is in place
	// has its default effect, as one that comes before foreground runs;
	// those that come during the start are forwarded once init runs.
	sigs := make(chan os.Signal, 4)
	notified := make(chan struct{})
	go func() {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		close(notified)
	}()
	defer func() {
		<-notified
		signal.Stop(sigs)
	}()
	opts.Stdin, opts.Stdout, opts.Stderr = e.stdin, e.stdout, e.stderr
	opts.Log = e.logger().With("container", opts.Name)
	// With a terminal among stdio the container gets a console of its own
	// devpts in place of each terminal, as with lxc-start -F, and the
	// console is relayed to the terminal; pipes and files stay the
	// container's own. The caller's terminal never reaches the container.
	terms := terminals([3]*os.File{fileOf(e.stdin), fileOf(e.stdout), fileOf(e.stderr)})
	in := terms[0]
	if t := firstTerminal(terms); t != nil {
		opts.Console, opts.Terminal = true, t
	}
	c, err := runtime.Start(context.Background(), opts)
	if err != nil {
		return fmt.Errorf("start %s: %w", opts.Name, err)
	}
	unlock() // the state file says it runs now
	// The run of now: a reboot inside replaces it (runtime.ExitStatus.Rebooted).
	var cur atomic.Pointer[runtime.Container]
	cur.Store(c)
	if in != nil {
		restore, err := rawTerminalFollow(in, func() *os.File { return cur.Load().ConsoleMaster() })
		if err != nil {
			e.warnf("%v", err)
		} else {
			defer restore()
		}
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cur.Load().Signal(s.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	for {
		st, err := c.Wait()
		if err != nil {
			e.warnf("%v", err)
		}
		if !st.Rebooted() {
			return &exitError{st.Code}
		}
		opts.Log.Info("container rebooting")
		if c, err = c.Restart(context.Background()); err != nil {
			return fmt.Errorf("start %s: after a reboot: %w", opts.Name, err)
		}
		cur.Store(c)
	}
}

// loadContainer finds the container and converts its config into the spec
// to run; cmd, when given, replaces its init command.
func (e *env) loadContainer(name string, cmd []string) (*store.Container, *specs.Spec, error) {
	return e.loadContainerFrom(name, configSource{}, cmd)
}

// loadContainerFrom is loadContainer with the config read from src.
func (e *env) loadContainerFrom(name string, src configSource, cmd []string) (*store.Container, *specs.Spec, error) {
	s, err := e.openStore()
	if err != nil {
		return nil, nil, err
	}
	c, err := s.Get(name)
	if err != nil {
		return nil, nil, err
	}
	spec, err := e.specFrom(c, src, cmd)
	return c, spec, err
}

func (e *env) containerSpec(c *store.Container, cmd []string) (*specs.Spec, error) {
	return e.specFrom(c, configSource{}, cmd)
}

// warnUnapplied says, once per start, which keys of the config ulxc knows
// but does not enforce (ocispec.Unapplied); ls and info, which convert the
// config too, keep quiet about them.
func (e *env) warnUnapplied(c *store.Container, spec *specs.Spec) {
	un := ocispec.Unapplied(spec)
	if len(un) == 0 {
		return
	}
	e.warnf("%s: not enforced: %s", c.Name, strings.Join(un, ", "))
}

// noteDevices tells the user which device nodes of the image the
// container does not get from the host (ocispec.LeftOutDevices), and the
// line of LXC's own syntax that binds one: that choice is the user's, not
// the image's.
func (e *env) noteDevices(c *store.Container, spec *specs.Spec) {
	devs, err := store.ReadDevices(c.Dir)
	if err != nil {
		e.warnf("%s: recorded device nodes: %v", c.Name, err)
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
	e.warnf("%s: device nodes of the image not bound from the host: %s", c.Name, strings.Join(names, ", "))
	for _, p := range out {
		if line := ocispec.DeviceMountEntry(p); line != "" {
			e.warnf("%s: to bind the host's %s, add to %s: %s", c.Name, p, c.ConfigPath(), line)
		}
	}
}

// monitorChild is runtime.MonitorEntry, "[monitor]", for main's childEntries.
func monitorChild(args []string) int { return runtime.MonitorMain(args, afterMonitor) }
