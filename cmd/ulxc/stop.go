package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ulxc/ulxc/runtime"
)

const stopUsage = `Usage: ulxc stop [-t SECONDS] [-k] NAME

Stop the container NAME: send its halt signal (lxc.signal.halt, default
SIGPWR) to its init, wait up to SECONDS (default 60; -1 waits forever), then
kill it with its stop signal (lxc.signal.stop, default SIGKILL). -k kills at
once. As lxc-stop, a container that is not running is reported and the exit
status is 2.

Examples:
  ulxc stop web
  ulxc stop -t 5 web
`

func cmdStop(e *env, args []string) error {
	fs := e.newFlagSet("stop")
	name := fs.StringP("name", "n", "", "container `NAME`")
	timeout := fs.IntP("timeout", "t", 60, "wait `SECONDS` for a clean shutdown before killing (-1: forever)")
	kill := fs.BoolP("kill", "k", false, "kill the container at once")
	if err := e.parse(fs, stopUsage, args); err != nil {
		return err
	}
	if err := nameArg(name, fs.Args(), "stop"); err != nil {
		return err
	}
	if *kill && fs.Changed("timeout") {
		return usagef("stop: -k and -t conflict")
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
	opts := runtime.StopOptions{Kill: *kill, Timeout: time.Duration(*timeout) * time.Second}
	if *timeout < 0 {
		opts.Timeout = -1
	} else if *timeout == 0 {
		opts.Kill = true // LXC: -t 0 kills at once
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
