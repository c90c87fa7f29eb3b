package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/ulxc/ulxc/destroy"
	"github.com/ulxc/ulxc/lifecycle"
	"github.com/ulxc/ulxc/store"
)

const destroyUsage = `Usage: ulxc destroy [-n] NAME [-f] [-s]

Remove a stopped container completely: its config, its rootfs (files owned
by your subordinate ids included, removed from inside its user namespace)
and its state. A running container is refused unless -f, which kills it
first (as lxc-destroy -f does). A container whose overlay snapshots
depend on it is refused unless -s, which destroys them first (as
lxc-destroy -s does).

Examples:
  ulxc destroy web
  ulxc destroy -f -n web
`

func cmdDestroy(e *env, args []string) error {
	fs := e.newFlagSet("destroy")
	name := fs.StringP("name", "n", "", "container `NAME`")
	force := fs.BoolP("force", "f", false, "stop the container first if it runs")
	snapshots := fs.BoolP("snapshots", "s", false, "destroy the container's overlay snapshots too")
	if err := e.parse(fs, destroyUsage, args); err != nil {
		return err
	}
	cname, err := containerName(*name, fs.Args(), "destroy")
	if err != nil {
		return err
	}
	s, err := e.openStore()
	if err != nil {
		return err
	}
	c, err := s.Get(cname)
	if errors.Is(err, store.ErrNotExist) {
		return e.destroyRemains(s, cname, err)
	}
	if err != nil {
		return fmt.Errorf("destroy: %w", err)
	}
	if *snapshots {
		snaps, err := c.Snapshots()
		if err != nil {
			return fmt.Errorf("destroy: %w", err)
		}
		saved := e.lxcPath // the nested parse sets -P
		defer func() { e.lxcPath = saved }()
		for _, r := range snaps {
			sub := []string{"-P", r.Path, r.Name}
			if *force {
				sub = append(sub, "-f")
			}
			if err := cmdDestroy(e, sub); err != nil {
				return fmt.Errorf("destroy %s: snapshot %s: %w", cname, r, err)
			}
		}
	}
	err = lifecycle.Destroy(context.Background(), c, lifecycle.DestroyOptions{Force: *force, HookOutput: e.stderr,
		Warn: func(s string) { e.warnf("%s", s) }})
	if errors.Is(err, store.ErrRunning) && !errors.Is(err, store.ErrUnreachable) && !*force {
		// The hint says to stop it first (hints.go); said once.
		return fmt.Errorf("%w; -f stops it first", err)
	}
	if err != nil {
		return err
	}
	e.infof("Destroyed container %s", cname)
	return nil
}

// destroyRemains removes what an interrupted create or destroy of name
// left (a directory without a config); notExist is the error to report
// when there is nothing.
func (e *env) destroyRemains(s *store.Store, name string, notExist error) error {
	c, unlock, err := s.Abandoned(name)
	if errors.Is(err, store.ErrNotExist) {
		return fmt.Errorf("destroy: %w", notExist)
	}
	if err != nil {
		return fmt.Errorf("destroy: %w", err)
	}
	defer unlock()
	if err := destroy.Container(context.Background(), c, destroy.Options{Warn: func(s string) { e.warnf("%s", s) }}); err != nil {
		return err
	}
	e.infof("Removed %s, the remains of an interrupted create or destroy", c.Dir)
	return nil
}

// destroyChild is destroy.ChildEntry: the removal, inside a user
// namespace, of files that subordinate ids own (destroy, and create's
// rollback).
var destroyChild = destroy.ChildMain

// containerName takes the name from -n or the one positional argument, as
// the LXC tools do.
func containerName(flagName string, pos []string, verb string) (string, error) {
	switch {
	case len(pos) > 1:
		return "", usagef("%s: one container name expected, got %q", verb, pos)
	case len(pos) == 1 && flagName != "" && flagName != pos[0]:
		return "", usagef("%s: -n %s and the argument %s name different containers", verb, flagName, pos[0])
	case len(pos) == 1:
		return pos[0], nil
	case flagName != "":
		return flagName, nil
	}
	return "", usagef("%s: no container name (see 'ulxc %s --help')", verb, verb)
}
