package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/cgroup"
	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// hugetlbLimit is a limit every cgroup v2 host with 2 MB huge pages can
// apply: on this project's hybrid hosts hugetlb is the only controller of
// the cgroup2 hierarchy.
const (
	limitKey    = "hugetlb.2MB.max"
	limitConfig = "lxc.cgroup2." + limitKey + " = 0"
)

// limitCgroup is delegatedCgroup with the hugetlb controller available in
// it: root enables it at the hierarchy's root, as systemd does for every
// controller on unified hosts (and it stays enabled).
func limitCgroup(t *testing.T, u *testenv.User) string {
	t.Helper()
	if _, err := os.Stat("/sys/kernel/mm/hugepages/hugepages-2048kB"); err != nil {
		testenv.Skipf(t, "no 2 MB huge pages, so no %s: %v", limitKey, err)
	}
	cg := delegatedCgroup(t, u)
	mp := filepath.Dir(cg)
	if err := cgroup.Enable(mp, []string{"hugetlb"}); err != nil {
		testenv.Skipf(t, "enable hugetlb in %s: %v", mp, err)
	}
	return cg
}

// children lists the child cgroups of cg.
func children(t *testing.T, cg string) []string {
	t.Helper()
	kids, err := cgroup.Children(cg)
	if err != nil {
		t.Fatal(err)
	}
	return kids
}

// pristine checks that ulxc left the delegated cgroup as it found it:
// no child cgroups and no controllers enabled.
func pristine(t *testing.T, cg, when string) {
	t.Helper()
	if kids := children(t, cg); len(kids) != 0 {
		t.Errorf("%s: %s still has child cgroups %q", when, cg, kids)
	}
	if on, err := cgroup.SubtreeControl(cg); err != nil || len(on) != 0 {
		t.Errorf("%s: %s has %q enabled (%v), want none", when, cg, on, err)
	}
}

func readTrim(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func pids(t *testing.T, cg string) []int {
	t.Helper()
	procs, err := cgroup.Procs(cg)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, p := range procs {
		out = append(out, p.Pid)
	}
	return out
}

func TestLimitsDelegatedDaemon(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	cg := limitCgroup(t, u)
	dir := runtimetest.NewBusybox(t, h, "c1", limitConfig)
	appendFile(t, filepath.Join(dir, "rootfs/etc/inittab"), counterLine)
	if r := runIn(t, h, cg, "start", "c1"); r.Code != 0 {
		t.Fatalf("start c1 with %s in a delegated cgroup: exit %d: %s", limitConfig, r.Code, r.Stderr)
	}
	t.Cleanup(func() { h.Run(t, "stop", "-k", "c1") })

	leaf := filepath.Join(cg, "ulxc-c1")
	if got := readTrim(t, filepath.Join(leaf, limitKey)); got != "0" {
		t.Errorf("%s = %q, want 0", filepath.Join(leaf, limitKey), got)
	}
	if r := h.MustRun(t, "cgroup", "c1", limitKey); strings.TrimSpace(r.Stdout) != "0" {
		t.Errorf("cgroup c1 %s = %q, want 0", limitKey, r.Stdout)
	}
	// The layout: nothing left in the delegated cgroup itself, the
	// monitor in the supervisors' leaf, init in the container's.
	if p := pids(t, cg); len(p) != 0 {
		t.Errorf("%s still holds processes %v", cg, p)
	}
	if on, _ := cgroup.SubtreeControl(cg); !slices.Contains(on, "hugetlb") {
		t.Errorf("%s enables %q for its children, want hugetlb", cg, on)
	}
	b, err := os.ReadFile(runtimeFile(t, h, "c1", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Supervisor, Pid int }
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("state.json = %s: %v", b, err)
	}
	if p := pids(t, filepath.Join(cg, "ulxc.supervisors")); !slices.Contains(p, st.Supervisor) {
		t.Errorf("ulxc.supervisors holds %v, want the monitor %d", p, st.Supervisor)
	}
	if p := pids(t, leaf); !slices.Contains(p, st.Pid) {
		t.Errorf("%s holds %v, want init %d", leaf, p, st.Pid)
	}

	// Freeze works on the container's cgroup as without limits.
	waitUntil(t, "the counter to run", func() bool { return counter(dir) > 0 })
	h.MustRun(t, "freeze", "c1")
	if r := h.MustRun(t, "cgroup", "c1", "cgroup.events"); !strings.Contains(r.Stdout, "frozen 1") {
		t.Errorf("cgroup c1 cgroup.events = %q after freeze, want frozen 1", r.Stdout)
	}
	h.MustRun(t, "unfreeze", "c1")
	before := counter(dir)
	waitUntil(t, "the counter to advance after unfreeze", func() bool { return counter(dir) > before })

	h.MustRun(t, "stop", "c1")
	pristine(t, cg, "after stop")
}

func TestLimitsDelegatedForeground(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	cg := limitCgroup(t, u)
	runtimetest.NewBusybox(t, h, "c1", limitConfig, "lxc.mount.auto = cgroup:ro")
	// The container reads its limit through its own cgroup namespace.
	r := runIn(t, h, cg, "start", "-F", "c1", "--", "/bin/cat", "/sys/fs/cgroup/"+limitKey)
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "0" {
		t.Fatalf("start -F c1 -- cat %s: exit %d, stdout %q, stderr %s; want 0 and 0", limitKey, r.Code, r.Stdout, r.Stderr)
	}
	pristine(t, cg, "after start -F")
}

func TestLimitsBusyCgroup(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	cg := limitCgroup(t, u)
	runtimetest.NewBusybox(t, h, "c1", limitConfig)
	// A process of the user's that ulxc must not move: their shell, say.
	sleep := h.Exec(t, nil, "sleep", "600")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	if err := cgroup.Move(cg, sleep.Process.Pid); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"start", "c1"}, {"start", "-F", "c1"}} {
		r := runIn(t, h, cg, args...)
		t.Logf("%s: %s", args, r.Stderr)
		for _, want := range []string{"holds processes", strconv.Itoa(sleep.Process.Pid) + " (sleep)",
			"systemd-run --user --scope -p Delegate=yes ulxc start c1"} {
			if r.Code != 1 || !strings.Contains(r.Stderr, want) {
				t.Errorf("%s with a foreign process in the cgroup: exit %d, stderr %q; want 1 and %q", args, r.Code, r.Stderr, want)
			}
		}
		pristine(t, cg, strings.Join(args, " ")+" refused")
		if p := pids(t, cg); !slices.Equal(p, []int{sleep.Process.Pid}) {
			t.Errorf("%s refused: %s holds %v, want only the sleep %d", args, cg, p, sleep.Process.Pid)
		}
		if row := lsJSON(t, h)["c1"]; row.State != "STOPPED" {
			t.Errorf("%s refused: c1 is %s, want STOPPED", args, row.State)
		}
	}
}

func TestLimitsMissingController(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	outer := limitCgroup(t, u)
	// A delegated cgroup whose parent enables nothing for it: no
	// controller is available in it, hugetlb included.
	cg := filepath.Join(outer, "inner")
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		kids, _ := cgroup.Children(cg)
		for _, k := range kids {
			os.Remove(filepath.Join(cg, k))
		}
	})
	for _, f := range []string{"", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"} {
		if err := os.Chown(filepath.Join(cg, f), int(u.UID), int(u.GID)); err != nil {
			t.Fatal(err)
		}
	}
	runtimetest.NewBusybox(t, h, "c1", limitConfig)
	for _, args := range [][]string{{"start", "c1"}, {"start", "-F", "c1"}} {
		r := runIn(t, h, cg, args...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "controller not available: hugetlb (available: none)") {
			t.Errorf("%s without the hugetlb controller: exit %d, stderr %q; want 1 and the missing controller named", args, r.Code, r.Stderr)
		}
		pristine(t, cg, strings.Join(args, " ")+" refused")
	}
}

func TestLimitsWithoutDelegation(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	runtimetest.NewBusybox(t, h, "c1", limitConfig)
	for _, args := range [][]string{{"start", "c1"}, {"start", "-F", "c1"}} {
		r := h.Run(t, args...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "resource limits need a delegated cgroup: c1 asks for "+limitKey) ||
			!strings.Contains(r.Stderr, "hint:") || !strings.Contains(r.Stderr, "Delegate=yes") {
			t.Errorf("%s with limits and no delegation: exit %d, stderr %q; want 1, ErrCgroupLimits and a hint", args, r.Code, r.Stderr)
		}
		if row := lsJSON(t, h)["c1"]; row.State != "STOPPED" {
			t.Errorf("%s refused: c1 is %s, want STOPPED", args, row.State)
		}
	}
}

func TestLimitsStartFails(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	cg := limitCgroup(t, u)
	runtimetest.NewBusybox(t, h, "c1", limitConfig)
	// Limits are in place before init fails to exec: the failure must
	// still hand the cgroup back as it was.
	for _, args := range [][]string{{"start", "c1", "--", "/nonexistent"}, {"start", "-F", "c1", "--", "/nonexistent"}} {
		r := runIn(t, h, cg, args...)
		if r.Code == 0 || !strings.Contains(r.Stderr, "/nonexistent") {
			t.Errorf("%s: exit %d, stderr %q; want a failure naming /nonexistent", args, r.Code, r.Stderr)
		}
		pristine(t, cg, strings.Join(args, " ")+" failed")
	}
}
