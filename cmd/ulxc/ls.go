package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/store"
)

const lsUsage = `Usage: ulxc ls [-f] [-1] [--running|--stopped] [--format json]

List the containers. -f shows a table like lxc-ls -f: NAME, STATE,
AUTOSTART, PID, IPV4, IPV6, UNPRIVILEGED, and ORIGIN: the container
whose root filesystem an overlay snapshot lies over. The state is checked against the
running processes, never only read from a file.

Examples:
  ulxc ls -f
  ulxc ls --running --format json
`

// lsRow is one container in the listing.
type lsRow struct {
	Name         string   `json:"name"`
	State        string   `json:"state"`
	Autostart    bool     `json:"autostart"`
	Pid          int      `json:"pid,omitempty"`
	IPv4         []string `json:"ipv4"`
	IPv6         []string `json:"ipv6"`
	Unprivileged bool     `json:"unprivileged"`
	// Origin is the container an overlay snapshot's root lies over.
	Origin string `json:"origin,omitempty"`
}

func cmdLs(e *env, args []string) error {
	fs := e.newFlagSet("ls")
	fancy := fs.BoolP("fancy", "f", false, "show a table with state, pid and addresses")
	line := fs.BoolP("line", "1", false, "one name per line")
	running := fs.Bool("running", false, "only running containers")
	stopped := fs.Bool("stopped", false, "only stopped containers")
	format := fs.String("format", "", "output `FORMAT`: json")
	if err := e.parse(fs, lsUsage, args); err != nil {
		return err
	}
	switch {
	case *running && *stopped:
		return usagef("ls: --running and --stopped conflict")
	case *format != "" && *format != "json":
		return usagef("ls: --format %q: only json is known", *format)
	case len(fs.Args()) > 0:
		return usagef("ls: unexpected argument %q", fs.Args()[0])
	}
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
		r, err := e.lsRow(c, *fancy || *format == "json")
		if err != nil {
			return fmt.Errorf("ls: %w", err)
		}
		if *running && r.State == string(runtime.Stopped) || *stopped && r.State != string(runtime.Stopped) {
			continue
		}
		rows = append(rows, r)
	}
	switch {
	case *format == "json":
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case *fancy:
		tw := tabwriter.NewWriter(e.stdout, 0, 8, 1, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATE\tAUTOSTART\tPID\tIPV4\tIPV6\tUNPRIVILEGED\tORIGIN")
		for _, r := range rows {
			pid := "-"
			if r.Pid > 0 {
				pid = strconv.Itoa(r.Pid)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%t\t%s\n", r.Name, r.State, yesNo(r.Autostart), pid,
				dashJoin(r.IPv4), dashJoin(r.IPv6), r.Unprivileged, dashJoin(nonEmpty(r.Origin)))
		}
		return tw.Flush()
	}
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = r.Name
	}
	sep := "  "
	if *line {
		sep = "\n"
	}
	if len(names) > 0 {
		fmt.Fprintln(e.stdout, strings.Join(names, sep))
	}
	return nil
}

func (e *env) lsRow(c *store.Container, full bool) (lsRow, error) {
	run, st, err := checkRun(c)
	switch {
	case run.Held && errors.Is(err, store.ErrUnreachable):
		// Its supervisor lives, so it runs; ls lists it and says why
		// nothing more is known.
		e.warnf("%v", err)
		st = runtime.State{Status: runtime.Running}
	case err != nil:
		return lsRow{}, fmt.Errorf("%s: %w", c.Name, err)
	}
	r := lsRow{Name: c.Name, State: string(st.Status), Pid: st.Pid, Unprivileged: true, IPv4: []string{}, IPv6: []string{}}
	if !full {
		return r, nil
	}
	if o, ok, err := c.Origin(); err != nil {
		e.warnf("%v", err)
	} else if ok {
		r.Origin = o.Name
		if o.Path != c.StorePath() {
			r.Origin = o.String()
		}
	}
	if u := runtime.Measure(st); u.IPv4 != nil || u.IPv6 != nil {
		r.IPv4, r.IPv6 = append(r.IPv4, u.IPv4...), append(r.IPv6, u.IPv6...)
	}
	// AUTOSTART comes from the config; a config that does not convert
	// still lists, with the error as a warning.
	if spec, err := e.containerSpec(c, nil); err != nil {
		e.warnf("%s: %v", c.Name, err)
	} else {
		r.Autostart = spec.Annotations[ocispec.AnnotationStartAuto] == "1"
	}
	return r, nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

func dashJoin(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}
