package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/ulxc/ulxc/lifecycle"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/store"
)

const lsUsage = `Usage: ulxc ls [-1] [-f] [-F COLUMNS] [--active] [--running] [--frozen] [--stopped]
               [-g GROUPS] [--filter REGEX | REGEX] [--format json]

List the containers, as lxc-ls does, in the same layout: names padded to
one width, several on a line when stdout is a terminal and one per line
otherwise (-1: one per line, unpadded). -f shows a table: NAME, STATE,
AUTOSTART (0 or 1), GROUPS, IPV4, IPV6, UNPRIVILEGED, with - where a
value is missing; -F picks the columns from NAME, STATE, PID, RAM, SWAP,
AUTOSTART, GROUPS, INTERFACE, IPV4, IPV6, UNPRIVILEGED (and implies -f,
which lxc-ls needs given too). The state is checked against the running
processes, never only read from a file.

A REGEX (POSIX extended, as lxc-ls) keeps the names it matches anywhere;
the state filters and -g (every group listed, comma separated) are all
applied. --active lists running and frozen containers.
-F ORIGIN adds the container an overlay snapshot's root filesystem lies
over (a ulxc column; lxc-ls has none).

Examples:
  ulxc ls -f
  ulxc ls -f -F NAME,STATE,PID,RAM
  ulxc ls --running -1 '^web'
  ulxc ls --format json
`

// lsRow is one container in the listing.
type lsRow struct {
	Name         string   `json:"name"`
	State        string   `json:"state"`
	Autostart    bool     `json:"autostart"`
	Groups       []string `json:"groups"`
	Pid          int      `json:"pid,omitempty"`
	IPv4         []string `json:"ipv4"`
	IPv6         []string `json:"ipv6"`
	Unprivileged bool     `json:"unprivileged"`
	// Origin is the container an overlay snapshot's root lies over.
	Origin string `json:"origin,omitempty"`

	interfaces []string
	// ram and swap in bytes, when the container's cgroup accounts them
	haveRAM, haveSwap bool
	ram, swap         uint64
}

// lsFilter is what selects containers.
type lsFilter struct {
	active, frozen, running, stopped bool
	groups                           []string
	name                             *regexp.Regexp
}

func cmdLs(e *env, args []string) error {
	fs := e.newFlagSet("ls")
	line := fs.BoolP("line", "1", false, "one name per line")
	fancy := fs.BoolP("fancy", "f", false, "show a table with state, autostart, groups and addresses")
	columns := fs.StringP("fancy-format", "F", "", "comma separated `COLUMNS` of the table (implies -f)")
	var f lsFilter
	fs.BoolVar(&f.active, "active", false, "only active (running or frozen) containers")
	fs.BoolVar(&f.running, "running", false, "only running (or frozen) containers")
	fs.BoolVar(&f.frozen, "frozen", false, "only frozen containers")
	fs.BoolVar(&f.stopped, "stopped", false, "only stopped containers")
	fs.Bool("defined", false, "only defined containers (all are)")
	groups := stringsP(fs, "groups", "g", "only containers in every one of `GROUPS` (comma separated)")
	filter := fs.String("filter", "", "only names that `REGEX` matches (POSIX extended)")
	format := fs.String("format", "", "output `FORMAT`: json")
	if err := e.parse(fs, lsUsage, args); err != nil {
		return err
	}
	rest := fs.Args()
	switch {
	case f.running && f.stopped:
		return usagef("ls: --running and --stopped conflict")
	case *format != "" && *format != "json":
		return usagef("ls: --format %q: only json is known", *format)
	case len(rest) > 1 || len(rest) == 1 && *filter != "":
		return usagef("ls: one name filter expected, got %q", append(slices.DeleteFunc([]string{*filter}, isEmpty), rest...))
	case len(rest) == 1:
		*filter = rest[0]
	}
	var cols []lsColumn
	if *columns != "" {
		var err error
		if cols, err = parseColumns(*columns); err != nil {
			return err
		}
		*fancy = true
	}
	if *filter != "" {
		re, err := regexp.CompilePOSIX(*filter)
		if err != nil {
			return usagef("ls: name filter %q: %v", *filter, err)
		}
		f.name = re
	}
	f.groups = slices.DeleteFunc(store.SplitGroups(*groups), isEmpty)
	s, err := e.openStore()
	if err != nil {
		return fmt.Errorf("ls: %w", err)
	}
	cs, err := s.List()
	if err != nil {
		return fmt.Errorf("ls: %w", err)
	}
	rows := []lsRow{}
	for _, c := range cs {
		if f.name != nil && !f.name.MatchString(c.Name) {
			continue
		}
		r, ok, err := e.lsRow(c, f, *fancy || *format == "json")
		if err != nil {
			return fmt.Errorf("ls: %w", err)
		}
		if ok {
			rows = append(rows, r)
		}
	}
	switch {
	case *format == "json":
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case *fancy && cols == nil:
		printLsTable(e.stdout, rows, defaultColumns)
	case *fancy:
		printLsTable(e.stdout, rows, cols)
	default:
		width := 0
		if !*line {
			width = terminalWidth(e.stdout, e.stderr, e.stdin)
		}
		printLsNames(e.stdout, rows, width, *line)
	}
	return nil
}

func isEmpty(s string) bool { return s == "" }

// lsRow reads what the listing shows of c, and whether f keeps it.
func (e *env) lsRow(c *store.Container, f lsFilter, full bool) (lsRow, bool, error) {
	run, st, err := lifecycle.Check(c)
	switch {
	case run.Held && errors.Is(err, store.ErrUnreachable):
		// Its supervisor lives, so it runs; ls lists it and says why
		// nothing more is known.
		e.warnf("%v", err)
		st = runtime.State{Status: runtime.Running}
	case err != nil:
		return lsRow{}, false, fmt.Errorf("%s: %w", c.Name, err)
	}
	stopped, frozen := st.Status == runtime.Stopped, st.Status == runtime.Frozen
	if f.running && stopped || f.active && stopped || f.frozen && !f.active && !frozen || f.stopped && !stopped {
		return lsRow{}, false, nil
	}
	r := lsRow{Name: c.Name, State: string(st.Status), Pid: st.Pid, Unprivileged: true, IPv4: []string{}, IPv6: []string{}, Groups: []string{}}
	if full || len(f.groups) > 0 {
		a, err := c.Autostart()
		if err != nil {
			e.warnf("%s: %v", c.Name, err)
		}
		r.Groups = append(r.Groups, slices.DeleteFunc(a.Groups, isEmpty)...)
		for _, g := range f.groups {
			if !slices.Contains(r.Groups, g) {
				return lsRow{}, false, nil
			}
		}
	}
	if !full {
		return r, true, nil
	}
	if o, ok, err := c.Origin(); err != nil {
		e.warnf("%v", err)
	} else if ok {
		r.Origin = o.Name
		if o.Path != c.StorePath() {
			r.Origin = o.String()
		}
	}
	if !stopped {
		u := runtime.Measure(st)
		r.IPv4, r.IPv6 = append(r.IPv4, u.IPv4...), append(r.IPv6, u.IPv6...)
		r.interfaces = u.Interfaces
		r.haveRAM, r.ram = u.HaveMemory, u.Memory
		r.haveSwap, r.swap = u.HaveSwap, u.Swap
	}
	// AUTOSTART comes from the config; a config that does not convert
	// still lists, with the error as a warning.
	if spec, err := lifecycle.SpecOf(c, lifecycle.Options{}); err != nil {
		e.warnf("%s: %v", c.Name, err)
	} else {
		r.Autostart = spec.Annotations[ocispec.AnnotationStartAuto] == "1"
	}
	return r, true, nil
}
