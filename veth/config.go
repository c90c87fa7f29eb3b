package veth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/ulxc/ulxc/netshim"
)

// Interface is one lxc.net.N of type veth, as the container's end is to
// be: on bridge Link, named Name, with the addresses and gateways given.
type Interface struct {
	Index  int    // N in lxc.net.N
	Link   string // the bridge (lxc.net.N.link), required
	Name   string // lxc.net.N.name; default the first free ethK
	HWAddr netshim.MAC
	MTU    int  // 0: the bridge's
	Up     bool // lxc.net.N.flags = up
	IPv4   []Addr
	IPv6   []Addr
	// Gateways of the default routes; the zero value is none.
	IPv4Gateway, IPv6Gateway Gateway
	// Ignored lists the keys read but not applied (veth.pair: the host
	// end's name is the helper's to choose), for the caller to mention.
	Ignored []string
}

// Addr is an address with its prefix length, and for IPv4 an optional
// broadcast address ("10.0.3.5/24 10.0.3.255").
type Addr struct {
	Prefix    netip.Prefix
	Broadcast netip.Addr
}

// Gateway is lxc.net.N.ipvX.gateway: an address, "auto" (the bridge's
// own address on the host) or "dev" (a default route on the link, no
// gateway).
type Gateway struct {
	Addr netip.Addr
	Auto bool
	Dev  bool
}

// IsZero reports whether no gateway is set.
func (g Gateway) IsZero() bool { return g == Gateway{} }

// ErrConfig: an lxc.net.N key of a veth interface is malformed or
// unsupported.
var ErrConfig = errors.New("invalid veth configuration")

// ConfigError is a refused key, with the value found.
type ConfigError struct {
	Key, Value string
	Reason     string
}

func (e *ConfigError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Key, e.Reason)
	}
	return fmt.Sprintf("%s = %q: %s", e.Key, e.Value, e.Reason)
}

func (e *ConfigError) Unwrap() error { return ErrConfig }

// annotationPrefix is how package ocispec records lxc.net.N.KEY for the
// runtime: ulxc.net.N.KEY, list values joined with ",".
const annotationPrefix = "ulxc.net."

// FromAnnotations returns the veth interfaces the annotations describe, in
// the order of N; interfaces of other types are not its business and are
// skipped. Each "x" in a hwaddr becomes a random hex digit, as LXC does,
// the second one even (a unicast address); a random address is new for
// every call.
func FromAnnotations(ann map[string]string) ([]Interface, error) {
	return fromAnnotations(ann, rand.Reader)
}

func fromAnnotations(ann map[string]string, rnd io.Reader) ([]Interface, error) {
	byIndex := map[int]map[string]string{}
	for k, v := range ann {
		rest, ok := strings.CutPrefix(k, annotationPrefix)
		if !ok {
			continue
		}
		num, sub, ok := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n < 0 || strconv.Itoa(n) != num {
			return nil, &ConfigError{Key: "lxc.net." + rest, Reason: "not an lxc.net.N key"}
		}
		if byIndex[n] == nil {
			byIndex[n] = map[string]string{}
		}
		byIndex[n][sub] = v
	}
	var indices []int
	for n, keys := range byIndex {
		if keys["type"] == "veth" {
			indices = append(indices, n)
		}
	}
	sort.Ints(indices)
	var out []Interface
	for _, n := range indices {
		it, err := parseInterface(n, byIndex[n], rnd)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	if err := defaultNames(out); err != nil {
		return nil, err
	}
	return out, nil
}

func parseInterface(n int, keys map[string]string, rnd io.Reader) (Interface, error) {
	it := Interface{Index: n}
	key := func(sub string) string { return "lxc.net." + strconv.Itoa(n) + "." + sub }
	subs := make([]string, 0, len(keys))
	for sub := range keys {
		subs = append(subs, sub)
	}
	sort.Strings(subs)
	for _, sub := range subs {
		v := strings.TrimSpace(keys[sub])
		bad := func(format string, a ...any) error {
			return &ConfigError{Key: key(sub), Value: v, Reason: fmt.Sprintf(format, a...)}
		}
		var err error
		switch sub {
		case "type":
		case "link":
			if err := netshim.CheckName(v); err != nil {
				return it, bad("%v", err)
			}
			it.Link = v
		case "name":
			if err := netshim.CheckName(v); err != nil {
				return it, bad("%v", err)
			}
			it.Name = v
		case "hwaddr":
			if it.HWAddr, err = expandMAC(v, rnd); err != nil {
				return it, bad("%v", err)
			}
		case "mtu":
			m, err := strconv.Atoi(v)
			if err != nil || m < netshim.MinMTU || m > netshim.MaxMTU {
				return it, bad("not a number from %d to %d", netshim.MinMTU, netshim.MaxMTU)
			}
			it.MTU = m
		case "flags":
			switch v {
			case "up":
				it.Up = true
			case "":
			default:
				return it, bad(`the only flag is "up"`)
			}
		case "ipv4.address", "ipv6.address":
			want4 := sub == "ipv4.address"
			for _, a := range strings.Split(v, ",") {
				addr, err := parseAddr(strings.TrimSpace(a), want4)
				if err != nil {
					return it, bad("%v", err)
				}
				if want4 {
					it.IPv4 = append(it.IPv4, addr)
				} else {
					it.IPv6 = append(it.IPv6, addr)
				}
			}
		case "ipv4.gateway", "ipv6.gateway":
			g, err := parseGateway(v, sub == "ipv4.gateway")
			if err != nil {
				return it, bad("%v", err)
			}
			if sub == "ipv4.gateway" {
				it.IPv4Gateway = g
			} else {
				it.IPv6Gateway = g
			}
		case "veth.pair":
			it.Ignored = append(it.Ignored, key(sub))
		default:
			return it, bad("not supported for a veth on ulxc-netshim (supported: link, name, hwaddr, mtu, flags, ipv4.address, ipv4.gateway, ipv6.address, ipv6.gateway)")
		}
	}
	if it.Link == "" {
		return it, &ConfigError{Key: key("link"), Reason: "missing: a veth needs the bridge its host end goes on"}
	}
	if !it.Up && (!it.IPv4Gateway.IsZero() || !it.IPv6Gateway.IsZero()) {
		return it, &ConfigError{Key: key("flags"), Reason: "a gateway needs the interface up: set " + key("flags") + " = up"}
	}
	return it, nil
}

// expandMAC parses a MAC address in which each 'x' or 'X' is a random hex
// digit (LXC's rand_complete_hwaddr), the second digit kept even so that
// the address stays unicast.
func expandMAC(s string, rnd io.Reader) (netshim.MAC, error) {
	b := []byte(s)
	for i, c := range b {
		if c != 'x' && c != 'X' {
			continue
		}
		var r [1]byte
		if _, err := io.ReadFull(rnd, r[:]); err != nil {
			return netshim.MAC{}, fmt.Errorf("random MAC address: %w", err)
		}
		d := r[0] & 0x0f
		if i == 1 {
			d &^= 1
		}
		b[i] = "0123456789abcdef"[d]
	}
	m, err := netshim.ParseMAC(string(b))
	if err != nil {
		return m, err
	}
	if m[0]&1 != 0 || m.IsZero() {
		return m, fmt.Errorf("not a unicast MAC address")
	}
	return m, nil
}

// parseAddr parses "ADDR/LEN [BROADCAST]". Without a length an IPv4
// address gets its class's (LXC's config_ip_prefix), an IPv6 one /64.
func parseAddr(s string, want4 bool) (Addr, error) {
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 2 || len(f) == 2 && !want4 {
		return Addr{}, fmt.Errorf("want ADDRESS/PREFIX%s", map[bool]string{true: " [BROADCAST]", false: ""}[want4])
	}
	var a Addr
	if strings.Contains(f[0], "/") {
		p, err := netip.ParsePrefix(f[0])
		if err != nil {
			return a, err
		}
		a.Prefix = p
	} else {
		ip, err := netip.ParseAddr(f[0])
		if err != nil {
			return a, err
		}
		a.Prefix = netip.PrefixFrom(ip, defaultBits(ip))
	}
	if a.Prefix.Addr().Is4() != want4 || a.Prefix.Addr().Is4In6() || a.Prefix.Addr().Zone() != "" {
		return a, fmt.Errorf("%s is not an IPv%s address", f[0], map[bool]string{true: "4", false: "6"}[want4])
	}
	if len(f) == 2 {
		b, err := netip.ParseAddr(f[1])
		if err != nil || !b.Is4() {
			return a, fmt.Errorf("broadcast %q is not an IPv4 address", f[1])
		}
		a.Broadcast = b
	}
	return a, nil
}

func defaultBits(ip netip.Addr) int {
	if !ip.Is4() {
		return 64
	}
	switch b := ip.As4()[0]; {
	case b < 128:
		return 8
	case b < 192:
		return 16
	case b < 224:
		return 24
	}
	return 32
}

func parseGateway(s string, want4 bool) (Gateway, error) {
	switch s {
	case "":
		return Gateway{}, nil
	case "auto":
		return Gateway{Auto: true}, nil
	case "dev":
		return Gateway{Dev: true}, nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Is4() != want4 || ip.Is4In6() || ip.Zone() != "" {
		return Gateway{}, fmt.Errorf("want an IPv%s address, auto or dev", map[bool]string{true: "4", false: "6"}[want4])
	}
	return Gateway{Addr: ip}, nil
}

// defaultNames names the interfaces without a name eth0, eth1...: the
// lowest not taken by another interface, as the kernel's "eth%d" would.
func defaultNames(its []Interface) error {
	taken := map[string]int{}
	for _, it := range its {
		if it.Name == "" {
			continue
		}
		if n, dup := taken[it.Name]; dup {
			return &ConfigError{Key: fmt.Sprintf("lxc.net.%d.name", it.Index), Value: it.Name,
				Reason: fmt.Sprintf("lxc.net.%d has the same name", n)}
		}
		taken[it.Name] = it.Index
	}
	k := 0
	for i := range its {
		if its[i].Name != "" {
			continue
		}
		for ; ; k++ {
			if _, ok := taken["eth"+strconv.Itoa(k)]; !ok {
				break
			}
		}
		its[i].Name = "eth" + strconv.Itoa(k)
		taken[its[i].Name] = its[i].Index
	}
	return nil
}
