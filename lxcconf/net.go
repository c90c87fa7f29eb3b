package lxcconf

import "sort"

// Net is one network interface, lxc.net.N.* (or legacy lxc.network.*).
type Net struct {
	Index                    int
	Type, Link, Name, HWAddr string
	Flags, MTU               string
	IPv4, IPv6               []string // lxc.net.N.ipv4.address, ipv6.address, in order
	IPv4Gateway, IPv6Gateway string
	// Keys holds every effective subkey of lxc.net.N ("veth.pair",
	// "script.up", "type"...) with its last value.
	Keys map[string]string
}

// Networks returns the effective interfaces sorted by index. An interface
// exists as soon as one of its keys is set, as in LXC.
func (c *Config) Networks() []Net {
	c.sync()
	byIndex := map[int]*Net{}
	for _, e := range c.eff {
		n, sub, ok := netIndex(e.Key)
		if !ok || sub == "" {
			continue
		}
		nt := byIndex[n]
		if nt == nil {
			nt = &Net{Index: n, Keys: map[string]string{}}
			byIndex[n] = nt
		}
		nt.Keys[sub] = e.Value
		switch sub {
		case "ipv4.address":
			nt.IPv4 = append(nt.IPv4, e.Value)
		case "ipv6.address":
			nt.IPv6 = append(nt.IPv6, e.Value)
		}
	}
	nets := make([]Net, 0, len(byIndex))
	for _, nt := range byIndex {
		k := nt.Keys
		nt.Type, nt.Link, nt.Name, nt.HWAddr = k["type"], k["link"], k["name"], k["hwaddr"]
		nt.Flags, nt.MTU = k["flags"], k["mtu"]
		nt.IPv4Gateway, nt.IPv6Gateway = k["ipv4.gateway"], k["ipv6.gateway"]
		nets = append(nets, *nt)
	}
	sort.Slice(nets, func(i, j int) bool { return nets[i].Index < nets[j].Index })
	return nets
}
