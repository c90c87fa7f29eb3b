package main

import (
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// TestExecute: lxc-execute's application container: CMD is init, its
// exit status is ulxc's, -u/-g, lxc.execute.cmd, -d.
func TestExecute(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "ex")
	t.Cleanup(func() { h.Run(t, "stop", "-k", "ex") })

	r := h.Run(t, "execute", "-n", "ex", "--", "/bin/sh", "-c", `echo pid=$$ host=$(hostname) uid=$(id -u); exit 3`)
	if r.Code != 3 || strings.TrimSpace(r.Stdout) != "pid=1 host=ex uid=0" {
		t.Errorf("execute -- sh: exit %d, %q (stderr %q); want 3, pid=1 host=ex uid=0", r.Code, r.Stdout, r.Stderr)
	}
	if r := h.MustRun(t, "execute", "ex", "-u", "1000", "-g", "1001", "--", "/bin/sh", "-c", "echo $(id -u):$(id -g)"); strings.TrimSpace(r.Stdout) != "1000:1001" {
		t.Errorf("execute -u 1000 -g 1001 = %q, want 1000:1001", r.Stdout)
	}
	if r := h.MustRun(t, "execute", "-s", "lxc.execute.cmd=/bin/echo from config", "ex"); strings.TrimSpace(r.Stdout) != "from config" {
		t.Errorf("execute with lxc.execute.cmd = %q, want its output", r.Stdout)
	}
	if r := h.Run(t, "execute", "ex"); r.Code != 2 || !strings.Contains(r.Stderr, "lxc.execute.cmd") {
		t.Errorf("execute without a command = exit %d, %q; want 2 naming lxc.execute.cmd", r.Code, r.Stderr)
	}

	// -d: in the background, running until stopped; sleep as pid 1
	// ignores SIGTERM, so stop kills it after its timeout.
	h.MustRun(t, "execute", "-d", "ex", "--", "/bin/sleep", "600")
	if row := lsJSON(t, h)["ex"]; row.State != "RUNNING" {
		t.Fatalf("after execute -d, ex is %+v, want RUNNING", row)
	}
	if r := h.Run(t, "execute", "ex", "--", "/bin/true"); r.Code != 1 || !strings.Contains(r.Stderr, "running") {
		t.Errorf("execute of a running container = exit %d, %q; want 1, running", r.Code, r.Stderr)
	}
	h.MustRun(t, "stop", "-t", "1", "ex")
	if out := h.MustRun(t, "info", "ex").Stdout; !strings.Contains(out, "status 137") {
		t.Errorf("info after stop = %q, want sleep killed (137) after SIGTERM went unheard", out)
	}
}
