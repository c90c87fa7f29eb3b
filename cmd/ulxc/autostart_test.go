package main

import (
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

func TestAutostart(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	runtimetest.NewBusybox(t, h, "first", "lxc.start.auto = 1", "lxc.start.order = 1")
	runtimetest.NewBusybox(t, h, "second", "lxc.start.auto = 1", "lxc.start.order = 5", "lxc.start.delay = 0")
	runtimetest.NewBusybox(t, h, "manual")
	runtimetest.NewBusybox(t, h, "grouped", "lxc.start.auto = 1", "lxc.group = web")
	t.Cleanup(func() {
		for _, n := range []string{"first", "second", "manual", "grouped"} {
			h.Run(t, "stop", "-k", n)
		}
	})
	running := func() string {
		return strings.Join(lines(h.MustRun(t, "ls", "--running", "-1").Stdout), " ")
	}

	if r := h.MustRun(t, "autostart", "-L"); strings.Join(lines(r.Stdout), "|") != "first 0|second 0" {
		t.Errorf("autostart -L = %q, want first then second", r.Stdout)
	}
	h.MustRun(t, "autostart")
	if got := running(); got != "first second" {
		t.Errorf("running after autostart = %q, want %q (not manual, not the web group)", got, "first second")
	}
	h.MustRun(t, "autostart") // running ones are left alone
	h.MustRun(t, "autostart", "-g", "web")
	if got := running(); got != "first grouped second" {
		t.Errorf("running after autostart -g web = %q, want %q", got, "first grouped second")
	}
	h.MustRun(t, "autostart", "-k", "-a")
	if got := running(); got != "" {
		t.Errorf("running after autostart -k -a = %q, want none", got)
	}
	if r := h.Run(t, "autostart", "-s", "-k"); r.Code != 2 {
		t.Errorf("autostart -s -k exited %d, want 2", r.Code)
	}
}
