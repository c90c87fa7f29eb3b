package main

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// startMonitor runs `ulxc monitor ARGS --debug` and returns its lines as
// they come, once it has taken stock of the containers.
func startMonitor(t *testing.T, h *testenv.Home, args ...string) <-chan string {
	t.Helper()
	cmd := h.Command(t, nil, append([]string{"monitor", "--debug"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errOut, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(errOut)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "monitor: watching") {
				close(ready)
				break
			}
		}
		io.Copy(io.Discard, errOut)
	}()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("monitor did not start watching")
	}
	return lines
}

// expectLines reads lines until each of want has appeared, in order;
// other lines (a STARTING or STOPPING caught on the way) may come between.
func expectLines(t *testing.T, lines <-chan string, want ...string) {
	t.Helper()
	var got []string
	limit := time.After(60 * time.Second)
	for len(want) > 0 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("monitor ended; got %q, still want %q", got, want)
			}
			got = append(got, l)
			if l == want[0] {
				want = want[1:]
			}
		case <-limit:
			t.Fatalf("monitor printed %q; still want %q", got, want)
		}
	}
}

// TestMonitor: lxc-monitor's lines for a start and a stop, and JSON.
func TestMonitor(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "m1", `lxc.init.cmd = /bin/sh -c 'trap "exit 5" USR1; while :; do sleep 0.1; done'`)
	runtimetest.NewBusybox(t, h, "other")
	t.Cleanup(func() { h.Run(t, "stop", "-k", "m1"); h.Run(t, "stop", "-k", "other") })

	lines := startMonitor(t, h, "-n", "m.")
	h.MustRun(t, "start", "m1")
	h.MustRun(t, "start", "other") // not m.: never shown
	expectLines(t, lines, "'m1' changed state to [RUNNING]")
	h.MustRun(t, "stop", "m1")
	expectLines(t, lines, "'m1' exited with status [5]", "'m1' changed state to [STOPPED]")

	js := startMonitor(t, h, "--format", "json")
	h.MustRun(t, "start", "m1")
	var ev struct {
		Name, State, Time string
	}
	for l := range js {
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("monitor --format json printed %q: %v", l, err)
		}
		if ev.Name == "m1" && ev.State == "RUNNING" {
			break
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, ev.Time); err != nil {
		t.Errorf("monitor --format json: time %q: %v", ev.Time, err)
	}
	if r := h.Run(t, "monitor", "-n", "("); r.Code != 2 {
		t.Errorf("monitor -n '(' = exit %d, %q; want 2", r.Code, r.Stderr)
	}
}
