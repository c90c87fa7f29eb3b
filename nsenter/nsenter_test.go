package nsenter

import (
	"bufio"
	"bytes"
	"encoding/binary"
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
		if len(os.Args) == 4 && os.Args[2] == "fd" {
			// Is the last of many ExtraFiles in place, and what is it?
			n, _ := strconv.Atoi(os.Args[3])
			target, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", n))
			fmt.Println(target, err)
			os.Exit(0)
		}
		host, _ := os.Hostname()
		fmt.Println(os.Getpid(), host, os.Getuid())
		os.Exit(7)
	}
	os.Exit(m.Run())
}

func TestReadReport(t *testing.T) {
	rec := func(step, val uint64) []byte {
		b := binary.NativeEndian.AppendUint64(nil, step)
		return binary.NativeEndian.AppendUint64(b, val)
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	for _, tc := range []struct {
		name string
		in   []byte
		pid  int
		want string // the error's text, "" for none
	}{
		{"forked and exec'd", rec(stepPid, 42), 42, ""},
		{"setns refused", rec(stepSetns, 1), 0, "setns: operation not permitted"},
		{"clone failed", rec(stepClone, 11), 0, "clone: resource temporarily unavailable"},
		{"exec failed", cat(rec(stepPid, 42), rec(stepExec, 2)), 42, "exec: no such file or directory"},
		{"nothing", nil, 0, "nsenter: " + ErrNotJoined.Error()},
		{"torn record", rec(stepPid, 42)[:9], 0, "nsenter: read report: unexpected EOF"},
		{"unknown step", rec(99, 1), 0, "nsenter: malformed report 63000000000000000100000000000000"},
	} {
		pid, err := readReport(bytes.NewReader(tc.in))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if pid != tc.pid || got != tc.want {
			t.Errorf("%s: readReport = %d, %q, want %d, %q", tc.name, pid, got, tc.pid, tc.want)
		}
	}
	var je *JoinError
	if _, err := readReport(bytes.NewReader(rec(stepSetns, 1))); !errors.As(err, &je) || !errors.Is(err, syscall.EPERM) {
		t.Errorf("readReport(setns 1) = %v, want a *JoinError matching EPERM", err)
	}
}

func TestJoinedOutsideStart(t *testing.T) {
	if err := Joined(); !errors.Is(err, ErrNotJoined) {
		t.Errorf("Joined() in the test process = %v, want %v", err, ErrNotJoined)
	}
}

func TestStartNotAPidfd(t *testing.T) {
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

// TestCheckStatic: Start execs inside the target's mount namespace, where
// a dynamic executable's loader is not to be had.
func TestCheckStatic(t *testing.T) {
	f, err := os.Open("/bin/sh") // dynamically linked on Debian
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := checkStatic(f); !errors.Is(err, ErrDynamic) {
		t.Errorf("checkStatic(/bin/sh) = %v, want %v", err, ErrDynamic)
	}
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	err = checkStatic(self)
	if static := os.Getenv("CGO_ENABLED") == "0"; static && err != nil {
		t.Errorf("checkStatic(test binary built with CGO_ENABLED=0) = %v, want nil", err)
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
	target := newTarget(t)
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
	if errors.Is(err, ErrDynamic) {
		t.Fatalf("Start: %v: run the tests with CGO_ENABLED=0, as scripts/test does", err)
	}
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

// TestStartManyFiles passes more descriptors than the new process's
// executable and report pipe have numbers: placing them must not
// overwrite those (above).
func TestStartManyFiles(t *testing.T) {
	target := newTarget(t)
	pidfd, err := unix.PidfdOpen(target, 0)
	if err != nil {
		testenv.Skipf(t, "pidfd_open: %v", err)
	}
	defer unix.Close(pidfd)
	// A free low descriptor, for Start's own files to land on.
	hole, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	var extra []*os.File
	for range 60 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		extra = append(extra, f)
	}
	last, err := os.CreateTemp(t.TempDir(), "last")
	if err != nil {
		t.Fatal(err)
	}
	defer last.Close()
	extra = append(extra, last)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := FirstExtraFD + len(extra) - 1
	hole.Close()
	p, err := Start(Options{Pidfd: pidfd, Namespaces: unix.CLONE_NEWUSER | unix.CLONE_NEWUTS, Entry: testEntry,
		Args: []string{"fd", strconv.Itoa(n)}, Stdout: w, Stderr: w, ExtraFiles: extra})
	w.Close()
	if err != nil {
		t.Fatalf("Start with %d files: %v", len(extra)+3, err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	b, _ := bufio.NewReader(r).ReadString('\n')
	if got := strings.TrimSpace(b); got != last.Name()+" <nil>" {
		t.Errorf("fd %d in the joined process = %q, want %s", n, got, last.Name())
	}
}

func TestAbove(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	fd := int(f.Fd())
	if g, err := above(f, fd); err != nil || g != f {
		t.Errorf("above(fd %d, %d) = %v, %v; want the file itself", fd, fd, g, err)
	}
	g, err := above(f, fd+10)
	if err != nil || int(g.Fd()) < fd+10 {
		t.Fatalf("above(fd %d, %d) = %v, %v; want a descriptor from %d", fd, fd+10, g, err, fd+10)
	}
	defer g.Close()
	if flags, err := unix.FcntlInt(g.Fd(), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("above's duplicate: flags %#x, %v; want close-on-exec", flags, err)
	}
}

// newTarget starts a process in new user, uts, mount and pid namespaces
// (unshare(1), hostname nsenter-test) for the test's lifetime, and returns
// its pid.
func newTarget(t *testing.T) int {
	t.Helper()
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
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		testenv.Skipf(t, "unshare could not make the namespaces here: %q, %v", line, err)
	}
	return onlyChild(t, cmd.Process.Pid)
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
