package store

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestAutostartPlan(t *testing.T) {
	entries := []Autostart{
		{Name: "a", Auto: true, Order: 2},
		{Name: "b", Auto: true, Order: 1},
		{Name: "c"},
		{Name: "d", Auto: true, Groups: []string{"web"}},
		{Name: "e", Auto: true, Order: -1, Groups: []string{"onboot", "web"}},
		{Name: "f", Auto: true, Order: 1},
	}
	names := func(p []Autostart) []string {
		out := []string{}
		for _, e := range p {
			out = append(out, e.Name)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		opts PlanOptions
		want []string
	}{
		{"default: the no-group group", PlanOptions{}, []string{"b", "f", "a"}},
		{"stop in reverse", PlanOptions{Stopping: true}, []string{"a", "f", "b"}},
		{"all groups", PlanOptions{All: true}, []string{"e", "d", "b", "f", "a"}},
		{"ignore auto", PlanOptions{All: true, IgnoreAuto: true}, []string{"e", "c", "d", "b", "f", "a"}},
		{"onboot then none", PlanOptions{Groups: []string{"onboot", ""}}, []string{"e", "b", "f", "a"}},
		{"web, once each", PlanOptions{Groups: []string{"onboot", "web"}}, []string{"e", "d"}},
		{"unknown group", PlanOptions{Groups: []string{"db"}}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(AutostartPlan(entries, tc.opts)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("AutostartPlan(%+v) = %q, want %q", tc.opts, got, tc.want)
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
		if got := SplitGroups(tc.args); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitGroups(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestContainerAutostart(t *testing.T) {
	s, _ := Open(t.TempDir())
	c, unlock, err := s.New("web")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	write := func(conf string) {
		if err := os.WriteFile(c.ConfigPath(), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("lxc.start.auto = 1\nlxc.start.order = 3\nlxc.start.delay = 5\nlxc.group = onboot,web\n")
	a, err := c.Autostart()
	want := Autostart{Name: "web", Auto: true, Order: 3, Delay: 5, Groups: []string{"onboot", "web"}}
	if err != nil || !reflect.DeepEqual(a, want) {
		t.Errorf("Autostart() = %+v, %v; want %+v", a, err, want)
	}
	write("lxc.start.auto = 1\nlxc.start.delay = soon\n")
	if _, err := c.Autostart(); err == nil || !strings.Contains(err.Error(), `lxc.start.delay = "soon" is not a number`) {
		t.Errorf("Autostart() with a bad delay = %v, want an error naming the key", err)
	}
}
