package netshim

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const testPasswd = `root:x:0:0:root:/root:/bin/bash
alice:x:1001:1001::/home/alice:/bin/sh
broken line
bob:x:1002:100::/home/bob:/bin/sh
carol:x:1001:1003::/home/carol:/bin/sh
`

const testGroup = `root:x:0:
alice:x:1001:
users:x:100:
netusers:x:2000:bob,alice
other:x:2001:carol
odd
`

func TestLookupIdentity(t *testing.T) {
	for _, tc := range []struct {
		uid  uint32
		want Identity
	}{
		// The first line with the uid wins, as getpwuid's does.
		{1001, Identity{UID: 1001, Name: "alice", Groups: []string{"alice", "netusers"}}},
		{1002, Identity{UID: 1002, Name: "bob", Groups: []string{"users", "netusers"}}},
		{4242, Identity{UID: 4242}},
	} {
		got := LookupIdentity([]byte(testPasswd), []byte(testGroup), tc.uid)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("LookupIdentity(%d) = %+v, want %+v", tc.uid, got, tc.want)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	good := `# comment
alice veth br0 2

  # indented comment
@netusers veth br0 1
@users	veth	lxcbr0	3
bob veth br0 0
`
	rules, err := ParsePolicy([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{
		{Line: 2, Name: "alice", Bridge: "br0", Count: 2},
		{Line: 5, Name: "netusers", Group: true, Bridge: "br0", Count: 1},
		{Line: 6, Name: "users", Group: true, Bridge: "lxcbr0", Count: 3},
		{Line: 7, Name: "bob", Bridge: "br0", Count: 0},
	}
	if !reflect.DeepEqual(rules, want) {
		t.Fatalf("ParsePolicy = %+v, want %+v", rules, want)
	}
	alice := LookupIdentity([]byte(testPasswd), []byte(testGroup), 1001)
	bob := LookupIdentity([]byte(testPasswd), []byte(testGroup), 1002)
	nobody := LookupIdentity([]byte(testPasswd), []byte(testGroup), 4242)
	for _, tc := range []struct {
		id     Identity
		bridge string
		want   int
	}{
		{alice, "br0", 3}, // her own line and @netusers, summed
		{alice, "lxcbr0", 0},
		{bob, "br0", 1},
		{bob, "lxcbr0", 3},
		{nobody, "br0", 0},
	} {
		if got := Allowance(rules, tc.id, tc.bridge); got != tc.want {
			t.Errorf("Allowance(%s, %s) = %d, want %d", tc.id.Name, tc.bridge, got, tc.want)
		}
	}
	if got, want := Quotas(rules, bob), []Quota{{"br0", 1}, {"lxcbr0", 3}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Quotas(bob) = %v, want %v", got, want)
	}
	// The sum is bounded.
	big := strings.Repeat("alice veth br0 65536\n", 3)
	if rules, err := ParsePolicy([]byte(big)); err != nil || Allowance(rules, alice, "br0") != MaxCount {
		t.Errorf("Allowance over three maximal lines = %d, %v; want %d", Allowance(rules, alice, "br0"), err, MaxCount)
	}
}

func TestParsePolicyRefuses(t *testing.T) {
	for _, tc := range []struct{ name, in, err string }{
		{"three fields", "alice veth br0\n", "line 1: 3 fields"},
		{"five fields", "# c\nalice veth br0 1 2\n", "line 2: 5 fields"},
		{"other type", "alice macvlan br0 1\n", "type is not veth"},
		{"bad bridge", "alice veth ../x 1\n", "bridge"},
		{"long bridge", "alice veth abcdefghijklmnop 1\n", "bridge"},
		{"negative", "alice veth br0 -1\n", "count"},
		{"not a number", "alice veth br0 two\n", "count"},
		{"too big", "alice veth br0 65537\n", "count"},
		{"lone at", "@ veth br0 1\n", "first field"},
		{"control character", "al\x01ice veth br0 1\n", "first field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tc.in))
			if err == nil || !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("ParsePolicy(%q) = %v, want ErrPolicy containing %q", tc.in, err, tc.err)
			}
			// The error never quotes the file, which may be root's secret.
			if strings.Contains(err.Error(), "alice") {
				t.Errorf("ParsePolicy(%q) = %v: quotes the file", tc.in, err)
			}
		})
	}
}
