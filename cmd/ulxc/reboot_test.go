package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// TestRebootRestarts runs busybox's reboot and poweroff inside a container
// started in the background and one started with -F: reboot(2) in the
// container's pid namespace ends init "killed by SIGHUP", and the
// supervisor starts the container again, as LXC does; poweroff ends it
// "killed by SIGINT", and it stays stopped. The post-stop hook sees
// LXC_TARGET=reboot, then stop.
func TestRebootRestarts(t *testing.T) {
	for _, mode := range []string{"daemon", "foreground"} {
		t.Run(mode, func(t *testing.T) {
			u := testenv.SubIDUser(t)
			h := u.NewHome(t)
			targets := filepath.Join(h.Dir, "targets")
			hook := h.WriteFile(t, "post-stop.sh", "#!/bin/sh\necho \"$LXC_TARGET\" >> "+targets+"\n")
			if err := os.Chmod(hook, 0o755); err != nil {
				t.Fatal(err)
			}
			dir := runtimetest.NewBusybox(t, h, "rb", "lxc.hook.post-stop = "+hook)
			t.Cleanup(func() { h.Run(t, "stop", "-k", "rb") })
			var fg chan testenv.Result
			if mode == "daemon" {
				h.MustRun(t, "start", "rb")
			} else {
				fg = make(chan testenv.Result, 1)
				cmd := h.Command(t, nil, "start", "-F", "rb")
				go func() { fg <- testenv.RunCmd(t, cmd) }()
			}
			booted := func() bool { return runtimetest.Probe(dir, "done") == "booted" }
			waitUntil(t, "the first boot", booted)
			first := lsJSON(t, h)["rb"].Pid
			shutdownAttach(t, h, "rb", "/bin/sh", "-c", "rm /tmp/probe/done && reboot")
			waitUntil(t, "a second boot after reboot", func() bool {
				row := lsJSON(t, h)["rb"]
				return booted() && row.State == "RUNNING" && row.Pid > 0 && row.Pid != first
			})
			shutdownAttach(t, h, "rb", "poweroff")
			waitUntil(t, "the container to stop after poweroff", func() bool { return lsJSON(t, h)["rb"].State == "STOPPED" })
			if fg != nil {
				select {
				case r := <-fg:
					// init "killed by SIGINT", as lxc-start -F reports it.
					if r.Code != 130 {
						t.Errorf("start -F after poweroff: exit %d, want 130\nstderr: %s", r.Code, r.Stderr)
					}
				case <-time.After(30 * time.Second):
					t.Fatal("start -F still runs after poweroff")
				}
			}
			time.Sleep(2 * time.Second) // long enough for a wrong restart to show
			if row := lsJSON(t, h)["rb"]; row.State != "STOPPED" {
				t.Errorf("after poweroff: %+v, want STOPPED for good", row)
			}
			if b, _ := os.ReadFile(targets); strings.Join(strings.Fields(string(b)), " ") != "reboot stop" {
				t.Errorf("LXC_TARGET of the post-stop hooks = %q, want reboot then stop", b)
			}
		})
	}
}

// shutdownAttach runs a command that shuts the container name down, in
// it. busybox's init ends every process, the attached one included, with
// SIGTERM as it goes down, and that may come before the command's own
// exit: both are success.
func shutdownAttach(t *testing.T, h *testenv.Home, name string, cmd ...string) {
	t.Helper()
	r := h.Run(t, append([]string{"attach", name, "--"}, cmd...)...)
	if r.Code != 0 && r.Code != 128+int(syscall.SIGTERM) {
		t.Fatalf("attach %s -- %v: exit %d, want 0 or 143 (stderr %q)", name, cmd, r.Code, r.Stderr)
	}
}
