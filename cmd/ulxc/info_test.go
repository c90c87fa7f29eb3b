package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

const mib = 1 << 20

var rootfsLine = regexp.MustCompile(`(?m)^Rootfs: +\S+ \((at least )?([0-9.]+) (bytes|KiB|MiB|GiB|TiB)(.*)\)$`)

// rootfsSize reads the Rootfs line of `ulxc info`: the size in bytes (to
// the two decimals info prints) and, for an incomplete one, what it left
// out ("1 unreadable directory"), or fails the test.
func rootfsSize(t *testing.T, info string) (size float64, gaps string) {
	t.Helper()
	m := rootfsLine.FindStringSubmatch(info)
	if m == nil {
		t.Fatalf("info = %q, want a Rootfs line with a size", info)
	}
	n, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		t.Fatal(err)
	}
	gaps, _ = strings.CutPrefix(m[4], "; ")
	if (m[1] != "") != (gaps != "") {
		t.Fatalf("info = %q: \"at least\" must come with what was left out, and only then", info)
	}
	return n * map[string]float64{"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[m[3]], gaps
}

// allocatedSize is what du counts of a file: its blocks.
func allocatedSize(t *testing.T, name string) float64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(name, &st); err != nil {
		t.Fatal(err)
	}
	return float64(st.Blocks * 512)
}

// inContainerNS runs a busybox shell script as root of a user namespace
// with the container's map and the user's own ids (what create does), with
// the container directory as $1.
func inContainerNS(t *testing.T, h *testenv.Home, dir, script string) {
	t.Helper()
	start, count := runtimetest.SubRange(t, h.User)
	m := fmt.Sprintf("b:0:%d:%d", start, count)
	if r := testenv.RunCmd(t, h.Command(t, nil, "usernsexec", "-m", m, "-s", "--", runtimetest.Busybox, "sh", "-c", script, "sh", dir)); r.Code != 0 {
		t.Fatalf("usernsexec sh -c %q: exit %d: %s%s", script, r.Code, r.Stdout, r.Stderr)
	}
}

// The size counts what only the container's ids may read: info measures
// from a user namespace with the container's map. It used to walk with the
// user's own ids and always said "some directories are unreadable".
func TestInfoRootfsSize(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	dir := runtimetest.NewBusybox(t, h, "du")
	// Container root's private directory, as a real /root is.
	inContainerNS(t, h, dir, `mkdir -m 700 "$1/rootfs/root/private" && head -c 1048576 /dev/urandom > "$1/rootfs/root/private/blob"`)
	busybox := allocatedSize(t, runtimetest.Busybox)

	out := h.MustRun(t, "info", "du").Stdout
	size, gaps := rootfsSize(t, out)
	t.Logf("info: %s", out)
	if gaps != "" {
		t.Errorf("info = %q, want a complete size, without %q", out, gaps)
	}
	if lo, hi := busybox+mib, busybox+2*mib; size < lo || size > hi {
		t.Errorf("info: rootfs size = %.0f bytes, want between %.0f and %.0f (busybox and the 1 MiB in /root/private)", size, lo, hi)
	}

	t.Run("unreadable", func(t *testing.T) {
		if os.Geteuid() != 0 {
			testenv.Skipf(t, "making a directory owned by an id outside the container's map needs root")
		}
		// uid 1 of the host is in neither the container's map nor the
		// user's: root of the walk's namespace may not read it.
		p := filepath.Join(dir, "rootfs/root/alien")
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, 1, 1); err != nil {
			t.Fatal(err)
		}
		out := h.MustRun(t, "info", "du").Stdout
		if _, gaps := rootfsSize(t, out); gaps != "1 unreadable directory" {
			t.Errorf("info with a directory of an unmapped id = %q, want \"at least\" and \"1 unreadable directory\"", out)
		}
	})
}

// Container root swaps directories for FIFOs and for symlinks to / while
// info measures the running container: info returns promptly, without an
// error, with a size that holds nothing of the host.
func TestInfoHostileRootfs(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	dir := runningBusybox(t, h, "hostile")

	swapper := filepath.Join(u.TempDir(t), "swapper")
	build := exec.Command("go", "build", "-o", swapper, "./testdata/swapper")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/swapper: %v\n%s", err, out)
	}
	if err := os.Chmod(swapper, 0o755); err != nil {
		t.Fatal(err)
	}
	// /tmp of the rootfs is world-writable: the user can copy it in.
	if r := testenv.RunCmd(t, h.Exec(t, nil, "cp", swapper, filepath.Join(dir, "rootfs/tmp/swapper"))); r.Code != 0 {
		t.Fatalf("cp swapper into the rootfs: %s", r.Stderr)
	}

	var pairs []string
	script := `set -e; mkfifo /fifo; ln -s / /hostroot; mkdir /w; `
	for n := 1; n <= 6; n++ {
		script += fmt.Sprintf(`mkdir -p /w/d%[1]d/sub /w/e%[1]d/sub; mkfifo /w/f%[1]d; ln -s / /w/l%[1]d; `, n)
		pairs = append(pairs, fmt.Sprintf("/w/d%d /w/f%d /w/e%d /w/l%d", n, n, n, n))
	}
	script += `/tmp/swapper /tmp/swapper.ready ` + strings.Join(pairs, " ") + ` </dev/null >/tmp/swapper.log 2>&1 &`
	h.MustRun(t, "attach", "hostile", "--", "sh", "-c", script)
	ready := filepath.Join(dir, "rootfs/tmp/swapper.ready")
	waitUntil(t, "the swapper's first round", func() bool { _, err := os.Stat(ready); return err == nil })

	busybox := allocatedSize(t, runtimetest.Busybox)
	for i := range 5 {
		cmd := h.Command(t, nil, "info", "hostile")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("info %d: %v: %s", i, err, stderr.String())
			}
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("info %d did not return in 60s: its walk is stuck on a FIFO or in the host's tree", i)
		}
		out := stdout.String()
		if strings.Contains(out, "(size:") {
			t.Fatalf("info %d = %q, want a size, not an error", i, out)
		}
		size, gaps := rootfsSize(t, out)
		if gaps != "" || size > busybox+16*mib {
			t.Fatalf("info %d: rootfs %.0f bytes%s, want complete and at most %.0f (busybox and a few MiB): the host's tree was counted",
				i, size, gaps, busybox+16*mib)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "rootfs/tmp/swapper.log")); len(b) > 0 {
		t.Errorf("the swapper failed, so the walks were not attacked: %s", b)
	}
}

func TestLXCSize(t *testing.T) {
	for _, tc := range []struct {
		in   uint64
		want string
	}{
		{0, "0 bytes"},
		{1024, "1024 bytes"},
		{1025, "1.00 KiB"},
		{933888, "912.00 KiB"},
		{917504, "896.00 KiB"},
		{1536 * 1024, "1.50 MiB"},
		{1<<30 + 1, "1.00 GiB"},
		{5*(1<<30) + 3*(1<<28), "5.74 GiB"}, // LXC truncates, to the digit
	} {
		if got := lxcSize(tc.in); got != tc.want {
			t.Errorf("lxcSize(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestInfoFlags: lxc-info's -s, -p, -i, -H and -c print the lines, or
// the bare values, that scripts read; for a container LXC made, the same
// bytes as lxc-info itself.
func TestInfoFlags(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	runningBusybox(t, h, "up")
	pid := strconv.Itoa(lsJSON(t, h)["up"].Pid)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-s"}, "State:          RUNNING\n"},
		{[]string{"-s", "-H"}, "RUNNING\n"},
		{[]string{"-p"}, "PID:            " + pid + "\n"},
		{[]string{"-p", "-H"}, pid + "\n"},
		{[]string{"-s", "-p", "-H"}, "State:          RUNNING\nPID:            " + pid + "\n"},
		{[]string{"-i"}, ""}, // loopback only
		{[]string{"-c", "lxc.uts.name"}, "lxc.uts.name = up\n"},
		{[]string{"-c", "lxc.uts.name", "-H"}, "up\n"},
		{[]string{"-c", "lxc.signal.halt", "-c", "lxc.group"}, "lxc.signal.halt = 10\nlxc.group =\n"}, // LXC prints signals as numbers
	} {
		if r := h.MustRun(t, append([]string{"info", "up"}, tc.args...)...); r.Stdout != tc.want {
			t.Errorf("info up %s = %q, want %q", strings.Join(tc.args, " "), r.Stdout, tc.want)
		}
	}
	full := h.MustRun(t, "info", "up").Stdout
	if !strings.HasPrefix(full, "Name:           up\nState:          RUNNING\nPID:            "+pid+"\n") {
		t.Errorf("info up = %q, want lxc-info's Name, State and PID lines first", full)
	}
	if r := h.Run(t, "info", "up", "-c", "lxc.nosuch"); r.Code != 2 || !strings.Contains(r.Stderr, "lxc.nosuch") {
		t.Errorf("info -c lxc.nosuch = exit %d, %q; want 2 naming the key", r.Code, r.Stderr)
	}

	store := lxcStore(t, h, "bb")
	for _, args := range [][]string{{}, {"-s"}, {"-s", "-H"}, {"-p"}, {"-i", "-p"}, {"-c", "lxc.uts.name", "-c", "lxc.idmap"},
		{"-c", "lxc.tty.max", "-H"}, {"-c", "lxc.group", "-c", "lxc.net.0.type"}, {"-c", "lxc.signal.halt", "-c", "lxc.signal.reboot"}} {
		lxc := testenv.RunCmd(t, h.Exec(t, nil, "lxc-info", append([]string{"-P", store, "-n", "bb"}, args...)...))
		ours := h.Run(t, append([]string{"-P", store, "info", "bb"}, args...)...)
		want := lxc.Stdout
		if len(args) == 0 {
			// ulxc adds its own lines (Rootfs, Idmap) after lxc-info's.
			ours.Stdout = ours.Stdout[:min(len(ours.Stdout), len(want))]
		}
		if ours.Code != lxc.Code || ours.Stdout != want {
			t.Errorf("info %s: exit %d, %q\nlxc-info: exit %d, %q\nstderr: %s", strings.Join(args, " "), ours.Code, ours.Stdout, lxc.Code, want, ours.Stderr)
		}
	}
}

// TestInfoStatsDelegated: with a cgroup of its own the container's CPU
// use is read from it: seconds, or nanoseconds with -H.
func TestInfoStatsDelegated(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	cg := delegatedCgroup(t, u)
	dir := runtimetest.NewBusybox(t, h, "c1")
	appendFile(t, filepath.Join(dir, "rootfs/etc/inittab"), counterLine)
	if r := runIn(t, h, cg, "start", "c1"); r.Code != 0 {
		t.Fatalf("start c1 in a delegated cgroup: exit %d: %s", r.Code, r.Stderr)
	}
	t.Cleanup(func() { h.Run(t, "stop", "-k", "c1") })
	waitUntil(t, "the counter to run", func() bool { return counter(dir) > 10 })
	if out := h.MustRun(t, "info", "-S", "c1").Stdout; !regexp.MustCompile(`(?m)^CPU use:        [0-9]+\.[0-9]{2} seconds$`).MatchString(out) {
		t.Errorf("info -S = %q, want a CPU use line in seconds", out)
	}
	out := h.MustRun(t, "info", "-S", "-H", "c1").Stdout
	m := regexp.MustCompile(`(?m)^CPU use:        ([0-9]+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("info -S -H = %q, want a CPU use line in nanoseconds", out)
	}
	if n, _ := strconv.ParseUint(m[1], 10, 64); n == 0 {
		t.Errorf("info -S -H: CPU use %s ns of a busy container, want more than 0", m[1])
	}
}
