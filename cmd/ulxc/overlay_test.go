package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// newOverlayOf makes, by hand as LXC's lxc-copy -s lays it out, the
// container name whose rootfs is an overlay over orig's: name/rootfs (the
// mount point), name/overlay/delta (the upper layer) and name/overlay/work,
// the last two container root's.
func newOverlayOf(t *testing.T, h *testenv.Home, orig, name string, extra ...string) string {
	t.Helper()
	start, count := runtimetest.SubRange(t, h.User)
	store := runtimetest.StorePath(h)
	dir := filepath.Join(store, name)
	cfg := strings.Join(append([]string{
		fmt.Sprintf("lxc.idmap = u 0 %d %d", start, count),
		fmt.Sprintf("lxc.idmap = g 0 %d %d", start, count),
		"lxc.rootfs.path = overlay:" + filepath.Join(store, orig, "rootfs") + ":" + filepath.Join(dir, "overlay/delta"),
		"lxc.uts.name = " + name,
		"lxc.signal.halt = SIGUSR1",
	}, extra...), "\n") + "\n"
	mk := h.Exec(t, nil, "sh", "-c", `mkdir -p "$1/rootfs" && chmod 700 "$1" && cat > "$1/config"`, "sh", dir)
	mk.Stdin = strings.NewReader(cfg)
	if r := testenv.RunCmd(t, mk); r.Code != 0 {
		t.Fatalf("make %s: exit %d: %s", dir, r.Code, r.Stderr)
	}
	m := fmt.Sprintf("b:0:%d:%d", start, count)
	h.MustRun(t, "usernsexec", "-m", m, "-s", "--", "/bin/mkdir", "-p", "-m", "755", filepath.Join(dir, "overlay/delta"), filepath.Join(dir, "overlay/work"))
	return dir
}

// TestOverlayRootfs runs a container whose rootfs is LXC's overlay:LOWER:UPPER:
// what it writes and removes lands in the upper layer, the lower one is
// untouched, and ownership inside is container root's.
func TestOverlayRootfs(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	orig := runtimetest.NewBusybox(t, h, "orig")
	dir := newOverlayOf(t, h, "orig", "ov")
	r := h.MustRun(t, "start", "-F", "ov", "--", "/bin/sh", "-c",
		"echo new > /newfile && rm /etc/inittab && mkdir /etc/inittab && stat -c '%u:%g %a' / /newfile && hostname")
	got := lines(r.Stdout)
	if want := []string{"0:0 755", "0:0 644", "ov"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("in the overlay: stat /, /newfile; hostname = %q, want %q", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "overlay/delta/newfile")); err != nil || string(b) != "new\n" {
		t.Errorf("upper layer newfile = %q, %v; want new", b, err)
	}
	if _, err := os.Stat(filepath.Join(orig, "rootfs/newfile")); !os.IsNotExist(err) {
		t.Errorf("lower layer has newfile (%v): the overlay wrote through", err)
	}
	if fi, err := os.Stat(filepath.Join(orig, "rootfs/etc/inittab")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("lower layer etc/inittab: %v, %v; want the regular file left alone", fi, err)
	}
	r = h.MustRun(t, "start", "-F", "ov", "--", "/bin/sh", "-c", "cat /newfile; test -d /etc/inittab && echo dir")
	if got := lines(r.Stdout); strings.Join(got, "|") != "new|dir" {
		t.Errorf("second run sees %q, want the first run's changes: new, dir", got)
	}
}
