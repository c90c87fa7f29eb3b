package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// TestConfigUnknownKey: a misspelled key is refused, as LXC refuses it,
// naming the file, the line and the key meant; a known key ulxc does not
// enforce is said once, when the container starts, and not by ls or info.
func TestConfigUnknownKey(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	// NewBusybox writes five lines; the extra one is line 6.
	dir := runtimetest.NewBusybox(t, h, "typo", "lxc.cap.dorp = sys_admin")
	t.Cleanup(func() { h.Run(t, "stop", "-k", "typo") }) // should a start succeed
	want := filepath.Join(dir, "config") + ":6: lxc.cap.dorp: unknown key (did you mean lxc.cap.drop?)"
	for _, args := range [][]string{{"start", "typo"}, {"start", "-F", "typo"}, {"spec", "typo"}, {"info", "typo"}} {
		r := h.Run(t, args...)
		if r.Code != 1 || !strings.Contains(r.Stderr, want) || !strings.Contains(r.Stderr, "ulxc: hint: write lxc.cap.drop") {
			t.Errorf("ulxc %s = exit %d, stderr %q; want 1, %q and the hint", strings.Join(args, " "), r.Code, r.Stderr, want)
		}
	}
	if row := lsJSON(t, h)["typo"]; row.State != "STOPPED" {
		t.Errorf("after the refused starts: %+v, want STOPPED", row)
	}

	runtimetest.NewBusybox(t, h, "se", "lxc.selinux.context = system_u:system_r:lxc_t:s0")
	for _, args := range [][]string{{"ls", "-f"}, {"ls", "-f"}, {"info", "se"}} {
		if r := h.MustRun(t, args...); strings.Contains(r.Stderr, "lxc.selinux.context") {
			t.Errorf("ulxc %s: stderr %q, want nothing about lxc.selinux.context (start says it)", strings.Join(args, " "), r.Stderr)
		}
	}
	r := h.MustRun(t, "start", "se")
	t.Cleanup(func() { h.Run(t, "stop", "-k", "se") })
	if n := strings.Count(r.Stderr, "not enforced: lxc.selinux.context"); n != 1 {
		t.Errorf("start se: stderr %q, want one warning that lxc.selinux.context is not enforced", r.Stderr)
	}
}
