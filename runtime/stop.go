package runtime

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// StopOptions configure Stop.
type StopOptions struct {
	// Timeout is how long to wait after the halt signal before SIGKILL;
	// negative waits forever. Zero means DefaultStopTimeout.
	Timeout time.Duration
	// Kill sends the stop signal (lxc.signal.stop, default SIGKILL) at
	// once instead of the halt signal.
	Kill bool
}

// DefaultStopTimeout is lxc-stop's default wait before SIGKILL.
const DefaultStopTimeout = 60 * time.Second

// teardownTimeout bounds the wait for a supervisor's cleanup (post-stop
// hooks) after init is gone.
const teardownTimeout = 30 * time.Second

// Stop stops the container whose runtime directory is dir: the halt
// signal (ulxc.signal.halt, default SIGPWR) to its init, the stop signal
// (ulxc.signal.stop, default SIGKILL) after the timeout, then it waits for
// the supervisor to finish tearing down.
// It works without the supervisor (one killed with SIGKILL): signals go
// to the checked init through a pidfd. ErrNotRunning when it is not.
func Stop(ctx context.Context, dir string, opts StopOptions) (ExitStatus, error) {
	st, err := Check(dir)
	if err != nil {
		return ExitStatus{}, err
	}
	if st.Status == Frozen {
		// A frozen init cannot act on its halt signal: thaw it first
		// (SIGKILL alone would work frozen, but -k is not the default).
		if err := setFrozen(ctx, st.Cgroup, false); err != nil {
			return ExitStatus{}, fmt.Errorf("thaw before stopping: %w", err)
		}
		st.Status = Running
	}
	if st.Status != Running && st.Status != Starting {
		if st.Status == Stopping {
			waitSupervisor(st)
			return exitOf(dir), nil
		}
		return ExitStatus{}, ErrNotRunning
	}
	fd, err := pidfdOf(st.Pid, st.PidStart)
	if err != nil {
		return ExitStatus{}, err
	}
	defer unix.Close(fd)
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultStopTimeout
	}
	sig := unix.Signal(st.HaltSignal)
	if sig == 0 {
		sig = unix.SIGPWR
	}
	kill := unix.Signal(st.StopSignal)
	if kill == 0 {
		kill = unix.SIGKILL
	}
	if opts.Kill {
		sig = kill
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		return ExitStatus{}, fmt.Errorf("send %v to init (pid %d): %w", unix.SignalName(sig), st.Pid, err)
	}
	if sig != kill && !waitCtx(ctx, fd, timeout) {
		if err := unix.PidfdSendSignal(fd, kill, nil, 0); err != nil {
			return ExitStatus{}, fmt.Errorf("send %v to init (pid %d): %w", unix.SignalName(kill), st.Pid, err)
		}
	}
	if !waitCtx(ctx, fd, teardownTimeout) {
		return ExitStatus{}, fmt.Errorf("init (pid %d) did not exit after %v", st.Pid, unix.SignalName(kill))
	}
	waitSupervisor(st)
	// A supervisor that was killed left its state: clear it.
	if _, err := Check(dir); err != nil {
		return ExitStatus{}, err
	}
	return exitOf(dir), nil
}

func exitOf(dir string) ExitStatus {
	if e := readExit(dir); e != nil {
		return *e
	}
	return ExitStatus{}
}

// waitCtx waits for the pidfd's process to exit, up to timeout or ctx.
func waitCtx(ctx context.Context, fd int, timeout time.Duration) bool {
	if d, ok := ctx.Deadline(); ok && (timeout < 0 || time.Until(d) < timeout) {
		timeout = time.Until(d)
	}
	return waitPidfd(fd, timeout)
}

// waitSupervisor waits for the supervisor to finish its teardown.
func waitSupervisor(st State) {
	fd, err := pidfdOf(st.Supervisor, st.SupervisorStart)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	waitPidfd(fd, teardownTimeout)
}
