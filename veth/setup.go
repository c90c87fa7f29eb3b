package veth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/netshim"
	"github.com/ulxc/ulxc/nsenter"
)

// Options configure Setup. The zero value runs the installed helper.
type Options struct {
	// Helper is the ulxc-netshim to run; default: FindHelper's.
	Helper string
}

// Attached is an interface Setup made: the config, the host end's name and
// the container end's MAC address.
type Attached struct {
	Interface
	HostIf string
	HWAddr netshim.MAC
}

// Setup gives the network namespace netns (the container's, owned by a
// user namespace the caller made) the interfaces its, one after the
// other: ulxc-netshim makes each pair, then Setup configures the
// container's ends through a netlink socket made inside netns (addresses,
// up, default routes). On an error nothing is left: the pairs made so far
// are deleted (and the helper's quota entries go with them). The pairs
// then live as long as netns; Attach keeps a way to remove them sooner.
func Setup(ctx context.Context, netns *os.File, its []Interface, opts Options) ([]Attached, error) {
	p, err := Attach(ctx, netns, its, opts)
	if err != nil {
		return nil, err
	}
	made := p.Attached
	p.Close()
	return made, nil
}

// Pairs are the interfaces Attach made, with the netlink socket inside
// the container's network namespace that can remove them. The socket
// holds a reference to the namespace: Close or Remove it once the
// container is gone.
type Pairs struct {
	Attached []Attached
	c        *netshim.Conn
	index    []int // the container ends' interface indexes, as made
}

// Attach is Setup that keeps the socket: the caller removes the pairs
// with Remove when the container stops, rather than waiting for the
// kernel to destroy the namespace (which it does asynchronously, after
// every process, descriptor and socket that holds it is gone).
func Attach(ctx context.Context, netns *os.File, its []Interface, opts Options) (_ *Pairs, err error) {
	if len(its) == 0 {
		return &Pairs{}, nil
	}
	helper := opts.Helper
	if helper == "" {
		if helper, err = FindHelper(); err != nil {
			return nil, fmt.Errorf("lxc.net.%d: %w", its[0].Index, err)
		}
	}
	c, err := containerConn(netns)
	if err != nil {
		return nil, err
	}
	p := &Pairs{c: c}
	defer func() {
		if err != nil {
			err = errors.Join(err, p.Remove())
		}
	}()
	for _, it := range its {
		req := netshim.Request{Bridge: it.Link, Name: it.Name, MTU: it.MTU, HWAddr: it.HWAddr}
		reply, err := run(ctx, helper, netns, req)
		if err != nil {
			return nil, fmt.Errorf("lxc.net.%d: %w", it.Index, err)
		}
		p.Attached = append(p.Attached, Attached{Interface: it, HostIf: reply.HostIf, HWAddr: reply.HWAddr})
		// By index from now on: container root may rename its end.
		l, err := c.LinkByName(it.Name)
		if err != nil {
			return nil, fmt.Errorf("lxc.net.%d: %s: %w", it.Index, it.Name, err)
		}
		p.index = append(p.index, l.Index)
	}
	var host *netshim.Conn // the supervisor's namespace, for gateway = auto
	defer func() {
		if host != nil {
			host.Close()
		}
	}()
	for i, a := range p.Attached {
		if err := configure(c, &host, a.Interface, p.index[i]); err != nil {
			return nil, fmt.Errorf("lxc.net.%d: %s: %w", a.Index, a.Name, err)
		}
	}
	return p, nil
}

// Close closes the socket and leaves the pairs to the namespace's end.
func (p *Pairs) Close() error {
	if p.c == nil {
		return nil
	}
	err := p.c.Close()
	p.c = nil
	return err
}

// Remove deletes the container ends that are still there, which deletes
// the host ends too (and frees their quota: the helper's next request
// culls entries whose host end is gone), and closes the socket. An end
// container root deleted is no error; one it moved to a namespace of its
// own goes when that namespace does.
func (p *Pairs) Remove() error {
	if p.c == nil {
		return nil
	}
	var errs []error
	for i, index := range p.index {
		a := p.Attached[i]
		if err := p.c.DeleteLink(index); err != nil && !errors.Is(err, unix.ENODEV) {
			errs = append(errs, fmt.Errorf("remove lxc.net.%d (host end %s): %w", a.Index, a.HostIf, err))
		}
	}
	// A pair whose container end Attach could not find by name (renamed
	// at once) is deleted with the namespace.
	return errors.Join(append(errs, p.Close())...)
}

// containerConn makes a netlink socket inside netns: the owner of the
// user namespace that owns netns may configure it through that socket,
// though not join it (nsenter.Socket).
func containerConn(netns *os.File) (*netshim.Conn, error) {
	fd, err := unix.IoctlRetInt(int(netns.Fd()), unix.NS_GET_USERNS)
	if err != nil {
		return nil, fmt.Errorf("user namespace of the container's network namespace: %w", err)
	}
	userns := os.NewFile(uintptr(fd), "userns")
	defer userns.Close()
	sock, err := nsenter.Socket(userns, netns, unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket in the container's network namespace: %w", err)
	}
	c, err := netshim.NewConn(sock)
	if err != nil {
		sock.Close()
		return nil, err
	}
	return c, nil
}

// configure sets up the container's end: addresses (before it is up, so
// that IPv6 duplicate address detection starts with them), up, then the
// default routes, which need the link up.
func configure(c *netshim.Conn, host **netshim.Conn, it Interface, index int) error {
	for _, a := range append(append([]Addr(nil), it.IPv4...), it.IPv6...) {
		if err := c.AddAddr(index, a.Prefix, a.Broadcast); err != nil {
			return err
		}
	}
	if !it.Up {
		return nil
	}
	if err := c.SetUp(index); err != nil {
		return err
	}
	for _, g := range []struct {
		gw   Gateway
		zero netip.Addr
		key  string
	}{{it.IPv4Gateway, netip.IPv4Unspecified(), "ipv4.gateway"}, {it.IPv6Gateway, netip.IPv6Unspecified(), "ipv6.gateway"}} {
		if g.gw.IsZero() {
			continue
		}
		if err := addDefault(c, host, it, index, g.gw, g.zero); errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("%s: %w: another interface has the default route already (a gateway of its own, or one a user-mode helper set): give one interface a gateway", g.key, err)
		} else if err != nil {
			return fmt.Errorf("%s: %w", g.key, err)
		}
	}
	return nil
}

func addDefault(c *netshim.Conn, host **netshim.Conn, it Interface, index int, gw Gateway, zero netip.Addr) error {
	def := netip.PrefixFrom(zero, 0)
	if gw.Dev {
		return c.AddRoute(netshim.Route{Index: index, Dst: def})
	}
	addr := gw.Addr
	if gw.Auto {
		var err error
		if addr, err = bridgeAddr(host, it.Link, zero); err != nil {
			return err
		}
	}
	err := c.AddRoute(netshim.Route{Index: index, Dst: def, Gateway: addr})
	if errors.Is(err, unix.ENETUNREACH) {
		// A gateway outside the interface's subnets: a route to it on
		// the link first, as LXC does.
		if err := c.AddRoute(netshim.Route{Index: index, Dst: netip.PrefixFrom(addr, addr.BitLen())}); err != nil {
			return err
		}
		err = c.AddRoute(netshim.Route{Index: index, Dst: def, Gateway: addr})
	}
	return err
}

// bridgeAddr is "auto": the bridge's first address of zero's family in
// the caller's network namespace (where the helper put the host end),
// link-local IPv6 addresses left out.
func bridgeAddr(host **netshim.Conn, bridge string, zero netip.Addr) (netip.Addr, error) {
	if *host == nil {
		c, err := netshim.Dial()
		if err != nil {
			return netip.Addr{}, err
		}
		*host = c
	}
	l, err := (*host).LinkByName(bridge)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("auto: bridge %s: %w", bridge, err)
	}
	addrs, err := (*host).Addrs(l.Index, zero)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("auto: addresses of bridge %s: %w", bridge, err)
	}
	for _, p := range addrs {
		if !p.Addr().IsLinkLocalUnicast() {
			return p.Addr(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("auto: bridge %s has no IPv%d address to use as the gateway", bridge, map[bool]int{true: 4, false: 6}[zero.Is4()])
}

// maxOutput bounds what is kept of the helper's stdout and stderr.
const maxOutput = 4096

// run runs the helper for req with netns as its descriptor 3 and an empty
// environment, and turns its exit status into the refusal it stands for.
func run(ctx context.Context, helper string, netns *os.File, req netshim.Request) (netshim.Reply, error) {
	cmd := exec.CommandContext(ctx, helper, req.Args()...)
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{netns} // netshim.NetnsFD
	var stdout, stderr limited
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	herr := &netshim.HelperError{Path: helper, Request: req, User: userName(),
		Msg: strings.TrimPrefix(strings.TrimSpace(stderr.String()), netshim.HelperName+": ")}
	var ee *exec.ExitError
	switch {
	case err == nil:
		reply, err := netshim.ParseReply(stdout.String())
		if err != nil {
			herr.Code, herr.Msg = 0, err.Error()
			return reply, herr
		}
		return reply, nil
	case errors.As(err, &ee) && ee.Exited():
		herr.Code = ee.ExitCode()
		herr.Err = netshim.ErrorForExit(herr.Code)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission), errors.Is(err, unix.ENOEXEC):
		herr.Err, herr.Msg = netshim.ErrNotInstalled, err.Error()
	default:
		herr.Msg = err.Error()
	}
	return netshim.Reply{}, herr
}

// limited keeps the first maxOutput bytes written to it.
type limited struct{ bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if room := maxOutput - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func userName() string {
	uid := strconv.Itoa(os.Getuid())
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return uid
}
