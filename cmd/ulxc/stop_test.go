package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// trapInit is an init that writes the name of each signal it gets to
// /tmp/sig; on USR1 (its halt signal here) it takes two seconds to exit,
// on TERM it exits at once.
const trapInit = `lxc.init.cmd = /bin/sh -c 'for s in INT USR1 USR2 HUP; do trap "echo $s >> /tmp/sig" $s; done; ` +
	`trap "echo USR1 >> /tmp/sig; sleep 2; exit 7" USR1; trap "exit 0" TERM; while :; do sleep 0.1; done'`

// TestStopFlags: lxc-stop's -r (reboot signal, then wait for a new init),
// -W (signal only), --nokill and -t 0, as the unprivileged user.
func TestStopFlags(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	dir := runtimetest.NewBusybox(t, h, "st", trapInit)
	rb := runtimetest.NewBusybox(t, h, "rb", trapInit, "lxc.signal.reboot = SIGUSR2")
	sigs := func(dir string) string {
		return strings.Join(strings.Fields(readFileOr(filepath.Join(dir, "rootfs/tmp/sig"))), " ")
	}
	state := func(name string) string { return strings.TrimSpace(h.MustRun(t, "info", "-s", "-H", name).Stdout) }
	h.MustRun(t, "start", "st")
	h.MustRun(t, "start", "rb")
	t.Cleanup(func() { h.Run(t, "stop", "-k", "st"); h.Run(t, "stop", "-k", "rb") })

	// -r -W: the reboot signal, lxc.signal.reboot's or SIGINT, and back.
	h.MustRun(t, "stop", "-r", "-W", "st")
	waitUntil(t, "SIGINT to reach init", func() bool { return sigs(dir) == "INT" })
	h.MustRun(t, "stop", "-r", "-W", "rb")
	waitUntil(t, "lxc.signal.reboot to reach init", func() bool { return sigs(rb) == "USR2" })
	if s := state("st"); s != "RUNNING" {
		t.Errorf("after stop -r -W, st is %s, want RUNNING", s)
	}

	// -r waits for a new init: one that ignores the signal fails it.
	if r := h.Run(t, "stop", "-r", "-t", "1", "st"); r.Code != 1 || !strings.Contains(r.Stderr, "did not reboot") {
		t.Errorf("stop -r -t 1 of an init that stays = exit %d, %q; want 1, did not reboot", r.Code, r.Stderr)
	}
	// --nokill: no SIGKILL after the timeout, and a failure.
	if r := h.Run(t, "stop", "--nokill", "-t", "1", "rb"); r.Code != 1 || !strings.Contains(r.Stderr, "did not stop") {
		t.Errorf("stop --nokill -t 1 = exit %d, %q; want 1, did not stop", r.Code, r.Stderr)
	}
	if s := state("rb"); s != "RUNNING" {
		t.Errorf("after stop --nokill, rb is %s, want RUNNING", s)
	}

	// -W: the halt signal and back, while init takes its time.
	begin := time.Now()
	h.MustRun(t, "stop", "-W", "st")
	if d := time.Since(begin); d > 1500*time.Millisecond {
		t.Errorf("stop -W took %v, want it back before init's two seconds", d)
	}
	if s := state("st"); s != "RUNNING" {
		t.Errorf("right after stop -W, st is %s, want RUNNING (init takes two seconds)", s)
	}
	waitUntil(t, "st to stop on its own", func() bool { return state("st") == "STOPPED" })
	if out := h.MustRun(t, "info", "st").Stdout; !strings.Contains(out, "status 7") {
		t.Errorf("info after stop -W = %q, want init's own exit status 7, not a kill", out)
	}

	// An init that ends on the reboot signal and is not started again:
	// the container stopped instead of rebooting.
	runtimetest.NewBusybox(t, h, "ends", `lxc.init.cmd = /bin/sh -c 'trap "exit 0" INT; while :; do sleep 0.1; done'`)
	h.MustRun(t, "start", "ends")
	if r := h.Run(t, "stop", "-r", "ends"); r.Code != 1 || !strings.Contains(r.Stderr, "stopped instead") {
		t.Errorf("stop -r of an init that exits = exit %d, %q; want 1, stopped instead", r.Code, r.Stderr)
	}

	for _, args := range [][]string{{"-k", "-r"}, {"-W", "-t", "5"}, {"-k", "--nokill"}} {
		if r := h.Run(t, append([]string{"stop"}, append(args, "rb")...)...); r.Code != 2 || !strings.Contains(r.Stderr, "conflict") {
			t.Errorf("stop %s = exit %d, %q; want 2 and a conflict", strings.Join(args, " "), r.Code, r.Stderr)
		}
	}
}

// readFileOr returns the file's content, or "" when it cannot be read.
func readFileOr(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}
