package runtime

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ulxc/ulxc/ocispec"
	"golang.org/x/sys/unix"
)

// User-mode networking: pasta (Debian package passt) or slirp4netns, run
// by the supervisor as the user, give the container a tap interface whose
// traffic they carry through ordinary sockets of the host. No privilege
// is involved: the helper joins the container's user namespace, in which
// the user holds every capability, and its network namespace, by the
// descriptors init sent (netNamespace). The container reaches what the
// user could reach, except the host's loopback: pasta runs with
// --no-map-gw and no namespace-to-host port forwarding (-T none -U none),
// slirp4netns with --disable-host-loopback.
//
// DNS: pasta forwards queries sent to pastaDNS, and slirp4netns those
// sent to slirp4netnsDNS, to the host's first resolver; both also answer
// DHCP on the interface (pasta with the host's resolvers as DNS servers),
// so a container that runs a DHCP client (most images' init does) gets a
// working /etc/resolv.conf of its own. ulxc writes nothing into the root
// filesystem.

// The addresses where the helpers answer DNS (forwarded to the host's
// resolver): slirp4netns's built-in one, and for pasta the link-local
// address podman uses, which cannot clash with the host's networks that
// pasta copies into the container.
const (
	pastaDNS       = "169.254.1.1"
	slirp4netnsDNS = "10.0.2.3"
)

// ErrHelperMissing reports a network type whose helper program is not
// installed.
var ErrHelperMissing = errors.New("network helper not installed")

// ErrTunUnusable reports a /dev/net/tun that the user may not open: the
// helpers make the container's interface with it.
var ErrTunUnusable = errors.New("/dev/net/tun is not usable")

// checkTun opens /dev/net/tun as the helper will, for a clear error
// before any helper runs.
func checkTun() error {
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTunUnusable, err)
	}
	return f.Close()
}

// helperPackage is the Debian package of a helper.
func helperPackage(name string) string {
	if name == "pasta" {
		return "passt"
	}
	return name
}

// lookHelper finds a helper program in PATH.
func lookHelper(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not in PATH (install it: apt-get install %s)", ErrHelperMissing, name, helperPackage(name))
	}
	return p, nil
}

// checkUserModeNet checks what a pasta or slirp4netns interface asks for.
func checkUserModeNet(iface ocispec.Interface) error {
	if v, ok := iface.Keys["mtu"]; ok {
		if m, err := strconv.Atoi(v); err != nil || m < ocispec.MinMTU || m > ocispec.MaxMTU {
			return fmt.Errorf("mtu %q: want %d to %d", v, ocispec.MinMTU, ocispec.MaxMTU)
		}
	}
	if v, ok := iface.Keys["name"]; ok && (v == "" || len(v) > 15 || strings.ContainsAny(v, "/: \t\n")) {
		return fmt.Errorf("interface name %q", v)
	}
	fwds, err := ocispec.ParseForwards(iface.Keys["forward"])
	if err != nil {
		return err
	}
	if iface.Type == ocispec.NetSlirp4netns {
		for _, f := range fwds {
			if !f.HostAddr.Is4() {
				return fmt.Errorf("forward %s: slirp4netns forwards from IPv4 addresses only (pasta does both)", f)
			}
		}
	}
	return nil
}

// preflightUserModeNet checks that the helper is installed and that
// /dev/net/tun may be opened.
func preflightUserModeNet(iface ocispec.Interface) error {
	if _, err := lookHelper(iface.Type); err != nil {
		return err
	}
	return checkTun()
}

// userModeNet is an interface of a running pasta or slirp4netns.
type userModeNet struct {
	name, typ string
	helper    *helperProc
	stopping  atomic.Bool
	// stopHelper asks the helper to exit (slirp4netns: its exit pipe).
	stopHelper func()
	cleanup    func()
}

func (u *userModeNet) String() string {
	return fmt.Sprintf("%s: %s, pid %d", u.name, u.typ, u.helper.pid)
}

func (u *userModeNet) detach() {
	u.stopping.Store(true)
	if u.stopHelper != nil {
		u.stopHelper()
		select {
		case <-u.helper.done:
		case <-time.After(helperStopGrace):
		}
	}
	u.helper.stop()
	if u.cleanup != nil {
		u.cleanup()
	}
}

// watch logs a helper that exits while the container runs: the container
// has lost that interface.
func (u *userModeNet) watch(ns *netNamespace) {
	go func() {
		<-u.helper.done
		if !u.stopping.Load() {
			ns.Log.Error("network helper exited: the container lost its interface", "interface", u.name, "helper", u.typ, "err", u.helper.exited())
		}
	}()
}

// ifName is the interface's name inside the container: as set, or the
// first free ethK that netInterfaces chose (eth0 for the first, which is
// what images configure).
func ifName(iface ocispec.Interface) string {
	if v := iface.Keys["name"]; v != "" {
		return v
	}
	return "eth0"
}

// attachPasta starts pasta on the container's namespaces. pasta copies
// the host's addresses and routes into the container (--config-net), so
// the container's address is the host's own.
func attachPasta(ctx context.Context, ns *netNamespace, iface ocispec.Interface) (netAttachment, error) {
	path, err := lookHelper("pasta")
	if err != nil {
		return nil, err
	}
	if err := checkTun(); err != nil {
		return nil, err
	}
	fwds, err := ocispec.ParseForwards(iface.Keys["forward"])
	if err != nil {
		return nil, err
	}
	name := ifName(iface)
	args := []string{"--quiet", "--foreground", "--config-net", "--ns-ifname", name,
		"--netns", "/proc/self/fd/3", "--userns", "/proc/self/fd/4", "--pid", "/proc/self/fd/5",
		"--no-map-gw", "-T", "none", "-U", "none", "--dns-forward", pastaDNS, "--dhcp-dns"}
	args = append(args, pastaForwards(fwds)...)
	if v := iface.Keys["mtu"]; v != "" {
		args = append(args, "--mtu", v)
	}
	if v := iface.Keys["hwaddr"]; v != "" {
		args = append(args, "--ns-mac-addr", completeMAC(v))
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyR.Close()
	h, err := startHelper(path, args, []*os.File{ns.Net, ns.User, readyW}, ns.Log)
	readyW.Close()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	u := &userModeNet{name: name, typ: iface.Type, helper: h}
	// pasta writes its pid to --pid once the interface is configured,
	// and keeps the file open: a line, not EOF, means ready.
	if _, err := readReady(ctx, readyR, '\n'); err != nil {
		h.stop()
		if errors.Is(err, io.EOF) {
			return nil, h.exited()
		}
		return nil, err
	}
	u.watch(ns)
	return u, nil
}

// pastaForwards are pasta's -t and -u options for fwds: ADDR/HOST:CT
// each, none without any (pasta's default forwards every port the
// container listens on).
func pastaForwards(fwds []ocispec.Forward) []string {
	var tcp, udp []string
	for _, f := range fwds {
		opt := f.HostAddr.String() + "/" + strconv.Itoa(int(f.HostPort)) + ":" + strconv.Itoa(int(f.Port))
		if f.Proto == "udp" {
			udp = append(udp, "-u", opt)
		} else {
			tcp = append(tcp, "-t", opt)
		}
	}
	if tcp == nil {
		tcp = []string{"-t", "none"}
	}
	if udp == nil {
		udp = []string{"-u", "none"}
	}
	return append(tcp, udp...)
}

// attachSlirp4netns starts slirp4netns on the container's namespaces:
// 10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3. Port forwards go through
// its API socket, in the container's runtime directory.
func attachSlirp4netns(ctx context.Context, ns *netNamespace, iface ocispec.Interface) (_ netAttachment, err error) {
	path, err := lookHelper("slirp4netns")
	if err != nil {
		return nil, err
	}
	if err := checkTun(); err != nil {
		return nil, err
	}
	fwds, err := ocispec.ParseForwards(iface.Keys["forward"])
	if err != nil {
		return nil, err
	}
	name := ifName(iface)
	mtu := iface.Keys["mtu"]
	if mtu == "" {
		mtu = strconv.Itoa(ocispec.MaxMTU)
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyR.Close()
	// slirp4netns exits once its end of this pipe sees the other end
	// close: when stopped, and when the supervisor dies, however.
	exitR, exitW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return nil, err
	}
	args := []string{"--configure", "--mtu=" + mtu, "--disable-host-loopback", "--netns-type=path",
		"--userns-path=/proc/self/fd/4", "--ready-fd=5", "--exit-fd=6"}
	if v := iface.Keys["hwaddr"]; v != "" {
		args = append(args, "--macaddress="+completeMAC(v))
	}
	extra := []*os.File{ns.Net, ns.User, readyW, exitR}
	var sock string
	if len(fwds) > 0 {
		// By a descriptor of the directory, as the control socket: the
		// path may be longer than a socket address allows.
		if err := os.MkdirAll(ns.RuntimeDir, 0o700); err != nil {
			return nil, fmt.Errorf("runtime dir: %w", err)
		}
		dir, err := os.Open(ns.RuntimeDir)
		if err != nil {
			return nil, fmt.Errorf("runtime dir: %w", err)
		}
		defer dir.Close()
		sock = "slirp4netns-" + strconv.Itoa(iface.Index) + ".sock"
		_ = os.Remove(filepath.Join(ns.RuntimeDir, sock))
		extra = append(extra, dir)
		args = append(args, "--api-socket=/proc/self/fd/7/"+sock)
	}
	args = append(args, "/proc/self/fd/3", name)
	h, err := startHelper(path, args, extra, ns.Log)
	readyW.Close()
	exitR.Close()
	if err != nil {
		exitW.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	u := &userModeNet{name: name, typ: iface.Type, helper: h, stopHelper: func() { exitW.Close() }}
	if sock != "" {
		u.cleanup = func() { _ = os.Remove(filepath.Join(ns.RuntimeDir, sock)) }
	}
	defer func() {
		if err != nil {
			u.detach()
		}
	}()
	// It writes "1" and closes once the interface is up (and the API
	// socket listens).
	if got, err := readReady(ctx, readyR, 0); err != nil || got != "1" {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, h.exited()
		}
		return nil, err
	}
	for _, f := range fwds {
		if err := slirpForward(ctx, ns.RuntimeDir, sock, f); err != nil {
			return nil, fmt.Errorf("forward %s: %w", f, err)
		}
	}
	u.watch(ns)
	return u, nil
}

// slirpForward asks slirp4netns, on its API socket, to forward f.
func slirpForward(ctx context.Context, dir, sock string, f ocispec.Forward) error {
	addr, done, err := socketAddrOf(dir, sock)
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", addr)
	done()
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(helperReadyTimeout))
	req := map[string]any{"execute": "add_hostfwd", "arguments": map[string]any{
		"proto": f.Proto, "host_addr": f.HostAddr.String(), "host_port": f.HostPort, "guest_port": f.Port}}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return err
	}
	_ = conn.(*net.UnixConn).CloseWrite()
	var resp struct {
		Return json.RawMessage `json:"return"`
		Error  *struct {
			Desc string `json:"desc"`
		} `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(conn, 64<<10)).Decode(&resp); err != nil {
		return fmt.Errorf("slirp4netns API: %w", err)
	}
	if resp.Error != nil {
		return fmt.Errorf("slirp4netns: %s", resp.Error.Desc)
	}
	if resp.Return == nil {
		return errors.New("slirp4netns API: no answer")
	}
	return nil
}

// socketAddrOf is a short address of the socket name in dir, through a
// descriptor of dir; call done once the address has been used.
func socketAddrOf(dir, name string) (addr string, done func(), err error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	return "/proc/self/fd/" + strconv.Itoa(fd) + "/" + name, func() { unix.Close(fd) }, nil
}

// readReady reads what a helper writes when it is ready: up to delim (0:
// to EOF), at most 64 bytes, within helperReadyTimeout or ctx. io.EOF
// means it closed the pipe without a word, exited as a rule.
func readReady(ctx context.Context, r *os.File, delim byte) (string, error) {
	limit := helperReadyTimeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < limit {
		limit = time.Until(d)
	}
	deadline := time.Now().Add(limit)
	r.SetReadDeadline(deadline)
	br := bufio.NewReader(io.LimitReader(r, 64))
	var s string
	var err error
	if delim == 0 {
		var b []byte
		b, err = io.ReadAll(br)
		s = string(b)
		if err == nil && s == "" {
			err = io.EOF
		}
	} else {
		s, err = br.ReadString(delim)
		if err == io.EOF && s != "" {
			err = nil
		}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "", fmt.Errorf("not ready after %v", limit.Round(time.Millisecond))
	}
	return strings.TrimSpace(s), err
}

// completeMAC replaces each "x" of an LXC hwaddr with a random hex digit,
// as LXC does; the first octet stays unicast.
func completeMAC(mac string) string {
	b := []byte(strings.ToLower(mac))
	var r [17]byte
	_, _ = rand.Read(r[:])
	for i := range b {
		if b[i] != 'x' {
			continue
		}
		if i == 1 {
			b[i] = "02468ace"[r[i%len(r)]%8]
		} else {
			b[i] = "0123456789abcdef"[r[i%len(r)]%16]
		}
	}
	return string(b)
}
