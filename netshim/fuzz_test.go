package netshim

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func seeds(f *testing.F, pattern string) [][]byte {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds %s: %v", pattern, err)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzParseArgs: the helper's arguments, NUL-separated. Whatever is
// accepted is a bounded request that survives Args; whatever is refused
// is ErrUsage.
func FuzzParseArgs(f *testing.F) {
	for _, s := range seeds(f, "args/*.args") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		args := strings.Split(string(data), "\x00")
		r, err := ParseArgs(args)
		if err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("ParseArgs(%q) = %v, not ErrUsage", args, err)
			}
			return
		}
		if CheckName(r.Bridge) != nil || CheckName(r.Name) != nil {
			t.Fatalf("ParseArgs(%q) accepted names %q, %q", args, r.Bridge, r.Name)
		}
		if r.MTU != 0 && (r.MTU < MinMTU || r.MTU > MaxMTU) {
			t.Fatalf("ParseArgs(%q) accepted MTU %d", args, r.MTU)
		}
		if !r.HWAddr.IsZero() && r.HWAddr.checkUnicast() != nil {
			t.Fatalf("ParseArgs(%q) accepted MAC %v", args, r.HWAddr)
		}
		if again, err := ParseArgs(r.Args()); err != nil || again != r {
			t.Fatalf("ParseArgs(%q) = %+v, %v; want %+v", r.Args(), again, err, r)
		}
	})
}

// FuzzParsePolicy: a policy is refused as a whole (ErrPolicy) or gives
// bounded rules with valid bridges that survive being written back.
func FuzzParsePolicy(f *testing.F) {
	for _, s := range seeds(f, "usernet/*.usernet") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParsePolicy(data)
		if err != nil {
			if !errors.Is(err, ErrPolicy) {
				t.Fatalf("ParsePolicy = %v, not ErrPolicy", err)
			}
			return
		}
		var b strings.Builder
		line := 0
		for _, r := range rules {
			if r.Line <= line || r.Name == "" || CheckName(r.Bridge) != nil || r.Count < 0 || r.Count > MaxCount {
				t.Fatalf("ParsePolicy accepted %+v", r)
			}
			line = r.Line
			name := r.Name
			if r.Group {
				name = "@" + name
			}
			b.WriteString(name + " veth " + r.Bridge + " " + strconv.Itoa(r.Count) + "\n")
		}
		again, err := ParsePolicy([]byte(b.String()))
		if err != nil || len(again) != len(rules) {
			t.Fatalf("ParsePolicy(%q) = %d rules, %v; want %d", b.String(), len(again), err, len(rules))
		}
		for i := range again {
			again[i].Line = rules[i].Line
		}
		if !reflect.DeepEqual(again, rules) {
			t.Fatalf("round trip = %+v, want %+v", again, rules)
		}
		id := Identity{Name: "alice", Groups: []string{"staff"}}
		for _, q := range Quotas(rules, id) {
			if q.Count <= 0 || q.Count > MaxCount || q.Count != Allowance(rules, id, q.Bridge) {
				t.Fatalf("Quotas gave %+v", q)
			}
		}
	})
}

// FuzzLookupIdentity: the account files are root's, but a parser of them
// in a privileged program must not fall over on any of their lines.
func FuzzLookupIdentity(f *testing.F) {
	passwd := seeds(f, "passwd/*.passwd")
	group := seeds(f, "passwd/*.group")
	f.Add(passwd[0], group[0], uint32(1001))
	f.Add([]byte(testPasswd), []byte(testGroup), uint32(1002))
	f.Fuzz(func(t *testing.T, passwd, group []byte, uid uint32) {
		id := LookupIdentity(passwd, group, uid)
		if id.UID != uid || id.Name == "" && len(id.Groups) > 0 {
			t.Fatalf("LookupIdentity = %+v", id)
		}
		for _, g := range id.Groups {
			if g == "" {
				t.Fatalf("LookupIdentity = %+v: empty group name", id)
			}
		}
	})
}

// FuzzParseState: the state file is the helper's own, but a torn write
// must never make it fall over or invent an entry.
func FuzzParseState(f *testing.F) {
	f.Add([]byte("1001 7 br0 ulxc00000001\n1002 8 br1 ulxc0000"))
	f.Add([]byte("4294967296 1 br0 x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var b strings.Builder
		entries := parseState(data)
		for _, e := range entries {
			if CheckName(e.Bridge) != nil || CheckName(e.HostIf) != nil {
				t.Fatalf("parseState accepted %+v", e)
			}
			b.WriteString(e.String())
		}
		if again := parseState([]byte(b.String())); !reflect.DeepEqual(again, entries) {
			t.Fatalf("round trip = %+v, want %+v", again, entries)
		}
	})
}
