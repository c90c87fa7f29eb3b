package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/ulxc/ulxc/hostcheck"
	"github.com/ulxc/ulxc/store"
	"github.com/ulxc/ulxc/userns"
)

const checkconfigUsage = `Usage: ulxc checkconfig [--format text|json]

Checks this machine and this user for rootless containers: kernel,
user namespace sysctls and AppArmor, newuidmap/newgidmap, subordinate ids,
LXC's default.conf, overlayfs in a user namespace (tried for real), cgroup
delegation and the network helper. Each item that is not OK is followed by
its fix. The exit status is 1 when a mandatory item is missing. With -q
only the items that are not OK are printed, and nothing when all are.

Examples:
  ulxc checkconfig
  ulxc checkconfig --format json | jq '.results[] | select(.status != "ok")'
`

func cmdCheckconfig(e *env, args []string) error {
	fs := e.newFlagSet("checkconfig")
	format := fs.String("format", "text", "output format: text or json")
	if err := e.parse(fs, checkconfigUsage, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("checkconfig: unexpected argument %q", fs.Arg(0))
	}
	if *format != "text" && *format != "json" {
		return usagef("checkconfig: --format %q: want text or json", *format)
	}
	opts := hostcheck.Options{OverlayDir: probeDir(e.lxcPath)}
	report := hostcheck.Run(context.Background(), opts)
	report.Results = append(report.Results, buildCheck()...)
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return fmt.Errorf("checkconfig: %w", err)
		}
	} else if err := printReport(e.stdout, report, isTerminal(e.stdout), e.quiet); err != nil {
		return fmt.Errorf("checkconfig: %w", err)
	}
	if err := report.Err(); err != nil {
		return fmt.Errorf("checkconfig: %w", err)
	}
	return nil
}

// probeDir is where the overlay probe works: the container directory when
// it exists (the filesystem that matters), else the temporary directory.
func probeDir(lxcPath string) string {
	if lxcPath == "" {
		lxcPath = store.DefaultPath()
	}
	if fi, err := os.Stat(lxcPath); err == nil && fi.IsDir() {
		return lxcPath
	}
	return ""
}

const (
	nameWidth = 56
	green     = "\x1b[32m"
	yellow    = "\x1b[33m"
	red       = "\x1b[31m"
	reset     = "\x1b[0m"
)

// printReport writes one aligned line per item, its fix indented below, and
// a summary; quiet leaves out the items that are OK, and the summary when
// all are.
func printReport(w io.Writer, r hostcheck.Report, colour, quiet bool) error {
	var warns int
	for _, res := range r.Results {
		if quiet && res.Status == hostcheck.OK {
			continue
		}
		label, err := res.Status.Label()
		if err != nil {
			return err
		}
		if colour {
			label = map[hostcheck.Status]string{hostcheck.OK: green, hostcheck.Warn: yellow, hostcheck.Missing: red}[res.Status] + label + reset
		}
		name := res.Group + ": " + res.Name
		dots := strings.Repeat(".", max(3, nameWidth-len(name)))
		line := fmt.Sprintf("%s %s %s", name, dots, label)
		if res.Detail != "" {
			line += "  " + res.Detail
		}
		fmt.Fprintln(w, line)
		if res.Status != hostcheck.OK && res.Fix != "" {
			fmt.Fprintf(w, "    fix: %s\n", res.Fix)
		}
		if res.Status == hostcheck.Warn {
			warns++
		}
	}
	if quiet && warns == 0 && len(r.Missing()) == 0 {
		return nil
	}
	if missing := r.Missing(); len(missing) > 0 {
		fmt.Fprintf(w, "\n%d mandatory item(s) missing, %d warning(s): rootless containers will not work until the fixes above are applied\n", len(missing), warns)
	} else {
		fmt.Fprintf(w, "\nall mandatory items present, %d warning(s)\n", warns)
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// probeOverlayChild is the hidden entry hostcheck re-executes ulxc into, in
// a new user and mount namespace.
func probeOverlayChild(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: ulxc "+hostcheck.OverlayProbeEntry+" DIR")
		return 2
	}
	if err := userns.Enter(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := hostcheck.ProbeOverlayChild(args[0]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
