package main

import (
	"fmt"
	"os"

	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/store"
)

// openStore opens the store of -P; its warning about XDG_RUNTIME_DIR is
// printed once per ulxc command, however many stores and containers the
// command looks at.
func (e *env) openStore() (*store.Store, error) {
	s, err := store.Open(e.lxcPath)
	if err != nil {
		return nil, err
	}
	s.Warn = func(msg string) {
		if !e.runtimeWarned {
			e.runtimeWarned = true
			e.warnf("%s", msg)
		}
	}
	return s, nil
}

// checkRun finds where the container c runs or last ran (its directory
// says, not the environment) and checks its state there.
func checkRun(c *store.Container) (store.Run, runtime.State, error) {
	run, err := c.FindRun()
	if err != nil {
		return run, runtime.State{}, err
	}
	check := runtime.Check
	if run.Held {
		check = runtime.CheckHeld
	}
	st, err := check(run.Dir)
	return run, st, err
}

// runtimeDir returns the runtime directory of the container name: the one
// its current or last run uses, whatever XDG_RUNTIME_DIR says here.
func (e *env) runtimeDir(name string) (string, error) {
	s, err := e.openStore()
	if err != nil {
		return "", err
	}
	c, err := s.Get(name)
	if err != nil {
		return "", err
	}
	run, err := c.FindRun()
	if err != nil {
		return "", err
	}
	return run.Dir, nil
}

// lockRun takes the run lock of c for a new run in this environment's
// runtime directory, which it returns, once sure that no run goes on: no
// supervisor holds the lock, and no init lives in the last run's runtime
// directory or in this one (an init that outlived its supervisor, or one
// started by a ulxc that took no run lock).
func lockRun(c *store.Container) (*os.File, string, error) {
	run, err := c.FindRun()
	if err != nil {
		return nil, "", err
	}
	if run.Held {
		st, _ := runtime.CheckHeld(run.Dir)
		return nil, "", runningError(st)
	}
	dir, err := c.RuntimeDir()
	if err != nil {
		return nil, "", err
	}
	for _, d := range []string{run.Dir, dir} {
		if st, err := runtime.CheckStatus(d); err != nil {
			return nil, "", err
		} else if st.Status != runtime.Stopped {
			return nil, "", runningError(st)
		}
		if run.Dir == dir {
			break
		}
	}
	f, err := c.LockRun(dir)
	if err != nil {
		return nil, "", err
	}
	return f, dir, nil
}

// runningError is store.ErrRunning with the state that says so.
func runningError(st runtime.State) error {
	if st.Pid > 0 {
		return fmt.Errorf("%w (%s, pid %d)", store.ErrRunning, st.Status, st.Pid)
	}
	return fmt.Errorf("%w (%s)", store.ErrRunning, st.Status)
}
