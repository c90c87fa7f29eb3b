package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/internal/testenv"
)

// TestDevice: ulxc device add|del binds a host node into a running
// container as the unprivileged user, takes only what it added away, and
// refuses a path the container planted a symlink on.
func TestDevice(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	dir := runningBusybox(t, h, "d1")

	// The host's /dev/null is open to everyone: a node that works rootless.
	h.MustRun(t, "device", "add", "d1", "/dev/null", "/dev/extra/null2")
	r := h.MustRun(t, "attach", "d1", "--", "sh", "-c", `stat -c '%t:%T %F' /dev/extra/null2 && echo data > /dev/extra/null2 && echo written`)
	if got := strings.Fields(r.Stdout); strings.Join(got, " ") != "1:3 character special file written" {
		t.Errorf("inside, the bound node: %q, want 1:3, a character device, writable", r.Stdout)
	}
	if r := h.Run(t, "device", "add", "d1", "/dev/null", "/dev/extra/null2"); r.Code != 1 || !strings.Contains(r.Stderr, "already exists") {
		t.Errorf("device add onto the same path = exit %d, %q; want 1, already exists", r.Code, r.Stderr)
	}
	h.MustRun(t, "device", "-n", "d1", "del", "/dev/extra/null2")
	if r := h.MustRun(t, "attach", "d1", "--", "sh", "-c", "ls /dev/extra"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("after device del, /dev/extra holds %q, want nothing", r.Stdout)
	}

	// The container's own nodes are not device add's to take away.
	if r := h.Run(t, "device", "del", "d1", "/dev/null"); r.Code != 1 || !strings.Contains(r.Stderr, "not a device node bound by ulxc device add") {
		t.Errorf("device del /dev/null = exit %d, %q; want 1, not bound by device add", r.Code, r.Stderr)
	}
	if r := h.MustRun(t, "attach", "d1", "--", "sh", "-c", "echo x > /dev/null && echo ok"); strings.TrimSpace(r.Stdout) != "ok" {
		t.Errorf("the container's /dev/null after a refused del: %q", r.Stdout)
	}

	// Container root plants a symlink where the node would go: the bind
	// is refused and nothing appears where the link points.
	h.MustRun(t, "attach", "d1", "--", "ln", "-s", "/etc", "/dev/evil")
	if r := h.Run(t, "device", "add", "d1", "/dev/null", "/dev/evil/planted"); r.Code != 1 || !strings.Contains(r.Stderr, "/dev/evil") {
		t.Errorf("device add through a planted symlink = exit %d, %q; want 1 naming the link", r.Code, r.Stderr)
	}
	if _, err := os.Lstat(filepath.Join(dir, "rootfs/etc/planted")); !os.IsNotExist(err) {
		t.Errorf("rootfs/etc/planted after the refused add: %v, want none", err)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"device", "add", "d1", "/etc/passwd", "/dev/pw"}, 1, "not a device node"},
		{[]string{"device", "add", "d1", "/dev/null", "/tmp/null"}, 2, "under /dev"},
		{[]string{"device", "add", "d1", "/dev/null", "/dev/../etc/x"}, 2, "under /dev"},
		{[]string{"device", "add", "d1", "eth0"}, 1, "CAP_NET_ADMIN"},
		{[]string{"device", "list", "d1"}, 2, "add or del"},
	} {
		if r := h.Run(t, tc.args...); r.Code != tc.code || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("ulxc %s = exit %d, %q; want %d, %q", strings.Join(tc.args, " "), r.Code, r.Stderr, tc.code, tc.want)
		}
	}
	// A node the user may not open is refused; /dev/mem is root's.
	if unix.Access("/dev/mem", unix.F_OK) == nil {
		if r := h.Run(t, "device", "add", "d1", "/dev/mem"); r.Code != 1 || !strings.Contains(r.Stderr, "you may not open it") {
			t.Errorf("device add /dev/mem = exit %d, %q; want 1, you may not open it", r.Code, r.Stderr)
		}
	}
}
