package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

func TestAutostartPlan(t *testing.T) {
	entries := []autoEntry{
		{name: "a", auto: true, order: 2},
		{name: "b", auto: true, order: 1},
		{name: "c"},
		{name: "d", auto: true, groups: []string{"web"}},
		{name: "e", auto: true, order: -1, groups: []string{"onboot", "web"}},
		{name: "f", auto: true, order: 1},
	}
	names := func(p []autoEntry) []string {
		out := []string{}
		for _, e := range p {
			out = append(out, e.name)
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		all, noAut bool
		groups     []string
		stopping   bool
		want       []string
	}{
		{"default: the no-group group", false, false, nil, false, []string{"b", "f", "a"}},
		{"stop in reverse", false, false, nil, true, []string{"a", "f", "b"}},
		{"all groups", true, false, nil, false, []string{"e", "d", "b", "f", "a"}},
		{"ignore auto", true, true, nil, false, []string{"e", "c", "d", "b", "f", "a"}},
		{"onboot then none", false, false, []string{"onboot", ""}, false, []string{"e", "b", "f", "a"}},
		{"web, once each", false, false, []string{"onboot", "web"}, false, []string{"e", "d"}},
		{"unknown group", false, false, []string{"db"}, false, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := names(autostartPlan(entries, tc.all, tc.noAut, tc.groups, tc.stopping))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("autostartPlan(all=%v, ignoreAuto=%v, groups=%q, stopping=%v) = %q, want %q",
					tc.all, tc.noAut, tc.groups, tc.stopping, got, tc.want)
			}
		})
	}
}

func TestSplitGroups(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, nil},
		{[]string{"onboot,"}, []string{"onboot", ""}},
		{[]string{"a,,b", "c"}, []string{"a", "", "b", "c"}},
		{[]string{""}, []string{""}},
	} {
		if got := splitGroups(tc.args); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitGroups(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

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
