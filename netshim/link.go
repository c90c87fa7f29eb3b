package netshim

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/sys/unix"
)

// vethInfoPeer is VETH_INFO_PEER of linux/veth.h, which x/sys lacks.
const vethInfoPeer = 1

// Link is what the helper and ulxc read of an interface.
type Link struct {
	Index  int
	Name   string
	Kind   string // IFLA_INFO_KIND: "bridge", "veth", "" for a plain device
	MTU    int
	Master int // the index of the bridge it is a port of, or 0
	Up     bool
	HWAddr MAC
}

// LinkByName returns the interface called name; an error matching
// unix.ENODEV means there is none.
func (c *Conn) LinkByName(name string) (Link, error) {
	var m builder
	m.ifinfomsg(0, 0, 0)
	m.str(unix.IFLA_IFNAME, name)
	msgs, err := c.request("get link "+name, unix.RTM_GETLINK, 0, m.b, unix.RTM_NEWLINK)
	if err != nil {
		return Link{}, err
	}
	if len(msgs) != 1 {
		return Link{}, fmt.Errorf("get link %s: %d replies", name, len(msgs))
	}
	return parseLink(msgs[0])
}

func parseLink(b []byte) (Link, error) {
	var l Link
	if len(b) < unix.SizeofIfInfomsg {
		return l, fmt.Errorf("get link: short reply")
	}
	l.Index = int(int32(binary.NativeEndian.Uint32(b[4:])))
	l.Up = binary.NativeEndian.Uint32(b[8:])&unix.IFF_UP != 0
	for typ, val := range attrs(b[unix.SizeofIfInfomsg:]) {
		switch typ {
		case unix.IFLA_IFNAME:
			l.Name = strings.TrimRight(string(val), "\x00")
		case unix.IFLA_MTU:
			if len(val) == 4 {
				l.MTU = int(binary.NativeEndian.Uint32(val))
			}
		case unix.IFLA_MASTER:
			if len(val) == 4 {
				l.Master = int(binary.NativeEndian.Uint32(val))
			}
		case unix.IFLA_ADDRESS:
			if len(val) == len(l.HWAddr) {
				copy(l.HWAddr[:], val)
			}
		case unix.IFLA_LINKINFO:
			for t, v := range attrs(val) {
				if t == unix.IFLA_INFO_KIND {
					l.Kind = strings.TrimRight(string(v), "\x00")
				}
			}
		}
	}
	return l, nil
}

// Veth describes a veth pair to create: the host end in the socket's
// namespace, attached to Master and up; the peer in the network namespace
// of the descriptor PeerNetnsFD (in the caller's descriptor table), down.
type Veth struct {
	Name        string
	HWAddr      MAC
	MTU         int
	Master      int
	PeerName    string
	PeerHWAddr  MAC
	PeerMTU     int
	PeerNetnsFD int
}

// NewVeth creates the pair in one RTM_NEWLINK: the kernel makes the peer
// directly inside its namespace, attaches the host end to its bridge and
// sets it up, or does none of it. NLM_F_EXCL: an existing name is EEXIST,
// never a change to an interface that exists.
func (c *Conn) NewVeth(v Veth) error {
	var m builder
	m.ifinfomsg(0, unix.IFF_UP, unix.IFF_UP)
	m.str(unix.IFLA_IFNAME, v.Name)
	m.attr(unix.IFLA_ADDRESS, v.HWAddr[:])
	m.u32(unix.IFLA_MTU, uint32(v.MTU))
	m.u32(unix.IFLA_MASTER, uint32(v.Master))
	m.nest(unix.IFLA_LINKINFO, func() {
		m.str(unix.IFLA_INFO_KIND, "veth")
		m.nest(unix.IFLA_INFO_DATA, func() {
			m.nest(vethInfoPeer, func() {
				m.ifinfomsg(0, 0, 0)
				m.str(unix.IFLA_IFNAME, v.PeerName)
				m.attr(unix.IFLA_ADDRESS, v.PeerHWAddr[:])
				m.u32(unix.IFLA_MTU, uint32(v.PeerMTU))
				m.u32(unix.IFLA_NET_NS_FD, uint32(v.PeerNetnsFD))
			})
		})
	})
	_, err := c.request("create veth "+v.Name, unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, m.b, 0)
	return err
}

// DeleteLink deletes the interface with index; for a veth, the pair.
func (c *Conn) DeleteLink(index int) error {
	var m builder
	m.ifinfomsg(int32(index), 0, 0)
	_, err := c.request(fmt.Sprintf("delete link %d", index), unix.RTM_DELLINK, 0, m.b, 0)
	return err
}

// SetUp sets the interface with index up.
func (c *Conn) SetUp(index int) error {
	var m builder
	m.ifinfomsg(int32(index), unix.IFF_UP, unix.IFF_UP)
	_, err := c.request(fmt.Sprintf("set link %d up", index), unix.RTM_NEWLINK, 0, m.b, 0)
	return err
}

// AddAddr adds the address p (with its prefix length) to the interface;
// an IPv4 address gets brd, if valid, as its broadcast address.
func (c *Conn) AddAddr(index int, p netip.Prefix, brd netip.Addr) error {
	var m builder
	family := byte(unix.AF_INET6)
	if p.Addr().Is4() {
		family = unix.AF_INET
	}
	var h [unix.SizeofIfAddrmsg]byte
	h[0], h[1] = family, byte(p.Bits())
	binary.NativeEndian.PutUint32(h[4:], uint32(index))
	m.raw(h[:]...)
	a := p.Addr().AsSlice()
	m.attr(unix.IFA_LOCAL, a)
	m.attr(unix.IFA_ADDRESS, a)
	if brd.IsValid() && brd.Is4() && family == unix.AF_INET {
		m.attr(unix.IFA_BROADCAST, brd.AsSlice())
	}
	_, err := c.request("add address "+p.String(), unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, m.b, 0)
	return err
}

// Route is a route in the main table through an interface: to Dst via
// Gateway (if valid), or directly on the link.
type Route struct {
	Index   int
	Dst     netip.Prefix // 0.0.0.0/0 or ::/0 for a default route
	Gateway netip.Addr
}

// AddRoute adds r to the main table.
func (c *Conn) AddRoute(r Route) error {
	var m builder
	family := byte(unix.AF_INET6)
	if r.Dst.Addr().Is4() {
		family = unix.AF_INET
	}
	scope := byte(unix.RT_SCOPE_UNIVERSE)
	if !r.Gateway.IsValid() {
		scope = unix.RT_SCOPE_LINK
	}
	// struct rtmsg: family, dst_len, src_len, tos, table, protocol,
	// scope, type, flags.
	m.raw(family, byte(r.Dst.Bits()), 0, 0, unix.RT_TABLE_MAIN, unix.RTPROT_BOOT, scope, unix.RTN_UNICAST, 0, 0, 0, 0)
	if r.Dst.Bits() > 0 {
		m.attr(unix.RTA_DST, r.Dst.Addr().AsSlice())
	}
	if r.Gateway.IsValid() {
		m.attr(unix.RTA_GATEWAY, r.Gateway.AsSlice())
	}
	m.u32(unix.RTA_OIF, uint32(r.Index))
	what := "add route " + r.Dst.String()
	if r.Gateway.IsValid() {
		what += " via " + r.Gateway.String()
	}
	_, err := c.request(what, unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, m.b, 0)
	return err
}

// Addrs returns the addresses of the interface with index, of the family
// of want (an IPv4 or an IPv6 address), in the kernel's order.
func (c *Conn) Addrs(index int, want netip.Addr) ([]netip.Prefix, error) {
	family := byte(unix.AF_INET6)
	if want.Is4() {
		family = unix.AF_INET
	}
	var h [unix.SizeofIfAddrmsg]byte
	h[0] = family
	msgs, err := c.request("list addresses", unix.RTM_GETADDR, unix.NLM_F_DUMP, h[:], unix.RTM_NEWADDR)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, b := range msgs {
		if len(b) < unix.SizeofIfAddrmsg || b[0] != family || int(binary.NativeEndian.Uint32(b[4:])) != index {
			continue
		}
		bits := int(b[1])
		var local, addr netip.Addr
		for typ, val := range attrs(b[unix.SizeofIfAddrmsg:]) {
			a, ok := netip.AddrFromSlice(val)
			switch {
			case !ok:
			case typ == unix.IFA_LOCAL:
				local = a
			case typ == unix.IFA_ADDRESS:
				addr = a
			}
		}
		if local.IsValid() {
			addr = local
		}
		if addr.IsValid() {
			out = append(out, netip.PrefixFrom(addr, bits))
		}
	}
	return out, nil
}
