package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// TestStartRunning: start (-d) of a running container succeeds saying so,
// as lxc-start -d does; start -F refuses it, pointing at console and
// attach, never at destroy -f.
func TestStartRunning(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runningBusybox(t, h, "up")
	pid := lsJSON(t, h)["up"].Pid
	for _, args := range [][]string{{"start", "up"}, {"start", "-d", "up"}} {
		if r := h.Run(t, args...); r.Code != 0 || !strings.Contains(r.Stderr, "up is already running") {
			t.Errorf("ulxc %s = exit %d, %q; want 0 and 'up is already running'", strings.Join(args, " "), r.Code, r.Stderr)
		}
	}
	r := h.Run(t, "start", "-F", "up")
	if r.Code != 1 || !strings.Contains(r.Stderr, "container is running") || !strings.Contains(r.Stderr, "ulxc console up") ||
		strings.Contains(r.Stderr, "destroy") {
		t.Errorf("start -F of a running container = exit %d, %q; want 1, the way to reach it, and no destroy", r.Code, r.Stderr)
	}
	if row := lsJSON(t, h)["up"]; row.State != "RUNNING" || row.Pid != pid {
		t.Errorf("after the starts: %+v, want the same init %d running", row, pid)
	}
}

// TestBusyHint: a container whose lock another command holds is busy, and
// the hint says which command that is.
func TestBusyHint(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	dir := runtimetest.NewBusybox(t, h, "held")
	holder := h.Exec(t, nil, "flock", filepath.Join(dir, ".ulxc.lock"), "sleep", "60")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	lockFile := filepath.Join(dir, ".ulxc.lock")
	waitUntil(t, "flock to take the lock", func() bool {
		fi, err := os.Stat(lockFile)
		if err != nil {
			return false
		}
		b, _ := os.ReadFile("/proc/locks")
		return strings.Contains(string(b), fmt.Sprintf(":%d ", fi.Sys().(*syscall.Stat_t).Ino))
	})
	for _, args := range [][]string{{"start", "held"}, {"destroy", "held"}} {
		r := h.Run(t, args...)
		wantHint := fmt.Sprintf("ulxc: hint: pid %d holds its lock: flock %s sleep 60", holder.Process.Pid, lockFile)
		if r.Code != 1 || !strings.Contains(r.Stderr, "container is busy") || !strings.Contains(r.Stderr, wantHint) {
			t.Errorf("ulxc %s = exit %d, %q; want 1, busy and %q", strings.Join(args, " "), r.Code, r.Stderr, wantHint)
		}
	}
}

// TestNoSubIDsFreeRange: create as a user without subordinate ids proposes
// a range nobody has, as checkconfig does: 100000-165535 is someone
// else's in the /etc/subuid and /etc/subgid that ulxc sees (bound over
// the host's in a mount namespace of the test's own).
func TestNoSubIDsFreeRange(t *testing.T) {
	u := testenv.NoSubIDUser(t)
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "binding a test /etc/subuid needs root (CAP_SYS_ADMIN for a mount namespace)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		testenv.Skipf(t, "no unshare (util-linux): %v", err)
	}
	h := u.NewHome(t)
	ids := "alice:100000:65536\nbob:165536:65536\n"
	subuid := h.WriteFile(t, "subuid", ids)
	subgid := h.WriteFile(t, "subgid", ids+"carol:231072:65536\n")
	script := `mount --bind "$1" /etc/subuid && mount --bind "$2" /etc/subgid && shift 2 && exec setpriv --reuid="$1" --regid="$2" --clear-groups "$3" create box -t busybox`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
		subuid, subgid, strconv.Itoa(int(u.UID)), strconv.Itoa(int(u.GID)), testenv.ULXC(t))
	cmd.Dir, cmd.Env = h.Dir, h.Env
	r := testenv.RunCmd(t, cmd)
	want := "usermod --add-subuids 296608-362143 --add-subgids 296608-362143 " + u.Name
	if r.Code != 0 || !strings.Contains(r.Stderr, want) || strings.Contains(r.Stderr, "100000-165535") {
		t.Errorf("create as %s with 100000-296607 taken = exit %d, %q; want 0 and %q", u.Name, r.Code, r.Stderr, want)
	}
}

// freeSpan is the lowest span of 65536 ids from 100000 that nobody has in
// /etc/subuid or /etc/subgid, read naively so the test does not trust the
// code it tests: what the usermod advice must propose on this host.
func freeSpan(t *testing.T) string {
	t.Helper()
	type span struct{ start, end uint64 }
	var taken []span
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n") {
			p := strings.Split(strings.TrimSpace(line), ":")
			if len(p) != 3 {
				continue
			}
			start, err1 := strconv.ParseUint(p[1], 10, 32)
			count, err2 := strconv.ParseUint(p[2], 10, 32)
			if err1 == nil && err2 == nil {
				taken = append(taken, span{start, start + count})
			}
		}
	}
	start := uint64(100000)
	for moved := true; moved; {
		moved = false
		for _, s := range taken {
			if s.start < start+65536 && start < s.end {
				start, moved = s.end, true
			}
		}
	}
	return fmt.Sprintf("%d-%d", start, start+65535)
}
