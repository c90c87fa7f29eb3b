package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/ulxc/ulxc/lifecycle"
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
	var src source
	fs.StringVarP(&src.RCFile, "rcfile", "f", "", "read the config from `FILE`")
	stringsVarP(fs, &src.Defines, "define", "s", "set config `KEY=VAL` (repeatable)")
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
			src.Defines = append(src.Defines, id.key+"="+strconv.FormatInt(id.v, 10))
		}
	}
	if err := src.check("execute"); err != nil {
		return err
	}
	s, err := e.openStore()
	if err != nil {
		return fmt.Errorf("execute %s: %w", *name, err)
	}
	overlay, err := overlayDriver()
	if err != nil {
		return err
	}
	opts := lifecycle.StartOptions{Options: lifecycle.Options{Source: src.Source, Command: rest, Execute: true},
		Foreground: !*daemon, Runtime: runtime.Options{Overlay: overlay}, ExtraLogPath: e.logFile, LogLevel: logLevel(e.logPriority)}
	fail := func(err error) error {
		var nc *lifecycle.NoCommandError
		if errors.As(err, &nc) {
			return usagef("execute: no command: give one after -- or set lxc.execute.cmd in %s", nc.ConfigPath)
		}
		return fmt.Errorf("execute %s: %w", *name, err)
	}
	if *daemon {
		if _, err := lifecycle.Start(context.Background(), s, *name, opts); err != nil {
			return fail(err)
		}
		return nil
	}
	var run *lifecycle.Run
	defer func() {
		if run != nil {
			run.Close()
		}
	}()
	return e.foreground(*name, opts.Runtime, func(ro runtime.Options) (*runtime.Container, error) {
		opts.Runtime = ro
		var err error
		if run, err = lifecycle.Start(context.Background(), s, *name, opts); err != nil {
			return nil, fail(err)
		}
		run.Unlock() // the state file says it runs now
		return run.Init, nil
	})
}
