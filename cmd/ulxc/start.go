package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"

	"github.com/ulxc/ulxc/lifecycle"
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
	var src source
	fs.StringVarP(&src.RCFile, "rcfile", "f", "", "read the config from `FILE`")
	stringsVarP(fs, &src.Defines, "define", "s", "set config `KEY=VAL` (repeatable)")
	pidFile := fs.StringP("pidfile", "p", "", "write the supervisor's pid to `FILE`")
	consolePath := fs.StringP("console", "c", "", "relay the console to the terminal `FILE`")
	consoleLog := fs.StringP("console-log", "L", "", "append the console's output to `FILE`")
	fs.BoolP("close-all-fds", "C", false, "close inherited descriptors (ulxc always does)")
	// Not -p, which is lxc-start's pid file.
	publish := stringsP(fs, "publish", "", "forward `[ADDR:]HOSTPORT:CTPORT` of this host to the container (default ADDR 127.0.0.1; repeatable)")
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
			src.Defines = append(src.Defines, p.key+"="+abs)
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
	s, err := e.openStore()
	if err != nil {
		return fmt.Errorf("start %s: %w", *name, err)
	}
	overlay, err := overlayDriver()
	if err != nil {
		return err
	}
	opts := lifecycle.StartOptions{Options: lifecycle.Options{Source: src.Source, Command: rest, Publish: *publish},
		Foreground: *fg, Runtime: runtime.Options{PidFile: *pidFile, Overlay: overlay},
		ExtraLogPath: e.logFile, LogLevel: logLevel(e.logPriority), Warn: func(s string) { e.warnf("%s", s) }}
	if !*fg {
		_, err := lifecycle.Start(context.Background(), s, *name, opts)
		switch {
		case errors.Is(err, store.ErrRunning) && !errors.Is(err, store.ErrUnreachable):
			// As lxc-start -d: what was asked for is so already.
			e.infof("%s is already running", *name)
			return nil
		case err != nil:
			return e.startError(*name, err)
		}
		return nil
	}
	var run *lifecycle.Run
	err = e.foreground(*name, opts.Runtime, func(ro runtime.Options) (*runtime.Container, error) {
		opts.Runtime = ro
		var err error
		if run, err = lifecycle.Start(context.Background(), s, *name, opts); err != nil {
			if errors.Is(err, store.ErrRunning) {
				return nil, fmt.Errorf("start %s: %w: -F runs a new one in the foreground; to reach this one: ulxc console %s, or ulxc attach %s", *name, err, *name, *name)
			}
			return nil, e.startError(*name, err)
		}
		run.Unlock() // the state file says it runs now
		dumpSpec("foreground", run.Spec)
		return run.Init, nil
	})
	if run == nil {
		return err
	}
	defer run.Close() // after the removal, as the monitor's afterMonitor
	if run.Spec.Annotations[ocispec.AnnotationEphemeral] == "1" {
		// lxc.ephemeral: removed once it stopped, as LXC does.
		if rerr := e.removeEphemeral(run.Container, nil); rerr != nil {
			e.warnf("%v", rerr)
		}
	}
	return err
}

// startError is start's error for the container name that did not
// start: a malformed --publish is a usage error.
func (e *env) startError(name string, err error) error {
	var pe *lifecycle.PublishError
	switch {
	case errors.As(err, &pe) && errors.Is(pe.Err, ocispec.ErrInvalidValue):
		return usagef("start: --publish: %v", pe.Err)
	case errors.As(err, &pe):
		return fmt.Errorf("start %s: --publish: %w", name, pe.Err)
	}
	return fmt.Errorf("start %s: %w", name, err)
}

// foreground runs the container name on the caller's stdio and exits with
// its status: start starts it with opts, to which foreground adds the
// stdio, console and log, and returns its error as it is.
func (e *env) foreground(name string, opts runtime.Options, start func(runtime.Options) (*runtime.Container, error)) error {
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
	opts.Log = e.logger().With("container", name)
	// With a terminal among stdio the container gets a console of its own
	// devpts in place of each terminal, as with lxc-start -F, and the
	// console is relayed to the terminal; pipes and files stay the
	// container's own. The caller's terminal never reaches the container.
	terms := terminals([3]*os.File{fileOf(e.stdin), fileOf(e.stdout), fileOf(e.stderr)})
	in := terms[0]
	if t := firstTerminal(terms); t != nil {
		opts.Console, opts.Terminal = true, t
	}
	c, err := start(opts)
	if err != nil {
		return err
	}
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
			return fmt.Errorf("start %s: after a reboot: %w", name, err)
		}
		cur.Store(c)
	}
}

// monitorChild is runtime.MonitorEntry, "[monitor]", for main's childEntries.
func monitorChild(args []string) int { return runtime.MonitorMain(args, afterMonitor) }

// overlayEnv names the variable that chooses what serves an overlay root
// (runtime.OverlayDriver): auto (the default), kernel or fuse.
const overlayEnv = "ULXC_OVERLAY"

// overlayDriver reads overlayEnv.
func overlayDriver() (runtime.OverlayDriver, error) {
	d, err := runtime.ParseOverlayDriver(os.Getenv(overlayEnv))
	if err != nil {
		return "", usagef("%s: %v", overlayEnv, err)
	}
	return d, nil
}
