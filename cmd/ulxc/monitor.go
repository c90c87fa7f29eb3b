package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/ulxc/ulxc/runtime"
)

const monitorUsage = `Usage: ulxc monitor [-n REGEX] [--format json]

Print the state changes of the containers whose names REGEX matches (POSIX
extended, the whole name; default all), as lxc-monitor does, until
interrupted:

  'web' changed state to [RUNNING]
  'web' exited with status [0]
  'web' changed state to [STOPPED]

--format json prints one JSON object a line instead: {"name", "state",
"time"}, or {"name", "exit_status", "time"}. The states are read from the
containers' directories a few times a second, so a state that lasts less
(STARTING, usually) may not be shown; a container seen for the first time
counts as having been STOPPED before.

Examples:
  ulxc monitor
  ulxc monitor -n 'web|db' --format json
`

// monitorEvent is one line of monitor's output.
type monitorEvent struct {
	Name       string `json:"name"`
	State      string `json:"state,omitempty"`
	ExitStatus *int   `json:"exit_status,omitempty"`
	Time       string `json:"time"`
}

func cmdMonitor(e *env, args []string) error {
	fs := e.newFlagSet("monitor")
	name := fs.StringP("name", "n", ".*", "only containers whose whole name `REGEX` matches")
	format := fs.String("format", "", "output `FORMAT`: json")
	if err := e.parse(fs, monitorUsage, args); err != nil {
		return err
	}
	switch rest := fs.Args(); {
	case len(rest) > 1 || len(rest) == 1 && fs.Changed("name"):
		return usagef("monitor: one name pattern expected, got %q", rest)
	case len(rest) == 1:
		*name = rest[0]
	}
	if *format != "" && *format != "json" {
		return usagef("monitor: --format %q: only json is known", *format)
	}
	re, err := regexp.CompilePOSIX("^(" + *name + ")$")
	if err != nil {
		return usagef("monitor: -n %q: %v", *name, err)
	}
	s, err := e.openStore()
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	emit := func(ev monitorEvent) {
		ev.Time = time.Now().UTC().Format(time.RFC3339Nano)
		switch {
		case *format == "json":
			b, _ := json.Marshal(ev)
			fmt.Fprintf(e.stdout, "%s\n", b)
		case ev.ExitStatus != nil:
			fmt.Fprintf(e.stdout, "'%s' exited with status [%d]\n", ev.Name, *ev.ExitStatus)
		default:
			fmt.Fprintf(e.stdout, "'%s' changed state to [%s]\n", ev.Name, ev.State)
		}
	}
	type seen struct {
		status runtime.Status
		exit   time.Time // of the last exit reported
	}
	last := map[string]seen{}
	log := e.logger()
	for first := true; ; first = false {
		cs, err := s.List()
		if err != nil {
			return fmt.Errorf("monitor: %w", err)
		}
		present := map[string]bool{}
		for _, c := range cs {
			if !re.MatchString(c.Name) {
				continue
			}
			present[c.Name] = true
			st, err := e.currentState(c)
			if err != nil {
				log.Debug("monitor: state unknown", "container", c.Name, "err", err)
				continue
			}
			prev, known := last[c.Name]
			now := seen{status: st.Status, exit: prev.exit}
			if le := st.LastExit; le != nil && st.Status == runtime.Stopped {
				if known && prev.status != runtime.Stopped && le.Time.After(prev.exit) {
					code := le.Code
					emit(monitorEvent{Name: c.Name, ExitStatus: &code})
				}
				now.exit = le.Time
			}
			if !first && (known && prev.status != st.Status || !known && st.Status != runtime.Stopped) {
				emit(monitorEvent{Name: c.Name, State: string(st.Status)})
			}
			last[c.Name] = now
		}
		for n := range last {
			if !present[n] {
				delete(last, n) // destroyed
			}
		}
		if first {
			log.Debug("monitor: watching", "containers", len(last))
		}
		time.Sleep(waitPoll)
	}
}
