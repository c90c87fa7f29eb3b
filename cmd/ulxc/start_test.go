package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// lsJSON returns `ulxc ls --format json` by name.
func lsJSON(t *testing.T, h *testenv.Home) map[string]lsRow {
	t.Helper()
	return lsIn(t, h, "")
}

// lsIn returns `ulxc [-P lxcpath] ls --format json` by name.
func lsIn(t *testing.T, h *testenv.Home, lxcpath string) map[string]lsRow {
	t.Helper()
	args := []string{"ls", "--format", "json"}
	if lxcpath != "" {
		args = append([]string{"-P", lxcpath}, args...)
	}
	r := h.MustRun(t, args...)
	var rows []lsRow
	if err := json.Unmarshal([]byte(r.Stdout), &rows); err != nil {
		t.Fatalf("ls --format json: %v\n%s", err, r.Stdout)
	}
	out := map[string]lsRow{}
	for _, row := range rows {
		out[row.Name] = row
	}
	return out
}

// waitFor polls cond until it holds; the deadline only bounds a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// statusField returns a field of /proc/PID/status, read from the host.
func statusField(t *testing.T, pid int, field string) string {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	t.Fatalf("/proc/%d/status: no %s", pid, field)
	return ""
}

// runtimeFile returns the path of a file in the container's runtime dir.
func runtimeFile(t *testing.T, h *testenv.Home, name, file string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(h.Dir, "run/ulxc/*", name, file))
	if len(m) == 1 {
		return m[0]
	}
	return ""
}

func TestStartDaemonLifecycle(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	dir := runtimetest.NewBusybox(t, h, "bb")
	start, _ := runtimetest.SubRange(t, u)

	for round := 1; round <= 2; round++ {
		h.MustRun(t, "start", "bb")
		row := lsJSON(t, h)["bb"]
		if row.State != "RUNNING" || row.Pid <= 0 {
			t.Fatalf("round %d: ls after start = %+v, want RUNNING with a pid", round, row)
		}
		// lxc-ls -f has no PID column; -F asks for one.
		fancy := h.MustRun(t, "ls", "-f", "-F", "NAME,STATE,PID").Stdout
		if !strings.Contains(fancy, "RUNNING") || !strings.Contains(fancy, strconv.Itoa(row.Pid)) {
			t.Errorf("round %d: ls -f -F NAME,STATE,PID = %q, want bb RUNNING with pid %d", round, fancy, row.Pid)
		}
		// The container really is mapped: seen from the host, its init
		// runs as the first subordinate id.
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", row.Pid))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(strings.Fields(string(b)), " "), fmt.Sprintf("0 %d 65536", start); got != want {
			t.Errorf("uid_map of init = %q, want %q", got, want)
		}
		if got, want := statusField(t, row.Pid, "Uid"), strings.Repeat(fmt.Sprint(start)+" ", 4); got != strings.TrimSpace(want) {
			t.Errorf("Uid of init seen from the host = %q, want %q", got, strings.TrimSpace(want))
		}
		waitFor(t, "the container's boot script", func() bool { return runtimetest.Probe(dir, "done") == "booted" })
		for file, want := range map[string]string{"hostname": "bb", "devnull": "yes", "uid": "0"} {
			if got := runtimetest.Probe(dir, file); got != want {
				t.Errorf("inside the container, %s = %q, want %q", file, got, want)
			}
		}
		// devpts works: the console is pts 0 of the container's own devpts.
		if pts := strings.Fields(runtimetest.Probe(dir, "pts")); !contains(pts, "ptmx") || !contains(pts, "0") {
			t.Errorf("inside the container, ls /dev/pts = %q, want ptmx and the console's 0", pts)
		}
		info := h.MustRun(t, "info", "bb").Stdout
		for _, want := range []string{"RUNNING", "PID:", strconv.Itoa(row.Pid), fmt.Sprintf("u 0 %d 65536", start), "Cgroup:"} {
			if !strings.Contains(info, want) {
				t.Errorf("info = %q, want it to mention %q", info, want)
			}
		}
		// As lxc-start -d: already running is success.
		if r := h.Run(t, "start", "bb"); r.Code != 0 || !strings.Contains(r.Stderr, "bb is already running") {
			t.Errorf("start of a running container = exit %d, %q; want 0 and 'bb is already running'", r.Code, r.Stderr)
		}
		h.MustRun(t, "stop", "-t", "10", "bb")
		if row := lsJSON(t, h)["bb"]; row.State != "STOPPED" || row.Pid != 0 {
			t.Errorf("round %d: ls after stop = %+v, want STOPPED without pid", round, row)
		}
		if p := runtimeFile(t, h, "bb", "control.sock"); p != "" {
			t.Errorf("round %d: control socket %s left after stop", round, p)
		}
		os.RemoveAll(filepath.Join(dir, "rootfs", runtimetest.ProbeDir))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestStopNotRunning(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "idle")
	r := h.Run(t, "stop", "idle")
	// lxc-stop exits 2 for a container that exists but does not run.
	if r.Code != 2 || !strings.Contains(r.Stderr, "idle is not running") {
		t.Errorf("stop of a stopped container = exit %d, %q; want 2 and 'idle is not running'", r.Code, r.Stderr)
	}
}

func TestStartForegroundExitStatus(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "fg")
	r := h.Run(t, "start", "-F", "fg", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 7")
	if r.Code != 7 || r.Stdout != "out\n" || !strings.Contains(r.Stderr, "err") {
		t.Errorf("start -F -- sh -c 'exit 7' = exit %d, stdout %q, stderr %q; want 7, out, err", r.Code, r.Stdout, r.Stderr)
	}
	if row := lsJSON(t, h)["fg"]; row.State != "STOPPED" {
		t.Errorf("ls after start -F returned = %+v, want STOPPED", row)
	}
}

// The exit file of a run replaces the previous run's (removed first, not
// renamed over): info shows the latest.
func TestStartForegroundLastExit(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "le")
	for _, code := range []int{3, 5} {
		arg := fmt.Sprintf("exit %d", code)
		if r := h.Run(t, "start", "-F", "le", "--", "/bin/sh", "-c", arg); r.Code != code {
			t.Fatalf("start -F -- sh -c %q = exit %d, want %d: %s", arg, r.Code, code, r.Stderr)
		}
		out := h.MustRun(t, "info", "le").Stdout
		if want := fmt.Sprintf("status %d at", code); !strings.Contains(out, want) {
			t.Errorf("info after exit %d = %q, want it to contain %q", code, out, want)
		}
		if f := runtimeFile(t, h, "le", "state.json"); f != "" {
			t.Errorf("state file %s left after the run", f)
		}
	}
}

func TestStartForegroundForwardsSignals(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "sig")
	cmd := h.Command(t, nil, "start", "-F", "sig", "--", "/bin/sh", "-c",
		`trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.05; done`)
	sc, stderr := startReady(t, cmd)
	// While it runs, stop's view and ls agree that it runs: once the
	// supervisor has recorded init, which may come after the container's
	// process has printed "ready" (STARTING until then).
	waitFor(t, "ls to say RUNNING during start -F", func() bool { return lsJSON(t, h)["sig"].State == "RUNNING" })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for sc.Scan() {
		rest = append(rest, sc.Text())
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 42 || !contains(rest, "got TERM") {
		t.Errorf("after SIGTERM to ulxc: exit %d, output %q; want 42 and 'got TERM' (stderr %q)", code, rest, stderr.String())
	}
}

func TestMonitorKilled(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "orphan")
	h.MustRun(t, "start", "orphan")
	b, err := os.ReadFile(runtimeFile(t, h, "orphan", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Supervisor, Pid int }
	if err := json.Unmarshal(b, &st); err != nil || st.Supervisor <= 0 {
		t.Fatalf("state.json = %s, %v: no supervisor pid", b, err)
	}
	if err := syscall.Kill(st.Supervisor, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Init dies with its monitor (parent-death signal); ls checks the
	// process, not the file, and clears what the monitor left.
	waitFor(t, "ls to report STOPPED", func() bool { return lsJSON(t, h)["orphan"].State == "STOPPED" })
	for _, f := range []string{"control.sock", "state.json"} {
		if p := runtimeFile(t, h, "orphan", f); p != "" {
			t.Errorf("stale %s left after ls: %s", f, p)
		}
	}
	h.MustRun(t, "start", "orphan")
	if row := lsJSON(t, h)["orphan"]; row.State != "RUNNING" || row.Pid == st.Pid {
		t.Errorf("start after the monitor was killed: ls = %+v, want RUNNING with a new pid", row)
	}
	h.MustRun(t, "stop", "-k", "orphan")
}

func TestStartReportsInitErrors(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	// tmpfs refuses an unknown option: the error happens in init, inside
	// the namespaces, and must reach the user with its cause.
	runtimetest.NewBusybox(t, h, "bad", "lxc.mount.entry = tmpfs mnt tmpfs nosuchoption=1,create=dir 0 0")
	for _, args := range [][]string{{"start", "bad"}, {"start", "-F", "bad", "--", "/bin/true"}} {
		r := h.Run(t, args...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "mount tmpfs on /mnt") || !strings.Contains(r.Stderr, "invalid argument") {
			t.Errorf("ulxc %s = exit %d, %q; want 1 and 'mount tmpfs on /mnt: invalid argument'", strings.Join(args, " "), r.Code, r.Stderr)
		}
	}
	if row := lsJSON(t, h)["bad"]; row.State != "STOPPED" {
		t.Errorf("ls after a failed start = %+v, want STOPPED", row)
	}
}

func TestStartLimitsNeedDelegation(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "limited", "lxc.cgroup2.memory.max = 64M")
	r := h.Run(t, "start", "-F", "limited", "--", "/bin/true")
	if r.Code != 1 || !strings.Contains(r.Stderr, "resource limits need a delegated cgroup") || !strings.Contains(r.Stderr, "memory.max") {
		t.Errorf("start with limits and no delegation = exit %d, %q; want 1, naming memory.max and delegation", r.Code, r.Stderr)
	}
}

func TestStartHooks(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	out := filepath.Join(h.Dir, "hooks.log")
	hook := h.WriteFile(t, "hook.sh", "#!/bin/sh\necho \"$LXC_HOOK_TYPE $LXC_NAME $3\" >> "+out+"\n")
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := runtimetest.NewBusybox(t, h, "hooked",
		"lxc.hook.pre-start = "+hook,
		"lxc.hook.post-stop = "+hook,
		// mount runs as container root in the container's mount namespace:
		// it writes into the rootfs, not into the user's home.
		`lxc.hook.pre-mount = /bin/sh -c 'echo "$LXC_HOOK_TYPE" > "$LXC_ROOTFS_MOUNT/tmp/pre-mount-hook"'`,
		`lxc.hook.mount = /bin/sh -c 'echo "$LXC_HOOK_TYPE" > "$LXC_ROOTFS_MOUNT/tmp/mount-hook"'`,
		"lxc.hook.start = /bin/sh -c 'hostname > /tmp/start-hook'")
	h.MustRun(t, "start", "-F", "hooked", "--", "/bin/true")
	b, _ := os.ReadFile(out)
	if got, want := lines(string(b)), []string{"pre-start hooked pre-start", "post-stop hooked post-stop"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("host hooks ran %q, want %q", got, want)
	}
	for file, want := range map[string]string{"pre-mount-hook": "pre-mount", "mount-hook": "mount", "start-hook": "hooked"} {
		b, _ := os.ReadFile(filepath.Join(dir, "rootfs/tmp", file))
		if got := strings.TrimSpace(string(b)); got != want {
			t.Errorf("container hook wrote %s = %q, want %q", file, got, want)
		}
	}
}

func TestLsFilters(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "up")
	runtimetest.NewBusybox(t, h, "down")
	h.MustRun(t, "start", "-n", "up")
	defer h.Run(t, "stop", "-k", "up")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ls", "-1"}, "down\nup\n"},
		{[]string{"ls", "--running"}, "up  \n"}, // padded to 4, as lxc-ls pads
		{[]string{"ls", "--stopped"}, "down\n"},
	} {
		if r := h.MustRun(t, tc.args...); r.Stdout != tc.want {
			t.Errorf("ulxc %s = %q, want %q", strings.Join(tc.args, " "), r.Stdout, tc.want)
		}
	}
	for _, args := range [][]string{{"ls", "--running", "--stopped"}, {"stop", "-k", "-t", "5", "up"}, {"start", "-F", "-d", "up"}} {
		if r := h.Run(t, args...); r.Code != 2 || !strings.Contains(r.Stderr, "conflict") {
			t.Errorf("ulxc %s = exit %d, %q; want 2 and a conflict", strings.Join(args, " "), r.Code, r.Stderr)
		}
	}
}

// TestStartForegroundUsers starts a container in the foreground as a
// user with subordinate ids (newuidmap) and as one without (the single-id
// map ulxc writes itself): the container sees the map, runs as pid 1 and
// passes its exit status on either way.
func TestStartForegroundUsers(t *testing.T) {
	for _, tc := range testUsers {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.user(t)
			h := u.NewHome(t)
			h.MustRun(t, "create", "box", "-t", "busybox")
			want := fmt.Sprintf("0 %d 1", u.UID)
			if tc.subID {
				start, count := subRange(t, u)
				want = fmt.Sprintf("0 %d %d", start, count)
			}
			r := h.Run(t, "start", "-F", "box", "--", "/bin/sh", "-c", "echo $$; cat /proc/self/uid_map; exit 3")
			got := lines(r.Stdout)
			if r.Code != 3 || len(got) != 2 || got[0] != "1" || strings.Join(strings.Fields(got[1]), " ") != want {
				t.Errorf("start -F: exit %d, stdout %q, want 3, pid 1 and uid_map %q (stderr %q)", r.Code, r.Stdout, want, r.Stderr)
			}
		})
	}
}

// TestCapDrop: lxc.cap.drop leaves the container's bounding set, in init
// and in an attached process alike; lxc.cap.keep keeps only what it names.
func TestCapDrop(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "cd", "lxc.cap.drop = sys_time mknod")
	runtimetest.NewBusybox(t, h, "ck", "lxc.cap.keep = chown kill")
	bounding := func(out string) uint64 {
		t.Helper()
		for _, l := range lines(out) {
			if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
				m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
				if err != nil {
					t.Fatalf("CapBnd %q: %v", v, err)
				}
				return m
			}
		}
		t.Fatalf("no CapBnd in %q", out)
		return 0
	}
	const sysTime, mknod, chown, kill = 25, 27, 0, 5
	r := h.MustRun(t, "start", "-F", "cd", "--", "grep", "CapBnd", "/proc/self/status")
	got := bounding(r.Stdout)
	if got&(1<<sysTime) != 0 || got&(1<<mknod) != 0 || got&(1<<21) == 0 {
		t.Errorf("lxc.cap.drop = sys_time mknod: CapBnd %#x, want sys_time (25) and mknod (27) gone, sys_admin (21) kept", got)
	}
	r = h.MustRun(t, "start", "-F", "ck", "--", "grep", "CapBnd", "/proc/self/status")
	if got := bounding(r.Stdout); got != 1<<chown|1<<kill {
		t.Errorf("lxc.cap.keep = chown kill: CapBnd %#x, want %#x", got, uint64(1<<chown|1<<kill))
	}

	h.MustRun(t, "start", "cd")
	defer h.Run(t, "stop", "-k", "cd")
	init := bounding(h.MustRun(t, "attach", "cd", "--", "cat", "/proc/1/status").Stdout)
	attached := bounding(h.MustRun(t, "attach", "cd", "--", "grep", "CapBnd", "/proc/self/status").Stdout)
	if init&(1<<mknod) != 0 || attached != init {
		t.Errorf("daemon: init CapBnd %#x, attached %#x; want them equal, without mknod", init, attached)
	}
}

// TestStartProcSettings: lxc.sysctl.*, lxc.proc.oom_score_adj and lxc.arch
// reach the container, and what a rootless container may not have stops
// the start with the key named rather than being left out.
func TestStartProcSettings(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "ps", "lxc.sysctl.net.ipv4.ip_forward = 1", "lxc.sysctl.kernel.msgmax = 4096",
		"lxc.proc.oom_score_adj = 500", "lxc.arch = i686")
	host, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	r := h.MustRun(t, "start", "-F", "ps", "--", "sh", "-c",
		"cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax /proc/self/oom_score_adj; uname -m")
	if got := strings.Join(lines(r.Stdout), " "); got != "1 4096 500 i686" {
		t.Errorf("ip_forward, msgmax, oom_score_adj, uname -m = %q, want 1 4096 500 i686", got)
	}
	if after, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); !bytes.Equal(after, host) {
		t.Errorf("host ip_forward changed from %q to %q", host, after)
	}

	for _, tc := range []struct{ line, want string }{
		{"lxc.sysctl.vm.swappiness = 10", "lxc.sysctl.vm.swappiness"},
		{"lxc.proc.oom_score_adj = -500", "lxc.proc.oom_score_adj = -500: lowering the score needs root"},
	} {
		name := fmt.Sprintf("bad%d", len(tc.want))
		runtimetest.NewBusybox(t, h, name, tc.line)
		r := h.Run(t, "start", "-F", name, "--", "true")
		if r.Code == 0 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("%s: start -F = exit %d, %q; want a failure naming %q", tc.line, r.Code, r.Stderr, tc.want)
		}
		if row := lsJSON(t, h)[name]; row.State != "STOPPED" {
			t.Errorf("%s: after the failed start ls says %+v, want STOPPED", tc.line, row)
		}
	}
}

// TestStopSignal: stop -k sends lxc.signal.stop, and so does a stop whose
// halt signal went unanswered.
func TestStopSignal(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "ss", "lxc.signal.stop = SIGUSR2", "lxc.signal.halt = SIGCONT",
		`lxc.init.cmd = /bin/sh -c 'trap "exit 42" USR2; while :; do sleep 1; done'`)
	for _, args := range [][]string{{"stop", "-k", "ss"}, {"stop", "-t", "1", "ss"}} {
		h.MustRun(t, "start", "ss")
		// The signal must come after the trap is set: pid 1 ignores a
		// signal it has no handler for.
		waitFor(t, "init's USR2 trap", func() bool {
			r := h.Run(t, "attach", "ss", "--", "grep", "^SigCgt:", "/proc/1/status")
			f := strings.Fields(r.Stdout)
			if len(f) != 2 {
				return false
			}
			caught, err := strconv.ParseUint(f[1], 16, 64)
			return err == nil && caught&(1<<(syscall.SIGUSR2-1)) != 0
		})
		h.MustRun(t, args...)
		if out := h.MustRun(t, "info", "ss").Stdout; !strings.Contains(out, "status 42 at") {
			t.Errorf("%v: info = %q, want the exit status 42 of init's USR2 trap", args, out)
		}
	}
}

// TestStartForegroundConsole: on a terminal, start -F gives the container
// a console of its own devpts, sized like the terminal and relayed to it
// both ways, as lxc-start -F does; without a terminal stdio passes through
// and there is no console.
func TestStartForegroundConsole(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "fc", "lxc.tty.max = 2")
	out := runOnPty(t, h, "typed-line\r", "start", "-F", "fc", "--", "sh", "-c",
		`[ /dev/console -ef "$(tty)" ] && echo on-console; stty size; echo via-console > /dev/console; read x; echo got:$x; ls /dev/tty1 /dev/tty2`)
	for _, want := range []string{"on-console", "33 101", "via-console", "got:typed-line", "/dev/tty1", "/dev/tty2"} {
		if !strings.Contains(out, want) {
			t.Errorf("start -F on a terminal printed %q, want %q in it", out, want)
		}
	}
	cmd, master := ptyCommand(t, h, "start", "-F", "fc", "--", "sh", "-c", "exit 9")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.Stdin.(*os.File).Close()
	readAll(master)
	if err := cmd.Wait(); cmd.ProcessState.ExitCode() != 9 {
		t.Errorf("start -F on a terminal -- sh -c 'exit 9': %v, want exit status 9", err)
	}
	r := h.Run(t, "start", "-F", "fc", "--", "sh", "-c", "if test -e /dev/console; then echo console; fi")
	if r.Code != 0 || strings.Contains(r.Stdout, "console") {
		t.Errorf("start -F without a terminal: exit %d, %q; want no /dev/console", r.Code, r.Stdout)
	}
}

// TestStartInitUser: lxc.init.uid, lxc.init.gid and lxc.init.groups are the
// credentials of the container's process, with no capabilities left.
func TestStartInitUser(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "iu", "lxc.init.uid = 1000", "lxc.init.gid = 1001", "lxc.init.groups = 5 7")
	r := h.MustRun(t, "start", "-F", "iu", "--", "sh", "-c", "id -u; id -g; id -G; grep -E '^Cap(Eff|Amb)' /proc/self/status")
	got := lines(r.Stdout)
	want := []string{"1000", "1001", "1001 5 7", "CapEff: 0000000000000000", "CapAmb: 0000000000000000"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("start -F as lxc.init.uid 1000 printed %q, want %q", got, want)
	}
}

// TestSeccompProfile: lxc.seccomp.profile binds the container's process
// and an attached one: the denied calls fail with the policy's errno, a
// forced umount with EACCES (reject_force_umount), and the rest works.
func TestSeccompProfile(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "sc", "lxc.seccomp.profile = ../policy.seccomp")
	h.WriteFile(t, ".local/share/ulxc/policy.seccomp",
		"2\ndenylist\nreject_force_umount  # as LXC's common.seccomp\n[all]\nmkdir errno 1\nmkdirat errno 1\n")
	script := `grep ^Seccomp: /proc/self/status; mkdir /tmp/denied 2>&1; echo mkdir=$?; ` +
		`mount -t tmpfs none /tmp && { umount -f /tmp 2>&1; echo forced=$?; umount /tmp; echo plain=$?; }`
	r := h.Run(t, "start", "-F", "sc", "--", "sh", "-c", script)
	out := r.Stdout
	for _, want := range []string{"Seccomp:\t2", "Operation not permitted", "mkdir=1", "Permission denied", "forced=1", "plain=0"} {
		if !strings.Contains(out, want) {
			t.Errorf("start -F under the policy printed %q (stderr %q), want %q in it", out, r.Stderr, want)
		}
	}
	if strings.Contains(r.Stderr, "not enforced: lxc.seccomp.profile") {
		t.Errorf("start still says the profile is not enforced: %q", r.Stderr)
	}
	h.MustRun(t, "start", "sc", "--", "sleep", "30")
	defer h.Run(t, "stop", "-k", "sc")
	a := h.Run(t, "attach", "sc", "--", "sh", "-c", "mkdir /tmp/denied 2>&1; echo mkdir=$?; grep ^Seccomp: /proc/self/status")
	if !strings.Contains(a.Stdout, "mkdir=1") || !strings.Contains(a.Stdout, "Seccomp:\t2") {
		t.Errorf("attached under the policy: %q, want mkdir refused and Seccomp 2", a.Stdout)
	}
}

// TestStartInitReports: what fails inside init, in the forked child that
// only makes system calls, reaches the user as a message naming the step
// and the path, daemonized or not, and leaves the container stopped and
// startable.
func TestStartInitReports(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "rep")
	for _, tc := range []struct {
		name  string
		args  []string
		lines []string
		want  []string
	}{
		{"missing command", []string{"start", "-F", "rep", "--", "nosuchcmd"}, nil,
			[]string{"exec nosuchcmd: no such file or directory in $PATH"}},
		{"missing absolute command", []string{"start", "-F", "rep", "--", "/nowhere/cmd"}, nil,
			[]string{"exec /nowhere/cmd: no such file or directory"}},
		{"mount under a file", []string{"start", "-F", "rep", "--", "true"},
			[]string{"lxc.mount.entry = /tmp bin/busybox/x none bind,create=dir 0 0"},
			[]string{"mount /tmp on /bin/busybox/x: open /bin/busybox/x: not a directory"}},
		{"missing bind source", []string{"start", "rep"},
			[]string{"lxc.mount.entry = /nonexistent-ulxc mnt none bind,create=dir 0 0"},
			[]string{"mount /nonexistent-ulxc on /mnt: open source /nonexistent-ulxc: no such file or directory"}},
		{"bad working directory", []string{"start", "-F", "rep", "--", "true"},
			[]string{"lxc.init.cwd = /no/such/dir"},
			[]string{"chdir /no/such/dir: no such file or directory"}},
		{"failing mount hook", []string{"start", "-F", "rep", "--", "true"},
			[]string{"lxc.hook.mount = /bin/sh -c 'echo hook says no >&2; exit 3'"},
			[]string{"mount hook /bin/sh: exit status 3", "hook says no"}},
		{"failing start hook, daemonized", []string{"start", "rep"},
			[]string{"lxc.hook.start = /bin/sh -c 'exit 4'"},
			[]string{"start hook /bin/sh: exit status 4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtimetest.NewBusybox(t, h, "rep", tc.lines...)
			r := h.Run(t, tc.args...)
			if r.Code == 0 {
				t.Fatalf("ulxc %s = exit 0, want a failure", strings.Join(tc.args, " "))
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("ulxc %s: stderr %q, want it to say %q", strings.Join(tc.args, " "), r.Stderr, w)
				}
			}
			if row := lsJSON(t, h)["rep"]; row.State != "STOPPED" {
				t.Errorf("after the failed start ls says %+v, want STOPPED", row)
			}
		})
	}
	runtimetest.NewBusybox(t, h, "rep")
	if r := h.Run(t, "start", "-F", "rep", "--", "sh", "-c", "exit 4"); r.Code != 4 {
		t.Errorf("start -F after the failures = exit %d, %q; want 4", r.Code, r.Stderr)
	}
}

// TestStartSignalState: the container's process starts as from a fresh
// exec, with no signal blocked, ignored or caught (init is a clone of a
// Go program, which catches them all, and blocks them all until then),
// also under a seccomp policy that refuses rt_sigaction and
// rt_sigprocmask, and as another user than root, whose filter is
// installed earlier.
func TestStartSignalState(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	h.WriteFile(t, ".local/share/ulxc/nosig.seccomp", "2\ndenylist\n[all]\nrt_sigaction errno 1\nrt_sigprocmask errno 1\n")
	for _, tc := range []struct {
		name  string
		lines []string
	}{
		{"plain", nil},
		{"policy", []string{"lxc.seccomp.profile = ../nosig.seccomp"}},
		{"policy as uid 1000", []string{"lxc.seccomp.profile = ../nosig.seccomp", "lxc.init.uid = 1000", "lxc.init.gid = 1000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtimetest.NewBusybox(t, h, "sig", tc.lines...)
			r := h.Run(t, "start", "-F", "sig", "--", "/bin/cat", "/proc/self/status")
			if r.Code != 0 {
				t.Fatalf("start -F: exit %d: %s", r.Code, r.Stderr)
			}
			for _, field := range []string{"SigBlk", "SigIgn", "SigCgt"} {
				want := field + ":\t0000000000000000"
				if !strings.Contains(r.Stdout, want) {
					t.Errorf("%s not clear in the container's process:\n%s", field, r.Stdout)
				}
			}
			if tc.lines != nil && !strings.Contains(r.Stdout, "Seccomp:\t2") {
				t.Errorf("no seccomp filter on the container's process:\n%s", r.Stdout)
			}
		})
	}
}

// TestStartMountEntries: what init does with a config's mount entries,
// rlimits, read-only rootfs and recorded devices, seen from inside: a
// read-only bind (create=dir), a file bind (create=file), an optional bind
// whose source is missing (left out, nothing created), a tmpfs entry,
// lxc.prlimit, lxc.rootfs.options = ro, and a device node recorded at
// unpack that the host has, which is not bound (TestStartImageDevices).
func TestStartMountEntries(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	data := filepath.Dir(h.WriteFile(t, "share/data/hello.txt", "hello from the host\n"))
	file := h.WriteFile(t, "share/hostfile", "a file bound in\n")
	dir := runtimetest.NewBusybox(t, h, "me",
		"lxc.mount.entry = "+data+" mnt/ro none bind,ro,create=dir 0 0",
		"lxc.mount.entry = "+file+" etc/hostfile none bind,create=file 0 0",
		"lxc.mount.entry = /nonexistent-ulxc-source opt/x none bind,optional,create=dir 0 0",
		"lxc.mount.entry = tmpfs run/t tmpfs size=1m,create=dir 0 0",
		"lxc.prlimit.nofile = 512:1024",
		"lxc.rootfs.options = ro")
	_, fuseErr := os.Stat("/dev/fuse")
	if fuseErr == nil {
		h.WriteFile(t, filepath.Join(strings.TrimPrefix(dir, h.Dir+"/"), "ulxc-devices.json"),
			`[{"path": "/dev/fuse", "type": 99, "major": 10, "minor": 229, "mode": 438}]`+"\n")
	}
	// The host directory is the user's, which container root may not
	// write anyway: the mount's own flag says whether the bind is ro.
	script := `cat /mnt/ro/hello.txt; grep " /mnt/ro " /proc/mounts | cut -d" " -f4 | cut -d, -f1
cat /etc/hostfile
test -e /opt/x && echo optional-made || echo optional-left-out
grep -c " /run/t tmpfs " /proc/mounts
echo nofile=$(ulimit -n):$(ulimit -Hn)
touch /rootfile 2>/dev/null && echo root-rw || echo root-ro
test -c /dev/fuse && echo fuse || echo no-fuse`
	r := h.Run(t, "start", "-F", "me", "--", "sh", "-c", script)
	if r.Code != 0 {
		t.Fatalf("start -F: exit %d: %s", r.Code, r.Stderr)
	}
	want := []string{"hello from the host", "ro", "a file bound in", "optional-left-out", "1", "nofile=512:1024", "root-ro", "no-fuse"}
	if got := lines(r.Stdout); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("inside the container:\n got %q\nwant %q\n(stderr %q)", got, want, r.Stderr)
	}
}
