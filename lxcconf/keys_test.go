package lxcconf

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		key, modern string
		known       bool
	}{
		// Legacy names, as lxc-update-config rewrites them.
		{"lxc.id_map", "lxc.idmap", true},
		{"lxc.rootfs", "lxc.rootfs.path", true},
		{"lxc.utsname", "lxc.uts.name", true},
		{"lxc.tty", "lxc.tty.max", true},
		{"lxc.pts", "lxc.pty.max", true},
		{"lxc.devttydir", "lxc.tty.dir", true},
		{"lxc.console", "lxc.console.path", true},
		{"lxc.loglevel", "lxc.log.level", true},
		{"lxc.logfile", "lxc.log.file", true},
		{"lxc.syslog", "lxc.log.syslog", true},
		{"lxc.haltsignal", "lxc.signal.halt", true},
		{"lxc.rebootsignal", "lxc.signal.reboot", true},
		{"lxc.stopsignal", "lxc.signal.stop", true},
		{"lxc.init_cmd", "lxc.init.cmd", true},
		{"lxc.init_uid", "lxc.init.uid", true},
		{"lxc.init_gid", "lxc.init.gid", true},
		{"lxc.aa_profile", "lxc.apparmor.profile", true},
		{"lxc.aa_allow_incomplete", "lxc.apparmor.allow_incomplete", true},
		{"lxc.se_context", "lxc.selinux.context", true},
		{"lxc.seccomp", "lxc.seccomp.profile", true},
		{"lxc.mount", "lxc.mount.fstab", true},
		{"lxc.limit", "lxc.prlimit", true},
		{"lxc.limit.nofile", "lxc.prlimit.nofile", true},
		{"lxc.network", "lxc.net", true},
		{"lxc.network.type", "lxc.net.0.type", true},
		{"lxc.network.ipv4", "lxc.net.0.ipv4.address", true},
		{"lxc.network.ipv4.gateway", "lxc.net.0.ipv4.gateway", true},
		{"lxc.network.ipv6", "lxc.net.0.ipv6.address", true},
		{"lxc.network.veth.pair", "lxc.net.0.veth.pair", true},
		{"lxc.network.2.link", "lxc.net.2.link", true},
		{"lxc.network.2.ipv4", "lxc.net.2.ipv4.address", true},
		{"lxc.network.2", "lxc.net.2", true},
		{"lxc.net.1.ipv4", "lxc.net.1.ipv4.address", true},
		// Modern names stay.
		{"lxc.console.logfile", "lxc.console.logfile", true},
		{"lxc.rootfs.path", "lxc.rootfs.path", true},
		{"lxc.rootfs.options", "lxc.rootfs.options", true},
		{"lxc.start.auto", "lxc.start.auto", true},
		{"lxc.ephemeral", "lxc.ephemeral", true},
		{"lxc.hook.pre-start", "lxc.hook.pre-start", true},
		{"lxc.cgroup2.memory.max", "lxc.cgroup2.memory.max", true},
		{"lxc.cgroup.devices.allow", "lxc.cgroup.devices.allow", true},
		{"lxc.prlimit.nofile", "lxc.prlimit.nofile", true},
		{"lxc.sysctl.net.ipv4.ip_forward", "lxc.sysctl.net.ipv4.ip_forward", true},
		{"lxc.proc.oom_score_adj", "lxc.proc.oom_score_adj", true},
		{"lxc.namespace.share.net", "lxc.namespace.share.net", true},
		{"lxc.net.0.veth.vlan.tagged.id", "lxc.net.0.veth.vlan.tagged.id", true},
		{"lxc.net.007.type", "lxc.net.7.type", true},
		{"lxc.net.0.forward", "lxc.net.0.forward", true}, // ulxc's own
		{"lxc.net", "lxc.net", true},
		{"lxc.cgroup2", "lxc.cgroup2", true},
		// Unknown, and removed without replacement.
		{"lxc.pivotdir", "lxc.pivotdir", false},
		{"lxc.kmsg", "lxc.kmsg", false},
		{"lxc.rootfs.backend", "lxc.rootfs.backend", false},
		{"lxc.bogus", "lxc.bogus", false},
		{"lxc.hook.bogus", "lxc.hook.bogus", false},
		{"lxc.cgroup2.", "lxc.cgroup2.", false},
		{"lxc.net.x.type", "lxc.net.x.type", false},
		{"lxc.net.0.bogus", "lxc.net.0.bogus", false},
		{"lxc.net.99999999999.type", "lxc.net.99999999999.type", false},
		{"lxc.network.0.bogus", "lxc.network.0.bogus", false},
		{"lxc.namespace.share.bogus", "lxc.namespace.share.bogus", false},
		{"notlxc.key", "notlxc.key", false},
		{"", "", false},
	}
	for _, tc := range tests {
		modern, known := Canonical(tc.key)
		if modern != tc.modern || known != tc.known {
			t.Errorf("Canonical(%q) = %q, %v, want %q, %v", tc.key, modern, known, tc.modern, tc.known)
		}
	}
}

// TestLegacyWarnings checks that each use of a legacy key gives one warning
// naming the modern key.
func TestLegacyWarnings(t *testing.T) {
	for legacy, modern := range legacyKeys() {
		if legacy == "lxc.network" || legacy == "lxc.limit" {
			continue // family roots: only an empty value is valid
		}
		in := legacy + " = x\n" + legacy + " = y\n"
		c, err := Parse(strings.NewReader(in), "/c", Options{})
		if err != nil {
			t.Fatalf("Parse(%q) = %v", in, err)
		}
		if len(c.Warnings) != 2 {
			t.Fatalf("Parse(%q) warnings = %q, want 2", in, c.Warnings)
		}
		for i, w := range c.Warnings {
			if want := legacy + ": deprecated, use " + modern; w.Msg != want || w.Line != i+1 {
				t.Errorf("Parse(%q) warning %d = %q, want line %d %q", in, i, w, i+1, want)
			}
		}
		if v, _ := c.Get(modern); v != "y" {
			t.Errorf("Parse(%q): Get(%q) = %q, want %q", in, modern, v, "y")
		}
		if c.Entries[0].Key != modern || !strings.HasPrefix(c.Entries[0].Raw, legacy) {
			t.Errorf("Parse(%q): Entries[0] = %+v, want Key %q and the legacy spelling in Raw", in, c.Entries[0], modern)
		}
	}
}

func TestClearing(t *testing.T) {
	tests := []struct {
		name, config, key string
		want              []string
	}{
		{"list appends", "lxc.idmap = a\nlxc.idmap = b\n", "lxc.idmap", []string{"a", "b"}},
		{"list cleared", "lxc.idmap = a\nlxc.idmap =\nlxc.idmap = b\n", "lxc.idmap", []string{"b"}},
		{"legacy clears modern", "lxc.idmap = a\nlxc.id_map =\n", "lxc.idmap", nil},
		{"cap.drop cleared", "lxc.cap.drop = a b\nlxc.cap.drop = \"\"\n", "lxc.cap.drop", nil},
		{"single replaced", "lxc.uts.name = a\nlxc.uts.name = b\n", "lxc.uts.name", []string{"b"}},
		{"single cleared", "lxc.uts.name = a\nlxc.uts.name =\n", "lxc.uts.name", nil},
		{"cgroup2 per key", "lxc.cgroup2.devices.allow = a\nlxc.cgroup2.devices.deny = x\nlxc.cgroup2.devices.allow =\n", "lxc.cgroup2.devices.deny", []string{"x"}},
		{"cgroup2 key cleared", "lxc.cgroup2.devices.allow = a\nlxc.cgroup2.devices.deny = x\nlxc.cgroup2.devices.allow =\n", "lxc.cgroup2.devices.allow", nil},
		{"cgroup2 family", "lxc.cgroup2.devices.allow = a\nlxc.cgroup2.memory.max = 1\nlxc.cgroup2 =\n", "lxc.cgroup2.memory.max", nil},
		{"cgroup family spares cgroup2", "lxc.cgroup2.memory.max = 1\nlxc.cgroup.memory.limit_in_bytes = 1\nlxc.cgroup =\n", "lxc.cgroup2.memory.max", []string{"1"}},
		{"cgroup family spares dir", "lxc.cgroup.dir = d\nlxc.cgroup.cpu.shares = 1\nlxc.cgroup =\n", "lxc.cgroup.dir", []string{"d"}},
		{"hooks family", "lxc.hook.start = a\nlxc.hook.mount = b\nlxc.hook =\n", "lxc.hook.start", nil},
		{"hooks family spares version", "lxc.hook.version = 1\nlxc.hook =\n", "lxc.hook.version", []string{"1"}},
		{"hook key", "lxc.hook.start = a\nlxc.hook.mount = b\nlxc.hook.start =\n", "lxc.hook.mount", []string{"b"}},
		{"prlimit family", "lxc.prlimit.nofile = 1\nlxc.prlimit =\n", "lxc.prlimit.nofile", nil},
		{"legacy limit family", "lxc.prlimit.nofile = 1\nlxc.limit =\n", "lxc.prlimit.nofile", nil},
		{"prlimit last wins", "lxc.prlimit.nofile = 1\nlxc.prlimit.nofile = 2\n", "lxc.prlimit.nofile", []string{"2"}},
		{"sysctl family", "lxc.sysctl.a = 1\nlxc.sysctl =\n", "lxc.sysctl.a", nil},
		{"proc family", "lxc.proc.oom_score_adj = 1\nlxc.proc =\n", "lxc.proc.oom_score_adj", nil},
		{"net all", "lxc.net.0.type = veth\nlxc.net.1.type = veth\nlxc.net =\n", "lxc.net.1.type", nil},
		{"net one", "lxc.net.0.type = veth\nlxc.net.1.type = phys\nlxc.net.0 =\n", "lxc.net.1.type", []string{"phys"}},
		{"net one cleared", "lxc.net.0.type = veth\nlxc.net.1.type = phys\nlxc.net.0 =\n", "lxc.net.0.type", nil},
		{"net 1 spares 10", "lxc.net.10.type = veth\nlxc.net.1 =\n", "lxc.net.10.type", []string{"veth"}},
		{"net addresses", "lxc.net.0.ipv4.address = a\nlxc.net.0.ipv4.address = b\nlxc.net.0.ipv4.address =\nlxc.net.0.ipv4.address = c\n", "lxc.net.0.ipv4.address", []string{"c"}},
		{"legacy network type clears all", "lxc.net.0.type = veth\nlxc.network.type =\n", "lxc.net.0.type", nil},
		{"include list", "lxc.include =\n", "lxc.include", nil},
		{"value on family root ignored", "lxc.cgroup2.memory.max = 1\nlxc.cgroup2 = 2\n", "lxc.cgroup2.memory.max", []string{"1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.config), "/c", Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Values(tc.key); !slices.Equal(got, tc.want) {
				t.Errorf("Parse(%q).Values(%q) = %q, want %q", tc.config, tc.key, got, tc.want)
			}
			v, ok := c.Get(tc.key)
			if wantOK := len(tc.want) > 0; ok != wantOK || (ok && v != tc.want[len(tc.want)-1]) {
				t.Errorf("Parse(%q).Get(%q) = %q, %v, want the last of %q", tc.config, tc.key, v, ok, tc.want)
			}
		})
	}
}

func TestNetworks(t *testing.T) {
	tests := []struct {
		name, config string
		want         []Net
	}{
		{
			name: "modern",
			config: "lxc.net.1.type = veth\nlxc.net.1.link = br1\nlxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\n" +
				"lxc.net.0.flags = up\nlxc.net.0.name = eth0\nlxc.net.0.hwaddr = 00:16:3e:00:00:01\nlxc.net.0.mtu = 1400\n" +
				"lxc.net.0.ipv4.address = 10.0.3.2/24\nlxc.net.0.ipv4.address = 10.0.3.3/24\nlxc.net.0.ipv4.gateway = auto\n" +
				"lxc.net.0.ipv6.address = fd00::2/64\nlxc.net.0.ipv6.gateway = fd00::1\nlxc.net.0.veth.pair = vp\n",
			want: []Net{
				{Index: 0, Type: "veth", Link: "lxcbr0", Name: "eth0", HWAddr: "00:16:3e:00:00:01", Flags: "up", MTU: "1400",
					IPv4: []string{"10.0.3.2/24", "10.0.3.3/24"}, IPv4Gateway: "auto", IPv6: []string{"fd00::2/64"}, IPv6Gateway: "fd00::1"},
				{Index: 1, Type: "veth", Link: "br1"},
			},
		},
		{
			name: "legacy",
			config: "lxc.network.type = veth\nlxc.network.link = lxcbr0\nlxc.network.ipv4 = 10.0.3.2/24\nlxc.network.ipv4.gateway = 10.0.3.1\n" +
				"lxc.network.type = empty\nlxc.network.type = phys\nlxc.network.link = eth1\nlxc.network.0.name = eth0\n",
			want: []Net{
				{Index: 0, Type: "veth", Link: "lxcbr0", Name: "eth0", IPv4: []string{"10.0.3.2/24"}, IPv4Gateway: "10.0.3.1"},
				{Index: 1, Type: "empty"},
				{Index: 2, Type: "phys", Link: "eth1"},
			},
		},
		{
			name:   "legacy after modern",
			config: "lxc.net.0.type = veth\nlxc.network.type = phys\nlxc.network.link = eth1\n",
			want:   []Net{{Index: 0, Type: "veth"}, {Index: 1, Type: "phys", Link: "eth1"}},
		},
		{
			name:   "legacy cleared then reopened",
			config: "lxc.network.type = veth\nlxc.network =\nlxc.network.type = empty\n",
			want:   []Net{{Index: 0, Type: "empty"}},
		},
		{name: "none", config: "lxc.uts.name = x\n", want: []Net{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.config), "/c", Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := c.Networks()
			if len(got) != len(tc.want) {
				t.Fatalf("Networks() = %+v, want %+v", got, tc.want)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Index != w.Index || g.Type != w.Type || g.Link != w.Link || g.Name != w.Name || g.HWAddr != w.HWAddr ||
					g.Flags != w.Flags || g.MTU != w.MTU || !slices.Equal(g.IPv4, w.IPv4) || !slices.Equal(g.IPv6, w.IPv6) ||
					g.IPv4Gateway != w.IPv4Gateway || g.IPv6Gateway != w.IPv6Gateway {
					t.Errorf("Networks()[%d] = %+v, want %+v", i, g, w)
				}
				if g.Keys["type"] != w.Type {
					t.Errorf("Networks()[%d].Keys[type] = %q, want %q", i, g.Keys["type"], w.Type)
				}
			}
		})
	}
}

func TestKeysAndLookupPrefix(t *testing.T) {
	in := "lxc.cgroup2.devices.deny = a\nlxc.cgroup2.devices.allow = c 1:3 rwm\nlxc.cgroup2.memory.max = 1G\n" +
		"lxc.cgroup2.devices.allow = c 1:5 rwm\nlxc.prlimit.nofile = 10\n"
	c, err := Parse(strings.NewReader(in), "/c", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"lxc.cgroup2.devices.deny", "lxc.cgroup2.devices.allow", "lxc.cgroup2.memory.max"}
	if got := c.Keys("lxc.cgroup2."); !slices.Equal(got, want) {
		t.Errorf("Keys(lxc.cgroup2.) = %q, want %q", got, want)
	}
	var rules []string
	for _, e := range c.LookupPrefix("lxc.cgroup2.devices.") {
		rules = append(rules, e.Key[len("lxc.cgroup2.devices."):]+" "+e.Value)
	}
	if want := []string{"deny a", "allow c 1:3 rwm", "allow c 1:5 rwm"}; !slices.Equal(rules, want) {
		t.Errorf("LookupPrefix(lxc.cgroup2.devices.) = %q, want %q", rules, want)
	}
}

// TestRoots: roots, which looks only at a key's first two components,
// finds what a look at every root of clearRoots finds, for every known
// key and for network keys.
func TestRoots(t *testing.T) {
	every := func(key string) []string {
		var rs []string
		for r := range clearRoots() {
			if r != key && clears(r, key) {
				rs = append(rs, r)
			}
		}
		if n, sub, ok := netIndex(key); ok && sub != "" {
			rs = append(rs, "lxc.net."+strconv.Itoa(n))
		}
		return rs
	}
	keys := []string{"lxc", "lxc.net", "lxc.net.0", "lxc.net.0.type", "lxc.net.12.ipv4.address", "lxc.cgroup.dir",
		"lxc.cgroup.devices.allow", "lxc.cgroup2.memory.max", "lxc.hook.version", "lxc.hook.start", "lxc.prlimit.nofile",
		"lxc.sysctl.net.ipv4.ip_forward", "lxc.proc.oom_score_adj", "lxc.cgroup", "lxc.hookx.start", "x.y.z"}
	for k := range modernKeys() {
		keys = append(keys, k)
	}
	for r := range clearRoots() {
		if strings.Count(r, ".") != 1 {
			t.Errorf("clear root %q is not lxc.X: roots would miss it", r)
		}
	}
	for _, k := range keys {
		got, want := roots(k), every(k)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("roots(%q) = %q, want %q", k, got, want)
		}
	}
}
