package hostcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// TestCheckNetshim checks the rows against a helper installed as root
// installs it and a namespace holding a bridge and a veth.
func TestCheckNetshim(t *testing.T) {
	shim := testenv.InstallNetshim(t)
	ns := testenv.NewNetns(t)
	ns.IP(t, "link", "add", "br0", "type", "bridge")
	ns.IP(t, "link", "add", "nb0", "type", "veth", "peer", "name", "nb1")
	u := testenv.SubIDUser(t)
	opts := Options{Netshim: shim.Bin, NetshimPolicy: shim.Policy, User: u.Name, UID: u.UID, GID: u.GID}
	check := func(t *testing.T, opts Options) []Result {
		t.Helper()
		var rs []Result
		if err := testenv.InNetns(ns.File, func() error { rs = checkNetshim(opts); return nil }); err != nil {
			t.Fatal(err)
		}
		return rs
	}
	type row struct {
		name   string
		status Status
		detail string // substring
		fix    string // substring
	}
	wantRows := func(t *testing.T, rs []Result, want []row) {
		t.Helper()
		if len(rs) != len(want) {
			t.Fatalf("checkNetshim = %+v, want %d rows", rs, len(want))
		}
		for i, w := range want {
			r := rs[i]
			if r.Group != "network" || r.Name != w.name || r.Status != w.status || !strings.Contains(r.Detail, w.detail) || !strings.Contains(r.Fix, w.fix) || r.Mandatory {
				t.Errorf("row %d = %+v, want %s %s, detail ~%q, fix ~%q, not mandatory", i, r, w.name, w.status, w.detail, w.fix)
			}
		}
	}

	shim.SetPolicy(t, "ulxc-test veth br0 2\n@ulxc-test veth nb0 1\nulxc-test veth br9 1\n@root veth br0 9\n")
	wantRows(t, check(t, opts), []row{
		{"ulxc-netshim", OK, "cap_net_admin+ep, set-group-id " + testenv.NetshimGroup, ""},
		{"veth quota", OK, "br0: 2, nb0: 1, br9: 1", ""},
		{"bridge br0", OK, "quota 2", ""},
		{"bridge nb0", Warn, "nb0 is not a bridge", "ip link add nb0 type bridge"},
		{"bridge br9", Warn, "quota of 1 is on br9, which does not exist", "ip link add br9 type bridge"},
	})

	shim.SetPolicy(t, "ulxc-nosub veth br0 2\n")
	wantRows(t, check(t, opts), []row{
		{"ulxc-netshim", OK, "", ""},
		{"veth quota", Warn, "no veth quota for ulxc-test", "`ulxc-test veth BRIDGE COUNT` in " + shim.Policy},
	})

	shim.SetPolicy(t, "ulxc-test veth br0\n")
	wantRows(t, check(t, opts), []row{
		{"ulxc-netshim", OK, "", ""},
		{"veth quota", Warn, "line 1", "USER veth BRIDGE COUNT"},
	})

	// A copy without the capability and the set-group-id bit.
	bare := filepath.Join(t.TempDir(), "ulxc-netshim")
	data, err := os.ReadFile(shim.Bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bare, data, 0o755); err != nil {
		t.Fatal(err)
	}
	opts.Netshim = bare
	rs := check(t, opts)
	wantRows(t, rs[:1], []row{{"ulxc-netshim", Warn, "no cap_net_admin+ep file capability, not set-group-id", "setcap cap_net_admin+ep " + bare}})
	if out, err := exec.Command("setcap", "cap_net_raw+ep", bare).CombinedOutput(); err != nil {
		t.Fatalf("setcap: %v: %s", err, out)
	}
	wantRows(t, check(t, opts)[:1], []row{{"ulxc-netshim", Warn, "no cap_net_admin+ep", ""}})

	opts.Netshim = filepath.Join(t.TempDir(), "missing")
	wantRows(t, check(t, opts)[:1], []row{{"ulxc-netshim", Warn, "no such file", "scripts/setup"}})
}

func TestCheckQuotaNoPolicy(t *testing.T) {
	opts := Options{NetshimPolicy: filepath.Join(t.TempDir(), "usernet"), User: "alice", UID: 4242}
	r, quotas := checkQuota(opts)
	if r.Status != Warn || !strings.Contains(r.Detail, "does not exist") || !strings.Contains(r.Fix, "`alice veth BRIDGE COUNT`") || quotas != nil {
		t.Errorf("checkQuota without a policy = %+v, %v", r, quotas)
	}
}
