package nsenter

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/internal/testenv"
)

// testEntry is what the test binary does when Start re-executes it.
const testEntry = "__nsenter-test"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == testEntry {
		if err := Joined(); err != nil {
			fmt.Println("error:", err)
			os.Exit(3)
		}
		host, _ := os.Hostname()
		fmt.Println(os.Getpid(), host, os.Getuid())
		os.Exit(7)
	}
	os.Exit(m.Run())
}

func TestParseReport(t *testing.T) {
	for _, tc := range []struct {
		line string
		pid  int
		want string // the error's text, "" for none
	}{
		{"pid 42\n", 42, ""},
		{"setns 1\n", 0, "setns: operation not permitted"},
		{"clone 11\n", 0, "clone: resource temporarily unavailable"},
		{"", 0, `joiner: malformed report ""`},
		{"pid\n", 0, `joiner: malformed report "pid\n"`},
		{"pid -3\n", 0, `joiner: malformed report "pid -3\n"`},
		{"pid x\n", 0, `joiner: malformed report "pid x\n"`},
	} {
		pid, err := parseReport(tc.line)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if pid != tc.pid || got != tc.want {
			t.Errorf("parseReport(%q) = %d, %q, want %d, %q", tc.line, pid, got, tc.pid, tc.want)
		}
	}
	var je *JoinError
	if _, err := parseReport("setns 1\n"); !errors.As(err, &je) || !errors.Is(err, syscall.EPERM) {
		t.Errorf("parseReport(setns 1) = %v, want a *JoinError matching EPERM", err)
	}
}

func TestJoinedOutsideStart(t *testing.T) {
	if err := Joined(); !errors.Is(err, ErrNotJoined) {
		t.Errorf("Joined() in the test process = %v, want %v", err, ErrNotJoined)
	}
}

func requireCgo(t *testing.T) {
	t.Helper()
	if !haveCgo {
		t.Skip("built without cgo: Start returns ErrNoCgo (TestStartWithoutCgo)")
	}
}

func TestStartNotAPidfd(t *testing.T) {
	requireCgo(t)
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = Start(Options{Pidfd: int(f.Fd()), Namespaces: unix.CLONE_NEWUTS, Entry: testEntry})
	var je *JoinError
	if !errors.As(err, &je) || je.Step != "setns" || !errors.Is(err, unix.EINVAL) {
		t.Errorf("Start with /dev/null as pidfd = %v, want a setns JoinError with EINVAL", err)
	}
}

func TestStartRefusesNoNamespaces(t *testing.T) {
	if _, err := Start(Options{Pidfd: 0, Entry: testEntry}); err == nil {
		t.Error("Start without namespaces = nil error, want one")
	}
}

// TestStartJoins joins a process made with unshare(1): its user, uts,
// mount and pid namespaces.
func TestStartJoins(t *testing.T) {
	requireCgo(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		testenv.Skipf(t, "no unshare(1): %v", err)
	}
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--uts", "--mount", "--pid", "--fork",
		"sh", "-c", "hostname nsenter-test && echo ready && exec sleep 60")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		testenv.Skipf(t, "unshare could not make the namespaces here: %q, %v", line, err)
	}
	target := onlyChild(t, cmd.Process.Pid)
	flags, err := Differing(target)
	if err != nil {
		t.Fatal(err)
	}
	want := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWUTS | unix.CLONE_NEWNS | unix.CLONE_NEWPID)
	if flags != want {
		t.Errorf("Differing(%d) = %#x, want %#x (user, uts, mnt, pid)", target, flags, want)
	}
	pidfd, err := unix.PidfdOpen(target, 0)
	if err != nil {
		testenv.Skipf(t, "pidfd_open: %v", err)
	}
	defer unix.Close(pidfd)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := Start(Options{Pidfd: pidfd, Namespaces: flags, Entry: testEntry, Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	ps, err := p.Wait()
	if err != nil {
		t.Fatalf("wait for the joined process (our child, thanks to CLONE_PARENT): %v", err)
	}
	b, _ := bufio.NewReader(r).ReadString('\n')
	f := strings.Fields(b)
	if len(f) != 3 {
		t.Fatalf("joined process printed %q", b)
	}
	if pid, _ := strconv.Atoi(f[0]); pid < 2 || pid > 100 {
		t.Errorf("joined pid = %s, want a small pid of the new pid namespace", f[0])
	}
	if f[1] != "nsenter-test" {
		t.Errorf("joined hostname = %q, want nsenter-test", f[1])
	}
	if ps.ExitCode() != 7 {
		t.Errorf("joined process exit code = %d, want 7", ps.ExitCode())
	}
}

func onlyChild(t *testing.T, pid int) int {
	t.Helper()
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var kids []string
	for _, f := range files {
		b, _ := os.ReadFile(f)
		kids = append(kids, strings.Fields(string(b))...)
	}
	if len(kids) != 1 {
		t.Fatalf("children of %d: %v, want one", pid, kids)
	}
	n, _ := strconv.Atoi(kids[0])
	return n
}
