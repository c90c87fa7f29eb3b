package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/netshim"
)

// These tests run the helper as root installs it (scripts/install-netshim,
// set-group-id with cap_net_admin+ep, into a directory of the test's), as
// the unprivileged test user, inside a network namespace the test made
// with a bridge of its own; the "container" is a sandbox of the user's
// (unshare --user --net). Nothing reaches the host's network.

// rig is one test's world.
type rig struct {
	shim *testenv.Netshim
	ns   *testenv.Netns
	user *testenv.User
	box  *testenv.Sandbox
}

const bridgeAddr = "10.57.0.1"

func newRig(t *testing.T) *rig {
	t.Helper()
	shim := testenv.InstallNetshim(t)
	ns := testenv.NewNetns(t)
	ns.IP(t, "link", "add", "br0", "type", "bridge")
	ns.IP(t, "addr", "add", bridgeAddr+"/24", "dev", "br0")
	ns.IP(t, "link", "set", "br0", "up")
	// A non-bridge interface (the kernel here has no dummy driver).
	ns.IP(t, "link", "add", "nb0", "type", "veth", "peer", "name", "nb1")
	user := testenv.SubIDUser(t)
	r := &rig{shim: shim, ns: ns, user: user, box: user.NewSandbox(t)}
	shim.SetPolicy(t, "ulxc-test veth br0 1\n")
	// Entries of earlier tests' namespaces are never culled (only root
	// runs the helper in more than one): start empty.
	if err := os.Truncate(shim.State, 0); err != nil {
		t.Fatal(err)
	}
	return r
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the helper as u in the rig's namespace with fd3 (if not nil)
// as descriptor 3 and env as its whole environment.
func (r *rig) run(t *testing.T, u *testenv.User, fd3 *os.File, env []string, args ...string) result {
	t.Helper()
	cmd := r.command(u, fd3, env, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := testenv.InNetns(r.ns.File, cmd.Run)
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run ulxc-netshim: %v", err)
	}
	return res
}

func (r *rig) command(u *testenv.User, fd3 *os.File, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(r.shim.Bin, args...)
	cmd.Env = env
	if env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = "/"
	if fd3 != nil {
		cmd.ExtraFiles = []*os.File{fd3}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: []uint32{}}}
	return cmd
}

// snapshot is everything a refused request must leave as it was.
type snapshot struct {
	host, box []string
	state     string
}

func (r *rig) snapshot(t *testing.T) snapshot {
	t.Helper()
	state, err := os.ReadFile(r.shim.State)
	if err != nil {
		t.Fatal(err)
	}
	return snapshot{host: r.ns.Links(t), box: testenv.LinksOf(t, r.box.Netns), state: string(state)}
}

// wantRefused checks that res is the refusal want, mentioning msg, and
// that nothing changed.
func (r *rig) wantRefused(t *testing.T, res result, want error, msg string, before snapshot) {
	t.Helper()
	if got := netshim.ErrorForExit(res.code); got != want || !strings.Contains(res.stderr, msg) {
		t.Errorf("ulxc-netshim: exit %d (%v), stderr %q; want exit %d (%v) mentioning %q",
			res.code, got, res.stderr, netshim.ExitCode(want), want, msg)
	}
	if res.stdout != "" {
		t.Errorf("ulxc-netshim refused but printed %q", res.stdout)
	}
	if after := r.snapshot(t); !reflect.DeepEqual(after, before) {
		t.Errorf("a refused request changed things:\nbefore %+v\nafter  %+v", before, after)
	}
}

// wantCreated checks a successful reply: the host end is on br0 and up,
// the container end is in the sandbox, with the MAC the reply names.
func (r *rig) wantCreated(t *testing.T, res result, box *testenv.Sandbox, name string) netshim.Reply {
	t.Helper()
	if res.code != 0 {
		t.Fatalf("ulxc-netshim: exit %d: %s", res.code, res.stderr)
	}
	reply, err := netshim.ParseReply(res.stdout)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(reply.HostIf, "ulxc") {
		t.Errorf("host end %q: want a name of the helper's, ulxc...", reply.HostIf)
	}
	show := r.ns.IP(t, "-o", "link", "show", reply.HostIf)
	if !strings.Contains(show, "master br0") || !strings.Contains(show, "state UP") && !strings.Contains(show, ",UP") {
		t.Errorf("host end: %s; want it up on br0", show)
	}
	var out []byte
	err = testenv.InNetns(box.Netns, func() error {
		var err error
		out, err = exec.Command("ip", "-o", "link", "show", name).CombinedOutput()
		return err
	})
	if err != nil || !strings.Contains(string(out), reply.HWAddr.String()) {
		t.Errorf("container end %s: %v: %s; want MAC %v", name, err, out, reply.HWAddr)
	}
	return reply
}

func TestHelperCreates(t *testing.T) {
	r := newRig(t)
	res := r.run(t, r.user, r.box.Netns, nil, "create", "--bridge=br0", "--name=eth0", "--mtu=1400", "--hwaddr=02:16:3e:01:02:03")
	reply := r.wantCreated(t, res, r.box, "eth0")
	if want := "02:16:3e:01:02:03"; reply.HWAddr.String() != want {
		t.Errorf("MAC %v, want %s", reply.HWAddr, want)
	}
	// The host end keeps the bridge's MTU and a MAC that cannot become
	// the bridge's own; the container end has the MTU asked for.
	if show := r.ns.IP(t, "-o", "link", "show", reply.HostIf); !strings.Contains(show, "mtu 1500") || !strings.Contains(show, "link/ether fe:") {
		t.Errorf("host end: %s; want mtu 1500 and a fe: MAC", show)
	}
	var out []byte
	testenv.InNetns(r.box.Netns, func() error {
		out, _ = exec.Command("ip", "-o", "link", "show", "eth0").CombinedOutput()
		return nil
	})
	if !strings.Contains(string(out), "mtu 1400") || !strings.Contains(string(out), "state DOWN") {
		t.Errorf("container end: %s; want mtu 1400, down (ulxc sets it up)", out)
	}
	state, _ := os.ReadFile(r.shim.State)
	if !strings.Contains(string(state), fmt.Sprintf("%d ", r.user.UID)) || !strings.Contains(string(state), " br0 "+reply.HostIf+"\n") {
		t.Errorf("state file %q: want an entry for uid %d, br0, %s", state, r.user.UID, reply.HostIf)
	}

	// The kernel refuses a second eth0 in the sandbox after the entry
	// was written: the entry goes again, and no host end stays.
	r.shim.SetPolicy(t, "ulxc-test veth br0 2\n")
	before := r.snapshot(t)
	res = r.run(t, r.user, r.box.Netns, nil, "create", "--bridge=br0", "--name=eth0")
	if res.code != 1 || !strings.Contains(res.stderr, "file exists") {
		t.Errorf("second eth0: exit %d, %q; want 1 and the kernel's EEXIST", res.code, res.stderr)
	}
	if after := r.snapshot(t); !reflect.DeepEqual(after, before) {
		t.Errorf("a failed creation changed things:\nbefore %+v\nafter  %+v", before, after)
	}
}

// TestHelperRefuses: each request is refused with its own exit status and
// a message that names the cause, and nothing is created: no interface on
// the host or in the sandbox, no state entry.
func TestHelperRefuses(t *testing.T) {
	r := newRig(t)
	other := testenv.NoSubIDUser(t).NewSandbox(t) // a namespace of ulxc-nosub's
	passwd, err := os.Open("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	defer passwd.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	initNet, err := os.Open("/proc/self/ns/net") // the test's own: the host's
	if err != nil {
		t.Fatal(err)
	}
	defer initNet.Close()
	ok := []string{"create", "--bridge=br0"}
	for _, tc := range []struct {
		name   string
		fd3    *os.File
		args   []string
		policy string // "" keeps the rig's
		mode   os.FileMode
		want   error
		msg    string
	}{
		{name: "another user's namespace", fd3: other.Netns, args: ok, want: netshim.ErrNamespace, msg: "belongs to uid 1002, not to you (uid 1001)"},
		{name: "the helper's own namespace", fd3: r.ns.File, args: ok, want: netshim.ErrNamespace, msg: "belongs to uid 0"},
		{name: "the host's namespace", fd3: initNet, args: ok, want: netshim.ErrNamespace, msg: "belongs to uid 0"},
		{name: "a regular file", fd3: passwd, args: ok, want: netshim.ErrNamespace, msg: "is not a namespace"},
		{name: "a device", fd3: devnull, args: ok, want: netshim.ErrNamespace, msg: "is not a namespace"},
		{name: "a pipe", fd3: pw, args: ok, want: netshim.ErrNamespace, msg: "is not a namespace"},
		{name: "a user namespace", fd3: r.box.User, args: ok, want: netshim.ErrNamespace, msg: "is not a network namespace"},
		{name: "no descriptor", args: ok, want: netshim.ErrNamespace, msg: "descriptor 3"},
		{name: "a pid", fd3: r.box.Netns, args: []string{"create", "--bridge=br0", "--pid", "1"}, want: netshim.ErrUsage, msg: `unknown argument "--pid"`},
		{name: "a path", fd3: r.box.Netns, args: []string{"create", "--bridge=br0", "/proc/self/ns/net"}, want: netshim.ErrUsage, msg: `unknown argument "/proc/self/ns/net"`},
		{name: "unknown option", fd3: r.box.Netns, args: []string{"create", "--bridge=br0", "--verbose"}, want: netshim.ErrUsage, msg: "unknown argument"},
		{name: "unknown verb", fd3: r.box.Netns, args: []string{"delete", "--bridge=br0"}, want: netshim.ErrUsage, msg: "first argument"},
		{name: "no arguments", fd3: r.box.Netns, want: netshim.ErrUsage, msg: "first argument"},
		{name: "name too long", fd3: r.box.Netns, args: []string{"create", "--bridge=br0", "--name=abcdefghijklmnop"}, want: netshim.ErrUsage, msg: "longer than 15"},
		{name: "name with slash", fd3: r.box.Netns, args: []string{"create", "--bridge=br0", "--name=a/b"}, want: netshim.ErrUsage, msg: `has "/"`},
		{name: "name dotdot", fd3: r.box.Netns, args: []string{"create", "--bridge=br0", "--name=.."}, want: netshim.ErrUsage, msg: `".."`},
		{name: "name with space", fd3: r.box.Netns, args: []string{"create", "--bridge=br0", "--name=eth 0"}, want: netshim.ErrUsage, msg: `has " "`},
		{name: "empty name", fd3: r.box.Netns, args: []string{"create", "--bridge=br0", "--name="}, want: netshim.ErrUsage, msg: "empty interface name"},
		{name: "mtu above the bridge's", fd3: r.box.Netns, args: []string{"create", "--bridge=br0", "--mtu=9000"}, want: netshim.ErrUsage, msg: "larger than bridge br0's 1500"},
		{name: "unknown bridge", fd3: r.box.Netns, args: []string{"create", "--bridge=br9"}, policy: "ulxc-test veth br9 1\n", want: netshim.ErrBridge, msg: "no interface br9"},
		{name: "not a bridge", fd3: r.box.Netns, args: []string{"create", "--bridge=nb0"}, policy: "ulxc-test veth nb0 1\n", want: netshim.ErrBridge, msg: "nb0 is a veth, not a bridge"},
		{name: "no quota", fd3: r.box.Netns, args: ok, policy: "ulxc-nosub veth br0 5\n@root veth br0 5\n", want: netshim.ErrNoQuota, msg: "grants ulxc-test no veth on br0"},
		{name: "zero quota", fd3: r.box.Netns, args: ok, policy: "ulxc-test veth br0 0\n", want: netshim.ErrNoQuota, msg: "grants ulxc-test no veth on br0"},
		{name: "quota on another bridge", fd3: r.box.Netns, args: ok, policy: "ulxc-test veth br1 3\n", want: netshim.ErrNoQuota, msg: "no veth on br0"},
		{name: "policy writable by others", fd3: r.box.Netns, args: ok, policy: "ulxc-test veth br0 1\n", mode: 0o666, want: netshim.ErrPolicy, msg: "writable by group or others"},
		{name: "policy writable by group", fd3: r.box.Netns, args: ok, policy: "ulxc-test veth br0 1\n", mode: 0o664, want: netshim.ErrPolicy, msg: "writable by group or others"},
		{name: "malformed policy", fd3: r.box.Netns, args: ok, policy: "ulxc-test veth br0 1\nulxc-test veth br0\n", want: netshim.ErrPolicy, msg: "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.policy != "" {
				r.shim.SetPolicy(t, tc.policy)
				defer r.shim.SetPolicy(t, "ulxc-test veth br0 1\n")
			}
			if tc.mode != 0 {
				if err := os.Chmod(r.shim.Policy, tc.mode); err != nil {
					t.Fatal(err)
				}
			}
			before := r.snapshot(t)
			r.wantRefused(t, r.run(t, r.user, tc.fd3, nil, tc.args...), tc.want, tc.msg, before)
		})
	}
	// After all that, the same sandbox still gets its interface.
	r.wantCreated(t, r.run(t, r.user, r.box.Netns, nil, ok...), r.box, "eth0")
}

// TestHelperPolicyOwner: a policy file the user owns is refused, however
// restrictive its mode, and so is one in a directory others may write.
func TestHelperPolicyOwner(t *testing.T) {
	r := newRig(t)
	if err := os.Chown(r.shim.Policy, int(r.user.UID), int(r.user.GID)); err != nil {
		t.Fatal(err)
	}
	before := r.snapshot(t)
	r.wantRefused(t, r.run(t, r.user, r.box.Netns, nil, "create", "--bridge=br0"), netshim.ErrPolicy, "owned by uid 1001, not root", before)
	r.shim.SetPolicy(t, "ulxc-test veth br0 1\n")

	dir := filepath.Dir(r.shim.Policy)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	r.wantRefused(t, r.run(t, r.user, r.box.Netns, nil, "create", "--bridge=br0"), netshim.ErrPolicy, "writable by group or others", before)
}

// TestHelperInstall: a helper without its file capability, or without its
// set-group-id bit, refuses with ErrInstall and makes nothing.
func TestHelperInstall(t *testing.T) {
	r := newRig(t)
	before := r.snapshot(t)
	copyAs := func(mode os.FileMode, withCap bool) string {
		p := filepath.Join(filepath.Dir(r.shim.Bin), fmt.Sprintf("copy-%o-%v", mode, withCap))
		data, err := os.ReadFile(r.shim.Bin)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(p) })
		if out, err := exec.Command("chgrp", testenv.NetshimGroup, p).CombinedOutput(); err != nil {
			t.Fatalf("chgrp: %v: %s", err, out)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if withCap {
			if out, err := exec.Command("setcap", "cap_net_admin+ep", p).CombinedOutput(); err != nil {
				t.Fatalf("setcap: %v: %s", err, out)
			}
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		mode    os.FileMode
		withCap bool
		msg     string
	}{
		{"no capability", 0o755 | os.ModeSetgid, false, "without CAP_NET_ADMIN"},
		{"not set-group-id", 0o755, true, "not running setgid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := copyAs(tc.mode, tc.withCap)
			saved := r.shim.Bin
			r.shim.Bin = bin
			defer func() { r.shim.Bin = saved }()
			r.wantRefused(t, r.run(t, r.user, r.box.Netns, nil, "create", "--bridge=br0"), netshim.ErrInstall, tc.msg, before)
		})
	}
	// A state file that others may write is not trusted.
	if err := os.Chmod(r.shim.State, 0o666); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(r.shim.State, 0o660)
	before = r.snapshot(t)
	r.wantRefused(t, r.run(t, r.user, r.box.Netns, nil, "create", "--bridge=br0"), netshim.ErrInstall, "has mode 0666", before)
}

// TestHelperQuota: user and group lines are summed; at the quota the next
// request is refused with nothing made; when the sandbox's namespace goes,
// its pairs go and the quota is free again.
func TestHelperQuota(t *testing.T) {
	r := newRig(t)
	// ulxc-test's primary group is ulxc-test (scripts/setup's useradd).
	r.shim.SetPolicy(t, "ulxc-test veth br0 1\n@ulxc-test veth br0 1\nulxc-test veth br1 7\n")
	var hosts []string
	for _, name := range []string{"eth0", "eth1"} {
		reply := r.wantCreated(t, r.run(t, r.user, r.box.Netns, nil, "create", "--bridge=br0", "--name="+name), r.box, name)
		hosts = append(hosts, reply.HostIf)
	}
	before := r.snapshot(t)
	r.wantRefused(t, r.run(t, r.user, r.box.Netns, nil, "create", "--bridge=br0", "--name=eth2"), netshim.ErrQuotaUsed, "ulxc-test has 2 of 2 veths on br0", before)

	// Another sandbox of the same user counts against the same quota.
	box2 := r.user.NewSandbox(t)
	r.wantRefused(t, r.run(t, r.user, box2.Netns, nil, "create", "--bridge=br0"), netshim.ErrQuotaUsed, "2 of 2", before)

	r.box.Kill()
	for _, h := range hosts {
		waitGone(t, r.ns, h)
	}
	for _, name := range []string{"eth0", "eth1"} {
		r.wantCreated(t, r.run(t, r.user, box2.Netns, nil, "create", "--bridge=br0", "--name="+name), box2, name)
	}
	state, _ := os.ReadFile(r.shim.State)
	if n := strings.Count(string(state), "\n"); n != 2 {
		t.Errorf("state after the first sandbox went and the second took two: %q; want the two entries only", state)
	}
}

// waitGone waits for the kernel to remove an interface whose namespace
// peer went (the network namespace is torn down asynchronously).
func waitGone(t *testing.T, ns *testenv.Netns, name string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if out, err := exec.Command("ip", "-n", ns.Name, "link", "show", name).CombinedOutput(); err != nil {
			if strings.Contains(string(out), "does not exist") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("host end %s still there 20s after its sandbox went", name)
		}
	}
}

// TestHelperConcurrent: twenty requests at once against a quota of three:
// the state lock lets exactly three through.
func TestHelperConcurrent(t *testing.T) {
	r := newRig(t)
	const quota, requests = 3, 20
	r.shim.SetPolicy(t, fmt.Sprintf("ulxc-test veth br0 %d\n", quota))
	results := make([]result, requests)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := r.command(r.user, r.box.Netns, nil, "create", "--bridge=br0", fmt.Sprintf("--name=c%d", i))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			<-start
			err := testenv.InNetns(r.ns.File, cmd.Run)
			results[i] = result{stdout: stdout.String(), stderr: stderr.String()}
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				results[i].code = ee.ExitCode()
			} else if err != nil {
				results[i].code = -1
				results[i].stderr = err.Error()
			}
		}()
	}
	close(start)
	wg.Wait()
	var ok, over int
	for i, res := range results {
		switch {
		case res.code == 0:
			ok++
		case netshim.ErrorForExit(res.code) == netshim.ErrQuotaUsed:
			over++
		default:
			t.Errorf("request %d: exit %d: %s", i, res.code, res.stderr)
		}
	}
	if ok != quota || over != requests-quota {
		t.Errorf("%d requests against a quota of %d: %d made, %d refused over quota; want %d and %d", requests, quota, ok, over, quota, requests-quota)
	}
	var ports int
	for _, l := range r.ns.Links(t) {
		if strings.HasPrefix(l, "ulxc") {
			ports++
		}
	}
	if ports != quota {
		t.Errorf("%d host ends in the namespace, want %d", ports, quota)
	}
	if boxLinks := testenv.LinksOf(t, r.box.Netns); len(boxLinks) != quota+1 {
		t.Errorf("sandbox has %v, want lo and %d others", boxLinks, quota)
	}
}

// TestHelperHostileEnvironment: the caller's environment changes nothing.
// The helper is static (no loader for LD_PRELOAD), execs nothing (PATH
// leads nowhere), runs in the runtime's secure mode (GOTRACEBACK=crash
// yields no stacks or registers on a fatal signal), and GODEBUG changes
// neither its answers nor its output.
func TestHelperHostileEnvironment(t *testing.T) {
	r := newRig(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "BREACH")
	// A PATH full of programs a careless helper might run.
	for _, prog := range []string{"ip", "sh", "modprobe", "brctl", "iptables", "nsenter"} {
		script := "#!/bin/sh\necho " + prog + " >> " + marker + "\n"
		if err := os.WriteFile(filepath.Join(dir, prog), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	preload := filepath.Join(dir, "evil.so")
	if _, err := exec.LookPath("gcc"); err == nil {
		src := filepath.Join(dir, "evil.c")
		code := "#include <stdio.h>\n__attribute__((constructor)) static void f(void) { FILE *f = fopen(\"" + marker + "\", \"a\"); if (f) { fputs(\"preload\\n\", f); fclose(f); } }\n"
		if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("gcc", "-shared", "-fPIC", "-o", preload, src).CombinedOutput(); err != nil {
			t.Fatalf("gcc: %v: %s", err, out)
		}
	}
	hostile := []string{
		"PATH=" + dir,
		"LD_PRELOAD=" + preload,
		"LD_LIBRARY_PATH=" + dir,
		"GODEBUG=panicnil=1,madvdontneed=1,asyncpreemptoff=1",
		"GOTRACEBACK=crash",
		"GOMAXPROCS=1",
		"IFS=/",
		"HOME=" + dir,
	}
	// Refusals and success are what they are in a clean environment.
	before := r.snapshot(t)
	r.wantRefused(t, r.run(t, r.user, r.box.Netns, hostile, "create", "--bridge=br9"), netshim.ErrNoQuota, "no veth on br9", before)
	r.wantRefused(t, r.run(t, r.user, r.box.Netns, hostile, "create", "--bridge=br0", "--name=../x"), netshim.ErrUsage, `has "/"`, before)
	res := r.run(t, r.user, r.box.Netns, hostile, "create", "--bridge=br0")
	r.wantCreated(t, res, r.box, "eth0")
	if res.stderr != "" {
		t.Errorf("stderr of a success in a hostile environment: %q", res.stderr)
	}
	if b, err := os.ReadFile(marker); err == nil {
		t.Errorf("the helper ran the caller's code: %s", b)
	}

	// Closed standard descriptors: the files the helper opens must not
	// become its stdout or stderr (the Go runtime puts /dev/null there,
	// CVE-2023-29403's lesson), or a refusal's message would land in the
	// quota state. Over quota first, then a success.
	closed := func(args ...string) int {
		cmd := r.command(r.user, r.box.Netns, nil, append([]string{"-c", `exec "$0" "$@" <&- >&- 2>&-`, r.shim.Bin}, args...)...)
		cmd.Path, cmd.Args[0] = "/bin/sh", "sh"
		err := testenv.InNetns(r.ns.File, cmd.Run)
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	state, _ := os.ReadFile(r.shim.State)
	if code := closed("create", "--bridge=br0", "--name=eth7"); netshim.ErrorForExit(code) != netshim.ErrQuotaUsed {
		t.Errorf("over quota with stdio closed: exit %d, want %d", code, netshim.ExitCode(netshim.ErrQuotaUsed))
	}
	if after, _ := os.ReadFile(r.shim.State); string(after) != string(state) {
		t.Errorf("a refusal with stdio closed changed the state file:\n%q\n%q", state, after)
	}
	r.shim.SetPolicy(t, "ulxc-test veth br0 5\n")
	if code := closed("create", "--bridge=br0", "--name=eth7"); code != 0 {
		t.Errorf("request with stdio closed: exit %d", code)
	}
	if after, _ := os.ReadFile(r.shim.State); strings.Count(string(after), " br0 ulxc") != 2 || strings.Count(string(after), "\n") != 2 {
		t.Errorf("state file after a success with stdio closed: %q, want two entries", after)
	}

	// A fatal signal with GOTRACEBACK=crash: the helper is made to wait
	// for the state lock, which the test holds, and gets SIGQUIT there.
	lock, err := os.OpenFile(r.shim.State, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	cmd := r.command(r.user, r.box.Netns, hostile, "create", "--bridge=br0", "--name=eth1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := testenv.InNetns(r.ns.File, cmd.Start); err != nil {
		t.Fatal(err)
	}
	waitOpen(t, cmd.Process.Pid, r.shim.State)
	cmd.Process.Signal(syscall.SIGQUIT)
	cmd.Wait()
	for _, leak := range []string{"goroutine ", "rip ", "PC=", "netshim."} {
		if strings.Contains(stderr.String(), leak) {
			t.Errorf("SIGQUIT with GOTRACEBACK=crash printed %q:\n%s", leak, stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), "SIGQUIT") {
		t.Errorf("stderr after SIGQUIT = %q; want the signal's name and nothing more", stderr.String())
	}
}

// waitOpen waits until process pid has path open.
func waitOpen(t *testing.T, pid int, path string) {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		fds, _ := os.ReadDir(dir)
		for _, fd := range fds {
			if target, _ := os.Readlink(filepath.Join(dir, fd.Name())); target == path {
				return
			}
		}
	}
	t.Fatalf("process %d never opened %s", pid, path)
}
