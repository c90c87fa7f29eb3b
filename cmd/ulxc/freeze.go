package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ulxc/ulxc/runtime"
)

const freezeUsage = `Usage: ulxc freeze NAME

Freeze every process of the running container NAME (cgroup v2
cgroup.freeze) and return once the kernel reports it frozen. This needs the
container's own cgroup, which ulxc makes when you run it from a delegated
cgroup v2 subtree: systemd's Delegate=yes (systemd-run --user --scope -p
Delegate=yes ulxc start NAME), or a cgroup an admin chowned to you. There
is no SIGSTOP fallback: the container could see it, and it races with fork.

Examples:
  ulxc freeze web
  ulxc unfreeze web
`

const unfreezeUsage = `Usage: ulxc unfreeze NAME

Thaw the container NAME that ulxc freeze froze.

Examples:
  ulxc unfreeze web
`

// freezeTimeout bounds the wait for the kernel to report the change.
const freezeTimeout = 30 * time.Second

func cmdFreeze(e *env, args []string) error {
	return e.freeze("freeze", freezeUsage, args, runtime.Freeze)
}

func cmdUnfreeze(e *env, args []string) error {
	return e.freeze("unfreeze", unfreezeUsage, args, runtime.Unfreeze)
}

func (e *env) freeze(verb, usage string, args []string, op func(context.Context, string) error) error {
	fs := e.newFlagSet(verb)
	name := fs.StringP("name", "n", "", "container `NAME`")
	if err := e.parse(fs, usage, args); err != nil {
		return err
	}
	if err := nameArg(name, fs.Args(), verb); err != nil {
		return err
	}
	dir, err := e.runtimeDir(*name)
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, *name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), freezeTimeout)
	defer cancel()
	if err := op(ctx, dir); err != nil {
		return fmt.Errorf("%s %s: %w", verb, *name, err)
	}
	return nil
}
