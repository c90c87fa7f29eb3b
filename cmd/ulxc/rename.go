package main

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/ulxc/ulxc/clone"
)

const renameUsage = `Usage: ulxc rename [-n] OLD NEW

Rename a stopped container (as lxc-copy -R does): its directory, its
config (paths, lxc.uts.name), its log file, and its name in /etc/hostname
and /etc/hosts. A container that snapshots depend on is refused.

Examples:
  ulxc rename web web-old
`

func cmdRename(e *env, args []string) error {
	fs := e.newFlagSet("rename")
	name := fs.StringP("name", "n", "", "the container's `NAME`")
	if err := e.parse(fs, renameUsage, args); err != nil {
		return err
	}
	pos := fs.Args()
	if *name != "" {
		pos = append([]string{*name}, pos...)
	}
	if len(pos) != 2 {
		return usagef("rename: want OLD and NEW (see 'ulxc rename --help')")
	}
	s, err := e.openStore()
	if err != nil {
		return err
	}
	c, err := s.Get(pos[0])
	if err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	unlock, err := c.Lock(false)
	if err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	defer unlock()
	if err := e.mustBeStopped(c, "rename"); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	r, err := clone.Rename(ctx, s, c, pos[1])
	if err != nil {
		return err
	}
	e.infof("Renamed %s to %s", pos[0], r.Name)
	return nil
}
