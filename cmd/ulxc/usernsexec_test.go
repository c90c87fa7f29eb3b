package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// subRange is the first /etc/subuid range of u, read naively so the test
// does not trust package subid.
func subRange(t *testing.T, u *testenv.User) (start, count uint64) {
	t.Helper()
	b, err := os.ReadFile("/etc/subuid")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		var owner string
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) == 3 {
			owner = f[0]
		}
		if owner == u.Name || owner == fmt.Sprint(u.UID) {
			fmt.Sscan(f[1], &start)
			fmt.Sscan(f[2], &count)
			return start, min(count, 65536)
		}
	}
	t.Fatalf("no /etc/subuid line for %s", u.Name)
	return 0, 0
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		out = append(out, strings.Join(strings.Fields(l), " "))
	}
	return out
}

func TestUsernsexecExplicitMap(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	start, count := subRange(t, u)
	dir := u.TempDir(t)
	if err := os.Chmod(dir, 0o777); err != nil { // writable by the namespace's root, which is not the user
		t.Fatal(err)
	}
	file := filepath.Join(dir, "f")
	m := fmt.Sprintf("b:0:%d:%d", start, count)
	r := h.MustRun(t, "usernsexec", "-m", m, "--", "sh", "-c",
		`cat /proc/self/uid_map /proc/self/gid_map; id -u; touch "$1" && chown 5:5 "$1"`, "sh", file)
	want := []string{fmt.Sprintf("0 %d %d", start, count), fmt.Sprintf("0 %d %d", start, count), "0"}
	if got := lines(r.Stdout); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("usernsexec -m %s printed %q, want %q", m, got, want)
	}
	fi, err := os.Lstat(file)
	if err != nil {
		t.Fatalf("file chowned inside: %v (stderr %s)", err, r.Stderr)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if uint64(st.Uid) != start+5 || uint64(st.Gid) != start+5 {
		t.Errorf("chown 5:5 inside gave %d:%d on the host, want %d:%d", st.Uid, st.Gid, start+5, start+5)
	}
	if r.Stderr != "" {
		t.Errorf("stderr = %q, want nothing", r.Stderr)
	}
}

func TestUsernsexecDefaultMap(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	start, _ := subRange(t, u)
	file := h.WriteFile(t, "mine", "x")
	r := h.MustRun(t, "usernsexec", "--", "sh", "-c", `cat /proc/self/uid_map; stat -c %u:%g "$1"`, "sh", file)
	got := lines(r.Stdout)
	if len(got) != 3 || got[0] != fmt.Sprintf("0 %d 1", u.UID) || !strings.HasPrefix(got[1], fmt.Sprintf("1 %d ", start)) || got[2] != "0:0" {
		t.Errorf("usernsexec (no -m) printed %q, want uid_map [0 %d 1, 1 %d ...] and the user's file owned by 0:0", got, u.UID, start)
	}
}

func TestUsernsexecDefaultConf(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	start, count := subRange(t, u)
	h.WriteFile(t, ".config/lxc/default.conf", fmt.Sprintf(
		"# as lxc-create writes it\nlxc.include = /etc/lxc/default.conf\nlxc.idmap = u 0 %d %d\nlxc.idmap = g 0 %d %d\n",
		start, count, start, count))
	r := h.MustRun(t, "usernsexec", "--", "cat", "/proc/self/uid_map", "/proc/self/gid_map")
	want := fmt.Sprintf("0 %d %d", start, count)
	if got := lines(r.Stdout); len(got) != 2 || got[0] != want || got[1] != want {
		t.Errorf("usernsexec with default.conf printed %q, want %q twice", got, want)
	}
}

func TestUsernsexecOutsideAllocation(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	start, count := subRange(t, u)
	r := h.Run(t, "usernsexec", "-m", "u:0:300000:10", "--", "true")
	alloc := fmt.Sprintf("%d-%d", start, start+count-1)
	if r.Code != 1 || !strings.Contains(r.Stderr, "300000-300009") || !strings.Contains(r.Stderr, alloc) {
		t.Errorf("usernsexec -m u:0:300000:10 = exit %d, stderr %q, want exit 1 naming 300000-300009 and %s", r.Code, r.Stderr, alloc)
	}
}

func TestUsernsexecNoSubIDs(t *testing.T) {
	u := testenv.NoSubIDUser(t)
	h := u.NewHome(t)
	r := h.Run(t, "usernsexec", "--", "id")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "uid=0(") {
		t.Fatalf("usernsexec -- id as %s = exit %d, stdout %q, stderr %q, want exit 0 and uid=0", u.Name, r.Code, r.Stdout, r.Stderr)
	}
	free := freeSpan(t)
	fix := "usermod --add-subuids " + free + " --add-subgids " + free + " " + u.Name
	if strings.Count(r.Stderr, "ulxc: warning:") != 1 || !strings.Contains(r.Stderr, fix) {
		t.Errorf("stderr = %q, want one warning with %q", r.Stderr, fix)
	}
}

func TestUsernsexecExplicitWithoutSubIDs(t *testing.T) {
	u := testenv.NoSubIDUser(t)
	h := u.NewHome(t)
	r := h.Run(t, "usernsexec", "-m", "b:0:200000:10", "--", "true")
	if r.Code != 1 || !strings.Contains(r.Stderr, "ulxc: hint: ask root for subordinate ids: usermod") {
		t.Errorf("usernsexec -m without subordinate ids = exit %d, stderr %q, want exit 1 and the usermod hint", r.Code, r.Stderr)
	}
}

func TestUsernsexecExitStatus(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"sh", "-c", "exit 7"}, 7},
		{[]string{"sh", "-c", "kill -TERM $$"}, 143},
		{[]string{"true"}, 0},
		{[]string{"ulxc-no-such-command"}, 127},
		{[]string{"-m", "x:0:1:1", "--", "true"}, 2},
		{[]string{"-m", "b:1:200000:10", "--", "true"}, 1}, // root not mapped
	}
	for _, tc := range tests {
		args := append([]string{"usernsexec"}, tc.args...)
		if tc.args[0] != "-m" {
			args = append([]string{"usernsexec", "--"}, tc.args...)
		}
		if r := h.Run(t, args...); r.Code != tc.want {
			t.Errorf("ulxc %q = exit %d (stderr %q), want %d", args, r.Code, r.Stderr, tc.want)
		}
	}
}

func TestUsernsexecDefaultShell(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	cmd := h.Command(t, []string{"SHELL=/bin/sh"}, "usernsexec")
	cmd.Stdin = strings.NewReader("echo shell uid $(id -u)\n")
	r := testenv.RunCmd(t, cmd)
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "shell uid 0" {
		t.Errorf("usernsexec with no command = exit %d, stdout %q, stderr %q, want $SHELL run as uid 0", r.Code, r.Stdout, r.Stderr)
	}
}

func TestUsernsexecForwardsSignals(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	cmd := h.Command(t, nil, "usernsexec", "--", "sh", "-c",
		`trap "echo got; exit 3" TERM; echo ready; while :; do sleep 0.1; done`)
	sc, stderr := startReady(t, cmd)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for sc.Scan() {
		rest = append(rest, sc.Text())
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 3 || strings.Join(rest, "|") != "got" {
		t.Errorf("after SIGTERM to ulxc: exit %d, output %q, want 3 and [got] (stderr %q)", code, rest, stderr.String())
	}
}

// startReady starts cmd, whose first line of output must be "ready", and
// returns the rest of its output and its stderr.
func startReady(t *testing.T, cmd *exec.Cmd) (*bufio.Scanner, *strings.Builder) {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("%v: first line %q, want ready (stderr %q)", cmd.Args[1:], sc.Text(), stderr.String())
	}
	return sc, stderr
}
