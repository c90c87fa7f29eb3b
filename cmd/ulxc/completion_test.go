package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// TestCompletionBash sources `ulxc completion bash` in bash, as the user,
// and completes command lines: verbs, every verb's flags, a path after a
// flag that takes one, fixed words, and the containers of the store that
// -P names.
func TestCompletionBash(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runtimetest.NewBusybox(t, h, "c1")
	runtimetest.NewBusybox(t, h, "c2")
	script := h.WriteFile(t, "ulxc.bash", h.MustRun(t, "completion", "bash").Stdout)
	h.WriteFile(t, "rc.conf", "")
	other := filepath.Join(h.Dir, "other")
	if r := testenv.RunCmd(t, h.Command(t, nil, "-P", other, "create", "-t", "busybox", "o1")); r.Code != 0 {
		t.Fatalf("create o1: %s", r.Stderr)
	}
	path := "PATH=" + filepath.Dir(testenv.ULXC(t)) + ":/usr/bin:/bin"
	complete := func(words ...string) []string {
		t.Helper()
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		r := testenv.RunCmd(t, h.Exec(t, []string{path}, "bash", "-c", `source "$1"; COMP_WORDS=(`+strings.Join(quoted, " ")+
			`); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _ulxc; printf '%s\n' "${COMPREPLY[@]}"`, "bash", script))
		if r.Code != 0 || r.Stderr != "" {
			t.Fatalf("completing %q: exit %d, %s", words, r.Code, r.Stderr)
		}
		got := strings.Fields(r.Stdout)
		slices.Sort(got)
		return got
	}
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"ulxc", "sto"}, []string{"stop"}},
		{[]string{"ulxc", "-P", other, "w"}, []string{"wait"}},
		{[]string{"ulxc", "start", "--con"}, []string{"--console", "--console-log"}},
		{[]string{"ulxc", "attach", "--rem"}, []string{"--remount-sys-proc"}},
		{[]string{"ulxc", "stop", ""}, []string{"c1", "c2"}},
		{[]string{"ulxc", "-P", other, "info", "-s", ""}, []string{"o1"}},
		{[]string{"ulxc", "lxc-attach", "c"}, []string{"c1", "c2"}},
		{[]string{"ulxc", "completion", ""}, []string{"bash", "fish", "zsh"}},
		{[]string{"ulxc", "device", ""}, []string{"add", "del"}},
		{[]string{"ulxc", "start", "-f", "rc"}, []string{"rc.conf"}},
		{[]string{"ulxc", "stop", "-t", ""}, nil},
		{[]string{"ulxc", "help", "devi"}, []string{"device"}},
	} {
		if got := complete(tc.words...); !slices.Equal(got, tc.want) {
			t.Errorf("completing %q = %q, want %q", tc.words, got, tc.want)
		}
	}
}

// TestCompletionFromFlags: each shell's script names every verb and every
// flag each verb defines, so that a new flag is completed without more
// work; zsh and fish check the syntax when they are installed.
func TestCompletionFromFlags(t *testing.T) {
	docs := verbDocs()
	for _, shell := range []string{"bash", "zsh", "fish"} {
		var out strings.Builder
		e := &env{stdout: &out, stderr: &out, stdin: strings.NewReader("")}
		if err := cmdCompletion(e, []string{shell}); err != nil {
			t.Fatalf("completion %s: %v", shell, err)
		}
		text := out.String()
		for _, d := range docs {
			if !strings.Contains(text, d.name) {
				t.Errorf("completion %s: no verb %s", shell, d.name)
			}
			for _, f := range visibleFlags(d.flags) {
				if !strings.Contains(text, "-"+f.Name) && !strings.Contains(text, "-l "+f.Name) {
					t.Errorf("completion %s: no flag --%s of %s", shell, f.Name, d.name)
				}
			}
		}
		if _, err := os.Stat("/bin/" + shell); err == nil {
			f := filepath.Join(t.TempDir(), "c")
			os.WriteFile(f, []byte(text), 0o644)
			cmd := testenv.RunCmd(t, shellSyntax(shell, f))
			if cmd.Code != 0 {
				t.Errorf("%s -n on the completion script: %s", shell, cmd.Stderr)
			}
		}
	}
	if err := cmdCompletion(&env{stdout: &strings.Builder{}, stderr: &strings.Builder{}}, []string{"tcsh"}); err == nil {
		t.Error("completion tcsh = nil error, want one")
	}
}

func shellSyntax(shell, file string) *exec.Cmd {
	if shell == "fish" {
		return exec.Command("fish", "--no-execute", file)
	}
	return exec.Command(shell, "-n", file)
}
