package runtime

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeProcess starts a sleep that stands for init or a supervisor, and
// returns it with its start time; it is killed at the end of the test,
// and reaped then unless the test reaps it itself.
func fakeProcess(t *testing.T, reap bool) (*exec.Cmd, uint64) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		if reap {
			cmd.Wait()
		}
	})
	start, err := startTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return cmd, start
}

// TestStopReboot drives Stop's reboot and no-wait paths against a state
// whose init and supervisor are sleeps: the test plays the supervisor,
// which starts a new init when the old one ends (or does not).
func TestStopReboot(t *testing.T) {
	type outcome int
	const (
		restart outcome = iota // the supervisor records a new init
		stop                   // the supervisor ends
		hang                   // init ignores the signal
	)
	for _, tc := range []struct {
		name    string
		sig     unix.Signal
		then    outcome
		opts    StopOptions
		wantErr error
		wantMsg string
	}{
		{"rebooted", unix.SIGUSR1, restart, StopOptions{Reboot: true, Timeout: 10 * time.Second}, nil, ""},
		{"default signal", 0, restart, StopOptions{Reboot: true, Timeout: 10 * time.Second}, nil, ""},
		{"stopped instead", unix.SIGUSR1, stop, StopOptions{Reboot: true, Timeout: 10 * time.Second}, ErrNotRebooted, "stopped instead"},
		{"not in time", unix.SIGWINCH, hang, StopOptions{Reboot: true, Timeout: 300 * time.Millisecond}, ErrNotRebooted, "did not end within"},
		{"no wait", unix.SIGWINCH, hang, StopOptions{Reboot: true, NoWait: true}, nil, ""},
		{"halt no wait", 0, hang, StopOptions{NoWait: true}, nil, ""},
		{"halt no kill", 0, hang, StopOptions{NoKill: true, Timeout: 300 * time.Millisecond}, ErrTimeout, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			init, initStart := fakeProcess(t, false) // reaped below
			sup, supStart := fakeProcess(t, true)
			// A halt signal that sleep ignores: halts here never end init.
			writeState(t, dir, State{Name: "a", Status: Running, Pid: init.Process.Pid, PidStart: initStart,
				Supervisor: sup.Process.Pid, SupervisorStart: supStart, RebootSignal: int(tc.sig), HaltSignal: int(unix.SIGWINCH)})
			ended := make(chan syscall.Signal, 1)
			go func() {
				init.Wait()
				ws := init.ProcessState.Sys().(syscall.WaitStatus)
				ended <- ws.Signal()
				switch tc.then {
				case restart:
					next, start := fakeProcess(t, true)
					writeState(t, dir, State{Name: "a", Status: Running, Pid: next.Process.Pid, PidStart: start,
						Supervisor: sup.Process.Pid, SupervisorStart: supStart})
				case stop:
					sup.Process.Kill()
				}
			}()
			_, err := Stop(context.Background(), dir, tc.opts)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) || err != nil && !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Stop(%+v) = %v, want %v (%s)", tc.opts, err, tc.wantErr, tc.wantMsg)
			}
			if tc.then == hang {
				if !alive(init.Process.Pid, initStart) {
					t.Errorf("Stop(%+v) ended init, want it left running", tc.opts)
				}
				return
			}
			want := tc.sig
			if want == 0 {
				want = unix.SIGINT
			}
			if got := <-ended; got != want {
				t.Errorf("init ended by %v, want the reboot signal %v", got, want)
			}
		})
	}
}
