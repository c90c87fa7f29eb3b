package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		file  string
		state byte
		start uint64
		err   error
	}{
		{"stat-paren-name.txt", 'S', 987654, nil},
		{"stat-zombie.txt", 'Z', 5555, nil},
		{"stat-short.txt", 0, 0, ErrBadStat},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			state, start, err := parseStat(b)
			if !errors.Is(err, tc.err) || state != tc.state || start != tc.start {
				t.Errorf("parseStat(%q) = %q, %d, %v, want %q, %d, %v", b, state, start, err, tc.state, tc.start, tc.err)
			}
		})
	}
}

func TestAlive(t *testing.T) {
	start, err := startTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		pid   int
		start uint64
		want  bool
	}{
		{"self", os.Getpid(), start, true},
		{"reused pid", os.Getpid(), start + 1, false},
		{"no pid", 0, 0, false},
	} {
		if got := alive(tc.pid, tc.start); got != tc.want {
			t.Errorf("alive(%s: %d, %d) = %v, want %v", tc.name, tc.pid, tc.start, got, tc.want)
		}
	}
}

// writeState plants a state file as a supervisor would.
func writeState(t *testing.T, dir string, st State) {
	t.Helper()
	if err := writeJSON(dir, stateFile, st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, controlFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	self, err := startTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("no state", func(t *testing.T) {
		st, err := Check(t.TempDir())
		if err != nil || st.Status != Stopped {
			t.Errorf("Check(empty) = %v, %v, want %v", st.Status, err, Stopped)
		}
	})
	t.Run("running", func(t *testing.T) {
		dir := t.TempDir()
		writeState(t, dir, State{Name: "a", Status: Running, Pid: os.Getpid(), PidStart: self})
		st, err := Check(dir)
		if err != nil || st.Status != Running || st.Pid != os.Getpid() {
			t.Errorf("Check(live init) = %v %d, %v, want %v %d", st.Status, st.Pid, err, Running, os.Getpid())
		}
	})
	t.Run("supervisor cleaning up", func(t *testing.T) {
		dir := t.TempDir()
		writeState(t, dir, State{Name: "a", Pid: os.Getpid(), PidStart: self + 1, Supervisor: os.Getpid(), SupervisorStart: self})
		if st, _ := Check(dir); st.Status != Stopping {
			t.Errorf("Check(dead init, live supervisor) = %v, want %v", st.Status, Stopping)
		}
	})
	t.Run("stale", func(t *testing.T) {
		dir := t.TempDir()
		writeState(t, dir, State{Name: "a", Pid: os.Getpid(), PidStart: self + 1, Supervisor: os.Getpid(), SupervisorStart: self + 1})
		if err := writeJSON(dir, exitFile, ExitStatus{Code: 3}); err != nil {
			t.Fatal(err)
		}
		st, err := Check(dir)
		if err != nil || st.Status != Stopped || st.LastExit == nil || st.LastExit.Code != 3 {
			t.Fatalf("Check(stale) = %+v, %v, want STOPPED with last exit 3", st, err)
		}
		for _, f := range []string{stateFile, controlFile} {
			if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("stale %s still there after Check: %v", f, err)
			}
		}
	})
	t.Run("status only", func(t *testing.T) {
		dir := t.TempDir()
		writeState(t, dir, State{Name: "a", Pid: os.Getpid(), PidStart: self + 1, Supervisor: os.Getpid(), SupervisorStart: self + 1})
		if err := writeJSON(dir, exitFile, ExitStatus{Code: 3}); err != nil {
			t.Fatal(err)
		}
		st, err := CheckStatus(dir)
		if err != nil || st.Status != Stopped || st.LastExit != nil {
			t.Fatalf("CheckStatus(stale) = %+v, %v, want STOPPED without the last exit", st, err)
		}
		if _, err := os.Stat(filepath.Join(dir, stateFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stale state still there after CheckStatus: %v", err)
		}
		if st, _ := Check(dir); st.LastExit == nil || st.LastExit.Code != 3 {
			t.Errorf("Check after CheckStatus = %+v, want the last exit 3 kept", st)
		}
	})
}

// TestRunningInit: the fast path (state, pidfd, one look at init's
// start time) answers for a running init, and every other case is
// Check's: a stale state is cleared, a stopping or starting container is
// not running.
func TestRunningInit(t *testing.T) {
	self, err := startTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("running", func(t *testing.T) {
		dir := t.TempDir()
		writeState(t, dir, State{Name: "a", Status: Running, Pid: os.Getpid(), PidStart: self})
		st, fd, err := runningInit(dir, false)
		if err != nil || st.Status != Running || fd < 0 {
			t.Fatalf("runningInit(live init) = %v, %d, %v; want RUNNING and a pidfd", st.Status, fd, err)
		}
		unix.Close(fd)
	})
	for _, tc := range []struct {
		name  string
		st    State
		gone  bool // the state is cleared
		state Status
	}{
		{"stale", State{Name: "a", Pid: os.Getpid(), PidStart: self + 1, Supervisor: os.Getpid(), SupervisorStart: self + 1}, true, Stopped},
		{"stopping", State{Name: "a", Pid: os.Getpid(), PidStart: self + 1, Supervisor: os.Getpid(), SupervisorStart: self}, false, Stopping},
		{"starting", State{Name: "a", Status: Starting, Pid: os.Getpid(), PidStart: self}, false, Starting},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeState(t, dir, tc.st)
			_, fd, err := runningInit(dir, true)
			if !errors.Is(err, ErrNotRunning) || !strings.Contains(fmt.Sprint(err), string(tc.state)) || fd != -1 {
				t.Errorf("runningInit = %d, %v; want ErrNotRunning (%s) and no pidfd", fd, err, tc.state)
			}
			if _, err := os.Stat(filepath.Join(dir, stateFile)); errors.Is(err, os.ErrNotExist) != tc.gone {
				t.Errorf("state.json after runningInit: %v; want gone = %v", err, tc.gone)
			}
		})
	}
	t.Run("no state", func(t *testing.T) {
		if _, _, err := runningInit(t.TempDir(), false); !errors.Is(err, ErrNotRunning) {
			t.Errorf("runningInit(no state) = %v, want ErrNotRunning", err)
		}
	})
}

// CheckHeld: the supervisor holds the run lock, so the container is never
// STOPPED and an earlier run's state is left for it to replace.
func TestCheckHeld(t *testing.T) {
	self, err := startTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("no state yet", func(t *testing.T) {
		if st, err := CheckHeld(t.TempDir()); err != nil || st.Status != Starting {
			t.Errorf("CheckHeld(empty) = %v, %v, want %v", st.Status, err, Starting)
		}
	})
	t.Run("earlier run's state", func(t *testing.T) {
		dir := t.TempDir()
		writeState(t, dir, State{Name: "a", Pid: os.Getpid(), PidStart: self + 1, Supervisor: os.Getpid(), SupervisorStart: self + 1})
		if st, err := CheckHeld(dir); err != nil || st.Status != Starting || st.Pid != 0 {
			t.Errorf("CheckHeld(stale) = %+v, %v, want %v without a pid", st, err, Starting)
		}
		for _, f := range []string{stateFile, controlFile} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("CheckHeld removed %s: %v", f, err)
			}
		}
	})
	t.Run("running", func(t *testing.T) {
		dir := t.TempDir()
		writeState(t, dir, State{Name: "a", Status: Running, Pid: os.Getpid(), PidStart: self})
		if st, err := CheckHeld(dir); err != nil || st.Status != Running || st.Pid != os.Getpid() {
			t.Errorf("CheckHeld(live init) = %v %d, %v, want %v %d", st.Status, st.Pid, err, Running, os.Getpid())
		}
	})
	t.Run("supervisor cleaning up", func(t *testing.T) {
		dir := t.TempDir()
		writeState(t, dir, State{Name: "a", Pid: os.Getpid(), PidStart: self + 1, Supervisor: os.Getpid(), SupervisorStart: self})
		if st, _ := CheckHeld(dir); st.Status != Stopping {
			t.Errorf("CheckHeld(dead init, live supervisor) = %v, want %v", st.Status, Stopping)
		}
	})
}

func TestStopNotRunning(t *testing.T) {
	_, err := Stop(context.Background(), t.TempDir(), StopOptions{Timeout: time.Second})
	if !errors.Is(err, ErrNotRunning) {
		t.Errorf("Stop(no state) = %v, want %v", err, ErrNotRunning)
	}
}

func TestConsoleNoControl(t *testing.T) {
	_, err := Console(t.TempDir(), 0)
	if !errors.Is(err, ErrNoControl) {
		t.Errorf("Console(no socket) = %v, want %v", err, ErrNoControl)
	}
}

func TestControlSocketLongPath(t *testing.T) {
	// Deeper than sun_path's 108 bytes: the socket is named through a
	// descriptor of its directory.
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c := &Container{state: State{Name: "long", Pid: 42}, ptys: map[string]*os.File{}}
	l, err := listenControl(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go c.serve(l)
	resp, _, err := call(dir, request{Op: "state"})
	if err != nil || resp.State == nil || resp.State.Pid != 42 {
		t.Fatalf("call(state) = %+v, %v, want pid 42", resp, err)
	}
	if _, _, err := call(dir, request{Op: "bogus"}); err == nil || !strings.Contains(err.Error(), "unknown request") {
		t.Errorf("call(bogus) = %v, want an unknown request error", err)
	}
	if _, err := Console(dir, 3); !errors.Is(err, ErrNoTTY) || !strings.Contains(err.Error(), "/dev/tty3 (the container has 0: lxc.tty.max = 0)") {
		t.Errorf("Console(tty3) = %v, want ErrNoTTY naming /dev/tty3 and lxc.tty.max", err)
	}
}
