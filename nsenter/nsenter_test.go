package nsenter

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/internal/rawproc"
	"github.com/ulxc/ulxc/internal/testenv"
)

func TestReadReport(t *testing.T) {
	// A rawproc.Failure: step, op (0), errno, argument.
	rec := func(step rawproc.Msg, errno, arg uint64) []byte {
		b := binary.NativeEndian.AppendUint32(nil, uint32(step))
		b = binary.NativeEndian.AppendUint32(b, 0)
		b = binary.NativeEndian.AppendUint64(b, errno)
		return binary.NativeEndian.AppendUint64(b, arg)
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	j := &join{opts: Options{Argv: []string{"ls"}, Paths: []string{"/bin/ls", "/usr/bin/ls"}, UID: 1000}}
	for _, tc := range []struct {
		name string
		in   []byte
		pid  int
		want string // the error's text, "" for none
	}{
		{"forked and exec'd", rec(rawproc.MsgPid, 0, 42), 42, ""},
		{"setns refused", rec(rawproc.MsgSetns, 1, 0), 0, "setns: operation not permitted"},
		{"clone failed", rec(rawproc.MsgClone, 11, 0), 0, "clone: resource temporarily unavailable"},
		{"setuid", cat(rec(rawproc.MsgPid, 0, 42), rec(rawproc.MsgSetuid, 22, 0)), 42, "setuid 1000: invalid argument"},
		{"exec failed", cat(rec(rawproc.MsgPid, 0, 42), rec(rawproc.MsgExec, 2, 1)), 42, "exec ls (/usr/bin/ls): no such file or directory"},
		// With rawproc's shared-memory forks the intermediate writes the
		// pid once the new process has failed: the pid still comes back,
		// for the reaping, and the first failure wins.
		{"exec failed, pid after", cat(rec(rawproc.MsgExec, 2, 1), rec(rawproc.MsgPid, 0, 42)), 42, "exec ls (/usr/bin/ls): no such file or directory"},
		{"first failure wins", cat(rec(rawproc.MsgSetuid, 22, 0), rec(rawproc.MsgExec, 2, 1), rec(rawproc.MsgPid, 0, 42)), 42, "setuid 1000: invalid argument"},
		{"bounding", cat(rec(rawproc.MsgPid, 0, 42), rec(rawproc.MsgBounding, 1, 21)), 42, "drop capability 21 from the bounding set: operation not permitted"},
		{"nothing", nil, 0, "nsenter: the forked process ended without a word"},
		{"torn record", rec(rawproc.MsgPid, 0, 42)[:9], 0, "nsenter: read report: unexpected EOF"},
		{"unknown step", rec(99, 1, 0), 0, "nsenter: malformed report 630000000000000001000000000000000000000000000000"},
	} {
		pid, err := readReport(bytes.NewReader(tc.in), j)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if pid != tc.pid || got != tc.want {
			t.Errorf("%s: readReport = %d, %q, want %d, %q", tc.name, pid, got, tc.pid, tc.want)
		}
	}
	var je *JoinError
	if _, err := readReport(bytes.NewReader(rec(rawproc.MsgSetns, 1, 0)), j); !errors.As(err, &je) || !errors.Is(err, syscall.EPERM) {
		t.Errorf("readReport(setns 1) = %v, want a *JoinError matching EPERM", err)
	}
	if _, err := readReport(bytes.NewReader(rec(rawproc.MsgExec, 2, 0)), j); !errors.As(err, &je) || !je.IsExec() {
		t.Errorf("readReport(exec 2) = %v, want a *JoinError of the exec", err)
	}
}

func TestStartNotAPidfd(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = Start(Options{Pidfd: int(f.Fd()), Namespaces: unix.CLONE_NEWUTS, Argv: []string{"/bin/true"}})
	var je *JoinError
	if !errors.As(err, &je) || je.Step != "setns" || !errors.Is(err, unix.EINVAL) {
		t.Errorf("Start with /dev/null as pidfd = %v, want a setns JoinError with EINVAL", err)
	}
}

func TestStartRefusesNoNamespaces(t *testing.T) {
	if _, err := Start(Options{Pidfd: 0, Argv: []string{"/bin/true"}}); err == nil {
		t.Error("Start without namespaces = nil error, want one")
	}
	if _, err := Start(Options{Pidfd: 0, Namespaces: unix.CLONE_NEWUTS}); err == nil {
		t.Error("Start without a command = nil error, want one")
	}
}

// run starts sh -c script in target's namespaces with opts, and returns
// what it printed on stdout and its exit code.
func run(t *testing.T, target int, opts Options, script string) (string, int) {
	t.Helper()
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
	opts.Pidfd = pidfd
	if opts.Namespaces == 0 {
		if opts.Namespaces, err = Differing(target); err != nil {
			t.Fatal(err)
		}
	}
	opts.Argv = []string{"sh", "-c", script}
	opts.Paths = []string{"/nonexistent/sh", "/bin/sh"}
	opts.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if opts.Stdout == nil && !opts.Terminal {
		opts.Stdout = w
	}
	p, err := Start(opts)
	w.Close()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	var out []byte
	if p.Pty != nil {
		out = readPty(t, p.Pty)
		p.Pty.Close()
	} else {
		out, _ = io.ReadAll(r)
	}
	ws, err := p.Wait()
	if err != nil {
		t.Fatalf("wait for the joined process (our child, thanks to CLONE_PARENT): %v", err)
	}
	return string(out), ws.ExitStatus()
}

// readPty reads a pty master until the slave side is gone (EIO).
func readPty(t *testing.T, f *os.File) []byte {
	t.Helper()
	var out []byte
	buf := make([]byte, 4096)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		f.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := f.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return out
		}
	}
	t.Fatalf("pty output did not end: %q", out)
	return nil
}

// TestStartJoins joins a process made with unshare(1): its user, uts,
// mount and pid namespaces, in a session of its own, as root of the
// namespace with the bounding set asked for.
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
	// What the caller already knows differs is taken as it is, the rest
	// is compared: a known namespace the target shares (net) is joined.
	known := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWNET)
	if got, err := DifferingBeyond(target, known); err != nil || got != want|unix.CLONE_NEWNET {
		t.Errorf("DifferingBeyond(%d, user|net) = %#x, %v, want %#x", target, got, err, want|unix.CLONE_NEWNET)
	}
	out, code := run(t, target, Options{Bounding: 1 << unix.CAP_CHOWN, Dir: "/nonexistent", DirElse: "/tmp"},
		`echo $$ $(hostname) $(id -u) $(cut -d' ' -f6 /proc/$$/stat) $(pwd); grep CapBnd /proc/self/status; exit 7`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("joined process printed %q", out)
	}
	f := strings.Fields(lines[0])
	if len(f) != 5 {
		t.Fatalf("joined process printed %q", lines[0])
	}
	if pid, _ := strconv.Atoi(f[0]); pid < 2 || pid > 100 {
		t.Errorf("joined pid = %s, want a small pid of the new pid namespace", f[0])
	}
	if f[1] != "nsenter-test" || f[2] != "0" {
		t.Errorf("joined hostname, uid = %q, %q, want nsenter-test, 0", f[1], f[2])
	}
	if f[3] != f[0] {
		t.Errorf("joined process's session = %s, want its own (%s): a session of the caller's keeps its terminal", f[3], f[0])
	}
	if f[4] != "/tmp" {
		t.Errorf("working directory = %s, want /tmp (Dir is missing, DirElse is /tmp)", f[4])
	}
	if got := strings.Join(strings.Fields(lines[1]), " "); got != "CapBnd: 0000000000000001" {
		t.Errorf("bounding set = %q, want only CAP_CHOWN", got)
	}
	if code != 7 {
		t.Errorf("joined process exit code = %d, want 7", code)
	}
}

// TestStartDescriptors: the command gets stdio and nothing else of the
// caller's; read from outside, since a shell inside opens descriptors of
// its own.
func TestStartDescriptors(t *testing.T) {
	target := newTarget(t)
	pidfd, err := unix.PidfdOpen(target, 0)
	if err != nil {
		testenv.Skipf(t, "pidfd_open: %v", err)
	}
	defer unix.Close(pidfd)
	flags, err := Differing(target)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(Options{Pidfd: pidfd, Namespaces: flags, Argv: []string{"sleep", "30"}, Paths: []string{"/bin/sleep"}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer func() { p.Kill(); p.Wait() }()
	// Read them once sleep sleeps: while it starts up, sleep itself
	// opens and closes files (its locale), which are not the caller's.
	var names []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.Pid))
		wchan, _ := os.ReadFile(fmt.Sprintf("/proc/%d/wchan", p.Pid))
		if strings.HasSuffix(exe, "sleep") && strings.Contains(string(wchan), "nanosleep") {
			ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Pid))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				names = append(names, e.Name())
			}
			break
		}
	}
	if got := strings.Join(names, " "); got != "0 1 2" {
		t.Errorf("descriptors of the joined process = %q, want 0 1 2 only", got)
	}
}

// TestStartStdio: nil stdio is /dev/null, the others are what was given.
func TestStartStdio(t *testing.T) {
	target := newTarget(t)
	in, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	in.WriteString("from stdin\n")
	in.Seek(0, 0)
	out, _ := run(t, target, Options{Stdin: in}, `read line; echo "$line"; readlink /proc/self/fd/2`)
	if want := "from stdin\n/dev/null\n"; out != want {
		t.Errorf("joined process printed %q, want %q", out, want)
	}
}

// TestStartTerminal: the terminal is allocated in the target's devpts and
// is the process's controlling terminal and nil stdio.
func TestStartTerminal(t *testing.T) {
	target := newTarget(t)
	out, code := run(t, target, Options{Terminal: true, Rows: 33, Cols: 101}, `tty; stty size; exit 3`)
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(out, "\r", "")), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "/dev/pts/") || lines[1] != "33 101" {
		t.Errorf("on the terminal: %q, want /dev/pts/N and 33 101", out)
	}
	if code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
}

func TestStartExecFails(t *testing.T) {
	target := newTarget(t)
	pidfd, err := unix.PidfdOpen(target, 0)
	if err != nil {
		testenv.Skipf(t, "pidfd_open: %v", err)
	}
	defer unix.Close(pidfd)
	_, err = Start(Options{Pidfd: pidfd, Namespaces: unix.CLONE_NEWUSER | unix.CLONE_NEWNS, Argv: []string{"nothere"},
		Paths: []string{"/nonexistent/nothere", "/also/nothere"}})
	var je *JoinError
	if !errors.As(err, &je) || !je.IsExec() || !errors.Is(err, unix.ENOENT) {
		t.Errorf("Start(nothere) = %v, want an exec JoinError with ENOENT", err)
	}
	_, err = Start(Options{Pidfd: pidfd, Namespaces: unix.CLONE_NEWUSER, Argv: []string{"/bin/true"}, UID: 4242})
	if !errors.As(err, &je) || je.Step != "setuid 4242" {
		t.Errorf("Start as an unmapped uid = %v, want a setuid 4242 JoinError", err)
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
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--uts", "--mount", "--pid", "--fork", "--mount-proc",
		"sh", "-c", "hostname nsenter-test && mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts && echo ready && exec sleep 60")
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

// TestStartRemount: without the mount namespace, /proc is the caller's
// and shows another pid namespace; Remount mounts one that shows the
// joined pid namespace, in a mount namespace of the process's own.
func TestStartRemount(t *testing.T) {
	target := newTarget(t)
	ns := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWUTS | unix.CLONE_NEWPID)
	// read is a builtin: /proc/self is the shell itself, as its /proc sees it.
	script := `read -r self rest < /proc/self/stat; echo $$ $self $(readlink /proc/self/ns/mnt)`
	for _, tc := range []struct {
		name    string
		remount bool
	}{{"caller's proc", false}, {"remounted", true}} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := run(t, target, Options{Namespaces: ns, Remount: tc.remount}, script)
			f := strings.Fields(out)
			if code != 0 || len(f) != 3 {
				t.Fatalf("joined process printed %q, exit %d", out, code)
			}
			own, err := os.Readlink("/proc/self/ns/mnt")
			if err != nil {
				t.Fatal(err)
			}
			if shows := f[0] == f[1]; shows != tc.remount {
				t.Errorf("pid %s, /proc/self/stat %s: /proc shows the joined pid namespace: %v, want %v", f[0], f[1], shows, tc.remount)
			}
			if sameMnt := f[2] == own; sameMnt == tc.remount {
				t.Errorf("mount namespace %s, the caller's %s: a new one %v, want %v", f[2], own, !sameMnt, tc.remount)
			}
		})
	}
	// The caller's /proc is unchanged.
	if b, err := os.Readlink("/proc/self"); err != nil || b != strconv.Itoa(os.Getpid()) {
		t.Errorf("/proc/self of the test after the remount = %q, %v, want %d", b, err, os.Getpid())
	}
}

func TestNewDeviceRefuses(t *testing.T) {
	for _, tc := range []DeviceOptions{
		{Source: "/dev/null", Target: ""},
		{Source: "/dev/null", Target: "/dev/null"},
		{Source: "/dev/null", Target: "dev/../etc/x"},
		{Source: "/dev/null", Target: "../x"},
		{Source: "/dev/null", Target: "dev//x"},
		{Source: "dev/null", Target: "dev/x"},
	} {
		if _, err := newDevice(tc); err == nil {
			t.Errorf("newDevice(%+v) = nil error, want a refusal", tc)
		}
	}
	d, err := newDevice(DeviceOptions{Source: "/dev/null", Target: "dev/a/b/c"})
	if err != nil || len(d.Dirs) != 3 {
		t.Errorf("newDevice(dev/a/b/c) = %v, %d directories, want dev, a, b", err, len(d.Dirs))
	}
}

func TestReadDeviceReport(t *testing.T) {
	// A rawproc.Failure: step, op (0), errno, argument.
	rec := func(step rawproc.Msg, errno, arg uint64) []byte {
		b := binary.NativeEndian.AppendUint32(nil, uint32(step))
		b = binary.NativeEndian.AppendUint32(b, 0)
		b = binary.NativeEndian.AppendUint64(b, errno)
		return binary.NativeEndian.AppendUint64(b, arg)
	}
	d := &device{opts: DeviceOptions{Source: "/dev/null", Target: "dev/evil/x"}}
	for _, tc := range []struct {
		name string
		in   []byte
		is   error
		want string
	}{
		{"done", nil, nil, ""},
		{"exists", rec(rawproc.DevCreate, uint64(unix.EEXIST), 0), ErrDeviceExists, "/dev/evil/x: already exists in the container"},
		{"not bound", rec(rawproc.DevNotBound, 0, 0), ErrNotBound, "/dev/evil/x: not a device node bound by ulxc device add"},
		{"symlink", rec(rawproc.DevOpenDir, uint64(unix.ELOOP), 1), unix.ELOOP, "open directory /dev/evil: too many levels of symbolic links"},
		{"unknown", rec(99, 1, 0), nil, "nsenter: malformed report"},
	} {
		err := readDeviceReport(bytes.NewReader(tc.in), d)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if tc.is != nil && !errors.Is(err, tc.is) || !strings.HasPrefix(got, tc.want) || (tc.want == "") != (err == nil) {
			t.Errorf("%s: readDeviceReport = %v, want %q (%v)", tc.name, err, tc.want, tc.is)
		}
	}
}
