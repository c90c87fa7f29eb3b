package ocispec

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The network types of lxc.net.N.type that ulxc adds to LXC's: user-mode
// networking, which needs no privilege at all (doc.go).
const (
	NetPasta       = "pasta"
	NetSlirp4netns = "slirp4netns"
)

// NetVeth is LXC's veth type, on an administrator's bridge through
// ulxc-netshim: every lxc.net.N.KEY is recorded as written, for the
// runtime (package veth) to check and apply.
const NetVeth = "veth"

// ErrNoUserNet reports port forwards asked of a container that has no
// user-mode interface to forward them to.
var ErrNoUserNet = errors.New("no interface of type pasta or slirp4netns")

// Interface is one lxc.net.N interface as the spec's annotations record it
// (ulxc.net.N.KEY), for the runtime's network phase.
type Interface struct {
	Index int               // N
	Type  string            // ulxc.net.N.type
	Keys  map[string]string // every ulxc.net.N.KEY but type, by KEY
}

// Interfaces returns the interfaces recorded in s, by index.
func Interfaces(s *specs.Spec) ([]Interface, error) {
	byIndex := map[int]*Interface{}
	for k, v := range s.Annotations {
		rest, ok := strings.CutPrefix(k, "ulxc.net.")
		if !ok {
			continue
		}
		num, sub, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 || sub == "" || strconv.Itoa(n) != num {
			return nil, fmt.Errorf("%w: annotation %s: not ulxc.net.N.KEY", ErrInvalidValue, k)
		}
		iface := byIndex[n]
		if iface == nil {
			iface = &Interface{Index: n, Keys: map[string]string{}}
			byIndex[n] = iface
		}
		if sub == "type" {
			iface.Type = v
		} else {
			iface.Keys[sub] = v
		}
	}
	out := make([]Interface, 0, len(byIndex))
	for _, iface := range byIndex {
		if iface.Type == "" {
			return nil, fmt.Errorf("%w: annotation %s: interface %d has no type", ErrInvalidValue, NetKey(iface.Index, "type"), iface.Index)
		}
		out = append(out, *iface)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}

// userModeNet records a pasta or slirp4netns interface N: the keys the
// runtime applies as annotations, the others as unapplied.
func (c *converter) userModeNet(n int, typ string, keys []string) error {
	c.ann[NetKey(n, "type")] = typ
	for _, key := range keys {
		sub := strings.TrimPrefix(key, "lxc.net."+strconv.Itoa(n)+".")
		v, set := c.get(key)
		switch sub {
		case "type":
		case "flags":
			// The helper brings the interface up: "up" is what it does.
			if set && v != "up" {
				return keyErr(key, v, ErrInvalidValue, "a %s interface is always up (want up or nothing)", typ)
			}
		case "name":
			if !set {
				continue
			}
			if err := checkIfName(v); err != nil {
				return keyErr(key, v, ErrInvalidValue, "%v", err)
			}
			c.ann[NetKey(n, sub)] = v
		case "mtu":
			if !set {
				continue
			}
			if m, err := strconv.Atoi(v); err != nil || m < MinMTU || m > MaxMTU {
				return keyErr(key, v, ErrInvalidValue, "want an MTU from %d to %d", MinMTU, MaxMTU)
			}
			c.ann[NetKey(n, sub)] = v
		case "hwaddr":
			if !set {
				continue
			}
			if err := checkHWAddr(v); err != nil {
				return keyErr(key, v, ErrInvalidValue, "%v", err)
			}
			c.ann[NetKey(n, sub)] = strings.ToLower(v)
		case "forward":
			var fwds []string
			for _, raw := range c.cfg.Values(key) {
				if strings.TrimSpace(raw) == "" {
					continue
				}
				f, err := ParseForward(raw)
				if err != nil {
					return keyErr(key, raw, ErrInvalidValue, "%v", err)
				}
				fwds = append(fwds, f.String())
			}
			if err := checkDuplicateForwards(fwds); err != nil {
				return keyErr(key, strings.Join(fwds, ", "), ErrInvalidValue, "%v", err)
			}
			if len(fwds) > 0 {
				c.ann[NetKey(n, sub)] = strings.Join(fwds, ",")
			}
		default:
			// link, addresses, routes, scripts: the helper chooses the
			// addresses (doc.go) and there is no host end to script.
			c.unapplied[key] = true
		}
	}
	return nil
}

// The MTUs a user-mode interface may have: IPv4's minimum, and the tap
// MTU that pasta and slirp4netns use by default and allow at most.
const (
	MinMTU = 68
	MaxMTU = 65520
)

// checkIfName checks a network interface name as the kernel does
// (dev_valid_name).
func checkIfName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("%q is not an interface name", name)
	case len(name) > 15:
		return fmt.Errorf("interface name %q is longer than 15 bytes", name)
	case strings.ContainsAny(name, "/: \t\n\r\v\f"):
		return fmt.Errorf("interface name %q holds '/', ':' or a blank", name)
	}
	return nil
}

// checkHWAddr checks a MAC address as LXC writes it: six pairs of hex
// digits, where an "x" is a digit LXC draws at random, and unicast.
func checkHWAddr(mac string) error {
	parts := strings.Split(mac, ":")
	if len(parts) != 6 {
		return fmt.Errorf("want a MAC address such as 00:16:3e:xx:xx:xx")
	}
	for _, p := range parts {
		if len(p) != 2 || strings.Trim(strings.ToLower(p), "0123456789abcdefx") != "" {
			return fmt.Errorf("want a MAC address such as 00:16:3e:xx:xx:xx")
		}
	}
	if first := strings.ToLower(parts[0]); first[1] != 'x' {
		if v, _ := strconv.ParseUint(first[1:], 16, 8); v&1 != 0 {
			return fmt.Errorf("%s is a multicast address", mac)
		}
	}
	return nil
}

// Forward is a port forward from the host into the container
// (lxc.net.N.forward, `ulxc start -p`).
type Forward struct {
	Proto    string     // "tcp" or "udp"
	HostAddr netip.Addr // the host address it listens on; 127.0.0.1 unless given
	HostPort uint16
	Port     uint16 // the container's port
}

// String is the forward as ParseForward reads it back, with every part
// written: tcp:127.0.0.1:8080:80, udp:[::1]:5353:53.
func (f Forward) String() string {
	addr := f.HostAddr.String()
	if f.HostAddr.Is6() {
		addr = "[" + addr + "]"
	}
	return f.Proto + ":" + addr + ":" + strconv.Itoa(int(f.HostPort)) + ":" + strconv.Itoa(int(f.Port))
}

// ForwardSyntax is the form ParseForward reads, for messages.
const ForwardSyntax = "[tcp:|udp:][ADDR:]HOSTPORT:CTPORT"

// ParseForward parses a port forward: [tcp:|udp:][ADDR:]HOSTPORT:CTPORT,
// where ADDR is an IPv4 address or an IPv6 one in brackets. The protocol
// is tcp and the address 127.0.0.1 unless given: a forward reaches the
// container from this host only unless it names another address.
func ParseForward(s string) (Forward, error) {
	bad := func(why string) (Forward, error) {
		return Forward{}, fmt.Errorf("port forward %q: %s (want %s)", s, why, ForwardSyntax)
	}
	rest := strings.TrimSpace(s)
	f := Forward{Proto: "tcp", HostAddr: netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	for _, p := range []string{"tcp", "udp"} {
		if r, ok := strings.CutPrefix(rest, p+":"); ok {
			f.Proto, rest = p, r
		}
	}
	bracketed := false
	if r, ok := strings.CutPrefix(rest, "["); ok {
		addr, after, ok := strings.Cut(r, "]:")
		if !ok {
			return bad("no ']:' after the IPv6 address")
		}
		a, err := netip.ParseAddr(addr)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return bad(fmt.Sprintf("%q is not an IPv6 address", addr))
		}
		f.HostAddr, rest, bracketed = a, after, true
	}
	parts := strings.Split(rest, ":")
	if len(parts) == 3 && !bracketed {
		a, err := netip.ParseAddr(parts[0])
		if err != nil || !a.Is4() {
			return bad(fmt.Sprintf("%q is not an IPv4 address (an IPv6 one goes in brackets)", parts[0]))
		}
		f.HostAddr, parts = a, parts[1:]
	}
	if len(parts) != 2 {
		return bad("not two ports")
	}
	ports := [2]*uint16{&f.HostPort, &f.Port}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 || p != strconv.FormatUint(n, 10) {
			return bad(fmt.Sprintf("%q is not a port from 1 to 65535", p))
		}
		*ports[i] = uint16(n)
	}
	return f, nil
}

// ParseForwards parses the forwards of an ulxc.net.N.forward annotation.
func ParseForwards(v string) ([]Forward, error) {
	var out []Forward
	for _, s := range strings.Split(v, ",") {
		if s == "" {
			continue
		}
		f, err := ParseForward(s)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// checkDuplicateForwards refuses two forwards from one host port.
func checkDuplicateForwards(fwds []string) error {
	seen := map[string]bool{}
	for _, s := range fwds {
		f, _ := ParseForward(s)
		k := f.Proto + " " + netip.AddrPortFrom(f.HostAddr, f.HostPort).String()
		if seen[k] {
			return fmt.Errorf("%s port %d on %s is forwarded twice", f.Proto, f.HostPort, f.HostAddr)
		}
		seen[k] = true
	}
	return nil
}

// AddForwards adds port forwards (`ulxc start -p`, in ParseForward's form)
// to the first pasta or slirp4netns interface of s; ErrNoUserNet without
// one.
func AddForwards(s *specs.Spec, forwards []string) error {
	if len(forwards) == 0 {
		return nil
	}
	ifaces, err := Interfaces(s)
	if err != nil {
		return err
	}
	for _, iface := range ifaces {
		if iface.Type != NetPasta && iface.Type != NetSlirp4netns {
			continue
		}
		var all []string
		if v := iface.Keys["forward"]; v != "" {
			all = strings.Split(v, ",")
		}
		for _, raw := range forwards {
			f, err := ParseForward(raw)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrInvalidValue, err)
			}
			all = append(all, f.String())
		}
		if err := checkDuplicateForwards(all); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidValue, err)
		}
		s.Annotations[NetKey(iface.Index, "forward")] = strings.Join(all, ",")
		return nil
	}
	return ErrNoUserNet
}
