package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ulxc/ulxc/cgroup"
	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// counterLine makes busybox init respawn a loop that counts in /tmp/counter.
const counterLine = `::respawn:/bin/sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/counter.new; mv /tmp/counter.new /tmp/counter; usleep 10000; done'` + "\n"

// delegatedCgroup makes a cgroup v2 directory owned by u, as systemd's
// Delegate=yes or an admin's chown would, and returns it.
func delegatedCgroup(t *testing.T, u *testenv.User) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "delegating a cgroup needs root")
	}
	mp, err := cgroup.Mountpoint()
	if err != nil {
		testenv.Skipf(t, "no cgroup2 hierarchy: %v", err)
	}
	cg, err := os.MkdirTemp(mp, "ulxc-test-")
	if err != nil {
		testenv.Skipf(t, "cannot make a cgroup under %s: %v", mp, err)
	}
	t.Cleanup(func() {
		// Child cgroups first (the container's leaf, if left).
		subs, _ := filepath.Glob(filepath.Join(cg, "*", "cgroup.procs"))
		for _, s := range subs {
			os.Remove(filepath.Dir(s))
		}
		if err := os.Remove(cg); err != nil {
			t.Logf("remove %s: %v", cg, err)
		}
	})
	for _, f := range []string{"", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"} {
		if err := os.Chown(filepath.Join(cg, f), int(u.UID), int(u.GID)); err != nil {
			t.Fatal(err)
		}
	}
	return cg
}

// runIn runs `ulxc ARGS` as the user from inside the cgroup cg: root puts
// the waiting wrapper shell there before it execs ulxc, as systemd would.
func runIn(t *testing.T, h *testenv.Home, cg string, args ...string) testenv.Result {
	t.Helper()
	cmd := h.Exec(t, nil, "sh", append([]string{"-c", `read go; exec "$0" "$@"`, testenv.ULXC(t)}, args...)...)
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("move the wrapper into %s: %v", cg, err)
	}
	w.Write([]byte("go\n"))
	w.Close()
	err = cmd.Wait()
	res := testenv.Result{Stdout: out.String(), Stderr: errb.String()}
	if err != nil {
		res.Code = cmd.ProcessState.ExitCode()
	}
	return res
}

func counter(dir string) int {
	b, _ := os.ReadFile(filepath.Join(dir, "rootfs/tmp/counter"))
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func TestFreezeDelegated(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	cg := delegatedCgroup(t, u)
	dir := runtimetest.NewBusybox(t, h, "c1")
	appendFile(t, filepath.Join(dir, "rootfs/etc/inittab"), counterLine)
	if r := runIn(t, h, cg, "start", "c1"); r.Code != 0 {
		t.Fatalf("start c1 in a delegated cgroup: exit %d: %s", r.Code, r.Stderr)
	}
	t.Cleanup(func() { h.Run(t, "stop", "-k", "c1") })
	leaf := filepath.Join(cg, "ulxc-c1")
	if _, err := os.Stat(filepath.Join(leaf, "cgroup.freeze")); err != nil {
		t.Fatalf("the container has no cgroup of its own at %s: %v", leaf, err)
	}
	waitUntil(t, "the counter to run", func() bool { return counter(dir) > 0 })

	h.MustRun(t, "freeze", "c1")
	if b, _ := os.ReadFile(filepath.Join(leaf, "cgroup.freeze")); strings.TrimSpace(string(b)) != "1" {
		t.Errorf("cgroup.freeze = %q after freeze, want 1", b)
	}
	if r := h.MustRun(t, "cgroup", "c1", "cgroup.events"); !strings.Contains(r.Stdout, "frozen 1") {
		t.Errorf("cgroup c1 cgroup.events = %q, want frozen 1", r.Stdout)
	}
	if row := lsJSON(t, h)["c1"]; row.State != "FROZEN" {
		t.Errorf("ls: c1 is %s while frozen, want FROZEN", row.State)
	}
	if r := h.MustRun(t, "info", "c1"); !strings.Contains(r.Stdout, "FROZEN") {
		t.Errorf("info while frozen:\n%s\nwant State: FROZEN", r.Stdout)
	}
	before := counter(dir)
	time.Sleep(300 * time.Millisecond) // long enough for ~30 increments, were it running
	if after := counter(dir); after != before {
		t.Errorf("the counter advanced from %d to %d while frozen", before, after)
	}
	if r := h.Run(t, "attach", "c1", "--", "true"); r.Code != 1 || !strings.Contains(r.Stderr, "frozen") {
		t.Errorf("attach to a frozen container: exit %d, %q; want 1 and 'frozen'", r.Code, r.Stderr)
	}

	h.MustRun(t, "unfreeze", "c1")
	if r := h.MustRun(t, "cgroup", "c1", "cgroup.events"); !strings.Contains(r.Stdout, "frozen 0") {
		t.Errorf("cgroup c1 cgroup.events = %q after unfreeze, want frozen 0", r.Stdout)
	}
	waitUntil(t, "the counter to advance after unfreeze", func() bool { return counter(dir) > before })

	// Attached from inside the delegated cgroup, the process starts in the
	// container's (clone3 with CLONE_INTO_CGROUP, package nsenter), which
	// is the root of the container's cgroup namespace (made by init once
	// it was moved there).
	r := runIn(t, h, cg, "attach", "c1", "--", "cat", "/proc/self/cgroup")
	if r.Code != 0 || !slices.Contains(lines(r.Stdout), "0::/") || strings.Contains(r.Stderr, "cannot move") {
		t.Errorf("attach in the delegated cgroup: exit %d, /proc/self/cgroup %q, stderr %q; want 0::/", r.Code, r.Stdout, r.Stderr)
	}

	// Write through the cgroup verb, read back through the file.
	h.MustRun(t, "cgroup", "c1", "cgroup.freeze", "1")
	waitUntil(t, "cgroup.events to say frozen", func() bool {
		b, _ := os.ReadFile(filepath.Join(leaf, "cgroup.events"))
		return strings.Contains(string(b), "frozen 1")
	})
	h.MustRun(t, "unfreeze", "c1")
	if r := h.MustRun(t, "cgroup", "c1", "cgroup.procs"); strings.TrimSpace(r.Stdout) == "" {
		t.Errorf("cgroup c1 cgroup.procs = %q, want the container's pids", r.Stdout)
	}

	// A frozen container still stops with its halt signal: stop thaws it.
	h.MustRun(t, "freeze", "c1")
	h.MustRun(t, "stop", "c1")
	if row := lsJSON(t, h)["c1"]; row.State != "STOPPED" {
		t.Errorf("ls after stopping a frozen c1: %s, want STOPPED", row.State)
	}
}

func TestFreezeWithoutDelegation(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	runningBusybox(t, h, "c1")
	for _, args := range [][]string{{"freeze", "c1"}, {"unfreeze", "c1"}, {"cgroup", "c1", "cgroup.events"}} {
		r := h.Run(t, args...)
		t.Logf("%s: %s", args, r.Stderr)
		if r.Code != 1 || !strings.Contains(r.Stderr, "Delegate=yes") || !strings.Contains(r.Stderr, "no cgroup of its own") {
			t.Errorf("%s without delegation: exit %d, stderr %q; want 1 and a message naming Delegate=yes", args, r.Code, r.Stderr)
		}
	}
	// Still running, never SIGSTOPped.
	if r := h.MustRun(t, "attach", "c1", "--", "echo", "alive"); strings.TrimSpace(r.Stdout) != "alive" {
		t.Errorf("attach after a refused freeze = %q, want alive", r.Stdout)
	}
}

func TestCgroupKeyRefused(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	for _, key := range []string{"../cgroup.procs", "a/b", "..", "."} {
		r := h.Run(t, "cgroup", "c1", key)
		if r.Code != 2 || !strings.Contains(r.Stderr, "invalid cgroup key") {
			t.Errorf("cgroup c1 %q: exit %d, stderr %q; want 2 and 'invalid cgroup key'", key, r.Code, r.Stderr)
		}
	}
}

func appendFile(t *testing.T, name, s string) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprint(f, s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMonitorKilledDelegated: a monitor killed with SIGKILL leaves the
// container's cgroup behind; the next look at the container removes it.
func TestMonitorKilledDelegated(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	cg := delegatedCgroup(t, u)
	runtimetest.NewBusybox(t, h, "c1")
	if r := runIn(t, h, cg, "start", "c1"); r.Code != 0 {
		t.Fatalf("start c1 in a delegated cgroup: exit %d: %s", r.Code, r.Stderr)
	}
	t.Cleanup(func() { h.Run(t, "stop", "-k", "c1") })
	leaf := filepath.Join(cg, "ulxc-c1")
	if _, err := os.Stat(leaf); err != nil {
		t.Fatalf("no cgroup %s for the running container: %v", leaf, err)
	}
	b, err := os.ReadFile(runtimeFile(t, h, "c1", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Supervisor int }
	if err := json.Unmarshal(b, &st); err != nil || st.Supervisor <= 0 {
		t.Fatalf("state.json = %s, %v: no supervisor pid", b, err)
	}
	if err := syscall.Kill(st.Supervisor, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "ls to report STOPPED", func() bool { return lsJSON(t, h)["c1"].State == "STOPPED" })
	if _, err := os.Stat(leaf); !os.IsNotExist(err) {
		t.Errorf("%s after the killed monitor's container was found stopped: %v, want it removed", leaf, err)
	}
}
