package veth

import (
	"bytes"
	"crypto/rand"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/netshim"
)

func TestFromAnnotations(t *testing.T) {
	ann := map[string]string{
		"ulxc.net.0.type":         "veth",
		"ulxc.net.0.link":         "lxcbr0",
		"ulxc.net.0.flags":        "up",
		"ulxc.net.0.hwaddr":       "00:16:3e:xx:xx:xx",
		"ulxc.net.0.ipv4.address": "10.0.3.5/24 10.0.3.255,10.0.4.5",
		"ulxc.net.0.ipv4.gateway": "auto",
		"ulxc.net.0.ipv6.address": "fd00::5/64,fd01::5",
		"ulxc.net.0.ipv6.gateway": "fd00::1",
		"ulxc.net.0.veth.pair":    "vethFOO",
		"ulxc.net.2.type":         "veth",
		"ulxc.net.2.link":         "br1",
		"ulxc.net.2.mtu":          "1400",
		"ulxc.net.3.type":         "veth",
		"ulxc.net.3.link":         "br1",
		"ulxc.net.3.name":         "eth1",
		"ulxc.net.3.hwaddr":       "02:00:00:00:00:09",
		"ulxc.net.3.ipv4.gateway": "dev",
		"ulxc.net.3.flags":        "up",
		"ulxc.net.1.type":         "pasta", // not ours
		"ulxc.net.1.forward":      "tcp:8080:80",
		"ulxc.hook.start.0":       "{}",
		"ulxc.netx":               "other",
	}
	// Each random byte gives one digit, its low four bits.
	its, err := fromAnnotations(ann, bytes.NewReader([]byte{0xf0, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe}))
	if err != nil {
		t.Fatal(err)
	}
	want := []Interface{
		{Index: 0, Link: "lxcbr0", Name: "eth0", HWAddr: netshim.MAC{0x00, 0x16, 0x3e, 0x0a, 0xbc, 0xde}, Up: true,
			IPv4:        []Addr{{netip.MustParsePrefix("10.0.3.5/24"), netip.MustParseAddr("10.0.3.255")}, {Prefix: netip.MustParsePrefix("10.0.4.5/8")}},
			IPv6:        []Addr{{Prefix: netip.MustParsePrefix("fd00::5/64")}, {Prefix: netip.MustParsePrefix("fd01::5/64")}},
			IPv4Gateway: Gateway{Auto: true}, IPv6Gateway: Gateway{Addr: netip.MustParseAddr("fd00::1")},
			Ignored: []string{"lxc.net.0.veth.pair"}},
		// eth1 is lxc.net.3's: lxc.net.2 takes the next free name.
		{Index: 2, Link: "br1", Name: "eth2", MTU: 1400},
		{Index: 3, Link: "br1", Name: "eth1", HWAddr: netshim.MAC{2, 0, 0, 0, 0, 9}, Up: true, IPv4Gateway: Gateway{Dev: true}},
	}
	if !reflect.DeepEqual(its, want) {
		t.Fatalf("FromAnnotations =\n%+v\nwant\n%+v", its, want)
	}
}

func TestExpandMAC(t *testing.T) {
	m, err := expandMAC("xX:xx:xx:xx:xx:xx", bytes.NewReader([]byte{1, 3, 5, 7, 9, 11, 13, 15, 2, 4, 6, 8}))
	if want := (netshim.MAC{0x12, 0x57, 0x9b, 0xdf, 0x24, 0x68}); err != nil || m != want {
		t.Errorf("expandMAC = %v, %v; want %v (the second digit even)", m, err, want)
	}
	for range 200 {
		m, err := expandMAC("xx:xx:xx:xx:xx:xx", rand.Reader)
		if err != nil || m[0]&1 != 0 {
			t.Fatalf("expandMAC = %v, %v; want unicast", m, err)
		}
	}
}

func TestFromAnnotationsRefuses(t *testing.T) {
	base := map[string]string{"ulxc.net.0.type": "veth", "ulxc.net.0.link": "br0"}
	for _, tc := range []struct {
		name, key, value, want string
	}{
		{"no link", "ulxc.net.0.link", "", "lxc.net.0.link: missing"},
		{"bad link", "ulxc.net.0.link", "br/0", `lxc.net.0.link = "br/0"`},
		{"long name", "ulxc.net.0.name", "abcdefghijklmnop", "longer than 15"},
		{"dotdot name", "ulxc.net.0.name", "..", `lxc.net.0.name = ".."`},
		{"multicast mac", "ulxc.net.0.hwaddr", "01:00:5e:00:00:01", "not a unicast"},
		{"bad mac", "ulxc.net.0.hwaddr", "00:16:3e:yy:00:00", "not a MAC"},
		{"mtu", "ulxc.net.0.mtu", "20", "from 68 to 65535"},
		{"flags", "ulxc.net.0.flags", "down", `the only flag is "up"`},
		{"v6 in v4", "ulxc.net.0.ipv4.address", "fd00::1/64", "not an IPv4 address"},
		{"v4 in v6", "ulxc.net.0.ipv6.address", "10.0.0.1/8", "not an IPv6 address"},
		{"prefix", "ulxc.net.0.ipv4.address", "10.0.0.1/33", "lxc.net.0.ipv4.address"},
		{"broadcast", "ulxc.net.0.ipv4.address", "10.0.0.1/8 fd00::1", "broadcast"},
		{"gateway", "ulxc.net.0.ipv4.gateway", "fd00::1", "want an IPv4 address, auto or dev"},
		{"gateway down", "ulxc.net.0.ipv4.gateway", "10.0.0.1", "a gateway needs the interface up"},
		{"script", "ulxc.net.0.script.up", "/bin/true", "lxc.net.0.script.up"},
		{"bad index", "ulxc.net.01.type", "veth", "not an lxc.net.N key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ann := map[string]string{}
			for k, v := range base {
				ann[k] = v
			}
			ann[tc.key] = tc.value
			if tc.value == "" {
				delete(ann, tc.key) // ocispec records no empty value
			}
			its, err := FromAnnotations(ann)
			var ce *ConfigError
			if !errors.Is(err, ErrConfig) || !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("FromAnnotations(%s = %q) = %+v, %v; want ErrConfig containing %q", tc.key, tc.value, its, err, tc.want)
			}
		})
	}
	dup := map[string]string{"ulxc.net.0.type": "veth", "ulxc.net.0.link": "br0", "ulxc.net.0.name": "eth0",
		"ulxc.net.1.type": "veth", "ulxc.net.1.link": "br0", "ulxc.net.1.name": "eth0"}
	if _, err := FromAnnotations(dup); err == nil || !strings.Contains(err.Error(), "lxc.net.0 has the same name") {
		t.Errorf("FromAnnotations(two eth0) = %v, want a duplicate name error", err)
	}
}
