package main

import (
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// TestNoArgsUsage: ulxc without a command is a usage error, as LXC's tools
// have it: the usage on stderr, exit 2; asking for help is not.
func TestNoArgsUsage(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	if r := h.Run(t); r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, "Usage:") {
		t.Errorf("ulxc = exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", r.Code, r.Stdout, r.Stderr)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		if r := h.Run(t, args...); r.Code != 0 || !strings.Contains(r.Stdout, "Usage:") {
			t.Errorf("ulxc %s = exit %d, stdout %q; want 0 and the usage", args[0], r.Code, r.Stdout)
		}
	}
}

// TestMonitorName: a container's monitor shows in ps as `ulxc [monitor]
// NAME`, with the command name ulxc, not `exe __monitor`.
func TestMonitorName(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runningBusybox(t, h, "named")
	mon := monitorOf(t, lsJSON(t, h)["named"].Pid)
	cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(mon) + "/cmdline")
	comm, _ := os.ReadFile("/proc/" + strconv.Itoa(mon) + "/comm")
	if got := strings.ReplaceAll(string(cmdline), "\x00", " "); got != "ulxc [monitor] named " || string(comm) != "ulxc\n" {
		t.Errorf("monitor %d: cmdline %q, comm %q; want \"ulxc [monitor] named\" and ulxc", mon, got, comm)
	}
}

// TestAttachExecStatus: a command attach cannot run exits as in a shell:
// 127 when it does not exist, 126 when it is not executable.
func TestAttachExecStatus(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runningBusybox(t, h, "ex")
	for _, tc := range []struct {
		cmd  string
		code int
	}{{"/no/such/command", 127}, {"/etc/passwd", 126}} {
		if r := h.Run(t, "attach", "ex", "--", tc.cmd); r.Code != tc.code {
			t.Errorf("attach ex -- %s = exit %d, %q; want %d", tc.cmd, r.Code, r.Stderr, tc.code)
		}
	}
}

// TestConsoleNoTTYHint: console -t N of a container without that tty names
// lxc.tty.max and says how to give it ttys.
func TestConsoleNoTTYHint(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runningBusybox(t, h, "nt")
	cmd, master := ptyCommand(t, h, "console", "nt", "-t", "1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.Stdin.(*os.File).Close()
	out := readAll(master)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(out, "/dev/tty1 (the container has 0: lxc.tty.max = 0)") ||
		!strings.Contains(out, "ulxc: hint: give the container ttys: lxc.tty.max = N") {
		t.Errorf("console -t 1 without ttys = exit %d, %q; want 1, lxc.tty.max and the hint", code, out)
	}
}

// TestKeysAddNotAKey: keys add of a file that is no key says so.
func TestKeysAddNotAKey(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	notes := h.WriteFile(t, "notes.txt", "these are not the keys you are looking for\n")
	r := h.Run(t, "keys", "add", notes)
	if r.Code != 1 || !strings.Contains(r.Stderr, "keys add "+notes+": not an OpenPGP public key") ||
		!strings.Contains(r.Stderr, "ulxc: hint: give a public key file") {
		t.Errorf("keys add notes.txt = exit %d, %q; want 1, 'not an OpenPGP public key' and the hint", r.Code, r.Stderr)
	}
}

// TestImagesOfflineHint: images with no server to reach points at the
// network and --server.
func TestImagesOfflineHint(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	r := h.Run(t, "images", "--server", "http://"+addr)
	if r.Code != 1 || !strings.Contains(r.Stderr, "ulxc: hint: the image server cannot be reached: check the network") ||
		!strings.Contains(r.Stderr, "--server") {
		t.Errorf("images from a server that is down = exit %d, %q; want 1 and the network hint", r.Code, r.Stderr)
	}
}

// TestCheckconfigQuiet: checkconfig -q prints the items that are not OK
// (with their fixes) and nothing of those that are.
func TestCheckconfigQuiet(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	full := h.Run(t, "checkconfig")
	quiet := h.Run(t, "checkconfig", "-q")
	item := regexp.MustCompile(`(?m)^.* \.{3,} (OK|MISSING|WARN)\b.*$`)
	var want []string
	all := item.FindAllStringSubmatch(full.Stdout, -1)
	for _, m := range all {
		if m[1] != "OK" {
			want = append(want, m[0])
		}
	}
	if len(want) == len(all) {
		t.Fatalf("checkconfig: no item is OK, nothing for -q to leave out:\n%s", full.Stdout)
	}
	var got []string
	for _, m := range item.FindAllStringSubmatch(quiet.Stdout, -1) {
		got = append(got, m[0])
	}
	if quiet.Code != full.Code || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("checkconfig -q = exit %d, items %q; want exit %d and only the items not OK: %q", quiet.Code, got, full.Code, want)
	}
}
