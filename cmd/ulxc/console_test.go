package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// shellOnConsole makes busybox init run a shell on /dev/console.
const shellOnConsole = "::respawn:-/bin/sh\n"

func TestConsole(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	dir := newBusyboxWith(t, h, "c1", shellOnConsole)
	h.MustRun(t, "start", "c1")
	t.Cleanup(func() { h.Run(t, "stop", "-k", "c1") })

	cmd, master := ptyCommand(t, h, "console", "c1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.Stdin.(*os.File).Close()
	out := &ptyReader{f: master}
	out.waitFor(t, "Ctrl-a q to detach")
	// The shell's own output proves the input reached it: the typed
	// line does not contain the result.
	master.Write([]byte("echo console-$((6*7))\r"))
	out.waitFor(t, "console-42")
	master.Write([]byte{0x01, 'q'})
	if err := cmd.Wait(); err != nil {
		t.Errorf("console after Ctrl-a q: %v; output:\n%s", err, out.String())
	}
	if r := h.MustRun(t, "ls", "--running", "-1"); strings.TrimSpace(r.Stdout) != "c1" {
		t.Errorf("ls --running after detaching = %q, want c1 still running", r.Stdout)
	}
	_ = dir
}

func TestConsoleNotRunning(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	newBusyboxWith(t, h, "c1", "")
	cmd, master := ptyCommand(t, h, "console", "c1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.Stdin.(*os.File).Close()
	out := readAll(master)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(out, "not running") {
		t.Errorf("console of a stopped container: exit %d, %q; want 1 and 'not running'", code, out)
	}
}

// ptyReader accumulates what a pty master gives.
type ptyReader struct {
	f   *os.File
	buf strings.Builder
	ch  chan []byte
}

func (r *ptyReader) String() string { return r.buf.String() }

// waitFor reads until the output contains s.
func (r *ptyReader) waitFor(t *testing.T, s string) {
	t.Helper()
	if r.ch == nil {
		r.ch = make(chan []byte)
		go func() {
			defer close(r.ch)
			for {
				b := make([]byte, 4096)
				n, err := r.f.Read(b)
				if n > 0 {
					r.ch <- b[:n]
				}
				if err != nil {
					return
				}
			}
		}()
	}
	limit := time.After(60 * time.Second) // bounds a failure only
	for !strings.Contains(r.buf.String(), s) {
		select {
		case b, ok := <-r.ch:
			if !ok {
				t.Fatalf("pty closed before %q appeared; output:\n%s", s, r.buf.String())
			}
			r.buf.Write(b)
		case <-limit:
			t.Fatalf("gave up waiting for %q; output:\n%s", s, r.buf.String())
		}
	}
}

// newBusyboxWith makes a busybox container whose inittab has extra lines.
func newBusyboxWith(t *testing.T, h *testenv.Home, name, inittab string, config ...string) string {
	t.Helper()
	dir := runtimetest.NewBusybox(t, h, name, config...)
	if inittab != "" {
		appendFile(t, filepath.Join(dir, "rootfs/etc/inittab"), inittab)
	}
	return dir
}

func TestParseEscape(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want byte
		ok   bool
	}{
		{"^a", 0x01, true},
		{"^B", 0x02, true},
		{"~", '~', true},
		{"", 0, false},
		{"^", '^', true},
		{"^1", 0, false},
		{"ab", 0, false},
	} {
		got, err := parseEscape(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("parseEscape(%q) = %#x, %v, want %#x, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestRelayInputEscape(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		detached       bool
	}{
		{"plain", "ls\r", "ls\r", false},
		{"detach", "ab\x01qcd", "ab", true},
		{"escape twice sends one", "a\x01\x01b", "a\x01b", false},
		{"escape then other key sends both", "a\x01xb", "a\x01xb", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &relay{outDone: make(chan struct{}), detached: make(chan struct{})}
			var to strings.Builder
			r.input(strings.NewReader(tc.in), &to, 0x01)
			detached := false
			select {
			case <-r.detached:
				detached = true
			default:
			}
			if to.String() != tc.want || detached != tc.detached {
				t.Errorf("input(%q) sent %q, detached %v; want %q, %v", tc.in, to.String(), detached, tc.want, tc.detached)
			}
		})
	}
	r := &relay{outDone: make(chan struct{}), detached: make(chan struct{})}
	var to strings.Builder
	r.input(strings.NewReader("a\x01qb"), &to, -1)
	if to.String() != "a\x01qb" {
		t.Errorf("input without escape sent %q, want everything", to.String())
	}
}
