package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/userns"
)

const usernsexecUsage = `Usage: ulxc usernsexec [-m u|g|b:NSID:HOSTID:RANGE]... [-s] [-- CMD [ARGS...]]

Run CMD (default: $SHELL, else /bin/sh) as root in a new user and mount
namespace, as lxc-usernsexec does. Without -m the map comes from lxc.idmap in
~/.config/lxc/default.conf, else your uid and gid become 0 and your
subordinate ids follow from 1. The exit status is CMD's.

Examples:
  ulxc usernsexec -- id
  ulxc usernsexec -m b:0:100000:65536 -- cat /proc/self/uid_map
  ulxc usernsexec -m b:0:100000:65536 -s -- chown 0:0 rootfs
`

func cmdUsernsexec(e *env, args []string) error {
	fs := e.newFlagSet("usernsexec")
	fs.SetInterspersed(false)
	mapFlags := stringsP(fs, "map", "m", "id map `u|g|b:NSID:HOSTID:RANGE` (repeatable; b = both)")
	mapSelf := fs.BoolP("map-self", "s", false, "also map your own uid and gid, to the first unmapped id from 0")
	if err := e.parse(fs, usernsexecUsage, args); err != nil {
		return err
	}
	opts := userns.PlanOptions{Purpose: userns.ForExec, MapSelf: *mapSelf}
	for _, v := range *mapFlags {
		maps, err := userns.ParseFlag(v)
		if err != nil {
			return usagef("usernsexec: -m: %v", err)
		}
		opts.Explicit = append(opts.Explicit, maps...)
	}
	if len(opts.Explicit) == 0 {
		maps, err := defaultIDMaps()
		if err != nil {
			return fmt.Errorf("usernsexec: %w", err)
		}
		opts.Config = maps
	}
	plan, err := userns.NewPlan(opts)
	if err != nil {
		return fmt.Errorf("usernsexec: %w", err)
	}
	if plan.Warning != "" {
		e.warnf("%s", plan.Warning)
	}
	argv := fs.Args()
	if len(argv) == 0 {
		argv = []string{cmp.Or(os.Getenv("SHELL"), "/bin/sh")}
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	cmd, err := userns.Start(context.Background(), userns.Options{
		Plan:       plan,
		Cloneflags: syscall.CLONE_NEWNS, // lxc-usernsexec unshares the mount namespace too
		Entry:      "__usernsexec",
		Args:       argv,
		Stdin:      e.stdin, Stdout: e.stdout, Stderr: e.stderr,
	})
	if err != nil {
		return fmt.Errorf("usernsexec: %w", err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	return exitStatus(cmd.Wait())
}

// exitStatus turns a finished command's error into ulxc's: its exit code,
// or 128+signal when a signal killed it.
func exitStatus(err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &exitError{128 + int(ws.Signal())}
	}
	return &exitError{ee.ExitCode()}
}

// usernsexecChild runs inside the new namespace: become root, then exec the
// command, looked up in PATH only now that the namespace is in place.
func usernsexecChild(args []string) int {
	if err := userns.Enter(); err != nil {
		fmt.Fprintf(os.Stderr, "ulxc: error: usernsexec: %v\n", err)
		return 1
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "ulxc: error: usernsexec: no command")
		return 1
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "ulxc: error: usernsexec: %v\n", err)
		return 127
	}
	err = unix.Exec(path, args, os.Environ())
	fmt.Fprintf(os.Stderr, "ulxc: error: usernsexec: exec %s: %v\n", path, err)
	return 126
}

// defaultIDMaps reads lxc.idmap (and legacy lxc.id_map) from the user's
// default.conf, includes and all; a missing file means no maps.
func defaultIDMaps() ([]userns.Map, error) {
	cfg, err := lxcconf.LoadDefault(lxcconf.Options{})
	if err != nil {
		return nil, err
	}
	var maps []userns.Map
	for _, e := range cfg.Lookup("lxc.idmap") {
		m, err := userns.ParseLXC(e.Value)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", e.File, e.Line, err)
		}
		maps = append(maps, m...)
	}
	return maps, nil
}
