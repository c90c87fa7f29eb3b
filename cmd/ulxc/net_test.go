package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/download/downloadtest"
	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// The network tests send nothing outside a network namespace each test
// makes as root (ip netns add): in it, a veth pair whose two ends are
// its whole world. One end, the uplink, has the default routes, which
// pasta copies into the container with its addresses; the other holds
// netHost, where the test's TCP, UDP and DNS servers listen. The helpers
// run in that namespace (ip netns exec, which also binds
// /etc/netns/NAME/resolv.conf, naming netHost as the resolver, over
// /etc/resolv.conf), so the container's traffic ends there.
const (
	netUplink  = "10.99.0.1"
	netUplink6 = "fd99::1"
	netHost    = "10.98.0.1"
	// dnsName resolves, at the test's DNS server only, to dnsAnswer (an
	// address of TEST-NET-1 that nothing contacts).
	dnsName   = "ulxc-test.example"
	dnsAnswer = "192.0.2.7"
)

var netSeq atomic.Int32

// testNet is a network namespace made for one test.
type testNet struct{ name string }

func newTestNet(t *testing.T) *testNet {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "the network tests make a network namespace (ip netns add), which needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		testenv.Skipf(t, "no ip(8) for the test's network namespace: apt-get install iproute2")
	}
	n := &testNet{name: fmt.Sprintf("ulxct-%d-%d", os.Getpid(), netSeq.Add(1))}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", n.name)
	etc := filepath.Join("/etc/netns", n.name)
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", n.name).Run()
		os.RemoveAll(etc)
	})
	in := []string{"-n", n.name}
	ip(append(in, "link", "add", "uplink0", "type", "veth", "peer", "name", "srv0")...)
	ip(append(in, "addr", "add", netUplink+"/24", "dev", "uplink0")...)
	ip(append(in, "addr", "add", netUplink6+"/64", "dev", "uplink0", "nodad")...)
	ip(append(in, "addr", "add", netHost+"/24", "dev", "srv0")...)
	for _, l := range []string{"lo", "uplink0", "srv0"} {
		ip(append(in, "link", "set", l, "up")...)
	}
	ip(append(in, "route", "add", "default", "via", "10.99.0.254", "dev", "uplink0")...)
	ip(append(in, "-6", "route", "add", "default", "via", "fd99::fe", "dev", "uplink0")...)
	// The helpers send the container's echo requests through ping
	// sockets of this namespace, as the user.
	if out, err := exec.Command("ip", "netns", "exec", n.name, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647").CombinedOutput(); err != nil {
		t.Fatalf("ping_group_range: %v\n%s", err, out)
	}
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte("nameserver "+netHost+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return n
}

// do runs fn on a thread in the namespace: sockets fn makes belong to it.
func (n *testNet) do(t *testing.T, fn func()) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer self.Close()
		target, err := os.Open(filepath.Join("/run/netns", n.name))
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		fn()
		// Back, or the thread stays locked and ends with the goroutine.
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
			goruntime.UnlockOSThread()
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatalf("enter network namespace %s: %v", n.name, err)
	}
}

// ulxc is `ulxc ARGS...` run as h's user inside the namespace.
func (n *testNet) ulxc(t *testing.T, h *testenv.Home, args ...string) *exec.Cmd {
	t.Helper()
	return n.run(t, h, testenv.ULXC(t), args...)
}

// run is `PROG ARGS...` run as h's user inside the namespace.
func (n *testNet) run(t *testing.T, h *testenv.Home, prog string, args ...string) *exec.Cmd {
	t.Helper()
	u := h.User
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.name, "setpriv",
		"--reuid", strconv.Itoa(int(u.UID)), "--regid", strconv.Itoa(int(u.GID)), "--clear-groups",
		prog}, args...)...)
	cmd.Dir = h.Dir
	cmd.Env = append([]string{}, h.Env...)
	if ci := os.Getenv("CI"); ci != "" {
		cmd.Env = append(cmd.Env, "CI="+ci)
	}
	return cmd
}

// servers are the test's TCP, UDP and DNS servers at netHost, and a TCP
// server on the namespace's loopback, which containers must not reach.
type servers struct {
	tcp, udp, loopback string
	dnsQueries         atomic.Int32
}

func (n *testNet) servers(t *testing.T) *servers {
	t.Helper()
	s := &servers{}
	var tl, ll net.Listener
	var uc, dc net.PacketConn
	var err error
	n.do(t, func() {
		if tl, err = net.Listen("tcp", netHost+":0"); err != nil {
			return
		}
		if ll, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return
		}
		if uc, err = net.ListenPacket("udp", netHost+":0"); err != nil {
			return
		}
		dc, err = net.ListenPacket("udp", netHost+":53")
	})
	if err != nil {
		t.Fatalf("servers in %s: %v", n.name, err)
	}
	t.Cleanup(func() { tl.Close(); ll.Close(); uc.Close(); dc.Close() })
	s.tcp, s.udp, s.loopback = tl.Addr().String(), uc.LocalAddr().String(), ll.Addr().String()
	for l, greeting := range map[net.Listener]string{tl: "hello from the host", ll: "BREACH: the host's loopback"} {
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				fmt.Fprintf(c, "%s\n", greeting)
				c.Close()
			}
		}()
	}
	go func() {
		buf := make([]byte, 512)
		for {
			k, from, err := uc.ReadFrom(buf)
			if err != nil {
				return
			}
			uc.WriteTo(append([]byte("echo: "), buf[:k]...), from)
		}
	}()
	go func() {
		buf := make([]byte, 512)
		for {
			k, from, err := dc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := dnsAnswerTo(buf[:k]); resp != nil {
				s.dnsQueries.Add(1)
				dc.WriteTo(resp, from)
			}
		}
	}()
	return s
}

// dnsAnswerTo answers a DNS query: dnsName's A record is dnsAnswer, it
// has no other record, and no other name exists.
func dnsAnswerTo(q []byte) []byte {
	if len(q) < 12 || q[2]&0x80 != 0 {
		return nil
	}
	i := 12
	var labels []string
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if l > 63 || i+1+l >= len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i+1:])
	resp := append([]byte{}, q[:i+5]...)
	resp[2], resp[3] = 0x81, 0x80 // a response, recursion desired and available
	binary.BigEndian.PutUint16(resp[4:], 1)
	binary.BigEndian.PutUint16(resp[6:], 0)
	binary.BigEndian.PutUint16(resp[8:], 0)
	binary.BigEndian.PutUint16(resp[10:], 0)
	if !strings.EqualFold(strings.Join(labels, "."), dnsName) {
		resp[3] |= 3 // NXDOMAIN
		return resp
	}
	if qtype == 1 {
		binary.BigEndian.PutUint16(resp[6:], 1)
		resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		resp = append(resp, net.ParseIP(dnsAnswer).To4()...)
	}
	return resp
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// dialIn connects to addr from inside the namespace and returns what the
// server says.
func (n *testNet) dialIn(t *testing.T, addr string) (string, error) {
	t.Helper()
	var c net.Conn
	var err error
	n.do(t, func() { c, err = net.DialTimeout("tcp", addr, 2*time.Second) })
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	return strings.TrimSpace(string(b)), err
}

// requireUserNet skips without the helper, or a /dev/net/tun the test
// user may open.
func requireUserNet(t *testing.T, h *testenv.Home, helper string) {
	t.Helper()
	if _, err := exec.LookPath(helper); err != nil {
		testenv.Skipf(t, "%s is not installed (scripts/setup installs it: apt-get install %s)", helper,
			map[string]string{"pasta": "passt", "slirp4netns": "slirp4netns"}[helper])
	}
	if r := testenv.RunCmd(t, h.Exec(t, nil, "sh", "-c", "exec 3<>/dev/net/tun")); r.Code != 0 {
		testenv.Skipf(t, "the test user may not open /dev/net/tun (%s): scripts/setup makes it mode 0666, as stock Debian has it", strings.TrimSpace(r.Stderr))
	}
}

// helperPid returns the pid of the container's network helper that info
// reports, and a pidfd of it that tells when it has exited.
func helperPid(t *testing.T, h *testenv.Home, name, helper string) (int, int) {
	t.Helper()
	info := h.MustRun(t, "info", name).Stdout
	m := regexp.MustCompile(`Network: +eth0: ` + helper + `, pid (\d+)`).FindStringSubmatch(info)
	if m == nil {
		t.Fatalf("info = %q, want a Network line naming %s and its pid", info, helper)
	}
	pid, _ := strconv.Atoi(m[1])
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("helper %d: %v", pid, err)
	}
	t.Cleanup(func() {
		unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		unix.Close(fd)
	})
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if base := filepath.Base(exe); !strings.Contains(base, helper) && !(helper == "pasta" && strings.HasPrefix(base, "passt")) {
		t.Fatalf("pid %d that info names runs %s, not %s", pid, exe, helper)
	}
	return pid, fd
}

// gone waits for the process of pidfd to exit.
func gone(t *testing.T, what string, pid, pidfd int) {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for deadline := time.Now().Add(10 * time.Second); ; {
		n, err := unix.Poll(fds, 100)
		if n == 1 {
			return
		}
		if (err != nil && err != unix.EINTR) || time.Now().After(deadline) {
			t.Fatalf("%s: the network helper %d is still running", what, pid)
		}
	}
}

// TestUserModeNetwork runs a container with each user-mode helper in a
// network namespace of the test's: it reaches the test's servers by TCP
// and UDP, resolves a name through the helper's DNS forwarding, pings as
// root and as a user, is reached through port forwards on the
// namespace's loopback only, shows its addresses in ls and info, and no
// helper is left once it stops or its monitor is killed.
func TestUserModeNetwork(t *testing.T) {
	for _, tc := range []struct {
		helper, dns, gateway string
		ipv4, ipv6           []string // the container's addresses
	}{
		{"pasta", "169.254.1.1", "10.99.0.254", []string{netUplink}, []string{netUplink6}},
		{"slirp4netns", "10.0.2.3", "10.0.2.2", []string{"10.0.2.100"}, nil},
	} {
		t.Run(tc.helper, func(t *testing.T) {
			u := testenv.SubIDUser(t)
			h := u.NewHome(t)
			requireUserNet(t, h, tc.helper)
			n := newTestNet(t)
			srv := n.servers(t)
			probe := testenv.BuildStatic(t, "cmd/ulxc/testdata/netprobe", "netprobe", "")
			runtimetest.NewBusybox(t, h, "net", "lxc.net.0.type = "+tc.helper, "lxc.net.0.forward = tcp:18081:8080",
				"lxc.mount.entry = "+probe+" opt/probe none bind,ro,create=dir 0 0")

			// Outbound, from the foreground.
			script := fmt.Sprintf(`set -e
echo nameserver %[1]s > /etc/resolv.conf
/opt/probe/netprobe connect %[2]s
/opt/probe/netprobe udp %[3]s
/opt/probe/netprobe resolve %[4]s
ping -c 1 -W 5 %[5]s > /dev/null && echo "ping %[5]s: busybox as root"
/opt/probe/netprobe ping %[5]s 1000
# The host's loopback is out of reach, through the gateway or the
# container's own loopback.
/opt/probe/netprobe connect %[6]s:%[7]s 3 || true
/opt/probe/netprobe connect 127.0.0.1:%[7]s 3 || true
`, tc.dns, srv.tcp, srv.udp, dnsName, netHost, tc.gateway, portOf(srv.loopback))
			r := testenv.RunCmd(t, n.ulxc(t, h, "start", "-F", "net", "--", "/bin/sh", "-c", script))
			for _, want := range []string{
				"tcp " + srv.tcp + ": hello from the host",
				"udp " + srv.udp + ": echo: udp from the container",
				"resolve " + dnsName + ": " + dnsAnswer,
				"ping " + netHost + ": busybox as root",
				"ping " + netHost + ": echo reply as uid 1000",
			} {
				if !strings.Contains(r.Stdout, want+"\n") {
					t.Errorf("inside: no %q\nexit %d\nstdout:\n%s\nstderr:\n%s", want, r.Code, r.Stdout, r.Stderr)
				}
			}
			if strings.Contains(r.Stdout, "BREACH") {
				t.Errorf("the container reached the host's loopback:\n%s", r.Stdout)
			}
			if srv.dnsQueries.Load() == 0 {
				t.Errorf("the test's DNS server got no query")
			}

			// Inbound: -p and lxc.net.0.forward, on the loopback only.
			r = testenv.RunCmd(t, n.ulxc(t, h, "start", "--publish", "18080:8080", "net", "--", "/opt/probe/netprobe", "serve", "8080"))
			if r.Code != 0 {
				t.Fatalf("start -p: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
			}
			for _, port := range []string{"18080", "18081"} {
				var got string
				waitFor(t, "the forward from port "+port, func() bool {
					got, _ = n.dialIn(t, "127.0.0.1:"+port)
					return got != ""
				})
				if got != "hello from the container, port 8080" {
					t.Errorf("127.0.0.1:%s answers %q, want the container's server", port, got)
				}
			}
			if got, err := n.dialIn(t, netHost+":18080"); err == nil {
				t.Errorf("%s:18080 answers %q: a forward without an address must bind 127.0.0.1 only", netHost, got)
			}

			// ls -f and info read the addresses from the container's
			// network namespace.
			row := lsJSON(t, h)["net"]
			for _, a := range tc.ipv4 {
				if !slices.Contains(row.IPv4, a) {
					t.Errorf("ls: ipv4 %q, want %s", row.IPv4, a)
				}
			}
			for _, a := range tc.ipv6 {
				if !slices.Contains(row.IPv6, a) {
					t.Errorf("ls: ipv6 %q, want %s", row.IPv6, a)
				}
			}
			fancy := h.MustRun(t, "ls", "-f").Stdout
			info := h.MustRun(t, "info", "net").Stdout
			for _, a := range append(append([]string{}, tc.ipv4...), tc.ipv6...) {
				if !strings.Contains(fancy, a) {
					t.Errorf("ls -f = %q, want %s", fancy, a)
				}
				if !regexp.MustCompile(`(?m)^IP: +` + regexp.QuoteMeta(a) + `$`).MatchString(info) {
					t.Errorf("info = %q, want IP: %s", info, a)
				}
			}

			// Stopped: the helper goes with the container.
			pid, fd := helperPid(t, h, "net", tc.helper)
			h.MustRun(t, "stop", "-k", "net")
			gone(t, "after stop", pid, fd)

			// The monitor killed with SIGKILL: the helper goes too.
			if r := testenv.RunCmd(t, n.ulxc(t, h, "start", "net", "--", "/opt/probe/netprobe", "serve", "8080")); r.Code != 0 {
				t.Fatalf("start: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
			}
			pid, fd = helperPid(t, h, "net", tc.helper)
			b, err := os.ReadFile(runtimeFile(t, h, "net", "state.json"))
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
			gone(t, "after SIGKILL of the monitor", pid, fd)
			waitFor(t, "ls to report STOPPED", func() bool { return lsJSON(t, h)["net"].State == "STOPPED" })
		})
	}
}

// TestUserModeNetworkRefusals: a start that cannot have its network fails
// before the container runs, with the fix, and leaves nothing; -p is
// checked before anything starts. Nothing here reaches a network: each
// start fails before a helper would run.
func TestUserModeNetworkRefusals(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	dir := runtimetest.NewBusybox(t, h, "bb", "lxc.net.0.type = pasta")
	runtimetest.NewBusybox(t, h, "lo", "lxc.net.0.type = empty")

	// A PATH with the id map helpers but without pasta.
	bin := u.TempDir(t)
	for _, name := range []string{"newuidmap", "newgidmap"} {
		p, err := exec.LookPath(name)
		if err != nil {
			testenv.Skipf(t, "no %s: apt-get install uidmap", name)
		}
		if err := os.Symlink(p, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"start", "-F", "bb", "--", "/bin/true"}, {"start", "bb"}} {
		r := testenv.RunCmd(t, h.Command(t, []string{"PATH=" + bin}, args...))
		if r.Code != 1 || !strings.Contains(r.Stderr, "lxc.net.0 (pasta): network helper not installed: pasta is not in PATH (install it: apt-get install passt)") ||
			!strings.Contains(r.Stderr, "hint: install user-mode networking") {
			t.Errorf("%v without pasta = exit %d, %q; want 1, the missing helper and the hint", args, r.Code, r.Stderr)
		}
		if row := lsJSON(t, h)["bb"]; row.State != "STOPPED" {
			t.Errorf("%v without pasta: ls = %+v, want STOPPED", args, row)
		}
		for _, f := range []string{"state.json", "control.sock"} {
			if p := runtimeFile(t, h, "bb", f); p != "" {
				t.Errorf("%v without pasta left %s", args, p)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "rootfs", runtimetest.ProbeDir, "done")); err == nil {
			t.Errorf("%v without pasta: the container's init ran", args)
		}
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"start", "--publish", "80", "bb"}, 2, `port forward "80": not two ports`},
		{[]string{"start", "--publish", "localhost:80:80", "bb"}, 2, "is not an IPv4 address"},
		{[]string{"start", "--publish", "1:2", "--publish", "1:3", "bb"}, 2, "tcp port 1 on 127.0.0.1 is forwarded twice"},
		{[]string{"start", "--publish", "8080:80", "lo"}, 1, "hint: --publish forwards through user-mode networking"},
	} {
		r := h.Run(t, tc.args...)
		if r.Code != tc.code || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("%v = exit %d, %q; want %d and %q", tc.args, r.Code, r.Stderr, tc.code, tc.want)
		}
	}
	if row := lsJSON(t, h)["lo"]; row.State != "STOPPED" {
		t.Errorf("ls after refused starts = %+v, want STOPPED", row)
	}
}

// TestCreateDefaultNetwork: create writes the best user-mode networking
// installed into a download container's config, in sight; an lxc.net of
// default.conf is kept; without a helper the container gets empty and
// the user the package to install; the busybox template has none.
func TestCreateDefaultNetwork(t *testing.T) {
	u := testenv.SubIDUser(t)
	if _, err := exec.LookPath("pasta"); err != nil {
		testenv.Skipf(t, "pasta is not installed (scripts/setup installs it: apt-get install passt)")
	}
	srv := downloadtest.New(t, downloadtest.Options{})

	h := newImageHome(t, u, srv)
	r := h.mustCreate(t, h.createArgs("web")...)
	conf := filepath.Join(h.containerDir("web"), "config")
	b, _ := os.ReadFile(conf)
	if got := configValues(t, conf, "lxc.net.0.type"); !slices.Equal(got, []string{"pasta"}) ||
		!strings.Contains(string(b), "\n# Network configuration\n# ulxc's default: user-mode networking through pasta") {
		t.Errorf("config of web:\n%s\nwant lxc.net.0.type = pasta under a comment", b)
	}
	if strings.Contains(r.Stderr, "pasta") {
		t.Errorf("create warned about pasta: %q", r.Stderr)
	}

	h2 := newImageHome(t, u, srv)
	h2.WriteFile(t, ".config/lxc/default.conf", "lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\n")
	h2.mustCreate(t, h2.createArgs("br")...)
	conf = filepath.Join(h2.containerDir("br"), "config")
	if got := configValues(t, conf, "lxc.net.0.type"); !slices.Equal(got, []string{"veth"}) {
		t.Errorf("lxc.net.0.type = %q with default.conf's veth, want it kept alone", got)
	}

	// A PATH with the id map helpers and neither pasta nor slirp4netns.
	bin := u.TempDir(t)
	for _, name := range []string{"newuidmap", "newgidmap"} {
		p, err := exec.LookPath(name)
		if err != nil {
			testenv.Skipf(t, "no %s: apt-get install uidmap", name)
		}
		if err := os.Symlink(p, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	h3 := newImageHome(t, u, srv)
	r = testenv.RunCmd(t, h3.Command(t, []string{"PATH=" + bin}, h3.createArgs("lo")...))
	conf = filepath.Join(h3.containerDir("lo"), "config")
	if r.Code != 0 || !strings.Contains(r.Stderr, "neither pasta nor slirp4netns is installed") || !strings.Contains(r.Stderr, "apt-get install passt") {
		t.Errorf("create without helpers = exit %d, %q; want success and a warning naming passt", r.Code, r.Stderr)
	} else if got := configValues(t, conf, "lxc.net.0.type"); !slices.Equal(got, []string{"empty"}) {
		t.Errorf("lxc.net.0.type = %q without helpers, want empty", got)
	}

	h.MustRun(t, "create", "bb", "-t", "busybox")
	if got := configValues(t, filepath.Join(h.containerDir("bb"), "config"), "lxc.net.0.type"); !slices.Equal(got, []string{"empty"}) {
		t.Errorf("busybox template: lxc.net.0.type = %q, want empty", got)
	}
}
