package runtime

import (
	"context"
	"errors"
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
	// Reboot sends the reboot signal (lxc.signal.reboot, default
	// SIGINT) instead of the halt signal, and then waits up to Timeout
	// for the container to run again under a new init; it never kills.
	// ErrNotRebooted when it stopped instead, or did not come back in
	// time. Default: halt.
	Reboot bool
	// NoWait returns once the signal is sent: no wait, and no stop
	// signal after a timeout (lxc-stop -W). Default: wait.
	NoWait bool
	// NoKill never sends the stop signal after the timeout: ErrTimeout
	// instead (lxc-stop --nokill). Default: kill after the timeout.
	NoKill bool
}

// ErrNotRebooted reports a reboot request after which the container did
// not run again: it stopped, or was not back within the timeout.
var ErrNotRebooted = errors.New("container did not reboot")

// ErrTimeout reports a container that did not stop within the timeout,
// with StopOptions.NoKill.
var ErrTimeout = errors.New("container did not stop within the timeout")

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
	switch {
	case opts.Kill:
		sig = kill
	case opts.Reboot:
		sig = unix.Signal(st.RebootSignal)
		if sig == 0 {
			sig = unix.SIGINT
		}
		return ExitStatus{}, reboot(ctx, dir, st, fd, sig, timeout, opts.NoWait)
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		return ExitStatus{}, fmt.Errorf("send %v to init (pid %d): %w", unix.SignalName(sig), st.Pid, err)
	}
	if opts.NoWait {
		return ExitStatus{}, nil
	}
	if sig != kill && !waitCtx(ctx, fd, timeout) {
		if opts.NoKill {
			return ExitStatus{}, fmt.Errorf("%w (%v)", ErrTimeout, timeout)
		}
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

// reboot sends init of st (held as fd) its reboot signal and, unless
// noWait, waits until the container runs under a new init. The reboot
// itself is the supervisor's: it starts init again when the old one ends
// as reboot(2) ends a pid namespace's init. A supervisor that ends
// instead means the container stopped.
func reboot(ctx context.Context, dir string, st State, fd int, sig unix.Signal, timeout time.Duration, noWait bool) error {
	sup, err := pidfdOf(st.Supervisor, st.SupervisorStart)
	if err != nil && !noWait {
		return fmt.Errorf("%w: its supervisor (pid %d) is gone, so nothing would start it again", ErrNotRebooted, st.Supervisor)
	}
	if err == nil {
		defer unix.Close(sup)
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		return fmt.Errorf("send %v to init (pid %d): %w", unix.SignalName(sig), st.Pid, err)
	}
	if noWait {
		return nil
	}
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	left := func() time.Duration {
		if deadline.IsZero() {
			return -1
		}
		return max(time.Until(deadline), 0)
	}
	if !waitCtx(ctx, fd, left()) {
		return fmt.Errorf("%w: init (pid %d) did not end within %v of %v", ErrNotRebooted, st.Pid, timeout, unix.SignalName(sig))
	}
	for {
		now, err := CheckStatus(dir)
		if err != nil {
			return err
		}
		if (now.Status == Running || now.Status == Frozen) && now.Pid > 0 && now.Pid != st.Pid {
			return nil
		}
		if exited(sup) {
			return fmt.Errorf("%w: it stopped instead", ErrNotRebooted)
		}
		if !deadline.IsZero() && time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%w: not running again within %v", ErrNotRebooted, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exited reports whether the process of pidfd has exited, at once.
func exited(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0
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
