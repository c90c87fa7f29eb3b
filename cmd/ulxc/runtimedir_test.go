package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// withRuntimeDir returns h with XDG_RUNTIME_DIR set to dir, or unset when
// dir is "". TMPDIR is the home's own, so that the private fallback
// (TMPDIR/ulxc-UID) is this test's and no other's.
func withRuntimeDir(t *testing.T, h *testenv.Home, dir string) *testenv.Home {
	t.Helper()
	tmp := filepath.Join(h.Dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, int(h.User.UID), int(h.User.GID)); err != nil && os.Geteuid() == 0 {
		t.Fatal(err)
	}
	env := []string{"TMPDIR=" + tmp}
	for _, kv := range h.Env {
		if !strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") && !strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	if dir != "" {
		env = append(env, "XDG_RUNTIME_DIR="+dir)
	}
	c := *h
	c.Env = env
	return &c
}

// userDir makes a directory of the home owned by its user, mode 0700: a
// runtime directory of another session.
func userDir(t *testing.T, h *testenv.Home, name string) string {
	t.Helper()
	d := filepath.Join(h.Dir, name)
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(d, int(h.User.UID), int(h.User.GID)); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// initsOf returns the pids of the processes that are pid 1 of their pid
// namespace and whose root directory is rootfs: the inits running on it.
func initsOf(t *testing.T, rootfs string) []int {
	t.Helper()
	var want syscall.Stat_t
	if err := syscall.Stat(rootfs, &want); err != nil {
		t.Fatal(err)
	}
	return hostPids(t, func(pid int, status string) bool {
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+strconv.Itoa(pid)+"/root", &st) != nil || st.Dev != want.Dev || st.Ino != want.Ino {
			return false
		}
		ns := strings.Fields(field(status, "NSpid:"))
		return len(ns) > 1 && ns[len(ns)-1] == "1"
	})
}

// hostPids returns the pids of the host's processes for which keep, given
// the pid and its /proc/PID/status, holds. A process gone meanwhile is
// left out.
func hostPids(t *testing.T, keep func(pid int, status string) bool) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/status"); err == nil && keep(pid, string(b)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestRunningWhateverRuntimeDir is issue 12's defect 1: whether a container
// runs must not depend on the XDG_RUNTIME_DIR of the command that asks. A
// container started in one session (A) is seen running, stopped, attached
// to and protected from a second start and a destroy by commands run with
// another runtime directory (B) and with none.
func TestRunningWhateverRuntimeDir(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	dir := runtimetest.NewBusybox(t, h, "ct")
	rootfs := filepath.Join(dir, "rootfs")
	hA := withRuntimeDir(t, h, userDir(t, h, "run-a"))
	hB := withRuntimeDir(t, h, userDir(t, h, "run-b"))
	hNone := withRuntimeDir(t, h, "")
	sessions := []struct {
		name string
		h    *testenv.Home
	}{{"A", hA}, {"B", hB}, {"none", hNone}}
	t.Cleanup(func() {
		for _, s := range sessions {
			s.h.Run(t, "stop", "-k", "ct")
		}
	})

	hA.MustRun(t, "start", "ct")
	waitUntil(t, "the boot script", func() bool { return runtimetest.Probe(dir, "done") == "booted" })
	pid := lsJSON(t, hA)["ct"].Pid
	if pid <= 0 {
		t.Fatalf("ls in session A after start: no pid")
	}
	oneInit := func(when string) {
		t.Helper()
		if got := initsOf(t, rootfs); len(got) != 1 || got[0] != pid {
			t.Errorf("%s: inits on the rootfs = %v, want only the first one, %d", when, got, pid)
		}
	}

	for _, s := range sessions {
		if row := lsJSON(t, s.h)["ct"]; row.State != "RUNNING" || row.Pid != pid {
			t.Errorf("ls in session %s = %+v, want RUNNING with pid %d", s.name, row, pid)
		}
		if info := s.h.MustRun(t, "info", "ct").Stdout; !strings.Contains(info, "RUNNING") || !strings.Contains(info, strconv.Itoa(pid)) {
			t.Errorf("info in session %s = %q, want RUNNING and pid %d", s.name, info, pid)
		}
		// The attached shell is in the running container: it sees its
		// boot script's work.
		if r := s.h.Run(t, "attach", "ct", "--", "cat", "/tmp/probe/done"); r.Code != 0 || strings.TrimSpace(r.Stdout) != "booted" {
			t.Errorf("attach in session %s = exit %d, %q, %q; want 0 and 'booted'", s.name, r.Code, r.Stdout, r.Stderr)
		}
	}
	for _, s := range sessions[1:] {
		for _, args := range [][]string{{"start", "ct"}, {"start", "-F", "ct", "--", "/bin/true"}} {
			// Refused, or (issue 12, defect 7: lxc-start -d) reported as
			// already running with status 0; never a second init.
			r := s.h.Run(t, args...)
			refused := r.Code == 1 && strings.Contains(r.Stderr, "running")
			already := r.Code == 0 && strings.Contains(r.Stdout+r.Stderr, "already running")
			if !refused && !already {
				t.Errorf("ulxc %s in session %s = exit %d, %q; want it refused as running", strings.Join(args, " "), s.name, r.Code, r.Stderr)
			}
			oneInit("after ulxc " + strings.Join(args, " ") + " in session " + s.name)
		}
		if r := s.h.Run(t, "destroy", "ct"); r.Code != 1 || !strings.Contains(r.Stderr, "container is running") {
			t.Errorf("destroy in session %s = exit %d, %q; want 1 and 'container is running'", s.name, r.Code, r.Stderr)
		}
		for _, f := range []string{"config", "rootfs/bin/busybox", "rootfs/etc/inittab"} {
			if _, err := os.Lstat(filepath.Join(dir, f)); err != nil {
				t.Errorf("after a refused destroy in session %s: %v", s.name, err)
			}
		}
		oneInit("after destroy in session " + s.name)
	}

	hNone.MustRun(t, "stop", "-t", "10", "ct")
	if got := initsOf(t, rootfs); len(got) != 0 {
		t.Errorf("inits on the rootfs after stop without XDG_RUNTIME_DIR = %v, want none", got)
	}
	for _, s := range sessions {
		if row := lsJSON(t, s.h)["ct"]; row.State != "STOPPED" {
			t.Errorf("ls in session %s after stop = %+v, want STOPPED", s.name, row)
		}
	}

	// It starts again, from another session, and destroy -f from a
	// third stops that run and removes everything, its monitor included.
	hB.MustRun(t, "start", "ct")
	row := lsJSON(t, hNone)["ct"]
	if row.State != "RUNNING" || row.Pid <= 0 || row.Pid == pid {
		t.Errorf("ls without XDG_RUNTIME_DIR after a start in session B = %+v, want RUNNING with a new pid", row)
	}
	hA.MustRun(t, "destroy", "-f", "ct")
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("destroy -f left %s: %v", dir, err)
	}
	if row.Pid > 0 {
		if _, err := os.Stat("/proc/" + strconv.Itoa(row.Pid)); err == nil {
			t.Errorf("init %d still runs after destroy -f", row.Pid)
		}
	}
}

// TestMonitorKilledOtherRuntimeDir: the run lock dies with a monitor killed
// with SIGKILL, so the container is not blocked, whichever session asks.
func TestMonitorKilledOtherRuntimeDir(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	runtimetest.NewBusybox(t, h, "orphan")
	hB := withRuntimeDir(t, h, userDir(t, h, "run-b"))
	h.MustRun(t, "start", "orphan")
	t.Cleanup(func() { h.Run(t, "stop", "-k", "orphan"); hB.Run(t, "stop", "-k", "orphan") })
	pid := lsJSON(t, h)["orphan"].Pid
	sup := monitorOf(t, pid)
	if err := syscall.Kill(sup, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "ls in session B to report STOPPED", func() bool { return lsJSON(t, hB)["orphan"].State == "STOPPED" })
	hB.MustRun(t, "start", "orphan")
	if row := lsJSON(t, h)["orphan"]; row.State != "RUNNING" || row.Pid == pid {
		t.Errorf("ls in session A after a start in session B = %+v, want RUNNING with a new pid", row)
	}
	hB.MustRun(t, "stop", "-k", "orphan")
}

// monitorOf returns the parent of the container's init: its monitor.
func monitorOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	ppid, err := strconv.Atoi(field(string(b), "PPid:"))
	if err != nil || ppid <= 1 {
		t.Fatalf("init %d: PPid %q", pid, field(string(b), "PPid:"))
	}
	return ppid
}

// TestStaleRuntimeDir is issue 12's defect 5: an XDG_RUNTIME_DIR that is
// not the user's (a session's that ended, another user's after su) falls
// back to the private runtime directory with one warning.
func TestStaleRuntimeDir(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	stale := "/"
	if os.Geteuid() == 0 {
		stale = filepath.Join(h.Dir, "root-run")
		if err := os.Mkdir(stale, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	hs := withRuntimeDir(t, h, stale)
	runtimetest.NewBusybox(t, h, "c1")
	runtimetest.NewBusybox(t, h, "c2")
	check := func(r testenv.Result, what string) {
		t.Helper()
		if n := strings.Count(r.Stderr, "ulxc: warning:"); n != 1 || !strings.Contains(r.Stderr, stale) {
			t.Errorf("%s with XDG_RUNTIME_DIR=%s: stderr %q, want one warning naming it", what, stale, r.Stderr)
		}
	}
	r := hs.MustRun(t, "ls")
	if !strings.Contains(r.Stdout, "c1") || !strings.Contains(r.Stdout, "c2") {
		t.Errorf("ls = %q, want c1 and c2", r.Stdout)
	}
	check(r, "ls")
	check(hs.MustRun(t, "start", "c1"), "start")
	t.Cleanup(func() { hs.Run(t, "stop", "-k", "c1") })
	if row := lsJSON(t, hs)["c1"]; row.State != "RUNNING" {
		t.Errorf("ls after start = %+v, want RUNNING", row)
	}
	if m, _ := filepath.Glob(filepath.Join(h.Dir, "tmp", "ulxc-*", "*", "c1", "state.json")); len(m) != 1 {
		t.Errorf("state of c1 under TMPDIR/ulxc-UID: %v, want one", m)
	}
	check(hs.MustRun(t, "ls", "-f"), "ls -f")
	// stop finds c1's runtime directory in its run record and needs
	// none of its own: a warning, if any, is printed once.
	if r := hs.MustRun(t, "stop", "-k", "c1"); strings.Count(r.Stderr, "ulxc: warning:") > 1 {
		t.Errorf("stop with XDG_RUNTIME_DIR=%s: stderr %q, want at most one warning", stale, r.Stderr)
	}
	if row := lsJSON(t, hs)["c1"]; row.State != "STOPPED" {
		t.Errorf("ls after stop = %+v, want STOPPED", row)
	}
}

// TestRuntimeDirRemoved: a running container whose runtime directory was
// removed under it (systemd removes /run/user/UID after the last session)
// is still running for every command: start and destroy refuse, and the
// commands that need the directory say why they cannot work.
func TestRuntimeDirRemoved(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	dir := runtimetest.NewBusybox(t, h, "ct")
	hA := withRuntimeDir(t, h, userDir(t, h, "run-a"))
	hB := withRuntimeDir(t, h, userDir(t, h, "run-b"))
	hA.MustRun(t, "start", "ct")
	pid := lsJSON(t, hA)["ct"].Pid
	sup := monitorOf(t, pid)
	t.Cleanup(func() { syscall.Kill(sup, syscall.SIGKILL) })
	if err := os.RemoveAll(filepath.Join(h.Dir, "run-a", "ulxc")); err != nil {
		t.Fatal(err)
	}
	r := hB.MustRun(t, "ls", "--format", "json")
	if !strings.Contains(r.Stdout, `"RUNNING"`) || !strings.Contains(r.Stderr, "runtime directory is unusable") {
		t.Errorf("ls = %q, %q; want ct RUNNING and a warning about its runtime directory", r.Stdout, r.Stderr)
	}
	for _, args := range [][]string{{"start", "ct"}, {"destroy", "ct"}, {"destroy", "-f", "ct"}, {"stop", "ct"}, {"info", "ct"}} {
		r := hB.Run(t, args...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "container is running, but its runtime directory is unusable") || !strings.Contains(r.Stderr, "kill its monitor") {
			t.Errorf("ulxc %s = exit %d, %q; want 1, the unusable runtime directory and the hint", strings.Join(args, " "), r.Code, r.Stderr)
		}
	}
	if got := initsOf(t, filepath.Join(dir, "rootfs")); len(got) != 1 || got[0] != pid {
		t.Errorf("inits on the rootfs = %v, want only %d", got, pid)
	}
	if _, err := os.Stat(filepath.Join(dir, "rootfs", "bin", "busybox")); err != nil {
		t.Errorf("rootfs after the refusals: %v", err)
	}
	// The way out the hint gives: kill the monitor; the container dies
	// with it and starts again.
	if err := syscall.Kill(sup, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "ls to report STOPPED", func() bool { return lsJSON(t, hB)["ct"].State == "STOPPED" })
	hB.MustRun(t, "start", "ct")
	hB.MustRun(t, "stop", "-k", "ct")
}

// TestRunLockNotInherited: the run lock is the supervisor's alone. A hook
// that inherited it (and left a process behind) would keep a stopped
// container "running".
func TestRunLockNotInherited(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	out := filepath.Join(h.Dir, "fds.log")
	hook := h.WriteFile(t, "hook.sh", "#!/bin/sh\necho \"$LXC_HOOK_TYPE\" >> "+out+"\nls -l /proc/$$/fd/ >> "+out+"\n")
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	runtimetest.NewBusybox(t, h, "ct", "lxc.hook.pre-start = "+hook, "lxc.hook.post-stop = "+hook)
	h.MustRun(t, "start", "ct")
	h.MustRun(t, "stop", "-k", "ct")
	h.MustRun(t, "start", "-F", "ct", "--", "/bin/true")
	b, _ := os.ReadFile(out)
	if n := strings.Count(string(b), "pre-start"); n != 2 {
		t.Fatalf("the hooks wrote %q: want two starts' pre-start hooks", b)
	}
	if strings.Contains(string(b), ".ulxc.run") {
		t.Errorf("a hook inherited the run lock:\n%s", b)
	}
	// Nor anything else of ulxc's beyond stdio (3 to 9: the monitor's
	// config, report and lock; the shell's own are 10 and up).
	if m := regexp.MustCompile(`(?m) [3-9] -> .*$`).FindAllString(string(b), -1); len(m) > 0 {
		t.Errorf("a hook inherited descriptors of ulxc's: %q", m)
	}
}
