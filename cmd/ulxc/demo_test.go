package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// demoScript is scripts/demo of this checkout.
func demoScript(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "demo")
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDemoShowsPastableCommands: the commands the demo prints read back,
// in a shell, as the words it runs: the quotes of attach's sh -c are kept.
func TestDemoShowsPastableCommands(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	words := []string{"ulxc", "attach", "demo", "--", "sh", "-c", "id; hostname; cat /proc/self/uid_map", "it's", "", "a  b", "$HOME", "*"}
	script := `source "$1"; shift; line=$(show alice "$@"); printf '%s\n' "$line" >&2; eval "set -- ${line#*$ }"; printf '%s\0' "$@"`
	cmd := h.Exec(t, nil, "bash", append([]string{"-c", script, "bash", demoScript(t)}, words...)...)
	r := testenv.RunCmd(t, cmd)
	if got := strings.Split(strings.TrimSuffix(r.Stdout, "\x00"), "\x00"); r.Code != 0 || strings.Join(got, "|") != strings.Join(words, "|") {
		t.Errorf("the demo showed %q, which a shell reads as %q (exit %d); want %q", r.Stderr, got, r.Code, words)
	}
	if !strings.Contains(r.Stderr, "alice$ ulxc attach demo -- sh -c 'id; hostname; cat /proc/self/uid_map'") {
		t.Errorf("the demo showed %q, want the attach line as the README writes it", r.Stderr)
	}
}

// TestDemoSubIDs: the demo user gets 300000-365535, as the README says,
// or the next free span when those are someone's.
func TestDemoSubIDs(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	uids := h.WriteFile(t, "subuid", "a:100000:65536\n")
	gids := h.WriteFile(t, "subgid", "a:100000:65536\n")
	taken := h.WriteFile(t, "taken", "b:300000:65536\nc:365536:10\n")
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{uids, gids}, "300000-365535"},
		{[]string{uids, taken}, "365546-431081"},
	} {
		args := append([]string{"-c", `source "$1"; shift; free_subids 300000 "$@"`, "bash", demoScript(t)}, tc.files...)
		r := testenv.RunCmd(t, h.Exec(t, nil, "bash", args...))
		if got := strings.TrimSpace(r.Stdout); r.Code != 0 || got != tc.want {
			t.Errorf("free_subids 300000 %q = %q (exit %d, %s), want %s", tc.files, got, r.Code, r.Stderr, tc.want)
		}
	}
}
