package main

import (
	_ "embed"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// compatScript is the LXC user's script TestCompat runs.
//
//go:embed testdata/compat/lxc-script.sh
var compatScript string

// compatStep is what one step of the script printed and how it ended.
type compatStep struct {
	name, stdout, stderr string
	code                 int
}

// runCompat runs script as h's user with the container path store, and
// returns its steps in order.
func runCompat(t *testing.T, h *testenv.Home, script, store string, env []string) []compatStep {
	t.Helper()
	errDir := filepath.Join(h.Dir, "stderr-"+filepath.Base(store))
	cmd := h.Exec(t, env, "sh", "-c", script+"\n", "lxc-script", store, errDir)
	mk := h.Exec(t, nil, "mkdir", "-p", errDir)
	if r := testenv.RunCmd(t, mk); r.Code != 0 {
		t.Fatalf("mkdir %s: %s", errDir, r.Stderr)
	}
	r := testenv.RunCmd(t, cmd)
	var steps []compatStep
	var cur *compatStep
	for _, line := range strings.SplitAfter(r.Stdout, "\n") {
		switch {
		case strings.HasPrefix(line, "== exit "):
			cur.code, _ = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "== exit ")))
			b, _ := os.ReadFile(filepath.Join(errDir, cur.name))
			cur.stderr = string(b)
			steps = append(steps, *cur)
			cur = nil
		case strings.HasPrefix(line, "== "):
			cur = &compatStep{name: strings.TrimSpace(strings.TrimPrefix(line, "== "))}
		case cur != nil:
			cur.stdout += line
		}
	}
	return steps
}

// compatWant is what LXC 5 documents, and prints, for each step: the exit
// code and stdout, where digits stand for a pid.
var compatWant = []struct {
	name   string
	code   int
	stdout string // "PID" matches a number
}{
	{"create", 0, ""},
	{"start", 0, ""},
	{"wait-running", 0, ""},
	{"ls-fancy", 0, "NAME STATE   AUTOSTART GROUPS IPV4 IPV6 UNPRIVILEGED \nc1   RUNNING 0         -      -    -    true         \n"},
	{"ls-names", 0, "c1  \n"}, // padded to NAME's width, one a line off a terminal
	{"ls-line", 0, "c1\n"},
	{"info-state", 0, "State:          RUNNING\n"},
	{"info-state-raw", 0, "RUNNING\n"},
	{"info-pid-raw", 0, "PID\n"},
	{"info-key", 0, "lxc.signal.halt = 10\n"}, // SIGUSR1, as LXC keeps it
	{"attach", 3, "inside c1\n"},              // the command's own status
	{"attach-missing", 127, ""},               // a shell's: not found
	{"stop", 0, ""},                           // lxc-stop(1): 0, stopped
	{"stop-again", 2, ""},                     // 2: exists but not running
	{"wait-stopped", 0, ""},
	{"info-stopped", 0, "State:          STOPPED\n"},
	{"ls-stopped", 0, "NAME STATE   AUTOSTART GROUPS IPV4 IPV6 UNPRIVILEGED \nc1   STOPPED 0         -      -    -    true         \n"},
	{"destroy", 0, ""},
	{"ls-empty", 0, ""}, // nothing, not even the header
	{"info-gone", 1, ""},
}

var pidRe = regexp.MustCompile(`[0-9]+`)

// matches reports whether got is want, "PID" standing for a number.
func pidMatches(got, want string) bool {
	if !strings.Contains(want, "PID") {
		return got == want
	}
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(want), "PID", "[0-9]+") + "$"
	return regexp.MustCompile(re).MatchString(got)
}

// TestCompat runs an LXC user's script with "lxc-" replaced by "ulxc ",
// as the unprivileged user, and checks every step's output and exit code
// against what LXC 5 documents and prints. Where LXC itself runs
// containers on this machine, the same script runs with the real lxc-*
// tools too, and the outputs must be the same, pids aside.
func TestCompat(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	lxcStore(t, h) // LXC's default.conf for the user: LXC's map, no network
	bin := filepath.Dir(testenv.ULXC(t))
	env := []string{"PATH=" + bin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	ours := runCompat(t, h, strings.ReplaceAll(compatScript, "lxc-", "ulxc "), filepath.Join(h.Dir, "ulxc-store"), env)
	if len(ours) != len(compatWant) {
		t.Fatalf("the script ran %d steps with ulxc, want %d: %+v", len(ours), len(compatWant), ours)
	}
	for i, w := range compatWant {
		s := ours[i]
		if s.name != w.name || s.code != w.code || !pidMatches(s.stdout, w.stdout) {
			t.Errorf("step %s: exit %d, stdout %q (stderr %q); want %s: exit %d, stdout %q", s.name, s.code, s.stdout, s.stderr, w.name, w.code, w.stdout)
		}
	}

	// LXC itself, as the same user with -P, where it can run containers.
	lxcOut := runCompat(t, h, compatScript, filepath.Join(h.Dir, "lxc-store"), nil)
	if len(lxcOut) < 3 || lxcOut[1].code != 0 || lxcOut[2].code != 0 {
		t.Logf("LXC does not start containers here, compared with the documented values only: %+v", lxcOut[:min(len(lxcOut), 3)])
		return
	}
	for i := range min(len(lxcOut), len(ours)) {
		l, o := lxcOut[i], ours[i]
		same := pidRe.ReplaceAllString(l.stdout, "PID") == pidRe.ReplaceAllString(o.stdout, "PID")
		if l.code != o.code || !same {
			t.Errorf("step %s: ulxc exit %d, %q; lxc exit %d, %q (stderr %q)", o.name, o.code, o.stdout, l.code, l.stdout, l.stderr)
		}
	}
	if len(lxcOut) != len(ours) {
		t.Errorf("LXC ran %d steps, ulxc %d", len(lxcOut), len(ours))
	}
}
