package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// The tests in this file are attacks: a hostile container root (the
// threat model's adversary) runs testdata/hostile, built static and bound
// into the container at /opt/hostile, against the user who runs ulxc.
// hostile writes a line that starts with BREACH for every try that worked.

// hostileDir builds testdata/hostile once per test and returns the host
// directory that holds it.
func hostileDir(t *testing.T) string {
	t.Helper()
	return testenv.BuildStatic(t, "cmd/ulxc/testdata/hostile", "hostile", "")
}

// hostileMount binds dir at /opt/hostile in the container, read-only.
func hostileMount(dir string) string {
	return "lxc.mount.entry = " + dir + " opt/hostile none bind,ro,create=dir 0 0"
}

// noBreach fails the test for every BREACH line of log, and when log
// lacks done (the attack did not run to its end).
func noBreach(t *testing.T, what, log, done string) {
	t.Helper()
	t.Logf("%s:\n%s", what, log)
	for _, l := range lines(log) {
		if strings.HasPrefix(l, "BREACH") {
			t.Errorf("%s: %s", what, l)
		}
	}
	if !strings.Contains(log, done) {
		t.Errorf("%s: the attack did not finish (no %q in its log)", what, done)
	}
}

// TestHostileAttachTrace: container root watches for every process that
// appears in the container while the user attaches, tries to seize it
// (PTRACE_SEIZE) and to open its memory, and plants a FIFO at /etc/passwd
// to hold any process that reads it. No process may be reached before it
// runs the container's own program: before that it is ulxc's, holding the
// user's descriptors.
func TestHostileAttachTrace(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runningBusybox(t, h, "c1", hostileMount(hostileDir(t)))
	watcher := h.Command(t, nil, "attach", "c1", "--", "/opt/hostile/hostile", "watch", "/tmp/watch.log", "10", "fifo")
	var wout bytes.Buffer
	watcher.Stdout, watcher.Stderr = &wout, &wout
	if err := watcher.Start(); err != nil {
		t.Fatal(err)
	}
	defer watcher.Process.Kill()
	waitUntil(t, "the watcher", func() bool {
		return h.Run(t, "attach", "c1", "--", "test", "-p", "/etc/passwd").Code == 0
	})
	for i := range 8 {
		if r := runWithin(t, h.Command(t, nil, "attach", "c1", "--", "sleep", "0.1")); r.Code != 0 {
			t.Errorf("attach %d beside the watcher: exit %d: %s", i, r.Code, r.Stderr)
		}
	}
	// The default command comes from /etc/passwd, which is a FIFO now:
	// it must neither block nor be read; the shell is /bin/sh.
	sh := h.Command(t, nil, "attach", "c1")
	sh.Stdin = strings.NewReader("exit 3\n")
	if r := runWithin(t, sh); r.Code != 3 {
		t.Errorf("attach c1 (default shell) with /etc/passwd a FIFO: exit %d, want 3: %s", r.Code, r.Stderr)
	}
	for range 4 {
		out := runOnPty(t, h, "", "attach", "c1", "--", "sh", "-c", "tty; sleep 0.1")
		if !strings.Contains(out, "/dev/pts/") {
			t.Errorf("attach on a pty beside the watcher printed %q", out)
		}
	}
	if err := watcher.Wait(); err != nil {
		t.Errorf("watcher: %v: %s", err, wout.String())
	}
	log := h.MustRun(t, "attach", "c1", "--", "cat", "/tmp/watch.log").Stdout
	noBreach(t, "watcher", log, "watch: done")
	if strings.Contains(log, "fifo: something opened /etc/passwd") {
		t.Errorf("a process of ulxc's opened the container's /etc/passwd from inside and waited on it")
	}
}

// runWithin runs cmd like testenv.RunCmd, but kills it and fails the test
// when it has not finished within a minute: something held it.
func runWithin(t *testing.T, cmd *exec.Cmd) testenv.Result {
	t.Helper()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(time.Minute):
			if cmd.Process != nil {
				cmd.Process.Kill()
			}
		}
	}()
	// A process the killed one left behind may hold its stdout: Wait
	// gives up on the pipes a moment after the kill.
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	r := testenv.RunCmd(t, cmd)
	if time.Since(start) >= time.Minute {
		t.Errorf("%v hung (killed after a minute)", cmd.Args[1:])
	}
	return r
}

// stdioCase is a combination of terminal and non-terminal stdio.
type stdioCase struct{ in, out, err bool } // true: the terminal

func (c stdioCase) String() string {
	name := func(tty bool, other string) string {
		if tty {
			return "tty"
		}
		return other
	}
	return name(c.in, "null") + "-" + name(c.out, "pipe") + "-" + name(c.err, "pipe")
}

func allStdioCases() []stdioCase {
	var cs []stdioCase
	for i := range 8 {
		cs = append(cs, stdioCase{i&1 != 0, i&2 != 0, i&4 != 0})
	}
	return cs
}

// onTerminal runs cmd as a user's shell would, with a terminal as its
// controlling terminal (also on fd 3, which ulxc must not pass on) and on
// the stdio that c says; the others are /dev/null and pipes. After cmd
// exits and a moment for what it left behind, it returns what was typed
// into the terminal's input (TIOCSTI), which the user's shell would read.
func onTerminal(t *testing.T, cmd *exec.Cmd, c stdioCase) (typed string, res testenv.Result) {
	t.Helper()
	master, slave := openPty(t, testenvUser(t, cmd))
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, &stdout, &stderr
	if c.in {
		cmd.Stdin = slave
	}
	if c.out {
		cmd.Stdout = slave
	}
	if c.err {
		cmd.Stderr = slave
	}
	cmd.ExtraFiles = []*os.File{slave}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 3
	go readAll(master) // the terminal's screen; it must not fill up
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	res = testenv.Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // hostile's late try comes after 0.7 s
	fd := int(slave.Fd())               // Fd makes the file blocking: once, before SetNonblock
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, _ := unix.Read(fd, buf)
	return string(buf[:max(n, 0)]), res
}

// testenvUser is the user cmd runs as (the test user, or this process's
// own when the test runs unprivileged).
func testenvUser(t *testing.T, cmd *exec.Cmd) *testenv.User {
	t.Helper()
	u := &testenv.User{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
	if cmd.SysProcAttr != nil && cmd.SysProcAttr.Credential != nil {
		u.UID, u.GID = cmd.SysProcAttr.Credential.Uid, cmd.SysProcAttr.Credential.Gid
	}
	return u
}

// legacyTIOCSTI makes TIOCSTI work as the machine had it
// (dev.tty.legacy_tiocsti = 1) for the test, where this process may.
func legacyTIOCSTI(t *testing.T) {
	const knob = "/proc/sys/dev/tty/legacy_tiocsti"
	old, err := os.ReadFile(knob)
	if err != nil {
		return // older kernels: TIOCSTI always works
	}
	if strings.TrimSpace(string(old)) == "1" {
		return
	}
	if err := os.WriteFile(knob, []byte("1"), 0); err != nil {
		t.Logf("dev.tty.legacy_tiocsti is 0 and cannot be set (%v): a terminal handed to the container is still found, but typing into it is not tried", err)
		return
	}
	t.Cleanup(func() { os.WriteFile(knob, old, 0) })
}

// TestHostileTerminalAttach: whatever mix of terminal and non-terminal
// stdio the user attaches with, the attached process holds no terminal of
// the host's, cannot open one through /dev/tty, and types nothing into
// the user's terminal, also from a process it leaves behind.
func TestHostileTerminalAttach(t *testing.T) {
	legacyTIOCSTI(t)
	h := testenv.SubIDUser(t).NewHome(t)
	runningBusybox(t, h, "c1", hostileMount(hostileDir(t)))
	for _, c := range allStdioCases() {
		t.Run(c.String(), func(t *testing.T) {
			cmd := h.Command(t, nil, "attach", "c1", "--", "/opt/hostile/hostile", "tty", "/tmp/tty.log", "late")
			typed, res := onTerminal(t, cmd, c)
			if res.Code != 0 {
				t.Errorf("attach: exit %d: %s", res.Code, res.Stderr)
			}
			if strings.Contains(typed, "PWNED") || strings.Contains(typed, "#") {
				t.Errorf("the container typed %q into the user's terminal", typed)
			}
			log := h.MustRun(t, "attach", "c1", "--", "sh", "-c", "cat /tmp/tty.log; rm -f /tmp/tty.log").Stdout
			noBreach(t, "attach "+c.String(), log, "tty: late done")
		})
	}
}

// TestHostileTerminalStart: the same for `start -F`, whose process is the
// container's init.
func TestHostileTerminalStart(t *testing.T) {
	legacyTIOCSTI(t)
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "c2", hostileMount(hostileDir(t)))
	for _, c := range allStdioCases() {
		t.Run(c.String(), func(t *testing.T) {
			cmd := h.Command(t, nil, "start", "-F", "c2", "--", "/opt/hostile/hostile", "tty", "/tmp/tty.log")
			typed, res := onTerminal(t, cmd, c)
			if res.Code != 0 {
				t.Errorf("start -F: exit %d: %s", res.Code, res.Stderr)
			}
			if strings.Contains(typed, "PWNED") || strings.Contains(typed, "#") {
				t.Errorf("the container typed %q into the user's terminal", typed)
			}
			log := h.MustRun(t, "start", "-F", "c2", "--", "sh", "-c", "cat /tmp/tty.log; rm -f /tmp/tty.log").Stdout
			noBreach(t, "start -F "+c.String(), log, "tty: now done")
		})
	}
}

// TestHostileHooks: hooks that run as container root beside init (before
// its exec) try to write init's memory (the supervisor's own under
// CLONE_VM, which init uses unless it sets an OOM score; a copy of it
// otherwise), to seize init and the hook helper and take their
// descriptors; a start hook lists what it inherited and leaves a process
// behind that floods stdout and stderr. Nothing may be reached, the hook
// holds nothing of ulxc's, and the flood is cut short.
func TestHostileHooks(t *testing.T) {
	t.Run("shared", func(t *testing.T) { hostileHooks(t, false) })
	t.Run("copied", func(t *testing.T) { hostileHooks(t, true) })
}

func hostileHooks(t *testing.T, oom bool) {
	h := testenv.SubIDUser(t).NewHome(t)
	hostile := hostileDir(t)
	lines := []string{hostileMount(hostile),
		// Before pivot_root, with the host's /proc: init's host pid.
		fmt.Sprintf(`lxc.hook.pre-mount = /bin/sh -c 'exec %s/hostile mem "$LXC_ROOTFS_MOUNT/tmp/pre-mount.log"'`, hostile),
		"lxc.hook.start = /opt/hostile/hostile mem /tmp/start.log",
		"lxc.hook.start = /opt/hostile/hostile fds /tmp/fds.log"}
	if oom {
		lines = append(lines, "lxc.proc.oom_score_adj = 500")
	}
	runtimetest.NewBusybox(t, h, "c3", lines...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := h.Command(t, nil, "start", "-F", "c3", "--", "sh", "-c",
		"cat /tmp/pre-mount.log /tmp/start.log /tmp/fds.log; cat /proc/1/oom_score_adj; sleep 2")
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	cmd.Dir, cmd.Env, cmd.SysProcAttr = h.Dir, h.Env, h.Command(t, nil).SysProcAttr
	res := testenv.RunCmd(t, cmd)
	if ctx.Err() != nil {
		t.Fatalf("start -F with hostile hooks did not finish: a hook held it")
	}
	if res.Code != 0 {
		t.Fatalf("start -F: exit %d: %s", res.Code, firstBytes(res.Stderr, 2000))
	}
	noBreach(t, "pre-mount hook", res.Stdout, "mem: tried")
	noBreach(t, "hooks", res.Stdout, "fds: done")
	if n := strings.Count(res.Stdout, "mem: tried"); n != 2 {
		t.Errorf("the mem attack ran %d times, want 2 (pre-mount and start)", n)
	}
	if oom && !strings.Contains(res.Stdout, "\n500\n") {
		t.Errorf("init's oom_score_adj is not 500 (lxc.proc.oom_score_adj):\n%s", res.Stdout)
	}
	// One hook's output may reach the terminal or log: 1 MiB and a note.
	if n := len(res.Stderr); n > 1<<20+4096 {
		t.Errorf("a hook's background process wrote %d bytes to ulxc's stderr, want at most 1 MiB", n)
	}
}

func firstBytes(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// TestInitFaultKillsInit: init runs without the Go runtime (on amd64 in
// the supervisor's memory); a build that breaks that rule on purpose (tag
// ulxc_initfault: init allocates) must kill init, never the supervisor or
// its heap: the start fails cleanly and the container can start again.
func TestInitFaultKillsInit(t *testing.T) {
	if goruntime.GOARCH != "amd64" {
		t.Skipf("init has a thread-local block and g register of its own on amd64 only, this is %s", goruntime.GOARCH)
	}
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "c5")
	dir := testenv.BuildStatic(t, "cmd/ulxc", "ulxc", "ulxc_lean,ulxc_initfault")
	r := testenv.RunCmd(t, h.Exec(t, nil, filepath.Join(dir, "ulxc"), "start", "-F", "c5", "--", "/bin/true"))
	t.Logf("start -F with a faulting init: exit %d\n%s", r.Code, r.Stderr)
	if r.Code == 0 {
		t.Errorf("start -F with an init that enters the Go runtime succeeded")
	}
	if r.Code < 0 || strings.Contains(r.Stderr, "fatal error") || strings.Contains(r.Stderr, "goroutine ") {
		t.Errorf("the supervisor crashed (exit %d): the fault reached it:\n%s", r.Code, r.Stderr)
	}
	if want := "init ended before it could exec the container's process: signal: segmentation fault"; !strings.Contains(r.Stderr, want) {
		t.Errorf("start -F with a faulting init said %q, want it to say %q", r.Stderr, want)
	}
	if out := h.MustRun(t, "start", "-F", "c5", "--", "/bin/echo", "again").Stdout; out != "again\n" {
		t.Errorf("start -F after the faulting one printed %q", out)
	}
}
