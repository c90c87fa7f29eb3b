package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// TestLogEveryVerb: -o/--logfile, -l/--logpriority and --debug work for
// every verb, as on every LXC tool: the log file gets each command with
// its exit status (and its error), at the priority asked for.
func TestLogEveryVerb(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	logFile := filepath.Join(h.Dir, "ulxc.log")
	for _, tc := range []struct {
		args []string
		code int
		want string // in the record of the command
	}{
		{[]string{"create", "c1", "-t", "busybox", "-q"}, 0, "status=0"},
		{[]string{"checkconfig", "-q"}, -1, "status="},
		{[]string{"ls", "-f"}, 0, "status=0"},
		{[]string{"spec", "c1"}, 0, "status=0"},
		{[]string{"start", "c1"}, 0, "status=0"},
		{[]string{"info", "c1"}, 0, "status=0"},
		{[]string{"attach", "c1", "--", "/bin/true"}, 0, "status=0"},
		{[]string{"freeze", "c1"}, -1, "status="},
		{[]string{"cgroup", "c1", "cgroup.procs"}, -1, "status="},
		{[]string{"stop", "c1", "-t", "10"}, 0, "status=0"},
		{[]string{"stop", "c1"}, 2, "status=2"},
		{[]string{"usernsexec", "--", "true"}, 0, "status=0"},
		{[]string{"keys", "list"}, 0, "status=0"},
		{[]string{"autostart", "-L"}, 0, "status=0"},
		{[]string{"info", "nosuch"}, 1, `status=1 err="info nosuch: nosuch: no such container`},
		{[]string{"destroy", "c1"}, 0, "status=0"},
	} {
		before, _ := os.ReadFile(logFile)
		args := append([]string{tc.args[0], "-o", logFile, "-l", "INFO"}, tc.args[1:]...)
		r := h.Run(t, args...)
		if tc.code >= 0 && r.Code != tc.code {
			t.Errorf("ulxc %s = exit %d, want %d\nstderr: %s", strings.Join(args, " "), r.Code, tc.code, r.Stderr)
		}
		after, _ := os.ReadFile(logFile)
		rec := strings.TrimPrefix(string(after), string(before))
		if !strings.Contains(rec, `command="ulxc `+strings.Join(args, " ")+`"`) || !strings.Contains(rec, tc.want) {
			t.Errorf("ulxc %s logged %q, want the command with %q", strings.Join(args, " "), rec, tc.want)
		}
	}
	if fi, err := os.Stat(logFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("log file: %v, %v; want mode 0600", fi, err)
	}

	// Long forms, priority filtering, --debug on stderr.
	quiet := filepath.Join(h.Dir, "quiet.log")
	h.MustRun(t, "ls", "--logfile", quiet, "--logpriority", "ERROR")
	if b, _ := os.ReadFile(quiet); len(b) != 0 {
		t.Errorf("ls --logpriority ERROR logged %q, want nothing for a success", b)
	}
	if r := h.MustRun(t, "ls", "--debug"); !strings.Contains(r.Stderr, `level=DEBUG msg=done command="ulxc ls --debug" status=0`) {
		t.Errorf("ls --debug: stderr %q, want the debug record of the command", r.Stderr)
	}
	if r := h.Run(t, "ls", "-l", "LOUD"); r.Code != 2 || !strings.Contains(r.Stderr, "--logpriority") {
		t.Errorf("ls -l LOUD = exit %d, %q; want 2 naming --logpriority", r.Code, r.Stderr)
	}
	if r := h.Run(t, "ls", "-o", filepath.Join(h.Dir, "no/such/dir/log")); r.Code != 1 || !strings.Contains(r.Stderr, "--logfile") {
		t.Errorf("ls -o into a missing directory = exit %d, %q; want 1 naming --logfile", r.Code, r.Stderr)
	}
}
