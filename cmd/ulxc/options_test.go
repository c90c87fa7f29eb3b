package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// nameVerbs take a container NAME; the other verbs take none. Every verb
// is in one of the two lists, so that a new verb is checked too.
var (
	nameVerbs   = []string{"create", "destroy", "start", "stop", "info", "attach", "console", "freeze", "unfreeze", "cgroup", "spec", "copy", "rename"}
	noNameVerbs = []string{"checkconfig", "usernsexec", "images", "keys", "ls", "autostart", "start-ephemeral"}
)

// TestOptionsAfterNameHelp runs `ulxc VERB NAME --help` in process for
// every verb: an option after the name is still an option, as LXC's tools
// read them, so every verb prints its usage rather than taking --help for
// part of a command.
func TestOptionsAfterNameHelp(t *testing.T) {
	for _, v := range verbs {
		inName, inNoName := contains(nameVerbs, v.name), contains(noNameVerbs, v.name)
		if inName == inNoName {
			t.Errorf("verb %s: put it in exactly one of nameVerbs and noNameVerbs", v.name)
			continue
		}
		args := []string{v.name, "--help"}
		if inName {
			args = []string{v.name, "nosuch", "--help"}
		}
		t.Run(v.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(append(args, "-P", t.TempDir()), strings.NewReader(""), &stdout, &stderr)
			if code != 0 || !strings.HasPrefix(stdout.String(), "Usage: ulxc "+v.name) {
				t.Errorf("run(%q) = exit %d, stdout %q, stderr %q; want 0 and the usage", args, code, stdout.String(), stderr.String())
			}
		})
	}
}

// TestOptionCommandHint: an unknown option after the name of a verb that
// runs a command says that the command's options go after --.
func TestOptionCommandHint(t *testing.T) {
	for _, verb := range []string{"start", "attach"} {
		args := []string{verb, "web", "ls", "--color=never"}
		var stderr strings.Builder
		code := run(args, strings.NewReader(""), io.Discard, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), "go after --") {
			t.Errorf("run(%q) = exit %d, stderr %q; want 2 and where a command's options go", args, code, stderr.String())
		}
	}
}

// TestOptionsAfterName runs every verb that takes a NAME with its options
// after the name, -P among them: each finds the container in that
// directory and does what its options say, and what follows `--` is the
// command.
func TestOptionsAfterName(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	lxcpath := filepath.Join(h.Dir, "lxc")
	t.Cleanup(func() { h.Run(t, "stop", "c1", "-P", lxcpath, "-k") })
	for _, tc := range []struct {
		args       []string
		code       int
		wantStdout string // a substring of stdout
		wantStderr string // a substring of stderr
		pty        bool   // run on a pty; stdout and stderr are its output
		// cgroupOnly: the verb needs the container's own cgroup, which
		// only a delegated start gives; either it works (exit 0) or it
		// says why, but it always finds the container.
		cgroupOnly bool
	}{
		{args: []string{"create", "c1", "-P", lxcpath, "-t", "busybox", "-q"}},
		{args: []string{"spec", "c1", "-P", lxcpath, "--", "/bin/echo", "hi"}, wantStdout: `"/bin/echo"`},
		{args: []string{"info", "c1", "-P", lxcpath}, wantStdout: "STOPPED"},
		// The issue's own example: -F after the name runs in the
		// foreground, and the command is what follows --.
		{args: []string{"start", "c1", "-F", "-P", lxcpath, "--", "/bin/sh", "-c", "echo hi; exit 3"}, code: 3, wantStdout: "hi"},
		{args: []string{"start", "c1", "-P", lxcpath, "-F", "/bin/echo", "bare"}, wantStdout: "bare"},
		{args: []string{"start", "c1", "-d", "-P", lxcpath}},
		{args: []string{"info", "-n", "c1", "-P", lxcpath}, wantStdout: "RUNNING"},
		{args: []string{"attach", "c1", "-P", lxcpath, "-u", "5", "--", "/bin/sh", "-c", "id -u"}, wantStdout: "5"},
		{args: []string{"attach", "c1", "-P", lxcpath, "/bin/echo", "bare"}, wantStdout: "bare"},
		{args: []string{"console", "c1", "-P", lxcpath, "-t", "9"}, code: 1, wantStderr: "tty9", pty: true},
		{args: []string{"freeze", "c1", "-P", lxcpath}, cgroupOnly: true},
		{args: []string{"unfreeze", "c1", "-P", lxcpath}, cgroupOnly: true},
		{args: []string{"cgroup", "c1", "-P", lxcpath, "cgroup.events"}, cgroupOnly: true},
		{args: []string{"stop", "c1", "-P", lxcpath, "-t", "10"}},
		{args: []string{"stop", "c1", "-P", lxcpath}, code: 2, wantStderr: "not running"},
		{args: []string{"destroy", "c1", "-P", lxcpath, "-f"}},
	} {
		var r testenv.Result
		if tc.pty {
			cmd, master := ptyCommand(t, h, tc.args...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmd.Stdin.(*os.File).Close()
			r.Stderr = readAll(master)
			cmd.Wait()
			r.Code = cmd.ProcessState.ExitCode()
		} else {
			r = h.Run(t, tc.args...)
		}
		if tc.cgroupOnly && r.Code == 1 && strings.Contains(r.Stderr, "no cgroup of its own") {
			continue
		}
		if r.Code != tc.code || !strings.Contains(r.Stdout, tc.wantStdout) || !strings.Contains(r.Stderr, tc.wantStderr) {
			t.Fatalf("ulxc %s = exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout with %q, stderr with %q",
				strings.Join(tc.args, " "), r.Code, r.Stdout, r.Stderr, tc.code, tc.wantStdout, tc.wantStderr)
		}
	}
	if _, err := os.Lstat(filepath.Join(lxcpath, "c1")); !os.IsNotExist(err) {
		t.Errorf("%s/c1 after destroy -P: %v", lxcpath, err)
	}
}
