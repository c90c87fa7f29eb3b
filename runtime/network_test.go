package runtime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/internal/rawproc"
	"github.com/ulxc/ulxc/ocispec"
	"golang.org/x/sys/unix"
)

// TestCompileNetPhase: with a network phase, init sends two descriptors
// and the container's groups may ping, unless the spec says otherwise.
func TestCompileNetPhase(t *testing.T) {
	s := planSpec()
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}, {ContainerID: 70000, HostID: 1000, Size: 1}}
	p, err := compileInit(&initConfig{Spec: s, NewNet: true, NetPhase: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.NetPhase || len(p.NetNS.FDs) != 2 || string(p.NetNS.Text) != "ns" {
		t.Fatalf("netPhase %v, %d descriptors, text %q", p.NetPhase, len(p.NetNS.FDs), p.NetNS.Text)
	}
	p.NetNS.FDs[1] = 42
	if got := *(*int32)(unsafe.Pointer(&p.NetNS.Cmsg[unix.CmsgLen(0)+4])); got != 42 {
		t.Errorf("the descriptors do not write into the control message (%d)", got)
	}
	last := len(p.Sysctls) - 1
	if got := unix.BytePtrToString(p.Sysctls[last].Path); got != "/proc/sys/net/ipv4/ping_group_range" || string(p.Sysctls[last].Value) != "0 70000" {
		t.Errorf("last sysctl %s = %q, want net.ipv4.ping_group_range = \"0 70000\"", got, p.Sysctls[last].Value)
	}
	// The runtime's own sysctl: a refusal is not the spec's ErrSysctl.
	err = p.describe(failure(p.Sysctls[last].Msg, rawproc.OpNone, 0, unix.EPERM))
	if err == nil || errors.Is(err, ErrSysctl) {
		t.Errorf("describe(ping_group_range refused) = %v, want an error that is not ErrSysctl", err)
	}
	err = p.describe(failure(p.Sysctls[last].Msg, rawproc.OpNone, 0, unix.EINVAL))
	if err == nil || !strings.Contains(err.Error(), "net.ipv4.ping_group_range = 0 70000 (so that the container's groups may ping): invalid argument") {
		t.Errorf("describe(ping_group_range) = %v", err)
	}
	for _, tc := range []struct {
		rec  rawproc.Failure
		want string
	}{
		{failure(rawproc.MsgNetOpenNet+1, rawproc.OpNone, 0, unix.EACCES), "network: open /proc/self/ns/user: permission denied"},
		{failure(rawproc.MsgNetSend, rawproc.OpNone, 0, unix.EPIPE), "network: send namespaces to the supervisor: broken pipe"},
		{failure(rawproc.MsgNetGoAhead, rawproc.OpNone, 0, 0), "network: no go-ahead from the supervisor"},
	} {
		if err := p.describe(tc.rec); err == nil || err.Error() != tc.want {
			t.Errorf("describe(%v) = %v, want %q", tc.rec, err, tc.want)
		}
	}

	s.Linux.Sysctl["net.ipv4.ping_group_range"] = "1 0"
	p, err = compileInit(&initConfig{Spec: s, NewNet: true, NetPhase: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range p.Sysctls {
		if unix.BytePtrToString(sc.Path) == "/proc/sys/net/ipv4/ping_group_range" && (string(sc.Value) != "1 0" || p.msgs[sc.Msg].kind != msgSysctl) {
			t.Errorf("the spec's ping_group_range became %q (%q)", sc.Value, p.msgs[sc.Msg].text)
		}
	}
	p, err = compileInit(&initConfig{Spec: planSpec(), NewNet: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.NetPhase || len(p.Sysctls) != 1 {
		t.Errorf("without a network phase: netPhase %v, %d sysctls", p.NetPhase, len(p.Sysctls))
	}
}

func TestCheckSpecNetwork(t *testing.T) {
	for _, tc := range []struct {
		name string
		ann  map[string]string
		ns   bool
		want string
	}{
		{"no netns", map[string]string{"ulxc.net.0.type": "pasta"}, false, "network namespace of the container's own"},
		{"bad forward", map[string]string{"ulxc.net.0.type": "pasta", "ulxc.net.0.forward": "80"}, true, `port forward "80"`},
		{"slirp v6 forward", map[string]string{"ulxc.net.0.type": "slirp4netns", "ulxc.net.0.forward": "tcp:[::1]:80:80"}, true, "IPv4 addresses only"},
		{"mtu", map[string]string{"ulxc.net.0.type": "pasta", "ulxc.net.0.mtu": "65521"}, true, "want 68 to 65520"},
		{"name", map[string]string{"ulxc.net.0.type": "slirp4netns", "ulxc.net.0.name": "a b"}, true, "interface name"},
		{"no type", map[string]string{"ulxc.net.0.name": "eth0"}, true, "has no type"},
		{"veth no link", map[string]string{"ulxc.net.0.type": "veth"}, true, "lxc.net.0 (veth): lxc.net.0.link: missing"},
		{"veth mtu", map[string]string{"ulxc.net.0.type": "veth", "ulxc.net.0.link": "br0", "ulxc.net.0.mtu": "9"}, true, `lxc.net.0.mtu = "9": not a number from 68`},
		{"veth hwaddr", map[string]string{"ulxc.net.2.type": "veth", "ulxc.net.2.link": "br0", "ulxc.net.2.hwaddr": "01:16:3e:xx:xx:xx"}, true, `lxc.net.2.hwaddr = "01:16:3e:xx:xx:xx": not a unicast MAC address`},
		{"veth address", map[string]string{"ulxc.net.0.type": "veth", "ulxc.net.0.link": "br0", "ulxc.net.0.ipv4.address": "fd00::1/64"}, true, "lxc.net.0.ipv4.address"},
		{"veth gateway down", map[string]string{"ulxc.net.0.type": "veth", "ulxc.net.0.link": "br0", "ulxc.net.0.ipv4.gateway": "auto"}, true, "set lxc.net.0.flags = up"},
		{"veth unknown key", map[string]string{"ulxc.net.0.type": "veth", "ulxc.net.0.link": "br0", "ulxc.net.0.script.up": "/x"}, true, "lxc.net.0.script.up"},
		{"veth bad link", map[string]string{"ulxc.net.0.type": "veth", "ulxc.net.0.link": "../br"}, true, "lxc.net.0.link"},
		{"veth no netns", map[string]string{"ulxc.net.0.type": "veth", "ulxc.net.0.link": "br0"}, false, "lxc.net.0 (veth) needs a network namespace"},
		{"name twice", map[string]string{"ulxc.net.0.type": "veth", "ulxc.net.0.link": "br0", "ulxc.net.0.name": "eth1",
			"ulxc.net.1.type": "pasta", "ulxc.net.1.name": "eth1"}, true, `lxc.net.1.name = "eth1": lxc.net.0 has that name too`},
	} {
		s := validSpec()
		s.Annotations = tc.ann
		if !tc.ns {
			s.Linux.Namespaces = nil
		}
		err := checkSpec(s)
		if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: checkSpec = %v, want ErrInvalidSpec naming %q", tc.name, err, tc.want)
		}
	}
	s := validSpec()
	s.Annotations = map[string]string{"ulxc.net.0.type": "pasta", "ulxc.net.0.forward": "tcp:[::1]:80:80",
		"ulxc.net.1.type": "empty", "ulxc.net.2.type": "veth", "ulxc.net.2.link": "br0", "ulxc.net.2.hwaddr": "02:16:3e:xx:xx:xx",
		"ulxc.net.3.type": "veth", "ulxc.net.3.link": "br0", "ulxc.net.3.name": "eth2",
		"ulxc.net.4.type": "veth", "ulxc.net.4.link": "br1"}
	if err := checkSpec(s); err != nil {
		t.Errorf("checkSpec(veth and pasta) = %v", err)
	}
	ifaces, err := netInterfaces(s)
	if err != nil {
		t.Fatalf("netInterfaces = %v", err)
	}
	var got []string
	for _, iface := range ifaces {
		got = append(got, strconv.Itoa(iface.Index)+" "+iface.Type+" "+iface.Keys["name"])
	}
	// Unnamed ones get the first free ethK in order, whatever their
	// type, around the names given: empty has no phase.
	if want := []string{"0 pasta eth0", "2 veth eth1", "3 veth eth2", "4 veth eth3"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("netInterfaces = %q, want %q", got, want)
	}
	for _, iface := range ifaces[1:] {
		it, err := vethInterface(iface)
		if err != nil || it.Index != iface.Index || it.Name != iface.Keys["name"] || it.Link == "" {
			t.Errorf("vethInterface(%+v) = %+v, %v", iface, it, err)
		}
	}
}

func TestPastaForwards(t *testing.T) {
	fwds, err := ocispec.ParseForwards("tcp:127.0.0.1:8080:80,udp:0.0.0.0:53:5353,tcp:[::1]:8443:443")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(pastaForwards(fwds), " ")
	if want := "-t 127.0.0.1/8080:80 -t ::1/8443:443 -u 0.0.0.0/53:5353"; got != want {
		t.Errorf("pastaForwards = %q, want %q", got, want)
	}
	// pasta forwards every port the container listens on unless told.
	if got := strings.Join(pastaForwards(nil), " "); got != "-t none -u none" {
		t.Errorf("pastaForwards(none) = %q", got)
	}
}

func TestCompleteMAC(t *testing.T) {
	for i := 0; i < 64; i++ {
		got := completeMAC("XX:16:3E:xx:xx:xx")
		if len(got) != 17 || strings.ContainsAny(got, "xX") || !strings.HasPrefix(got[2:], ":16:3e:") {
			t.Fatalf("completeMAC = %q", got)
		}
		first, _ := strconv.ParseUint(got[:2], 16, 8)
		if first&1 != 0 {
			t.Fatalf("completeMAC = %q: a multicast address", got)
		}
	}
	if got := completeMAC("00:16:3e:12:34:56"); got != "00:16:3e:12:34:56" {
		t.Errorf("completeMAC of a full address = %q", got)
	}
}

func TestReadReady(t *testing.T) {
	pipe := func(write string, close bool) *os.File {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		w.WriteString(write)
		if close {
			w.Close()
		}
		return r
	}
	// pasta: a pid and a newline, the file still open.
	if got, err := readReady(context.Background(), pipe("1234\n", false), '\n'); err != nil || got != "1234" {
		t.Errorf("readReady(pid line) = %q, %v", got, err)
	}
	// slirp4netns: "1", then closed.
	if got, err := readReady(context.Background(), pipe("1", true), 0); err != nil || got != "1" {
		t.Errorf("readReady(1) = %q, %v", got, err)
	}
	if _, err := readReady(context.Background(), pipe("", true), '\n'); !errors.Is(err, io.EOF) {
		t.Errorf("readReady(closed) = %v, want EOF", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := readReady(ctx, pipe("12", false), '\n'); err == nil || !strings.Contains(err.Error(), "not ready after") {
		t.Errorf("readReady(silent) = %v, want a timeout", err)
	}
}

func TestLineLogger(t *testing.T) {
	var buf bytes.Buffer
	tw := &tailWriter{max: 8, w: &lineLogger{log: slog.New(slog.NewTextHandler(&buf, nil)), helper: "pasta"}}
	tw.Write([]byte("first li"))
	tw.Write([]byte("ne\n\nsecond\nthird"))
	if got := buf.String(); !strings.Contains(got, `msg="network helper: first line" helper=pasta`) ||
		!strings.Contains(got, "network helper: second") || strings.Contains(got, "third") || strings.Count(got, "\n") != 2 {
		t.Errorf("logged %q", got)
	}
	if got := tw.String(); got != "nd\nthird" {
		t.Errorf("tail = %q, want the last 8 bytes", got)
	}
}

// TestReceiveNamespaces: what init sends is checked, and an init that
// exits first is told apart.
func TestReceiveNamespaces(t *testing.T) {
	pair := func() (*os.File, int) {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fds[1]) })
		f := os.NewFile(uintptr(fds[0]), "parent")
		t.Cleanup(func() { f.Close() })
		return f, fds[1]
	}
	open := func(path string) int {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}
	net, user := open("/proc/self/ns/net"), open("/proc/self/ns/user")

	parent, child := pair()
	if err := unix.Sendmsg(child, []byte("ns"), unix.UnixRights(net, user), nil, 0); err != nil {
		t.Fatal(err)
	}
	ns, err := receiveNamespaces(parent)
	if err != nil {
		t.Fatalf("receiveNamespaces = %v", err)
	}
	ns.Net.Close()
	ns.User.Close()

	parent, child = pair()
	unix.Sendmsg(child, []byte("ns"), unix.UnixRights(user, net), nil, 0)
	if _, err := receiveNamespaces(parent); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("receiveNamespaces(swapped) = %v, want malformed", err)
	}
	parent, child = pair()
	unix.Sendmsg(child, []byte("ns"), unix.UnixRights(open("/dev/null"), user), nil, 0)
	if _, err := receiveNamespaces(parent); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("receiveNamespaces(not a namespace) = %v, want malformed", err)
	}
	// The stop hooks' message: the kinds are checked, and the
	// namespaces the supervisor shares (all of them here) are left out.
	userNet := []int{0, 5} // nsKinds: user, net
	if nsKinds[0].proc != "user" || nsKinds[5].proc != "net" {
		t.Fatalf("nsKinds changed: %v", nsKinds)
	}
	parent, child = pair()
	unix.Sendmsg(child, []byte("stop"), unix.UnixRights(user, net), nil, 0)
	if refs, err := receiveStopNamespaces(parent, userNet); err != nil || len(refs) != 0 {
		t.Errorf("receiveStopNamespaces(our own) = %v, %v; want none, no error", refs, err)
	}
	parent, child = pair()
	unix.Sendmsg(child, []byte("stop"), unix.UnixRights(net, user), nil, 0)
	if _, err := receiveStopNamespaces(parent, userNet); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("receiveStopNamespaces(swapped) = %v, want malformed", err)
	}
	parent, child = pair()
	unix.Close(child)
	if _, err := receiveStopNamespaces(parent, stopNamespaceKinds()); !errors.Is(err, errNoStopNamespaces) {
		t.Errorf("receiveStopNamespaces(closed) = %v, want %v", err, errNoStopNamespaces)
	}
	if _, err := receiveNamespaces(parent); !errors.Is(err, errNoNamespaces) {
		t.Errorf("receiveNamespaces(closed) = %v, want %v", err, errNoNamespaces)
	}
}

// TestHelperDiesWithSupervisor: a helper started by startHelper is killed
// when its supervisor is, SIGKILL included. The supervisor is this test
// binary again (TestMain runs helperSupervisorMain).
func TestHelperDiesWithSupervisor(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep(1)")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), supervisorEnv+"="+sleep)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := readLine(out)
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("supervisor: %v", err)
	}
	pid, err := strconv.Atoi(line)
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("supervisor said %q", line)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("pidfd of the helper: %v", err)
	}
	defer unix.Close(pidfd)
	cmd.Process.Signal(unix.SIGKILL)
	cmd.Wait()
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 5000)
	if err != nil || n != 1 {
		unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		t.Fatalf("the helper %d still runs 5s after its supervisor was killed", pid)
	}
}

const supervisorEnv = "ULXC_TEST_HELPER_SUPERVISOR"

func TestMain(m *testing.M) {
	if sleep := os.Getenv(supervisorEnv); sleep != "" {
		helperSupervisorMain(sleep)
	}
	os.Exit(m.Run())
}

// helperSupervisorMain starts `sleep 1000` as a helper from a goroutine
// that then exits, as the network phase's caller may, prints its pid and
// waits to be killed.
func helperSupervisorMain(sleep string) {
	done := make(chan *helperProc)
	go func() {
		h, err := startHelper(sleep, []string{"1000"}, nil, slog.New(slog.DiscardHandler))
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		done <- h
	}()
	h := <-done
	os.Stdout.WriteString(strconv.Itoa(h.pid) + "\n")
	// Keep the Go runtime busy making and ending threads meanwhile.
	for {
		time.Sleep(time.Millisecond)
	}
}

func readLine(r io.Reader) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) < 64 {
		if _, err := r.Read(one); err != nil {
			return string(b), err
		}
		if one[0] == '\n' {
			return string(b), nil
		}
		b = append(b, one[0])
	}
	return string(b), errors.New("line too long")
}

// TestHelperExited: the error of a helper that failed says what it said,
// without pasta's complaints about a missing syslog.
func TestHelperExited(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	h, err := startHelper(sh, []string{"-c", "echo 'Failed to send 67 bytes to syslog' >&2; echo 'Failed to bind any port' >&2; echo second >&2; exit 3"},
		nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.exited().Error(), "exit status 3: Failed to bind any port; second"; got != want {
		t.Errorf("exited() = %q, want %q", got, want)
	}
}
