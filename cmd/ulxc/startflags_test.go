package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// TestStartFlags: lxc-start's -s, -f, -p, -L and -c, as the user.
func TestStartFlags(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	dir := newBusyboxWith(t, h, "sf", shellOnConsole)
	stop := func() {
		h.Run(t, "stop", "-t", "10", "sf")
		os.RemoveAll(filepath.Join(dir, "rootfs", runtimetest.ProbeDir))
	}
	booted := func() {
		waitUntil(t, "the boot script", func() bool { return runtimetest.Probe(dir, "done") == "booted" })
	}

	t.Run("define", func(t *testing.T) {
		h.MustRun(t, "start", "-s", "lxc.uts.name=defined", "-s", "lxc.mount.entry = tmpfs mnt/extra tmpfs create=dir 0 0", "sf")
		defer stop()
		booted()
		if got := runtimetest.Probe(dir, "hostname"); got != "defined" {
			t.Errorf("hostname with -s lxc.uts.name=defined = %q", got)
		}
		if r := h.MustRun(t, "attach", "sf", "--", "grep", "-c", " /mnt/extra tmpfs ", "/proc/self/mounts"); strings.TrimSpace(r.Stdout) != "1" {
			t.Errorf("-s lxc.mount.entry: /mnt/extra mounted %q times, want once (a list key gets one more)", r.Stdout)
		}
	})
	t.Run("rcfile", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(dir, "config"))
		if err != nil {
			t.Fatal(err)
		}
		rc := h.WriteFile(t, "other.conf", string(b)+"lxc.uts.name = fromrc\n")
		h.MustRun(t, "start", "-f", rc, "sf")
		defer stop()
		booted()
		if got := runtimetest.Probe(dir, "hostname"); got != "fromrc" {
			t.Errorf("hostname with -f other.conf = %q, want fromrc", got)
		}
	})
	t.Run("pidfile and console log", func(t *testing.T) {
		pidFile := filepath.Join(h.Dir, "sf.pid")
		logFile := filepath.Join(h.Dir, "console.log")
		h.MustRun(t, "start", "-p", pidFile, "-L", logFile, "sf")
		defer stop()
		b, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatalf("pid file after start -p: %v", err)
		}
		var st struct {
			Supervisor int `json:"supervisor"`
		}
		sb, err := os.ReadFile(runtimeFile(t, h, "sf", "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(sb, &st); err != nil {
			t.Fatal(err)
		}
		if string(b) != strconv.Itoa(st.Supervisor) {
			t.Errorf("pid file = %q, want the monitor's pid %d without a newline, as lxc-start -p", b, st.Supervisor)
		}
		booted()
		h.MustRun(t, "stop", "-t", "10", "sf")
		if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
			t.Errorf("pid file after stop: %v, want it removed", err)
		}
		if log, _ := os.ReadFile(logFile); !strings.Contains(string(log), "container halting") {
			t.Errorf("console log -L = %q, want the shutdown message", log)
		}
	})
	t.Run("console", func(t *testing.T) {
		master, slave := openPty(t, u)
		h.MustRun(t, "start", "-c", slave.Name(), "sf")
		defer stop()
		out := &ptyReader{f: master}
		master.Write([]byte("echo peer-$((6*7))\r"))
		out.waitFor(t, "peer-42")
		h.MustRun(t, "stop", "-t", "10", "sf")
		out.waitFor(t, "container halting")
	})
	for _, args := range [][]string{{"-s", "lxc.nosuch=1"}, {"-s", "novalue"}, {"-f", filepath.Join(h.Dir, "missing.conf")}} {
		r := h.Run(t, append(append([]string{"start"}, args...), "sf")...)
		if r.Code == 0 {
			h.Run(t, "stop", "-k", "sf")
		}
		if r.Code == 0 || !strings.Contains(r.Stderr, strings.SplitN(args[1], "=", 2)[0]) {
			t.Errorf("start %s = exit %d, %q; want a failure naming the argument", strings.Join(args, " "), r.Code, r.Stderr)
		}
	}
	if r := h.Run(t, "start", "-c", "/dev/null", "sf"); r.Code != 1 || !strings.Contains(r.Stderr, "not a terminal") {
		h.Run(t, "stop", "-k", "sf")
		t.Errorf("start -c /dev/null = exit %d, %q; want 1, not a terminal", r.Code, r.Stderr)
	}
}
