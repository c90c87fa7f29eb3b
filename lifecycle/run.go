package lifecycle

import (
	"fmt"
	"os"

	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/store"
)

// Check finds where the container c runs or last ran (its directory says,
// not the environment) and checks its state there.
func Check(c *store.Container) (store.Run, runtime.State, error) {
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

// LockRun takes the run lock of c for a new run in this environment's
// runtime directory, which it returns, once sure that no run goes on: no
// supervisor holds the lock, and no init lives in the last run's runtime
// directory or in this one (an init that outlived its supervisor, or one
// started by a ulxc that took no run lock). A run that goes on is
// store.ErrRunning (RunningError). The caller holds c's lock.
func LockRun(c *store.Container) (*os.File, string, error) {
	run, err := c.FindRun()
	if err != nil {
		return nil, "", err
	}
	if run.Held {
		st, _ := runtime.CheckHeld(run.Dir)
		return nil, "", RunningError(st)
	}
	dir, err := c.RuntimeDir()
	if err != nil {
		return nil, "", err
	}
	for _, d := range []string{run.Dir, dir} {
		if st, err := runtime.CheckStatus(d); err != nil {
			return nil, "", err
		} else if st.Status != runtime.Stopped {
			return nil, "", RunningError(st)
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

// RunningError is store.ErrRunning with the state that says so.
func RunningError(st runtime.State) error {
	if st.Pid > 0 {
		return fmt.Errorf("%w (%s, pid %d)", store.ErrRunning, st.Status, st.Pid)
	}
	return fmt.Errorf("%w (%s)", store.ErrRunning, st.Status)
}
