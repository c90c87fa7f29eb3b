package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ulxc/ulxc/runtime"
)

const stopUsage = `Usage: ulxc stop [-t SECONDS] [-k|-r] [-W] [--nokill] NAME

Stop the container NAME: send its halt signal (lxc.signal.halt, default
SIGPWR) to its init, wait up to SECONDS (default 60; -1 waits forever), then
kill it with its stop signal (lxc.signal.stop, default SIGKILL). -k kills at
once; --nokill never kills, and fails when the container did not stop in
time; -t 0 sends the halt signal and neither waits nor kills, as -W. As lxc-stop, a container that is not running is reported and the exit
status is 2.

-r asks for a reboot instead: init gets its reboot signal (lxc.signal.reboot,
default SIGINT), and stop waits up to SECONDS for the container to run again
under a new init, failing if it stopped instead. -W sends the signal and
returns at once, neither waiting nor killing.

Examples:
  ulxc stop web
  ulxc stop -t 5 web
  ulxc stop -r web
  ulxc stop -W web
`

func cmdStop(e *env, args []string) error {
	fs := e.newFlagSet("stop")
	name := fs.StringP("name", "n", "", "container `NAME`")
	timeout := fs.IntP("timeout", "t", 60, "wait `SECONDS` for a clean shutdown before killing (-1: forever)")
	kill := fs.BoolP("kill", "k", false, "kill the container at once")
	reboot := fs.BoolP("reboot", "r", false, "reboot the container")
	noWait := fs.BoolP("nowait", "W", false, "send the signal and return at once")
	noKill := fs.Bool("nokill", false, "never kill after the timeout")
	if err := e.parse(fs, stopUsage, args); err != nil {
		return err
	}
	if err := nameArg(name, fs.Args(), "stop"); err != nil {
		return err
	}
	for _, c := range []struct {
		a, b  string
		clash bool
	}{
		{"-k", "-t", *kill && fs.Changed("timeout")},
		{"-k", "-r", *kill && *reboot},
		{"-k", "--nokill", *kill && *noKill},
		{"-W", "-t", *noWait && fs.Changed("timeout")},
		{"-W", "--nokill", *noWait && *noKill},
		{"-r", "--nokill", *reboot && *noKill},
	} {
		if c.clash {
			return usagef("stop: %s and %s conflict", c.a, c.b)
		}
	}
	if *timeout < -1 {
		return usagef("stop: -t %d: want -1 or more", *timeout)
	}
	s, err := e.openStore()
	if err != nil {
		return fmt.Errorf("stop %s: %w", *name, err)
	}
	c, err := s.Get(*name)
	if err != nil {
		return fmt.Errorf("stop %s: %w", *name, err)
	}
	run, err := c.FindRun()
	if err != nil {
		return fmt.Errorf("stop %s: %w", *name, err)
	}
	opts := runtime.StopOptions{Kill: *kill, Reboot: *reboot, NoWait: *noWait, NoKill: *noKill,
		Timeout: time.Duration(*timeout) * time.Second}
	switch {
	case *timeout < 0:
		opts.Timeout = -1
	case *timeout == 0:
		// As lxc-stop: the signal and no wait, which for a halt means
		// no kill either.
		opts.NoWait = true
	}
	_, err = runtime.Stop(context.Background(), run.Dir, opts)
	if errors.Is(err, runtime.ErrNotRunning) && run.Held {
		// Its supervisor lives but has not recorded init (yet, or any
		// more: a run that is just ending).
		return fmt.Errorf("stop %s: its supervisor has no init running yet (starting): try again", *name)
	}
	if errors.Is(err, runtime.ErrNotRunning) {
		e.infof("%s is not running", *name)
		return &exitError{2}
	}
	if err != nil {
		return fmt.Errorf("stop %s: %w", *name, err)
	}
	return nil
}

// nameArg takes the container name from -n or the one positional argument.
func nameArg(name *string, rest []string, verb string) error {
	switch {
	case *name != "" && len(rest) > 0, len(rest) > 1:
		return usagef("%s: one container name expected, got %q", verb, append([]string{*name}, rest...))
	case *name == "" && len(rest) == 0:
		return usagef("%s: no container name (see 'ulxc %s --help')", verb, verb)
	case *name == "":
		*name = rest[0]
	}
	return nil
}
