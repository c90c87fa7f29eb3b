package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ulxc/ulxc/destroy"
	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/runtime"
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
	unlock, err := c.Lock(false)
	if err != nil {
		return fmt.Errorf("destroy: %w", err)
	}
	defer unlock()
	// The container's directory says whether it runs and where; a run
	// that cannot be reached is never destroyed under its supervisor.
	run, st, err := checkRun(c)
	if err != nil {
		return fmt.Errorf("destroy %s: %w", cname, err)
	}
	if st.Status != runtime.Stopped {
		if !*force {
			return fmt.Errorf("destroy %s: %w: stop it first, or use -f", cname, runningError(st))
		}
		// lxc-destroy -f kills rather than shuts down: the container is
		// about to be deleted anyway.
		if _, err := runtime.Stop(context.Background(), run.Dir, runtime.StopOptions{Kill: true}); err != nil && !errors.Is(err, runtime.ErrNotRunning) {
			return fmt.Errorf("destroy %s: stop: %w", cname, err)
		}
		if run, st, err = checkRun(c); err != nil || st.Status != runtime.Stopped {
			return fmt.Errorf("destroy %s: %w after stopping it: %v", cname, runningError(st), err)
		}
	}
	if err := e.destroyHooks(c); err != nil {
		return fmt.Errorf("destroy %s: %w (the container is kept)", cname, err)
	}
	if err := destroy.Container(context.Background(), c, destroy.Options{Warn: func(s string) { e.warnf("%s", s) }}); err != nil {
		return err
	}
	_ = os.RemoveAll(run.Dir)
	if here, err := c.RuntimeDir(); err == nil && here != run.Dir {
		_ = os.RemoveAll(here)
	}
	e.infof("Destroyed container %s", cname)
	return nil
}

// destroyHooks runs c's lxc.hook.destroy hooks, as lxc-destroy does
// before it removes anything. A config ulxc cannot read is no reason to
// keep a container: only one that names destroy hooks must convert.
func (e *env) destroyHooks(c *store.Container) error {
	cfg, err := lxcconf.Load(c.ConfigPath(), lxcconf.Options{})
	if err != nil {
		e.warnf("destroy %s: no destroy hooks run: %v", c.Name, err)
		return nil
	}
	if len(cfg.Values("lxc.hook.destroy")) == 0 {
		return nil
	}
	spec, err := e.containerSpec(c, nil)
	if err != nil {
		return fmt.Errorf("lxc.hook.destroy: %w: fix %s or remove its lxc.hook.destroy lines", err, c.ConfigPath())
	}
	return runtime.DestroyHooks(context.Background(), spec, c.Name, c.ConfigPath(), e.stderr)
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
