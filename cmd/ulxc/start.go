package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/store"
)

const startUsage = `Usage: ulxc start [-F|-d] [-p [ADDR:]HOSTPORT:CTPORT]... NAME [-- CMD [ARGS...]]

Start the container NAME, by default in the background under a monitor
process that keeps its console (as lxc-start does since LXC 2). With -F it
runs in the foreground and ulxc exits with its status: on a terminal, the
container's /dev/console (and its ttys) come from its own devpts and your
terminal is relayed to the console, as with lxc-start -F; otherwise the
container's stdio is ulxc's. SIGINT, SIGTERM and SIGHUP sent to ulxc are
passed on to the container's init. CMD replaces the init command.

-p forwards a port of this host to the container, for this run, through
its first pasta or slirp4netns interface (lxc.net.N.forward does it for
every run): [tcp:|udp:][ADDR:]HOSTPORT:CTPORT, on 127.0.0.1 unless ADDR
says otherwise (0.0.0.0 for every address; an IPv6 one in brackets).
Options go before NAME.

Examples:
  ulxc start web
  ulxc start -p 8080:80 -p udp:5353:53 web
  ulxc start -F web -- /bin/sh -c 'echo hello'
`

func cmdStart(e *env, args []string) error {
	fs := e.newFlagSet("start")
	fs.SetInterspersed(false)
	name := fs.StringP("name", "n", "", "container `NAME`")
	fg := fs.BoolP("foreground", "F", false, "run in the foreground")
	daemon := fs.BoolP("daemon", "d", false, "run in the background (the default)")
	publish := fs.StringArrayP("publish", "p", nil, "forward `[ADDR:]HOSTPORT:CTPORT` of this host to the container")
	if err := e.parse(fs, startUsage, args); err != nil {
		return err
	}
	if *fg && *daemon {
		return usagef("start: -F and -d conflict")
	}
	rest := fs.Args()
	if *name == "" && len(rest) > 0 && rest[0] != "--" {
		*name, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	if *name == "" {
		return usagef("start: no container name (see 'ulxc start --help')")
	}
	c, spec, err := e.loadContainer(*name, rest)
	if err != nil {
		return fmt.Errorf("start %s: %w", *name, err)
	}
	if err := ocispec.AddForwards(spec, *publish); err != nil {
		if errors.Is(err, ocispec.ErrInvalidValue) {
			return usagef("start: -p: %v", err)
		}
		return fmt.Errorf("start %s: -p: %w", *name, err)
	}
	e.noteDevices(c, spec)
	unlock, err := c.Lock(false)
	if err != nil {
		return fmt.Errorf("start %s: %w", *name, err)
	}
	defer unlock()
	// Held by this process (-F) or the monitor until the run is over.
	runLock, dir, err := lockRun(c)
	if err != nil {
		return fmt.Errorf("start %s: %w", *name, err)
	}
	defer runLock.Close()
	opts := runtime.Options{Name: c.Name, Spec: spec, ConfigPath: c.ConfigPath(), RuntimeDir: dir,
		ConsoleLogPath: spec.Annotations[ocispec.AnnotationConsoleLog]}
	if !*fg {
		_, err := runtime.Daemon(context.Background(), runtime.DaemonOptions{Options: opts,
			LogPath: c.LogPath(), ExtraLogPath: e.logFile, LogLevel: logLevel(e.logPriority), RunLock: runLock})
		if err != nil {
			return fmt.Errorf("start %s: %w", *name, err)
		}
		return nil
	}
	return e.foreground(opts, unlock)
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
	opts.Log = e.logger()
	if e.logFile != "" {
		f, err := os.OpenFile(e.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("start %s: %w", opts.Name, err)
		}
		defer f.Close()
		opts.Log = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: logLevel(e.logPriority)})).With("container", opts.Name)
	}
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
	if in != nil {
		restore, err := rawTerminal(in, c.ConsoleMaster())
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
				_ = c.Signal(s.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	st, err := c.Wait()
	if err != nil {
		e.warnf("%v", err)
	}
	return &exitError{st.Code}
}

// loadContainer finds the container and converts its config into the spec
// to run; cmd, when given, replaces its init command.
func (e *env) loadContainer(name string, cmd []string) (*store.Container, *specs.Spec, error) {
	s, err := e.openStore()
	if err != nil {
		return nil, nil, err
	}
	c, err := s.Get(name)
	if err != nil {
		return nil, nil, err
	}
	spec, err := e.containerSpec(c, cmd)
	return c, spec, err
}

func (e *env) containerSpec(c *store.Container, cmd []string) (*specs.Spec, error) {
	cfg, err := lxcconf.Load(c.ConfigPath(), lxcconf.Options{})
	if err != nil {
		return nil, err
	}
	spec, err := ocispec.Convert(cfg, ocispec.Options{Name: c.Name, Dir: c.Dir, ConfigFile: c.ConfigPath(),
		Command: cmd})
	if err != nil {
		return nil, err
	}
	if un := ocispec.Unapplied(spec); len(un) > 0 {
		e.warnf("%s: not enforced: %s", c.Name, strings.Join(un, ", "))
		for _, k := range un {
			if strings.HasPrefix(k, "lxc.net.") && strings.HasSuffix(k, ".type") {
				e.warnf("%s: %s: veth interfaces need ulxc-netshim, which does not exist yet: the container has loopback only", c.Name, strings.TrimSuffix(k, ".type"))
			}
		}
	}
	return spec, nil
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

// logLevel maps LXC's log priorities onto slog's levels.
func logLevel(priority string) slog.Level {
	switch strings.ToUpper(priority) {
	case "TRACE", "DEBUG":
		return slog.LevelDebug
	case "", "INFO", "NOTICE":
		return slog.LevelInfo
	case "WARN", "WARNING":
		return slog.LevelWarn
	default: // ERROR, CRIT, ALERT, FATAL
		return slog.LevelError
	}
}

// monitorChild is runtime.MonitorEntry, "__monitor", for main's childEntries.
var monitorChild = runtime.MonitorMain
