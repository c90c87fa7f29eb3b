package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// TestTTYsBeyondPtyMax: lxc.pty.max counts the container's own ptys, as in
// LXC; the console and lxc.tty.max ttys come from the same devpts on top
// of it. With pty.max 1 and tty.max 5 (LXC's busybox template) the
// container starts with its five ttys and still opens one pty of its own
// (an attach on a terminal), but not a second one.
func TestTTYsBeyondPtyMax(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "bt", "lxc.pty.max = 1", "lxc.tty.max = 5")
	r := h.Run(t, "start", "bt")
	if r.Code != 0 {
		t.Fatalf("start with pty.max 1 and tty.max 5 = exit %d, %q; want it running", r.Code, r.Stderr)
	}
	t.Cleanup(func() { h.Run(t, "stop", "-k", "bt") })
	if r := h.Run(t, "attach", "bt", "--", "ls", "/dev/tty1", "/dev/tty5"); r.Code != 0 {
		t.Errorf("ls /dev/tty1 /dev/tty5 inside = exit %d, %q", r.Code, r.Stderr)
	}
	out := runOnPty(t, h, "", "attach", "bt", "--", "sh", "-c", "tty; (exec 3<>/dev/ptmx) 2>/dev/null && echo second-pty || echo no-room")
	if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "no-room") {
		t.Errorf("attach on a terminal printed %q, want its own /dev/pts/N and no room for a second pty", out)
	}
}

// TestLXCBusyboxTemplate starts, with ulxc -P, a container that LXC 5's own
// busybox template made as the unprivileged user (lxc.pty.max = 1,
// lxc.tty.max = 5, getty on tty1).
func TestLXCBusyboxTemplate(t *testing.T) {
	if _, err := exec.LookPath("lxc-create"); err != nil {
		testenv.Skipf(t, "LXC is not installed (apt-get install lxc): %v", err)
	}
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	start, count := runtimetest.SubRange(t, u)
	h.WriteFile(t, ".config/lxc/default.conf", "lxc.idmap = u 0 "+itoa(start)+" "+itoa(count)+"\nlxc.idmap = g 0 "+itoa(start)+" "+itoa(count)+"\n")
	lxcpath := filepath.Join(h.Dir, "lxc")
	if r := testenv.RunCmd(t, h.Exec(t, nil, "lxc-create", "-P", lxcpath, "-n", "bb", "-t", "busybox")); r.Code != 0 {
		t.Fatalf("lxc-create -t busybox as %s: exit %d: %s%s", u.Name, r.Code, r.Stdout, r.Stderr)
	}
	if r := h.Run(t, "-P", lxcpath, "start", "bb"); r.Code != 0 {
		t.Fatalf("ulxc -P %s start bb = exit %d, %q; want LXC's busybox container running", lxcpath, r.Code, r.Stderr)
	}
	t.Cleanup(func() { h.Run(t, "-P", lxcpath, "stop", "-k", "bb") })
	if row := lsIn(t, h, lxcpath)["bb"]; row.State != "RUNNING" {
		t.Errorf("ls: %+v, want RUNNING", row)
	}
	waitUntil(t, "getty on tty1", func() bool {
		r := h.Run(t, "-P", lxcpath, "attach", "bb", "--", "ps")
		return strings.Contains(r.Stdout, "getty -L tty1")
	})
}
