package veth

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/netshim"
)

// childEnv makes the test binary run Setup instead of the tests: as the
// unprivileged test user, as a container's supervisor would, with the
// sandbox's network namespace as descriptor 3.
const childEnv = "ULXC_VETH_TEST_CHILD"

func TestMain(m *testing.M) {
	if req := os.Getenv(childEnv); req != "" {
		os.Exit(setupChild(req))
	}
	code := m.Run()
	testenv.Cleanup()
	os.Exit(code)
}

type childRequest struct {
	Annotations map[string]string
	Helper      string
	// Remove: Attach, then Remove at once, while the namespace lives.
	Remove bool
}

type childResult struct {
	Attached []Attached
	Error    string
	Is       []string // the sentinels the error matches
	Fix      string
}

var sentinels = map[string]error{
	"ErrNotInstalled": netshim.ErrNotInstalled, "ErrInstall": netshim.ErrInstall, "ErrNoQuota": netshim.ErrNoQuota,
	"ErrQuotaUsed": netshim.ErrQuotaUsed, "ErrBridge": netshim.ErrBridge, "ErrNamespace": netshim.ErrNamespace,
	"ErrUsage": netshim.ErrUsage, "ErrPolicy": netshim.ErrPolicy, "ErrConfig": ErrConfig,
}

func setupChild(req string) int {
	var r childRequest
	if err := json.Unmarshal([]byte(req), &r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var res childResult
	its, err := FromAnnotations(r.Annotations)
	switch {
	case err == nil && r.Remove:
		var p *Pairs
		if p, err = Attach(context.Background(), os.NewFile(3, "netns"), its, Options{Helper: r.Helper}); err == nil {
			res.Attached = p.Attached
			err = p.Remove()
		}
	case err == nil:
		res.Attached, err = Setup(context.Background(), os.NewFile(3, "netns"), its, Options{Helper: r.Helper})
	}
	if err != nil {
		res.Error = err.Error()
		for name, s := range sentinels {
			if errors.Is(err, s) {
				res.Is = append(res.Is, name)
			}
		}
		var he *netshim.HelperError
		if errors.As(err, &he) {
			res.Fix = he.Fix()
		}
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// rig is one test's world: the helper installed as root installs it, a
// network namespace with a bridge br0 (10.58.0.1/24, fd58::1/64) and an
// address-less bridge br1, the test user and a sandbox of theirs standing
// for the container.
type rig struct {
	shim *testenv.Netshim
	ns   *testenv.Netns
	user *testenv.User
	box  *testenv.Sandbox
	bin  string // this test binary, where the user can run it
}

var (
	binOnce sync.Once
	binDir  string
)

func newRig(t *testing.T) *rig {
	t.Helper()
	shim := testenv.InstallNetshim(t)
	ns := testenv.NewNetns(t)
	ns.IP(t, "link", "add", "br0", "type", "bridge")
	ns.IP(t, "addr", "add", "10.58.0.1/24", "dev", "br0")
	ns.IP(t, "-6", "addr", "add", "fd58::1/64", "dev", "br0", "nodad")
	ns.IP(t, "link", "set", "br0", "up")
	ns.IP(t, "link", "add", "br1", "type", "bridge")
	user := testenv.SubIDUser(t)
	if err := os.Truncate(shim.State, 0); err != nil {
		t.Fatal(err)
	}
	shim.SetPolicy(t, "ulxc-test veth br0 2\nulxc-test veth br1 1\n")
	r := &rig{shim: shim, ns: ns, user: user, box: user.NewSandbox(t)}
	binOnce.Do(func() {
		self, err := os.Executable()
		if err != nil {
			return
		}
		dir, err := os.MkdirTemp(filepath.Dir(shim.Dir), "veth-test-")
		if err != nil {
			return
		}
		data, err := os.ReadFile(self)
		if err == nil && os.Chmod(dir, 0o755) == nil && os.WriteFile(filepath.Join(dir, "veth.test"), data, 0o755) == nil {
			binDir = dir
		}
	})
	if binDir == "" {
		t.Fatal("could not copy the test binary where the test user can run it")
	}
	r.bin = filepath.Join(binDir, "veth.test")
	return r
}

// setup runs Setup as the test user, in the rig's namespace (where the
// bridges are, as the supervisor is where the host's bridges are), on box.
func (r *rig) setup(t *testing.T, box *testenv.Sandbox, helper string, ann map[string]string) childResult {
	t.Helper()
	return r.child(t, box, childRequest{Annotations: ann, Helper: helper})
}

func (r *rig) child(t *testing.T, box *testenv.Sandbox, creq childRequest) childResult {
	t.Helper()
	req, _ := json.Marshal(creq)
	cmd := exec.Command(r.bin)
	cmd.Env = []string{childEnv + "=" + string(req)}
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{box.Netns}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: r.user.UID, Gid: r.user.GID, Groups: []uint32{}}}
	var out []byte
	err := testenv.InNetns(r.ns.File, func() error {
		var err error
		out, err = cmd.Output()
		return err
	})
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("Setup child: %v: %s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var res childResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("Setup child printed %q: %v", out, err)
	}
	return res
}

// inBox runs a command in the sandbox's network namespace (as root, who
// may enter it) and returns its output.
func inBox(t *testing.T, box *testenv.Sandbox, name string, args ...string) (string, error) {
	t.Helper()
	var out []byte
	err := testenv.InNetns(box.Netns, func() error {
		var err error
		out, err = exec.Command(name, args...).CombinedOutput()
		return err
	})
	return string(out), err
}

// wantNothingLeft: the sandbox has only its loopback and the host no end
// (after a failed Setup, or a Remove).
func (r *rig) wantNothingLeft(t *testing.T, box *testenv.Sandbox) {
	t.Helper()
	if links := testenv.LinksOf(t, box.Netns); len(links) != 1 || links[0] != "lo" {
		t.Errorf("sandbox interfaces: %v, want lo only", links)
	}
	for _, l := range r.ns.Links(t) {
		if strings.HasPrefix(l, "ulxc") {
			t.Errorf("host end %s left", l)
		}
	}
}

var twoInterfaces = map[string]string{
	"ulxc.net.0.type":         "veth",
	"ulxc.net.0.link":         "br0",
	"ulxc.net.0.flags":        "up",
	"ulxc.net.0.ipv4.address": "10.58.0.2/24",
	"ulxc.net.0.ipv4.gateway": "auto",
	"ulxc.net.0.ipv6.address": "fd58::2/64",
	"ulxc.net.1.type":         "veth",
	"ulxc.net.1.link":         "br0",
	"ulxc.net.1.name":         "eth1",
	"ulxc.net.1.hwaddr":       "02:16:3e:xx:xx:xx",
	"ulxc.net.1.mtu":          "1400",
	"ulxc.net.1.ipv4.address": "10.59.0.2/24",
}

// TestSetup: the test user's container gets eth0 with its addresses and a
// default route through the bridge, reaches the bridge's address with
// ping and TCP, and gets a second interface as configured; when its
// namespace goes, its pairs go and the quota is free for the next.
func TestSetup(t *testing.T) {
	r := newRig(t)
	res := r.setup(t, r.box, r.shim.Bin, twoInterfaces)
	if res.Error != "" || len(res.Attached) != 2 {
		t.Fatalf("Setup = %+v", res)
	}
	if a := res.Attached[1]; a.Name != "eth1" || !strings.HasPrefix(a.HWAddr.String(), "02:16:3e:") || a.HWAddr[3]|a.HWAddr[4]|a.HWAddr[5] == 0 {
		t.Errorf("second interface %+v: want eth1 with a 02:16:3e:xx:xx:xx address filled in", a)
	}
	addr, _ := inBox(t, r.box, "ip", "-o", "addr", "show", "dev", "eth0")
	for _, want := range []string{"inet 10.58.0.2/24", "inet6 fd58::2/64"} {
		if !strings.Contains(addr, want) {
			t.Errorf("eth0 addresses:\n%s\nwant %s", addr, want)
		}
	}
	if link, _ := inBox(t, r.box, "ip", "-o", "link", "show", "eth0"); !strings.Contains(link, "state UP") && !strings.Contains(link, ",UP") {
		t.Errorf("eth0: %s; want it up", link)
	}
	if route, _ := inBox(t, r.box, "ip", "route", "show", "default"); !strings.Contains(route, "default via 10.58.0.1 dev eth0") {
		t.Errorf("default route: %q; want via the bridge's address (gateway auto)", route)
	}
	eth1, _ := inBox(t, r.box, "ip", "-o", "addr", "show", "dev", "eth1")
	link1, _ := inBox(t, r.box, "ip", "-o", "link", "show", "eth1")
	if !strings.Contains(eth1, "inet 10.59.0.2/24") || !strings.Contains(link1, "mtu 1400") || !strings.Contains(link1, "DOWN") {
		t.Errorf("eth1: %s %s; want 10.59.0.2/24, mtu 1400, down (no flags = up)", link1, eth1)
	}

	if out, err := inBox(t, r.box, "busybox", "ping", "-c", "1", "-W", "5", "10.58.0.1"); err != nil {
		t.Errorf("ping the bridge from the container: %v\n%s", err, out)
	}
	var ln net.Listener
	if err := testenv.InNetns(r.ns.File, func() error {
		var err error
		ln, err = net.Listen("tcp", "10.58.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.WriteString(c, "hello from the bridge\n")
			c.Close()
		}
	}()
	var got string
	err := testenv.InNetns(r.box.Netns, func() error {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		got, err = bufio.NewReader(c).ReadString('\n')
		return err
	})
	if err != nil || got != "hello from the bridge\n" {
		t.Errorf("TCP from the container to %s: %q, %v", ln.Addr(), got, err)
	}

	// The namespace goes: the pairs go, and the quota (2 on br0) is free.
	r.box.Kill()
	for _, a := range res.Attached {
		waitGone(t, r.ns, a.HostIf)
	}
	box2 := r.user.NewSandbox(t)
	if res := r.setup(t, box2, r.shim.Bin, twoInterfaces); res.Error != "" || len(res.Attached) != 2 {
		t.Errorf("Setup after the first container went = %+v; want its two interfaces", res)
	}
}

// TestRemove: Remove deletes the pairs while the container's namespace
// still exists (a stop hook or a user-mode helper may hold it): the host
// ends are gone when it returns, and the quota is free for the next.
func TestRemove(t *testing.T) {
	r := newRig(t)
	res := r.child(t, r.box, childRequest{Annotations: twoInterfaces, Helper: r.shim.Bin, Remove: true})
	if res.Error != "" || len(res.Attached) != 2 {
		t.Fatalf("Attach and Remove = %+v", res)
	}
	r.wantNothingLeft(t, r.box)
	if res := r.setup(t, r.box, r.shim.Bin, twoInterfaces); res.Error != "" || len(res.Attached) != 2 {
		t.Errorf("Setup after Remove = %+v; want two interfaces (the quota is 2 on br0)", res)
	}
}

func waitGone(t *testing.T, ns *testenv.Netns, name string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, err := exec.Command("ip", "-n", ns.Name, "link", "show", name).CombinedOutput()
		if err != nil && strings.Contains(string(out), "does not exist") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("host end %s still there 20s after its container's namespace went", name)
		}
	}
}

// TestSetupErrors: every failure the user can meet names its cause, the
// error's Fix names the remedy, and nothing is left behind.
func TestSetupErrors(t *testing.T) {
	r := newRig(t)
	one := map[string]string{"ulxc.net.0.type": "veth", "ulxc.net.0.link": "br0", "ulxc.net.0.flags": "up",
		"ulxc.net.0.ipv4.address": "10.58.0.3/24"}
	noCap := filepath.Join(filepath.Dir(r.shim.Bin), "ulxc-netshim-nocap")
	data, err := os.ReadFile(r.shim.Bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noCap, data, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(noCap)
	if out, err := exec.Command("chgrp", testenv.NetshimGroup, noCap).CombinedOutput(); err != nil {
		t.Fatalf("chgrp: %v: %s", err, out)
	}
	if err := os.Chmod(noCap, 0o755|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for k, v := range one {
			m[k] = v
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name   string
		helper string
		policy string
		ann    map[string]string
		is     string
		msg    string
		fix    string
	}{
		{name: "helper missing", helper: "/nonexistent/ulxc-netshim", ann: one, is: "ErrNotInstalled",
			msg: "lxc.net.0: /nonexistent/ulxc-netshim", fix: "scripts/setup"},
		{name: "helper without capability", helper: noCap, ann: one, is: "ErrInstall",
			msg: "without CAP_NET_ADMIN", fix: "setcap cap_net_admin+ep " + noCap},
		{name: "no quota", policy: "ulxc-nosub veth br0 4\n", ann: one, is: "ErrNoQuota",
			msg: "grants ulxc-test no veth on br0", fix: "add the line `ulxc-test veth br0 2` to /etc/ulxc/usernet"},
		{name: "quota used up", policy: "ulxc-test veth br0 1\n", ann: twoInterfaces, is: "ErrQuotaUsed",
			msg: "lxc.net.1: ", fix: "raise your count for br0"},
		{name: "no such bridge", policy: "ulxc-test veth br9 1\n", ann: with("ulxc.net.0.link", "br9"), is: "ErrBridge",
			msg: "no interface br9", fix: "ip link add br9 type bridge"},
		{name: "gateway auto without an address", ann: map[string]string{"ulxc.net.0.type": "veth", "ulxc.net.0.link": "br1",
			"ulxc.net.0.flags": "up", "ulxc.net.0.ipv4.gateway": "auto"}, msg: "bridge br1 has no IPv4 address"},
		{name: "two default routes", ann: map[string]string{
			"ulxc.net.0.type": "veth", "ulxc.net.0.link": "br0", "ulxc.net.0.flags": "up",
			"ulxc.net.0.ipv4.address": "10.58.0.3/24", "ulxc.net.0.ipv4.gateway": "auto",
			"ulxc.net.1.type": "veth", "ulxc.net.1.link": "br0", "ulxc.net.1.flags": "up",
			"ulxc.net.1.ipv4.address": "10.58.0.4/24", "ulxc.net.1.ipv4.gateway": "10.58.0.1"},
			msg: "lxc.net.1: eth1: ipv4.gateway: add route 0.0.0.0/0 via 10.58.0.1: file exists: another interface has the default route already"},
		{name: "address taken twice", ann: with("ulxc.net.0.ipv4.address", "10.58.0.3/24,10.58.0.3/24"), msg: "file exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.policy != "" {
				r.shim.SetPolicy(t, tc.policy)
				defer r.shim.SetPolicy(t, "ulxc-test veth br0 2\nulxc-test veth br1 1\n")
			}
			helper := r.shim.Bin
			if tc.helper != "" {
				helper = tc.helper
			}
			res := r.setup(t, r.box, helper, tc.ann)
			if len(res.Attached) != 0 || !strings.Contains(res.Error, tc.msg) {
				t.Errorf("Setup = %+v; want an error containing %q", res, tc.msg)
			}
			if tc.is != "" && (len(res.Is) != 1 || res.Is[0] != tc.is) {
				t.Errorf("Setup error %q matches %v, want %s", res.Error, res.Is, tc.is)
			}
			if !strings.Contains(res.Fix, tc.fix) {
				t.Errorf("Fix() = %q, want it to contain %q", res.Fix, tc.fix)
			}
			r.wantNothingLeft(t, r.box)
		})
	}
	// And the quota those failures touched is free: two interfaces fit.
	if res := r.setup(t, r.box, r.shim.Bin, twoInterfaces); res.Error != "" || len(res.Attached) != 2 {
		t.Errorf("Setup after the failures = %+v; want two interfaces", res)
	}
}
