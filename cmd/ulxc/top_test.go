package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// topHeader is lxc-top's header, to the space.
const topHeader = "Container                   CPU          CPU          CPU                                BlkIO        Mem\n" +
	"Name                       Used          Sys         User                    Total(Read/Write)       Used\n"

var topLine = regexp.MustCompile(`^(.{18}) +([0-9]+\.[0-9]{2}) +([0-9]+\.[0-9]{2}) +([0-9]+\.[0-9]{2}) +(.+\(.+/.+\)) +([0-9.]+ (bytes|KiB|MiB|GiB)|[0-9 ]+\.00   )$`)

// TestTop: lxc-top's table and batch lines for running containers, as
// the user, without a cgroup (the figures come from /proc).
func TestTop(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runningBusybox(t, h, "t1")
	runningBusybox(t, h, "t2")

	out := h.MustRun(t, "top", "-n", "1").Stdout
	if !strings.HasPrefix(out, topHeader) {
		t.Fatalf("top -n 1 =\n%s\nwant lxc-top's header first:\n%s", out, topHeader)
	}
	rows := strings.Split(strings.TrimSuffix(strings.TrimPrefix(out, topHeader), "\n"), "\n")
	if len(rows) != 3 {
		t.Fatalf("top -n 1 rows = %q, want t1, t2 and TOTAL", rows)
	}
	for i, want := range []string{"t1", "t2", "TOTAL 2 of 2"} {
		m := topLine.FindStringSubmatch(rows[i])
		if m == nil || strings.TrimSpace(m[1]) != want {
			t.Errorf("top row %d = %q, want %s in lxc-top's format", i, rows[i], want)
		}
	}

	batch := strings.Split(strings.TrimSpace(h.MustRun(t, "top", "-b", "-n", "1", "-s", "m").Stdout), "\n")
	if len(batch) != 3 || batch[0] != "time_ms,container,cpu_nanos,cpu_sys_userhz,cpu_user_userhz,blkio_bytes,blkio_iops,mem_used_bytes,memsw_used_bytes,kernel_mem_used_bytes" {
		t.Fatalf("top -b -n 1 = %q, want lxc-top's header and two lines", batch)
	}
	for _, l := range batch[1:] {
		f := strings.Split(l, ",")
		if len(f) != 10 || (f[1] != "t1" && f[1] != "t2") {
			t.Errorf("top -b line %q, want 10 fields of t1 or t2", l)
			continue
		}
		for _, i := range []int{0, 2, 3, 4, 5, 6, 7, 8, 9} {
			if _, err := strconv.ParseUint(f[i], 10, 64); err != nil {
				t.Errorf("top -b line %q: field %d: %v", l, i+1, err)
			}
		}
		if mem, _ := strconv.ParseUint(f[7], 10, 64); mem == 0 {
			t.Errorf("top -b line %q: memory 0 for a running container", l)
		}
	}
	if r := h.Run(t, "top", "-s", "x"); r.Code != 2 {
		t.Errorf("top -s x = exit %d, want 2", r.Code)
	}
}

// TestTopDelegated: with a cgroup of its own, a busy container's CPU
// comes from it and is not 0.
func TestTopDelegated(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	cg := delegatedCgroup(t, u)
	dir := newBusyboxWith(t, h, "busy", counterLine)
	if r := runIn(t, h, cg, "start", "busy"); r.Code != 0 {
		t.Fatalf("start busy in a delegated cgroup: exit %d: %s", r.Code, r.Stderr)
	}
	t.Cleanup(func() { h.Run(t, "stop", "-k", "busy") })
	waitUntil(t, "the counter to run", func() bool { return counter(dir) > 20 })
	f := strings.Split(strings.Split(strings.TrimSpace(h.MustRun(t, "top", "-b", "-n", "1").Stdout), "\n")[1], ",")
	if n, _ := strconv.ParseUint(f[2], 10, 64); f[1] != "busy" || n == 0 {
		t.Errorf("top -b of a busy container: %q, want its cgroup's CPU nanoseconds above 0", f)
	}
}
