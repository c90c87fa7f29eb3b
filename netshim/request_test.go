package netshim

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	mac := MAC{0x02, 0x16, 0x3e, 0xaa, 0xbb, 0xcc}
	for _, tc := range []struct {
		name string
		args []string
		want Request
		err  string // substring of the error; "" for success
	}{
		{"minimal", []string{"create", "--bridge=br0"}, Request{Bridge: "br0", Name: "eth0"}, ""},
		{"separate values", []string{"create", "--bridge", "br0", "--name", "net1", "--mtu", "1400", "--hwaddr", "02:16:3e:aa:bb:cc"},
			Request{Bridge: "br0", Name: "net1", MTU: 1400, HWAddr: mac}, ""},
		{"joined values", []string{"create", "--hwaddr=02:16:3E:AA:BB:CC", "--bridge=lxcbr0", "--mtu=9000"},
			Request{Bridge: "lxcbr0", Name: "eth0", MTU: 9000, HWAddr: mac}, ""},
		{"fifteen bytes", []string{"create", "--bridge=br0", "--name=abcdefghijklmno"}, Request{Bridge: "br0", Name: "abcdefghijklmno"}, ""},
		{"dots inside", []string{"create", "--bridge=br.0", "--name=a..b"}, Request{Bridge: "br.0", Name: "a..b"}, ""},

		{"no arguments", nil, Request{}, "first argument"},
		{"other verb", []string{"delete", "--bridge=br0"}, Request{}, "first argument"},
		{"no bridge", []string{"create", "--name=eth0"}, Request{}, "--bridge is required"},
		{"pid", []string{"create", "--bridge=br0", "--pid=1234"}, Request{}, `unknown argument "--pid=1234"`},
		{"path", []string{"create", "--bridge=br0", "/proc/1/ns/net"}, Request{}, `unknown argument "/proc/1/ns/net"`},
		{"netns path", []string{"create", "--bridge=br0", "--netns=/run/netns/x"}, Request{}, "unknown argument"},
		{"single dash", []string{"create", "-bridge=br0"}, Request{}, "unknown argument"},
		{"lxc-user-nic style", []string{"create", "/var/lib/lxc", "c1", "1234", "veth", "br0", "eth0"}, Request{}, "unknown argument"},
		{"twice", []string{"create", "--bridge=br0", "--bridge=br1"}, Request{}, "given twice"},
		{"missing value", []string{"create", "--bridge"}, Request{}, "needs a value"},
		{"too many", []string{"create", "--bridge", "a", "--name", "b", "--mtu", "1500", "--hwaddr", "02:00:00:00:00:01", "x"}, Request{}, "at most"},
		{"name too long", []string{"create", "--bridge=br0", "--name=abcdefghijklmnop"}, Request{}, "longer than 15"},
		{"name slash", []string{"create", "--bridge=br0", "--name=a/b"}, Request{}, `has "/"`},
		{"name dotdot", []string{"create", "--bridge=br0", "--name=.."}, Request{}, `".."`},
		{"name dot", []string{"create", "--bridge=br0", "--name=."}, Request{}, `"."`},
		{"name space", []string{"create", "--bridge=br0", "--name=eth 0"}, Request{}, `has " "`},
		{"name tab", []string{"create", "--bridge=br0", "--name=eth\t0"}, Request{}, `has "\t"`},
		{"name empty", []string{"create", "--bridge=br0", "--name="}, Request{}, "empty interface name"},
		{"name percent", []string{"create", "--bridge=br0", "--name=eth%d"}, Request{}, `has "%"`},
		{"name colon", []string{"create", "--bridge=br0", "--name=eth0:1"}, Request{}, `has ":"`},
		{"bridge slash", []string{"create", "--bridge=../br0"}, Request{}, `has "/"`},
		{"bridge empty", []string{"create", "--bridge="}, Request{}, "empty interface name"},
		{"mtu low", []string{"create", "--bridge=br0", "--mtu=67"}, Request{}, "from 68 to 65535"},
		{"mtu high", []string{"create", "--bridge=br0", "--mtu=65536"}, Request{}, "from 68 to 65535"},
		{"mtu sign", []string{"create", "--bridge=br0", "--mtu=+1500"}, Request{}, "from 68 to 65535"},
		{"mtu hex", []string{"create", "--bridge=br0", "--mtu=0x5dc"}, Request{}, "from 68 to 65535"},
		{"mac multicast", []string{"create", "--bridge=br0", "--hwaddr=01:00:5e:00:00:01"}, Request{}, "multicast"},
		{"mac zero", []string{"create", "--bridge=br0", "--hwaddr=00:00:00:00:00:00"}, Request{}, "zero MAC"},
		{"mac short", []string{"create", "--bridge=br0", "--hwaddr=02:00:00:00:00"}, Request{}, "not a MAC"},
		{"mac dashes", []string{"create", "--bridge=br0", "--hwaddr=02-00-00-00-00-01"}, Request{}, "not a MAC"},
		{"mac xx", []string{"create", "--bridge=br0", "--hwaddr=02:16:3e:xx:xx:xx"}, Request{}, "not a MAC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseArgs(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrUsage) {
					t.Fatalf("ParseArgs(%q) = %+v, %v; want ErrUsage containing %q", tc.args, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseArgs(%q) = %+v, %v; want %+v", tc.args, got, err, tc.want)
			}
			// Args is what ulxc sends; the helper must read it back.
			again, err := ParseArgs(got.Args())
			if err != nil || again != got {
				t.Errorf("ParseArgs(%q) = %+v, %v; want %+v", got.Args(), again, err, got)
			}
		})
	}
}

func TestReply(t *testing.T) {
	r := Reply{HostIf: "ulxc0011aabb", HWAddr: MAC{2, 0x16, 0x3e, 1, 2, 3}}
	if s := r.String(); s != "ulxc0011aabb 02:16:3e:01:02:03\n" {
		t.Errorf("Reply.String() = %q", s)
	}
	got, err := ParseReply(r.String())
	if err != nil || got != r {
		t.Errorf("ParseReply(%q) = %+v, %v; want %+v", r.String(), got, err, r)
	}
	for _, bad := range []string{"", "ulxc1 02:16:3e:01:02:03", "ulxc1\n", "a/b 02:16:3e:01:02:03\n", "ulxc1 02:16:3e:01:02\n", "x y z\n"} {
		if got, err := ParseReply(bad); err == nil {
			t.Errorf("ParseReply(%q) = %+v, nil; want an error", bad, got)
		}
	}
}

func TestExitCodes(t *testing.T) {
	seen := map[int]bool{}
	for _, e := range exitCodes {
		if e.code == 1 || e.code == 2 || seen[e.code] {
			t.Errorf("exit code %d of %v: reserved or used twice", e.code, e.err)
		}
		seen[e.code] = true
		wrapped := errors.Join(errors.New("context"), e.err)
		if c := ExitCode(wrapped); c != e.code {
			t.Errorf("ExitCode(%v) = %d, want %d", wrapped, c, e.code)
		}
		if got := ErrorForExit(e.code); got != e.err {
			t.Errorf("ErrorForExit(%d) = %v, want %v", e.code, got, e.err)
		}
	}
	if c := ExitCode(errors.New("other")); c != 1 {
		t.Errorf("ExitCode(other) = %d, want 1", c)
	}
	if got := ErrorForExit(1); got != nil {
		t.Errorf("ErrorForExit(1) = %v, want nil", got)
	}
}

func TestHelperErrorFix(t *testing.T) {
	req := Request{Bridge: "lxcbr0"}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{ErrNoQuota, "add the line `alice veth lxcbr0 2` to /etc/ulxc/usernet"},
		{ErrQuotaUsed, "raise your count for lxcbr0 in /etc/ulxc/usernet"},
		{ErrBridge, "ip link add lxcbr0 type bridge"},
		{ErrInstall, "setcap cap_net_admin+ep /usr/local/bin/ulxc-netshim"},
		{ErrPolicy, "must fix /etc/ulxc/usernet"},
		{ErrNotInstalled, "scripts/setup"},
	} {
		e := &HelperError{Path: "/usr/local/bin/ulxc-netshim", Request: req, User: "alice", Err: tc.err}
		if !errors.Is(e, tc.err) {
			t.Errorf("errors.Is(%v, %v) = false", e, tc.err)
		}
		if fix := e.Fix(); !strings.Contains(fix, tc.want) {
			t.Errorf("Fix() for %v = %q, want it to contain %q", tc.err, fix, tc.want)
		}
	}
	// An interface that exists but is no bridge: making a bridge of its
	// name is no fix.
	e := &HelperError{Request: Request{Bridge: "eth0"}, Err: ErrBridge, Code: 14, Msg: "no such bridge: eth0 is a veth, not a bridge"}
	if fix := e.Fix(); !strings.Contains(fix, "eth0 is not a bridge: set lxc.net.N.link") || strings.Contains(fix, "ip link add") {
		t.Errorf("Fix() for a non-bridge = %q, want it to say so and not to create one", fix)
	}
}

func TestMAC(t *testing.T) {
	m, err := ParseMAC("fe:ff:00:0A:bc:09")
	if want := (MAC{0xfe, 0xff, 0, 0x0a, 0xbc, 0x09}); err != nil || m != want {
		t.Fatalf("ParseMAC = %v, %v; want %v", m, err, want)
	}
	if s := m.String(); s != "fe:ff:00:0a:bc:09" {
		t.Errorf("String() = %q", s)
	}
	for range 100 {
		r := randomMAC()
		if r[0]&1 != 0 || r[0]&2 == 0 {
			t.Fatalf("randomMAC() = %v: want unicast, locally administered", r)
		}
	}
	if a, b := randomMAC(), randomMAC(); reflect.DeepEqual(a, b) {
		t.Errorf("randomMAC() twice = %v", a)
	}
}
