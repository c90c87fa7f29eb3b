package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// capBnd is the CapBnd mask a shell inside prints.
const capBnd = `grep CapBnd /proc/self/status | cut -f2`

// TestAttachFlags: lxc-attach's -e, -s, -R, -f and -L, as the user.
func TestAttachFlags(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	runningBusybox(t, h, "c1", "lxc.cap.drop = sys_time")
	pid := lsJSON(t, h)["c1"].Pid
	mask := func(r testenv.Result) uint64 {
		t.Helper()
		n, err := strconv.ParseUint(strings.TrimSpace(r.Stdout), 16, 64)
		if err != nil {
			t.Fatalf("CapBnd %q: %v (stderr %s)", r.Stdout, err, r.Stderr)
		}
		return n
	}
	const sysTime = 1 << 25
	if m := mask(h.MustRun(t, "attach", "c1", "--", "sh", "-c", capBnd)); m&sysTime != 0 {
		t.Errorf("attach: CapBnd %x holds CAP_SYS_TIME, which lxc.cap.drop drops", m)
	}
	for _, e := range []string{"-e", "--elevated-privileges=CAP", "-eCAP|LSM"} {
		if m := mask(h.MustRun(t, "attach", e, "c1", "--", "sh", "-c", capBnd)); m&sysTime == 0 {
			t.Errorf("attach %s: CapBnd %x lacks CAP_SYS_TIME, want the whole set", e, m)
		}
	}

	// -f: the bounding set of another config.
	b, err := os.ReadFile(filepath.Join(runtimeStore(h), "c1", "config"))
	if err != nil {
		t.Fatal(err)
	}
	rc := h.WriteFile(t, "rc.conf", string(b)+"lxc.cap.drop = net_raw\n")
	if m := mask(h.MustRun(t, "attach", "-f", rc, "c1", "--", "sh", "-c", capBnd)); m&(1<<13) != 0 || m&sysTime != 0 {
		t.Errorf("attach -f rc.conf: CapBnd %x, want CAP_NET_RAW and CAP_SYS_TIME dropped", m)
	}

	// -s NETWORK: the container's network namespace, the host's mount
	// namespace and so the host's files; -R mounts /sys and /proc of the
	// joined namespaces.
	ns := func(p, kind string) string {
		l, err := os.Readlink(fmt.Sprintf("/proc/%s/ns/%s", p, kind))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	r := h.MustRun(t, "attach", "-s", "NETWORK", "c1", "--", "/bin/sh", "-c", `readlink /proc/self/ns/net /proc/self/ns/mnt; id -u`)
	if got, want := strings.Fields(r.Stdout), []string{ns(strconv.Itoa(pid), "net"), ns("self", "mnt"), "0"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("attach -s NETWORK: net, mnt, uid = %q, want %q (the container's net, the host's mnt, container root)", got, want)
	}
	r = h.MustRun(t, "attach", "-s", "NETWORK|PID", "-R", "c1", "--", "/bin/sh", "-c", `ls /sys/class/net; read -r p rest < /proc/self/stat; echo $$ $p`)
	if got := strings.Fields(r.Stdout); len(got) != 3 || got[0] != "lo" || got[1] != got[2] {
		t.Errorf("attach -s NETWORK|PID -R: /sys/class/net, $$, /proc/self = %q, want lo, then one pid twice", got)
	} else if n, _ := strconv.Atoi(got[1]); n > 100 {
		t.Errorf("attach -s NETWORK|PID -R: pid %d, want a small one of the container's pid namespace", n)
	}
	if _, err := os.Stat("/proc/self/net"); err != nil {
		t.Errorf("the host's /proc after attach -R: %v", err)
	}

	// -L: what the command wrote to its terminal.
	log := filepath.Join(h.Dir, "pty.log")
	out := runOnPty(t, h, "", "attach", "-L", log, "c1", "--", "sh", "-c", "echo logged-$((6*7))")
	if got, _ := os.ReadFile(log); !strings.Contains(string(got), "logged-42") || !strings.Contains(out, "logged-42") {
		t.Errorf("attach -L: log %q, terminal %q; want logged-42 in both", got, out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-s", "NETWORK|BOGUS"}, `unknown namespace "BOGUS"`},
		{[]string{"--elevated-privileges=ROOT"}, `unknown privilege "ROOT"`},
		{[]string{"-R"}, "-R needs -s"},
	} {
		if r := h.Run(t, append(append([]string{"attach"}, tc.args...), "c1", "--", "true")...); r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("attach %s = exit %d, %q; want 2, %s", strings.Join(tc.args, " "), r.Code, r.Stderr, tc.want)
		}
	}
}

// runtimeStore is h's default store.
func runtimeStore(h *testenv.Home) string { return filepath.Join(h.Dir, ".local/share/ulxc") }

func TestOptionalArgs(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"-e", "web"}, []string{"-e", "web"}},
		{[]string{"-eCAP|LSM", "web"}, []string{"--elevated-privileges=CAP|LSM", "web"}},
		{[]string{"-e=CAP", "web"}, []string{"-e=CAP", "web"}},
		{[]string{"web", "--", "-eX"}, []string{"web", "--", "-eX"}},
	} {
		if got := optionalArgs(tc.in, 'e', "elevated-privileges"); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("optionalArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseNamespaces(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uintptr
		ok   bool
	}{
		{"NETWORK", 0x40000000, true},
		{"MOUNT|PID", 0x00020000 | 0x20000000, true},
		{"uts|net|mnt", 0x04000000 | 0x40000000 | 0x00020000, true},
		{"USER|IPC|CGROUP", 0x10000000 | 0x08000000 | 0x02000000, true},
		{"NETWORK|", 0, false},
		{"TIME", 0, false},
	} {
		got, err := parseNamespaces(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("parseNamespaces(%q) = %#x, %v, want %#x, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
