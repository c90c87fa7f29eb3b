package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// The veth tests run the unprivileged user's ulxc in a network namespace
// of the test's (newTestNet) that also holds bridges: vethBridge with
// vethGateway and a TCP server on it, and an address-less vethBridge2.
// The helper is a private install of ulxc-netshim (testenv.InstallNetshim:
// its policy and quota state live in a directory of the test's, never
// /etc/ulxc or /run/ulxc), and ulxc a copy of the built binary beside it,
// which is where ulxc looks first (veth.FindHelper).
const (
	vethBridge  = "br0"
	vethBridge2 = "br1"
	vethGateway = "10.57.0.1"
)

type vethRig struct {
	*testNet
	shim testenv.Netshim
	ulxc string // ulxc beside the helper
	h    *testenv.Home
	srv  string // the TCP server on the bridge
}

func newVethRig(t *testing.T) *vethRig {
	t.Helper()
	u := testenv.SubIDUser(t)
	shim := testenv.InstallNetshim(t)
	n := newTestNet(t)
	in := []string{"-n", n.name}
	for _, args := range [][]string{
		{"link", "add", vethBridge, "type", "bridge"},
		{"addr", "add", vethGateway + "/24", "dev", vethBridge},
		{"link", "set", vethBridge, "up"},
		{"link", "add", vethBridge2, "type", "bridge"},
		{"link", "set", vethBridge2, "up"},
	} {
		if out, err := exec.Command("ip", append(in, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// The quota state is the test process's own: start from none.
	if err := os.Truncate(shim.State, 0); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(filepath.Dir(shim.Bin), "ulxc")
	if _, err := os.Stat(bin); err != nil {
		data, err := os.ReadFile(testenv.ULXC(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin+".tmp", data, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(bin+".tmp", bin); err != nil {
			t.Fatal(err)
		}
	}
	r := &vethRig{testNet: n, shim: *shim, ulxc: bin, h: u.NewHome(t)}
	var ln net.Listener
	var err error
	n.do(t, func() { ln, err = net.Listen("tcp", vethGateway+":0") })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello from the bridge\n")
			c.Close()
		}
	}()
	r.srv = ln.Addr().String()
	return r
}

// container creates a busybox container with the config lines, stopped
// at the end of the test should it still run (a test that failed).
func (r *vethRig) container(t *testing.T, name string, lines ...string) string {
	t.Helper()
	dir := runtimetest.NewBusybox(t, r.h, name, lines...)
	t.Cleanup(func() {
		if lsJSON(t, r.h)[name].State == "RUNNING" {
			r.h.Run(t, "stop", "-k", name)
		}
	})
	return dir
}

// start runs `ulxc ARGS...` as the user in the namespace, with the
// helper beside it.
func (r *vethRig) start(t *testing.T, args ...string) testenv.Result {
	t.Helper()
	return testenv.RunCmd(t, r.run(t, r.h, r.ulxc, args...))
}

// hostEnds lists the helper's host ends in the namespace.
func (r *vethRig) hostEnds(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ip", "-n", r.name, "-o", "link", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip link show: %v\n%s", err, out)
	}
	var ends []string
	for _, name := range linkNames(string(out)) {
		if strings.HasPrefix(name, "ulxc") {
			ends = append(ends, name)
		}
	}
	return ends
}

// quotaEntries are the helper's quota state lines whose host end still
// exists: what the next request would count.
func (r *vethRig) quotaEntries(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(r.shim.State)
	if err != nil {
		t.Fatal(err)
	}
	ends := r.hostEnds(t)
	var live []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if f := strings.Fields(line); len(f) == 4 && slices.Contains(ends, f[3]) {
			live = append(live, line)
		}
	}
	return live
}

func linkNames(out string) []string {
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		names = append(names, name)
	}
	return names
}

// TestVethNetwork: a container with two veth interfaces (one on each
// bridge, the second named by default) gets eth0 with its address and
// default route, reaches the bridge's address by ping and TCP from
// busybox, in the foreground and as a daemon; ls -f and info show it;
// stop removes the host ends at once and frees the quota, so that the
// next start, with a quota of one, succeeds; so does a monitor killed
// with SIGKILL, once the kernel has destroyed the namespace. A reboot
// inside makes new pairs within the same quota.
func TestVethNetwork(t *testing.T) {
	r := newVethRig(t)
	u := r.h.User.Name
	r.shim.SetPolicy(t, fmt.Sprintf("%s veth %s 1\n%s veth %s 1\n", u, vethBridge, u, vethBridge2))
	dir := r.container(t, "v",
		"lxc.net.0.type = veth", "lxc.net.0.link = "+vethBridge, "lxc.net.0.flags = up",
		"lxc.net.0.ipv4.address = 10.57.0.2/24", "lxc.net.0.ipv4.gateway = "+vethGateway,
		"lxc.net.0.hwaddr = 02:16:3e:xx:xx:xx",
		"lxc.net.1.type = veth", "lxc.net.1.link = "+vethBridge2, "lxc.net.1.ipv4.address = 10.56.0.2/24")

	script := fmt.Sprintf(`set -e
ip -o addr show dev eth0
ip -o link show eth0
ip -o addr show dev eth1
ip route show default
ping -c 1 -W 5 %s > /dev/null && echo "ping: ok"
echo "tcp: $(nc %s %s < /dev/null)"
`, vethGateway, vethGateway, portOf(r.srv))
	for i := range 2 { // the second start finds the quota of one free again
		res := r.start(t, "start", "-F", "v", "--", "/bin/sh", "-c", script)
		for _, want := range []string{"inet 10.57.0.2/24", "link/ether 02:16:3e:", "eth1 ", "inet 10.56.0.2/24",
			"default via " + vethGateway + " dev eth0", "ping: ok\n", "tcp: hello from the bridge\n"} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("start -F #%d: no %q\nexit %d\nstdout:\n%s\nstderr:\n%s", i+1, want, res.Code, res.Stdout, res.Stderr)
			}
		}
		if res.Code != 0 || strings.Contains(res.Stderr, "not enforced") {
			t.Errorf("start -F #%d: exit %d, stderr %q; want 0 and no warning", i+1, res.Code, res.Stderr)
		}
		if ends := r.hostEnds(t); len(ends) != 0 {
			t.Errorf("after start -F #%d: host ends %v left", i+1, ends)
		}
		if q := r.quotaEntries(t); len(q) != 0 {
			t.Errorf("after start -F #%d: quota entries %q still count", i+1, q)
		}
	}

	// As a daemon.
	if res := r.start(t, "start", "v"); res.Code != 0 {
		t.Fatalf("start: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	ends := r.hostEnds(t)
	if len(ends) != 2 {
		t.Fatalf("host ends of the daemon's container: %v, want two", ends)
	}
	if q := r.quotaEntries(t); len(q) != 2 {
		t.Errorf("quota entries of the daemon's container: %q, want two", q)
	}
	if row := lsJSON(t, r.h)["v"]; !slices.Contains(row.IPv4, "10.57.0.2") || !slices.Contains(row.IPv4, "10.56.0.2") {
		t.Errorf("ls: ipv4 %q, want 10.57.0.2 and 10.56.0.2", row.IPv4)
	}
	if fancy := r.h.MustRun(t, "ls", "-f").Stdout; !strings.Contains(fancy, "10.57.0.2") {
		t.Errorf("ls -f = %q, want 10.57.0.2", fancy)
	}
	info := r.h.MustRun(t, "info", "v").Stdout
	if !regexp.MustCompile(`Network: +eth0: veth on `+vethBridge+`, host end ulxc[0-9a-f]{8}`).MatchString(info) ||
		!strings.Contains(info, "eth1: veth on "+vethBridge2) {
		t.Errorf("info = %q, want both interfaces with their host ends", info)
	}
	// The TCP server hears from the container's address.
	if out := r.h.MustRun(t, "attach", "v", "--", "/bin/sh", "-c", "nc "+vethGateway+" "+portOf(r.srv)+" < /dev/null").Stdout; out != "hello from the bridge\n" {
		t.Errorf("attach: nc to the bridge = %q", out)
	}
	// A reboot inside: the monitor removes the pairs and makes new ones
	// within the same quota of one per bridge.
	waitFor(t, "the first boot", func() bool { return runtimetest.Probe(dir, "done") != "" })
	shutdownAttach(t, r.h, "v", "/bin/sh", "-c", "rm /"+runtimetest.ProbeDir+"/done && reboot")
	waitFor(t, "a second boot with new host ends", func() bool {
		now := r.hostEnds(t)
		return runtimetest.Probe(dir, "done") != "" && len(now) == 2 && !slices.Contains(now, ends[0]) && !slices.Contains(now, ends[1])
	})
	if q := r.quotaEntries(t); len(q) != 2 {
		t.Errorf("quota entries after the reboot: %q, want two", q)
	}
	if out := r.h.MustRun(t, "attach", "v", "--", "/bin/sh", "-c", "nc "+vethGateway+" "+portOf(r.srv)+" < /dev/null").Stdout; out != "hello from the bridge\n" {
		t.Errorf("attach after the reboot: nc to the bridge = %q", out)
	}

	r.h.MustRun(t, "stop", "v")
	if ends := r.hostEnds(t); len(ends) != 0 {
		t.Errorf("after stop: host ends %v left", ends)
	}
	if q := r.quotaEntries(t); len(q) != 0 {
		t.Errorf("after stop: quota entries %q still count", q)
	}
	if res := r.start(t, "start", "-F", "v", "--", "/bin/true"); res.Code != 0 {
		t.Errorf("start after stop: exit %d\n%s", res.Code, res.Stderr)
	}

	// The monitor killed with SIGKILL: the kernel removes the pairs once
	// the namespace goes, and the quota is free for the next start.
	if res := r.start(t, "start", "v"); res.Code != 0 {
		t.Fatalf("start: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	b, err := os.ReadFile(runtimeFile(t, r.h, "v", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Supervisor int }
	if err := json.Unmarshal(b, &st); err != nil || st.Supervisor <= 0 {
		t.Fatalf("state.json = %s, %v: no supervisor pid", b, err)
	}
	if err := syscall.Kill(st.Supervisor, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ls to report STOPPED", func() bool { return lsJSON(t, r.h)["v"].State == "STOPPED" })
	waitFor(t, "the host ends to go after the monitor's SIGKILL", func() bool { return len(r.hostEnds(t)) == 0 })
	if res := r.start(t, "start", "-F", "v", "--", "/bin/true"); res.Code != 0 {
		t.Errorf("start after the monitor's SIGKILL: exit %d\n%s", res.Code, res.Stderr)
	}
}

// TestVethMixed: veth and pasta in one container, neither named: eth0 and
// eth1, each working.
func TestVethMixed(t *testing.T) {
	r := newVethRig(t)
	requireUserNet(t, r.h, "pasta")
	r.shim.SetPolicy(t, r.h.User.Name+" veth "+vethBridge+" 1\n")
	r.container(t, "m",
		"lxc.net.0.type = veth", "lxc.net.0.link = "+vethBridge, "lxc.net.0.flags = up", "lxc.net.0.ipv4.address = 10.57.0.3/24", "lxc.net.0.ipv4.gateway = auto",
		"lxc.net.1.type = pasta")
	res := r.start(t, "start", "-F", "m", "--", "/bin/sh", "-c", fmt.Sprintf(`
ip -o addr show dev eth0
ip -o addr show dev eth1
ip route show default
echo "bridge: $(nc %s %s < /dev/null)"
`, vethGateway, portOf(r.srv)))
	for _, want := range []string{"eth0    inet 10.57.0.3/24", "eth1    inet " + netUplink + "/24", "bridge: hello from the bridge\n",
		"default via " + vethGateway + " dev eth0"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("no %q\nexit %d\nstdout:\n%s\nstderr:\n%s", want, res.Code, res.Stdout, res.Stderr)
		}
	}
	if ends := r.hostEnds(t); len(ends) != 0 {
		t.Errorf("host ends %v left", ends)
	}
}

// TestVethRefusals: a start whose veth cannot be made fails before the
// container's process runs, in the foreground and as a daemon, with the
// cause and the fix, and leaves no host end, no quota entry, no state.
func TestVethRefusals(t *testing.T) {
	r := newVethRig(t)
	u := r.h.User.Name
	dirs := map[string]string{
		"v": r.container(t, "v",
			"lxc.net.0.type = veth", "lxc.net.0.link = "+vethBridge, "lxc.net.0.flags = up", "lxc.net.0.ipv4.address = 10.57.0.4/24"),
		"nobridge":  r.container(t, "nobridge", "lxc.net.0.type = veth", "lxc.net.0.link = br9"),
		"notbridge": r.container(t, "notbridge", "lxc.net.0.type = veth", "lxc.net.0.link = uplink0"),
	}
	r.container(t, "holder",
		"lxc.net.0.type = veth", "lxc.net.0.link = "+vethBridge, "lxc.net.0.ipv4.address = 10.57.0.5/24")
	grant := fmt.Sprintf("%s veth %s 1\n%s veth br9 1\n%s veth uplink0 1\n", u, vethBridge, u, u)

	// A ulxc that finds no helper: beside it none, and /usr/local/bin
	// hidden by an empty directory in a mount namespace of its own.
	noHelper := func(args ...string) testenv.Result {
		empty := t.TempDir()
		if err := os.Chmod(empty, 0o755); err != nil {
			t.Fatal(err)
		}
		sh := `mount --bind "$1" /usr/local/bin && shift && exec "$@"`
		cmd := exec.Command("unshare", append([]string{"-m", "--propagation", "private", "sh", "-c", sh, "sh", empty,
			"ip", "netns", "exec", r.name, "setpriv", "--reuid", fmt.Sprint(r.h.User.UID), "--regid", fmt.Sprint(r.h.User.GID),
			"--clear-groups", testenv.ULXC(t)}, args...)...)
		cmd.Dir, cmd.Env = r.h.Dir, r.h.Env
		return testenv.RunCmd(t, cmd)
	}

	// A ulxc beside a helper installed without its file capability.
	noCap, err := os.MkdirTemp(filepath.Dir(r.shim.Dir), "nocap-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(noCap) })
	for _, f := range []string{r.ulxc, r.shim.Bin} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(noCap, filepath.Base(f)), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("chgrp", testenv.NetshimGroup, filepath.Join(noCap, "ulxc-netshim")).CombinedOutput(); err != nil {
		t.Fatalf("chgrp: %v: %s", err, out)
	}
	if err := os.Chmod(filepath.Join(noCap, "ulxc-netshim"), 0o755|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(noCap, 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, policy, ct string
		hold             bool // another container uses the quota
		noHelper         bool
		bin              string // ulxc to run, default r.ulxc
		want, hint       string
	}{
		{name: "helper missing", noHelper: true, policy: grant, ct: "v",
			want: "lxc.net.0 (veth): ulxc-netshim: not found beside ulxc", hint: "scripts/install-netshim"},
		{name: "helper without its capability", bin: filepath.Join(noCap, "ulxc"), policy: grant, ct: "v",
			want: "ulxc-netshim is not installed correctly: it has no cap_net_admin+ep file capability", hint: "setcap cap_net_admin+ep " + filepath.Join(noCap, "ulxc-netshim")},
		{name: "no quota line", policy: "someoneelse veth " + vethBridge + " 4\n", ct: "v",
			want: "grants " + u + " no veth on " + vethBridge, hint: "add the line `" + u + " veth " + vethBridge + " 2` to /etc/ulxc/usernet"},
		{name: "quota used up", policy: grant, ct: "v", hold: true,
			want: "has 1 of 1 veths on " + vethBridge, hint: "raise your count for " + vethBridge},
		{name: "no such bridge", policy: grant, ct: "nobridge", want: "there is no interface br9", hint: "ip link add br9 type bridge"},
		{name: "not a bridge", policy: grant, ct: "notbridge", want: "uplink0 is a veth, not a bridge", hint: "uplink0 is not a bridge: set lxc.net.N.link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.shim.SetPolicy(t, tc.policy)
			before := 0
			if tc.hold {
				if res := r.start(t, "start", "holder"); res.Code != 0 {
					t.Fatalf("start holder: exit %d\n%s", res.Code, res.Stderr)
				}
				defer r.h.MustRun(t, "stop", "-k", "holder")
				before = 1
			}
			for _, args := range [][]string{{"start", "-F", tc.ct, "--", "/bin/true"}, {"start", tc.ct}} {
				var res testenv.Result
				switch {
				case tc.noHelper:
					res = noHelper(args...)
				case tc.bin != "":
					res = testenv.RunCmd(t, r.run(t, r.h, tc.bin, args...))
				default:
					res = r.start(t, args...)
				}
				if res.Code != 1 || !strings.Contains(res.Stderr, tc.want) || !strings.Contains(res.Stderr, "ulxc: hint: ") ||
					!strings.Contains(res.Stderr, tc.hint) {
					t.Errorf("%v = exit %d, %q; want 1, %q and a hint with %q", args, res.Code, res.Stderr, tc.want, tc.hint)
				}
				if row := lsJSON(t, r.h)[tc.ct]; row.State != "STOPPED" {
					t.Errorf("%v: ls = %+v, want STOPPED", args, row)
				}
				for _, f := range []string{"state.json", "control.sock"} {
					if p := runtimeFile(t, r.h, tc.ct, f); p != "" {
						t.Errorf("%v left %s", args, p)
					}
				}
				if ends := r.hostEnds(t); len(ends) != before {
					t.Errorf("%v: host ends %v, want %d", args, ends, before)
				}
				if q := r.quotaEntries(t); len(q) != before {
					t.Errorf("%v: quota entries %q, want %d", args, q, before)
				}
			}
			if got := runtimetest.Probe(dirs[tc.ct], "done"); got != "" {
				t.Errorf("the container's init ran (%q)", got)
			}
		})
	}
}
