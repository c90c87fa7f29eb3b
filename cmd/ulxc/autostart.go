package main

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ulxc/ulxc/lxcconf"
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

// autoEntry is one container as autostart sees it.
type autoEntry struct {
	name   string
	auto   bool
	order  int
	delay  int
	groups []string
}

func cmdAutostart(e *env, args []string) error {
	fs := e.newFlagSet("autostart")
	shutdown := fs.BoolP("shutdown", "s", false, "shut the containers down")
	kill := fs.BoolP("kill", "k", false, "kill the containers")
	reboot := fs.BoolP("reboot", "r", false, "restart the containers")
	list := fs.BoolP("list", "L", false, "only list the containers and delays")
	all := fs.BoolP("all", "a", false, "ignore lxc.group: select every group")
	ignoreAuto := fs.BoolP("ignore-auto", "A", false, "ignore lxc.start.auto")
	groups := fs.StringArrayP("groups", "g", nil, "comma-separated `GROUPS` to select (repeatable)")
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
	s, err := store.Open(e.lxcPath)
	if err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	cs, err := s.List()
	if err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	var entries []autoEntry
	for _, c := range cs {
		ae, err := readAutoEntry(c)
		if err != nil {
			e.warnf("autostart: %s: %v", c.Name, err)
			continue
		}
		entries = append(entries, ae)
	}
	stopping := *shutdown || *kill
	plan := autostartPlan(entries, *all, *ignoreAuto, splitGroups(*groups), stopping)
	var failed []string
	for i, ae := range plan {
		if *list {
			fmt.Fprintf(e.stdout, "%s %d\n", ae.name, ae.delay)
			continue
		}
		var err error
		switch {
		case *kill:
			err = quietStop(cmdStop(e, []string{"-k", ae.name}))
		case *shutdown || *reboot:
			err = quietStop(cmdStop(e, []string{"-t", strconv.Itoa(*timeout), ae.name}))
		}
		if err == nil && !stopping {
			err = e.autostartOne(ae.name)
		}
		if err != nil {
			e.warnf("%v", err)
			failed = append(failed, ae.name)
			continue
		}
		if !stopping && ae.delay > 0 && i < len(plan)-1 {
			time.Sleep(time.Duration(ae.delay) * time.Second)
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

func readAutoEntry(c *store.Container) (autoEntry, error) {
	cfg, err := lxcconf.Load(c.ConfigPath(), lxcconf.Options{})
	if err != nil {
		return autoEntry{}, err
	}
	ae := autoEntry{name: c.Name}
	ae.auto = get(cfg, "lxc.start.auto") == "1"
	var errs []string
	for _, kv := range []struct {
		key string
		dst *int
	}{{"lxc.start.order", &ae.order}, {"lxc.start.delay", &ae.delay}} {
		if v := get(cfg, kv.key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s = %q is not a number", kv.key, v))
			}
			*kv.dst = n
		}
	}
	if len(errs) > 0 {
		return autoEntry{}, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	for _, g := range cfg.Values("lxc.group") {
		ae.groups = append(ae.groups, splitGroups([]string{g})...)
	}
	return ae, nil
}

func get(cfg *lxcconf.Config, key string) string {
	v, _ := cfg.Get(key)
	return strings.TrimSpace(v)
}

// splitGroups joins -g arguments into one ordered list; "" is the
// no-group group. Without -g the list is nil.
func splitGroups(args []string) []string {
	var out []string
	for _, a := range args {
		for _, g := range strings.Split(a, ",") {
			out = append(out, strings.TrimSpace(g))
		}
	}
	return out
}

// autostartPlan selects and orders the containers as lxc-autostart does:
// group by group in the order asked (default: only the no-group group; all
// ignores groups), each container once, by lxc.start.order then name;
// reversed for stopping.
func autostartPlan(entries []autoEntry, all, ignoreAuto bool, groups []string, stopping bool) []autoEntry {
	if groups == nil {
		groups = []string{""}
	}
	byOrder := func(s []autoEntry) {
		sort.SliceStable(s, func(i, j int) bool {
			if s[i].order != s[j].order {
				return s[i].order < s[j].order
			}
			return s[i].name < s[j].name
		})
	}
	var plan []autoEntry
	seen := map[string]bool{}
	pick := func(match func(autoEntry) bool) {
		var batch []autoEntry
		for _, ae := range entries {
			if (ae.auto || ignoreAuto) && !seen[ae.name] && match(ae) {
				seen[ae.name] = true
				batch = append(batch, ae)
			}
		}
		byOrder(batch)
		plan = append(plan, batch...)
	}
	if all {
		pick(func(autoEntry) bool { return true })
	} else {
		for _, g := range groups {
			pick(func(ae autoEntry) bool {
				if g == "" {
					return len(ae.groups) == 0
				}
				for _, eg := range ae.groups {
					if eg == g {
						return true
					}
				}
				return false
			})
		}
	}
	if stopping {
		for i, j := 0, len(plan)-1; i < j; i, j = i+1, j-1 {
			plan[i], plan[j] = plan[j], plan[i]
		}
	}
	return plan
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
