package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ulxc/ulxc/lifecycle"
	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/store"
)

const waitUsage = `Usage: ulxc wait [-n] NAME -s STATES [-t SECONDS]

Wait until the container NAME is in one of STATES, as lxc-wait does: the
states separated by |, of STOPPED, STARTING, RUNNING, STOPPING, FROZEN
(LXC's ABORTING, FREEZING and THAWED are accepted and never seen: ulxc
passes through them without a stop). Exit status 0 once one is reached,
1 when SECONDS pass first (default -1: no limit; 0 looks once). The state
is read from the container's directory and checked against the kernel, a
few times a second.

Examples:
  ulxc start web && ulxc wait -n web -s RUNNING
  ulxc stop -W web; ulxc wait web -s STOPPED -t 30
`

// lxcStates are the states lxc-wait knows.
var lxcStates = []string{"STOPPED", "STARTING", "RUNNING", "STOPPING", "ABORTING", "FREEZING", "FROZEN", "THAWED"}

// waitPoll is how often wait and monitor look at the state.
const waitPoll = 50 * time.Millisecond

func cmdWait(e *env, args []string) error {
	fs := e.newFlagSet("wait")
	name := fs.StringP("name", "n", "", "container `NAME`")
	states := fs.StringP("state", "s", "", "`STATES` to wait for, separated by |")
	timeout := fs.IntP("timeout", "t", -1, "give up after `SECONDS` (-1: never)")
	if err := e.parse(fs, waitUsage, args); err != nil {
		return err
	}
	if err := nameArg(name, fs.Args(), "wait"); err != nil {
		return err
	}
	want, err := parseStates(*states)
	if err != nil {
		return err
	}
	if *timeout < -1 {
		return usagef("wait: -t %d: want -1 or more", *timeout)
	}
	s, err := e.openStore()
	if err != nil {
		return fmt.Errorf("wait %s: %w", *name, err)
	}
	c, err := s.Get(*name)
	if err != nil {
		return fmt.Errorf("wait %s: %w", *name, err)
	}
	deadline := time.Now().Add(time.Duration(*timeout) * time.Second)
	for {
		st, err := e.currentState(c)
		if err != nil {
			return fmt.Errorf("wait %s: %w", *name, err)
		}
		if slices.Contains(want, string(st.Status)) {
			return nil
		}
		if *timeout >= 0 && !time.Now().Before(deadline) {
			return fmt.Errorf("wait %s: not %s within %ds (it is %s)", *name, strings.Join(want, " or "), *timeout, st.Status)
		}
		time.Sleep(waitPoll)
	}
}

// parseStates reads lxc-wait's -s.
func parseStates(list string) ([]string, error) {
	if list == "" {
		return nil, usagef("wait: no state (-s STATES, such as -s RUNNING or -s 'RUNNING|STOPPED')")
	}
	var out []string
	for _, s := range strings.Split(list, "|") {
		s = strings.ToUpper(strings.TrimSpace(s))
		if !slices.Contains(lxcStates, s) {
			return nil, usagef("wait: -s %q: unknown state %q (known: %s)", list, s, strings.Join(lxcStates, ", "))
		}
		out = append(out, s)
	}
	return out, nil
}

// currentState is the state of c, checked against the kernel, wherever it
// runs; a container whose supervisor lives but whose runtime directory
// cannot be used counts as RUNNING, as for ls.
func (e *env) currentState(c *store.Container) (runtime.State, error) {
	run, st, err := lifecycle.Check(c)
	if run.Held && errors.Is(err, store.ErrUnreachable) {
		return runtime.State{Name: c.Name, Status: runtime.Running}, nil
	}
	return st, err
}
