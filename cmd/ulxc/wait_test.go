package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// TestWait: lxc-wait's states, timeout and exit codes, as the user.
func TestWait(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "w1", trapInit)
	t.Cleanup(func() { h.Run(t, "stop", "-k", "w1") })

	// A wait started before the container runs ends when it does.
	waiter := h.Command(t, nil, "wait", "-n", "w1", "-s", "RUNNING", "-t", "60")
	if err := waiter.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- waiter.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("wait -s RUNNING of a stopped container ended before the start: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	h.MustRun(t, "start", "w1")
	if err := <-done; err != nil {
		t.Errorf("wait -s RUNNING after the start: %v, want exit 0", err)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"wait", "w1", "-s", "RUNNING"}, 0, ""},
		{[]string{"wait", "-n", "w1", "-s", "STOPPED|RUNNING"}, 0, ""},
		{[]string{"wait", "w1", "-s", "STOPPED", "-t", "1"}, 1, "not STOPPED within 1s (it is RUNNING)"},
		{[]string{"wait", "w1", "-s", "FROZEN", "-t", "0"}, 1, "not FROZEN"},
		{[]string{"wait", "w1", "-s", "RUNNING|BOGUS"}, 2, `unknown state "BOGUS"`},
		{[]string{"wait", "w1"}, 2, "no state"},
		{[]string{"wait", "nosuch", "-s", "STOPPED"}, 1, "no such container"},
	} {
		if r := h.Run(t, tc.args...); r.Code != tc.code || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("ulxc %s = exit %d, %q; want %d, %q", strings.Join(tc.args, " "), r.Code, r.Stderr, tc.code, tc.want)
		}
	}
	// lxc-stop -W; lxc-wait -s STOPPED: the script way to stop in steps.
	h.MustRun(t, "stop", "-W", "w1")
	h.MustRun(t, "wait", "w1", "-s", "STOPPED", "-t", "30")
	if s := strings.TrimSpace(h.MustRun(t, "info", "-s", "-H", "w1").Stdout); s != "STOPPED" {
		t.Errorf("after wait -s STOPPED, info -s says %s", s)
	}
}
