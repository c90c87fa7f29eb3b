package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/runtime"
)

const executeUsage = `Usage: ulxc execute [-n] NAME [-d] [-f CONFIG] [-s KEY=VAL]... [-u UID] [-g GID] [-- CMD [ARGS...]]

Run CMD as an application container, as lxc-execute does: the container
NAME is set up as its config says and CMD, not the system's init, is its
init (pid 1), in the foreground with ulxc exiting with its status (-d puts
it in the background under a monitor, as start does). Without CMD,
lxc.execute.cmd of the config is run. -u and -g run CMD as that user and
group inside (lxc.init.uid, lxc.init.gid); -f and -s are start's.

CMD is pid 1 of the container's pid namespace, with no lxc-init between it
and the kernel: signals it has no handler for do not reach it, and it
reaps what it leaves behind or they stay zombies until it exits. Unless
the config names lxc.signal.halt, stop sends it SIGTERM, then kills it
after the timeout.

Examples:
  ulxc execute -n web -- /bin/sh -c 'echo hello from $(hostname)'
  ulxc execute web -u 1000 -g 1000 -- id
`

func cmdExecute(e *env, args []string) error {
	fs := e.newFlagSet("execute")
	name := fs.StringP("name", "n", "", "container `NAME`")
	daemon := fs.BoolP("daemon", "d", false, "run in the background")
	var src configSource
	fs.StringVarP(&src.rcfile, "rcfile", "f", "", "read the config from `FILE`")
	fs.StringArrayVarP(&src.defines, "define", "s", nil, "set config `KEY=VAL` (repeatable)")
	uid := fs.Int64P("uid", "u", -1, "run CMD as `UID` inside")
	gid := fs.Int64P("gid", "g", -1, "run CMD as `GID` inside")
	if err := e.parse(fs, executeUsage, args); err != nil {
		return err
	}
	rest, err := nameAndCommand(fs, name, "execute")
	if err != nil {
		return err
	}
	for _, id := range []struct {
		v   int64
		key string
	}{{*uid, "lxc.init.uid"}, {*gid, "lxc.init.gid"}} {
		if id.v >= 0 {
			src.defines = append(src.defines, id.key+"="+strconv.FormatInt(id.v, 10))
		}
	}
	if err := src.check("execute"); err != nil {
		return err
	}
	s, err := e.openStore()
	if err != nil {
		return fmt.Errorf("execute %s: %w", *name, err)
	}
	c, err := s.Get(*name)
	if err != nil {
		return fmt.Errorf("execute %s: %w", *name, err)
	}
	cfg, err := src.load(c)
	if err != nil {
		return fmt.Errorf("execute %s: %w", *name, err)
	}
	if len(rest) == 0 {
		v, _ := cfg.Get("lxc.execute.cmd")
		if rest, err = ocispec.SplitCommand(v); err != nil || len(rest) == 0 {
			return usagef("execute: no command: give one after -- or set lxc.execute.cmd in %s", src.path(c))
		}
	}
	// pid 1 ignores SIGPWR, the system containers' halt signal.
	if _, ok := cfg.Get("lxc.signal.halt"); !ok {
		src.defines = append(src.defines, "lxc.signal.halt=SIGTERM")
	}
	spec, err := e.specFrom(c, src, rest)
	if err != nil {
		return fmt.Errorf("execute %s: %w", *name, err)
	}
	unlock, err := c.Lock(false)
	if err != nil {
		return fmt.Errorf("execute %s: %w", *name, err)
	}
	defer unlock()
	runLock, dir, err := lockRun(c)
	if err != nil {
		return fmt.Errorf("execute %s: %w", *name, err)
	}
	defer runLock.Close()
	opts := runtime.Options{Name: c.Name, Spec: spec, ConfigPath: src.path(c), RuntimeDir: dir,
		ConsoleLogPath: spec.Annotations[ocispec.AnnotationConsoleLog]}
	if *daemon {
		_, err := runtime.Daemon(context.Background(), runtime.DaemonOptions{Options: opts,
			LogPath: c.LogPath(), ExtraLogPath: e.logFile, LogLevel: logLevel(e.logPriority), RunLock: runLock})
		if err != nil {
			return fmt.Errorf("execute %s: %w", *name, err)
		}
		return nil
	}
	return e.foreground(opts, unlock)
}
