package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// runningBusybox creates and starts a busybox container as the test user
// and waits for its boot script; the container is stopped at the end.
func runningBusybox(t *testing.T, h *testenv.Home, name string, extra ...string) string {
	t.Helper()
	dir := runtimetest.NewBusybox(t, h, name, extra...)
	h.MustRun(t, "start", name)
	t.Cleanup(func() { h.Run(t, "stop", "-k", name) })
	waitUntil(t, "the boot script of "+name, func() bool { return runtimetest.Probe(dir, "done") == "booted" })
	return dir
}

// waitUntil waits until cond holds; it is a wait, not a timing assertion:
// the generous limit only keeps a broken run from hanging.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("gave up waiting for %s", what)
}

func TestAttach(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	start, _ := runtimetest.SubRange(t, u)
	runningBusybox(t, h, "c1")

	t.Run("ids and pid namespace", func(t *testing.T) {
		r := h.MustRun(t, "attach", "c1", "--", "sh", "-c", `echo $$; id -u; id -g; hostname; cat /tmp/probe/done`)
		got := lines(r.Stdout)
		t.Logf("attach -- sh -c ...: %q", got)
		if len(got) != 5 {
			t.Fatalf("attach output = %q, want 5 lines", r.Stdout)
		}
		// The container's init is pid 1 of its namespace; an attached
		// shell gets a small pid there, never a host pid of ulxc's range.
		if pid, err := strconv.Atoi(got[0]); err != nil || pid < 2 || pid > 1000 {
			t.Errorf("attached pid = %q, want a small pid of the container's namespace", got[0])
		}
		if got[1] != "0" || got[2] != "0" {
			t.Errorf("attached uid:gid = %s:%s, want 0:0", got[1], got[2])
		}
		if got[3] != "c1" {
			t.Errorf("hostname = %q, want c1 (the container's uts namespace)", got[3])
		}
		if got[4] != "booted" {
			t.Errorf("/tmp/probe/done = %q, want the container's file (its root)", got[4])
		}
	})

	t.Run("host view", func(t *testing.T) {
		cmd := h.Command(t, nil, "attach", "c1", "--", "sh", "-c", `echo $$; exec sleep 60`)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			t.Fatalf("read attached pid: %v", err)
		}
		nspid := strings.TrimSpace(line)
		host := childOf(t, cmd.Process.Pid)
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", host))
		if err != nil {
			t.Fatal(err)
		}
		uid, nsp := field(string(status), "Uid:"), field(string(status), "NSpid:")
		if want := fmt.Sprintf("%d %d %d %d", start, start, start, start); uid != want {
			t.Errorf("host Uid of the attached process = %q, want %q (container root is a subordinate id)", uid, want)
		}
		if want := fmt.Sprintf("%d %s", host, nspid); nsp != want {
			t.Errorf("NSpid = %q, want %q", nsp, want)
		}
	})

	t.Run("user and group", func(t *testing.T) {
		r := h.MustRun(t, "attach", "-n", "c1", "-u", "1000", "-g", "1000", "--", "sh", "-c", "id -u; id -g")
		if got := lines(r.Stdout); strings.Join(got, " ") != "1000 1000" {
			t.Errorf("attach -u 1000 -g 1000 -- id = %q, want 1000 1000", r.Stdout)
		}
	})

	// The joined process was started with every capability ambient
	// (package nsenter); none may reach the command, whichever user it
	// runs as.
	t.Run("capabilities", func(t *testing.T) {
		for _, tc := range []struct {
			uid, eff string
		}{{"1000", "0000000000000000"}, {"0", ""}} {
			r := h.MustRun(t, "attach", "-u", tc.uid, "c1", "--", "sh", "-c", "grep ^Cap /proc/self/status")
			caps := map[string]string{}
			for _, l := range lines(r.Stdout) {
				if k, v, ok := strings.Cut(l, ":"); ok {
					caps[k] = strings.TrimSpace(v)
				}
			}
			if caps["CapAmb"] != "0000000000000000" || caps["CapInh"] != "0000000000000000" {
				t.Errorf("attach -u %s: ambient %q, inheritable %q, want none", tc.uid, caps["CapAmb"], caps["CapInh"])
			}
			if tc.eff != "" && caps["CapEff"] != tc.eff {
				t.Errorf("attach -u %s: effective %q, want %s", tc.uid, caps["CapEff"], tc.eff)
			}
			if tc.eff == "" && (caps["CapEff"] == "" || caps["CapEff"] == "0000000000000000") {
				t.Errorf("attach -u 0: effective %q, want root's capabilities in the namespace", caps["CapEff"])
			}
		}
	})

	t.Run("exit status", func(t *testing.T) {
		if r := h.Run(t, "attach", "c1", "--", "sh", "-c", "exit 5"); r.Code != 5 {
			t.Errorf("attach -- sh -c 'exit 5' exited %d, want 5 (stderr %q)", r.Code, r.Stderr)
		}
	})

	t.Run("environment", func(t *testing.T) {
		r := h.MustRun(t, "attach", "c1", "-v", "FOO=bar", "--", "sh", "-c", `echo "$FOO $container"`)
		if got := strings.TrimSpace(r.Stdout); got != "bar lxc" {
			t.Errorf("-v FOO=bar: got %q, want %q", got, "bar lxc")
		}
		cmd := h.Command(t, []string{"SECRET=host"}, "attach", "c1", "--", "sh", "-c", `echo "[$SECRET]"`)
		if r := testenv.RunCmd(t, cmd); strings.TrimSpace(r.Stdout) != "[host]" {
			t.Errorf("keep-env (default): got %q, want [host]", r.Stdout)
		}
		cmd = h.Command(t, []string{"SECRET=host"}, "attach", "c1", "--clear-env", "--", "sh", "-c", `echo "[$SECRET] $HOME $USER $container"`)
		if r := testenv.RunCmd(t, cmd); strings.TrimSpace(r.Stdout) != "[] /root root lxc" {
			t.Errorf("--clear-env: got %q, want %q", r.Stdout, "[] /root root lxc")
		}
		cmd = h.Command(t, []string{"SECRET=host", "OTHER=x"}, "attach", "c1", "--clear-env", "--keep-var", "SECRET",
			"--keep-var", "UNSET_HERE", "--", "sh", "-c", `echo "[$SECRET] [$OTHER] [${UNSET_HERE-unset}]"`)
		if r := testenv.RunCmd(t, cmd); strings.TrimSpace(r.Stdout) != "[host] [] [unset]" {
			t.Errorf("--clear-env --keep-var SECRET: got %q, want %q", r.Stdout, "[host] [] [unset]")
		}
	})

	t.Run("default shell", func(t *testing.T) {
		cmd := h.Command(t, nil, "attach", "c1")
		cmd.Stdin = strings.NewReader("echo shell $0 in $(pwd)\n")
		r := testenv.RunCmd(t, cmd)
		if got := strings.TrimSpace(r.Stdout); r.Code != 0 || got != "shell /bin/sh in /root" {
			t.Errorf("attach without a command: exit %d, %q, want %q", r.Code, got, "shell /bin/sh in /root")
		}
	})

	t.Run("pty", func(t *testing.T) {
		out := runOnPty(t, h, "", "attach", "c1", "--", "sh", "-c", "tty; stty size")
		t.Logf("on a pty: %q", out)
		if !strings.Contains(out, "/dev/pts/") {
			t.Errorf("tty in an attached process with a terminal printed %q, want /dev/pts/N", out)
		}
		if !strings.Contains(out, "33 101") {
			t.Errorf("stty size = %q, want the caller's 33 101", out)
		}
	})

	t.Run("conflicting flags", func(t *testing.T) {
		if r := h.Run(t, "attach", "c1", "--clear-env", "--keep-env", "--", "true"); r.Code != 2 {
			t.Errorf("--clear-env --keep-env exited %d, want 2", r.Code)
		}
	})
}

// TestAttachForwardsSignals: without a terminal, each signal that would
// have reached the command in the foreground and that ulxc attach
// receives goes on to the command (from a signal handler of
// rawproc's, not os/signal), and attach exits with the command's status.
func TestAttachForwardsSignals(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runningBusybox(t, h, "fw")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT} {
		name := strings.TrimPrefix(unix.SignalName(sig), "SIG")
		t.Run(name, func(t *testing.T) {
			cmd := h.Command(t, nil, "attach", "fw", "--", "/bin/sh", "-c",
				"trap 'echo got "+name+"; exit 42' "+name+"; echo ready; while :; do sleep 0.05; done")
			sc, stderr := startReady(t, cmd)
			// The handler is armed before attach waits: wait until one of
			// its threads sleeps in wait4/waitid.
			waitUntil(t, "ulxc attach to wait for its command", func() bool {
				tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", cmd.Process.Pid))
				for _, f := range tasks {
					if b, _ := os.ReadFile(f); strings.Contains(string(b), "wait") {
						return true
					}
				}
				return false
			})
			kid := childOf(t, cmd.Process.Pid)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			// A signal lost on the way leaves the command running, and
			// its stdout open: the limit only keeps that failure from
			// hanging the test.
			limit := time.AfterFunc(30*time.Second, func() {
				syscall.Kill(kid, syscall.SIGKILL)
				cmd.Process.Kill()
			})
			defer limit.Stop()
			var rest []string
			for sc.Scan() {
				rest = append(rest, sc.Text())
			}
			cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 42 || !slices.Contains(rest, "got "+name) {
				t.Errorf("after %v to ulxc attach: exit %d (%v), output %q; want 42 and 'got %s' (stderr %q)",
					sig, code, cmd.ProcessState, rest, name, stderr.String())
			}
		})
	}
}

// TestAttachSignalsFresh: the attached command starts with the signal
// handling of a fresh exec, nothing of ulxc's Go runtime: no signal
// blocked, ignored or caught. (The mask is restored before the exec; the
// handlers, which the exec would reset anyway, are cleared by the kernel
// at the clone, CLONE_CLEAR_SIGHAND, so that no signal before the exec
// can reach a Go handler in a process without a Go runtime.)
func TestAttachSignalsFresh(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runningBusybox(t, h, "sigs")
	r := h.MustRun(t, "attach", "sigs", "--", "/bin/cat", "/proc/self/status")
	for _, field := range []string{"SigBlk", "SigIgn", "SigCgt"} {
		if want := field + ":\t0000000000000000"; !strings.Contains(r.Stdout, want) {
			t.Errorf("%s not clear in the attached process:\n%s", field, r.Stdout)
		}
	}
}

func TestAttachNotRunning(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	runtimetest.NewBusybox(t, h, "c1")
	r := h.Run(t, "attach", "c1", "--", "true")
	if r.Code != 1 || !strings.Contains(r.Stderr, "not running") {
		t.Errorf("attach to a stopped container: exit %d, stderr %q; want 1 and 'not running'", r.Code, r.Stderr)
	}
}

// childOf returns the one child process of pid (any of its threads).
func childOf(t *testing.T, pid int) int {
	t.Helper()
	var kids []string
	waitUntil(t, "a child of ulxc attach", func() bool {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
		kids = nil
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			kids = append(kids, strings.Fields(string(b))...)
		}
		return len(kids) == 1
	})
	n, _ := strconv.Atoi(kids[0])
	return n
}

// field returns the whitespace-normalised value of a /proc status line.
func field(status, key string) string {
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, key); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

// openPty opens a pty whose slave the test user may use, sized 33x101.
func openPty(t *testing.T, u *testenv.User) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		testenv.Skipf(t, "no pty: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := s.Chown(int(u.UID), int(u.GID)); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 101}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// ptyCommand prepares `ulxc ARGS` with a pty as its controlling terminal
// and stdio.
func ptyCommand(t *testing.T, h *testenv.Home, args ...string) (*exec.Cmd, *os.File) {
	t.Helper()
	master, slave := openPty(t, h.User)
	cmd := h.Command(t, nil, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 0
	return cmd, master
}

// runOnPty runs `ulxc ARGS` on a pty, types input, and returns all it
// printed once it exits.
func runOnPty(t *testing.T, h *testenv.Home, input string, args ...string) string {
	t.Helper()
	cmd, master := ptyCommand(t, h, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.Stdin.(*os.File).Close() // only the child holds the slave now
	if input != "" {
		master.Write([]byte(input))
	}
	out := readAll(master)
	if err := cmd.Wait(); err != nil {
		t.Errorf("ulxc %s: %v; output:\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// readAll reads a pty master until no slave is left (EIO).
func readAll(master *os.File) string {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := master.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			if !errors.Is(err, syscall.EIO) && !errors.Is(err, io.EOF) {
				b.WriteString("\n[read error: " + err.Error() + "]")
			}
			return b.String()
		}
	}
}
