package main

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// lxcStore makes containers with LXC's own lxc-create (busybox template)
// in a store of h's, as the test user, and returns the store; the test is
// skipped without LXC.
func lxcStore(t *testing.T, h *testenv.Home, names ...string) string {
	t.Helper()
	for _, tool := range []string{"lxc-create", "lxc-ls"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, "LXC is not installed (%s: %v): apt-get install lxc", tool, err)
		}
	}
	start, count := runtimetest.SubRange(t, h.User)
	h.WriteFile(t, ".config/lxc/default.conf", "lxc.idmap = u 0 "+strconv.FormatUint(start, 10)+" "+strconv.FormatUint(count, 10)+
		"\nlxc.idmap = g 0 "+strconv.FormatUint(start, 10)+" "+strconv.FormatUint(count, 10)+"\nlxc.net.0.type = empty\n")
	store := filepath.Join(h.Dir, "lxc")
	for _, n := range names {
		if r := testenv.RunCmd(t, h.Exec(t, nil, "lxc-create", "-P", store, "-n", n, "-t", "busybox")); r.Code != 0 {
			t.Fatalf("lxc-create -t busybox %s: exit %d\n%s%s", n, r.Code, r.Stdout, r.Stderr)
		}
	}
	return store
}

// TestLsMatchesLXC lists containers that LXC made with lxc-ls and with
// ulxc ls and wants the same bytes: column widths, trailing spaces,
// AUTOSTART as 0/1, - for what is missing, padding of plain names.
func TestLsMatchesLXC(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	store := lxcStore(t, h, "bb", "longer-name.2", "web")
	appendFile(t, filepath.Join(store, "web/config"), "lxc.start.auto = 1\nlxc.group = onboot\nlxc.group = web\n")
	for _, args := range [][]string{
		{"-f"},
		{"--fancy"},
		{},
		{"-1"},
		{"--stopped", "-f"},
		{"--running"},
		{"--active", "-f"},
		{"--frozen"},
		{"-f", "-F", "name,PID,ram,swap,interface,autostart,groups,unprivileged,state,ipv4,ipv6"},
		{"-f", "-F", "NAME,GROUPS"},
		{"-f", "b"},
		{"-1", "^[bw]"},
		{"--filter", "e.*2$", "-f"},
		{"-1", "-g", "web"},
		{"-f", "-g", "onboot,web"},
		{"-g", "nosuch"},
	} {
		lxc := testenv.RunCmd(t, h.Exec(t, nil, "lxc-ls", append([]string{"-P", store}, args...)...))
		ours := h.Run(t, append([]string{"-P", store, "ls"}, args...)...)
		if ours.Code != lxc.Code || ours.Stdout != lxc.Stdout {
			t.Errorf("ls %s: exit %d\n%q\nlxc-ls: exit %d\n%q\nstderr: %s", strings.Join(args, " "), ours.Code, ours.Stdout, lxc.Code, lxc.Stdout, ours.Stderr)
		}
	}
}

// TestLsRunning checks the columns of a running container against the
// layout lxc-ls prints (LXC cannot see a ulxc run to print it itself).
func TestLsRunning(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "down")
	runningBusybox(t, h, "up", "lxc.start.auto = 1", "lxc.group = web", "lxc.group = db")
	pid := strconv.Itoa(lsJSON(t, h)["up"].Pid)
	pidCol := max(3, len(pid))
	pad := func(s string, n int) string { return s + strings.Repeat(" ", n-len(s)) }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ls", "-f"}, "" +
			"NAME STATE   AUTOSTART GROUPS  IPV4 IPV6 UNPRIVILEGED \n" +
			"down STOPPED 0         -       -    -    true         \n" +
			"up   RUNNING 1         web, db -    -    true         \n"},
		// The container has only loopback (lxc.net.0.type empty); RAM is
		// - where its cgroup does not account memory.
		{[]string{"ls", "-F", "NAME,PID,INTERFACE"}, "" +
			"NAME " + pad("PID", pidCol) + " INTERFACE \n" +
			"down " + pad("-", pidCol) + " -         \n" +
			"up   " + pad(pid, pidCol) + " lo        \n"},
		{[]string{"ls", "--running"}, "up  \n"},
		{[]string{"ls", "--active", "-1"}, "up\n"},
		{[]string{"ls", "--frozen"}, ""},
		{[]string{"ls", "--stopped", "-f"}, "" +
			"NAME STATE   AUTOSTART GROUPS IPV4 IPV6 UNPRIVILEGED \n" +
			"down STOPPED 0         -      -    -    true         \n"},
		{[]string{"ls", "-g", "db", "-1"}, "up\n"},
		{[]string{"ls", "-1", "o"}, "down\n"},
	} {
		if r := h.MustRun(t, tc.args...); r.Stdout != tc.want {
			t.Errorf("ulxc %s =\n%q\nwant\n%q", strings.Join(tc.args, " "), r.Stdout, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ls", "-F", "NAME,BOGUS"}, `unknown column "BOGUS"`},
		{[]string{"ls", "("}, `name filter "("`},
		{[]string{"ls", "a", "b"}, "one name filter expected"},
		{[]string{"ls", "--filter", "a", "b"}, "one name filter expected"},
	} {
		if r := h.Run(t, tc.args...); r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("ulxc %s = exit %d, %q; want exit 2 and %q", strings.Join(tc.args, " "), r.Code, r.Stderr, tc.want)
		}
	}
}
