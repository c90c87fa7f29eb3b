package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ulxc/ulxc/store"
)

const autostartUsage = `Usage: ulxc autostart [-s|-k|-r] [-L] [-a] [-A] [-g GROUPS]... [-t SECONDS]

Start the containers whose config says lxc.start.auto = 1, as lxc-autostart
does: lowest lxc.start.order first (then by name), waiting lxc.start.delay
seconds after each. By default only containers without lxc.group are
selected; -g selects groups in the order given ("" or a doubled comma is
the no-group group, e.g. -g onboot,), -a ignores groups and -A ignores
lxc.start.auto. -s shuts the selected containers down (highest order
first), -k kills them, -r restarts them; -L lists what would be done.
Running containers are not started again, stopped ones not stopped.

To start your containers when you log in (or at boot with
'loginctl enable-linger'), a systemd user unit,
~/.config/systemd/user/ulxc-autostart.service:

  [Unit]
  Description=ulxc autostart containers

  [Service]
  Type=oneshot
  RemainAfterExit=yes
  Delegate=yes
  ExecStart=/usr/local/bin/ulxc autostart
  ExecStop=/usr/local/bin/ulxc autostart -s -t 30

  [Install]
  WantedBy=default.target

then: systemctl --user enable --now ulxc-autostart.service

Examples:
  ulxc autostart
  ulxc autostart -L -a
  ulxc autostart -s -t 30
`

func cmdAutostart(e *env, args []string) error {
	fs := e.newFlagSet("autostart")
	shutdown := fs.BoolP("shutdown", "s", false, "shut the containers down")
	kill := fs.BoolP("kill", "k", false, "kill the containers")
	reboot := fs.BoolP("reboot", "r", false, "restart the containers")
	list := fs.BoolP("list", "L", false, "only list the containers and delays")
	all := fs.BoolP("all", "a", false, "ignore lxc.group: select every group")
	ignoreAuto := fs.BoolP("ignore-auto", "A", false, "ignore lxc.start.auto")
	groups := stringsP(fs, "groups", "g", "comma-separated `GROUPS` to select (repeatable)")
	timeout := fs.IntP("timeout", "t", 60, "wait `SECONDS` for a shutdown before killing")
	if err := e.parse(fs, autostartUsage, args); err != nil {
		return err
	}
	switch n := btoi(*shutdown) + btoi(*kill) + btoi(*reboot); {
	case n > 1:
		return usagef("autostart: -s, -k and -r conflict")
	case len(fs.Args()) > 0:
		return usagef("autostart: unexpected argument %q", fs.Args()[0])
	case *all && len(*groups) > 0:
		return usagef("autostart: -a and -g conflict")
	}
	s, err := e.openStore()
	if err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	cs, err := s.List()
	if err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	var entries []store.Autostart
	for _, c := range cs {
		a, err := c.Autostart()
		if err != nil {
			e.warnf("autostart: %s: %v", c.Name, err)
			continue
		}
		entries = append(entries, a)
	}
	stopping := *shutdown || *kill
	plan := store.AutostartPlan(entries, store.PlanOptions{
		All: *all, IgnoreAuto: *ignoreAuto, Groups: store.SplitGroups(*groups), Stopping: stopping,
	})
	var failed []string
	for i, ae := range plan {
		if *list {
			fmt.Fprintf(e.stdout, "%s %d\n", ae.Name, ae.Delay)
			continue
		}
		var err error
		switch {
		case *kill:
			err = quietStop(cmdStop(e, []string{"-k", ae.Name}))
		case *shutdown || *reboot:
			err = quietStop(cmdStop(e, []string{"-t", strconv.Itoa(*timeout), ae.Name}))
		}
		if err == nil && !stopping {
			err = e.autostartOne(ae.Name)
		}
		if err != nil {
			e.warnf("%v", err)
			failed = append(failed, ae.Name)
			continue
		}
		if !stopping && ae.Delay > 0 && i < len(plan)-1 {
			time.Sleep(time.Duration(ae.Delay) * time.Second)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("autostart: %d of %d containers failed: %s", len(failed), len(plan), strings.Join(failed, ", "))
	}
	return nil
}

// autostartOne starts name unless it runs already.
func (e *env) autostartOne(name string) error {
	err := cmdStart(e, []string{name})
	if errors.Is(err, store.ErrRunning) {
		return nil
	}
	return err
}

// quietStop treats "not running" (stop's exit status 2) as done.
func quietStop(err error) error {
	if ee, ok := err.(*exitError); ok && ee.code == 2 {
		return nil
	}
	return err
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
