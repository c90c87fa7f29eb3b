package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/netshim"
)

// TestDaemonNetshimError: a refusal of ulxc-netshim in the monitor
// reaches Daemon's caller with its sentinel and its fix, as it does a
// foreground start.
func TestDaemonNetshimError(t *testing.T) {
	for _, tc := range []struct {
		he   *netshim.HelperError
		is   error
		want string
	}{
		{&netshim.HelperError{Path: "/usr/local/bin/ulxc-netshim", Request: netshim.Request{Bridge: "br0"}, User: "alice",
			Code: 12, Msg: "no veth quota: /etc/ulxc/usernet grants alice no veth on br0", Err: netshim.ErrNoQuota},
			netshim.ErrNoQuota, "add the line `alice veth br0 2` to /etc/ulxc/usernet"},
		{&netshim.HelperError{Path: "ulxc-netshim", Err: netshim.ErrNotInstalled, Msg: "not found"}, netshim.ErrNotInstalled, "scripts/install-netshim"},
		{&netshim.HelperError{Path: "/x", Request: netshim.Request{Bridge: "br9"}, Code: 14, Err: netshim.ErrBridge}, netshim.ErrBridge, "ip link add br9 type bridge"},
	} {
		err := fmt.Errorf("network: lxc.net.0 (veth): %w", tc.he)
		b, jerr := json.Marshal(monitorReport{Error: asChildError(err), Netshim: newNetshimReport(err)})
		if jerr != nil {
			t.Fatal(jerr)
		}
		var rep monitorReport
		if err := json.Unmarshal(b, &rep); err != nil || rep.Error == nil || rep.Netshim == nil {
			t.Fatalf("report %s: %v", b, err)
		}
		got := rep.Netshim.err(rep.Error)
		var he *netshim.HelperError
		fix := ""
		if errors.As(got, &he) {
			fix = he.Fix()
		}
		if got.Error() != err.Error() || !errors.Is(got, tc.is) || !strings.Contains(fix, tc.want) {
			t.Errorf("Daemon's error for %v = %v (fix %q), want the same text, %v and a fix naming %q", err, got, fix, tc.is, tc.want)
		}
	}
	if r := newNetshimReport(errors.New("other")); r != nil {
		t.Errorf("newNetshimReport(other) = %+v, want nil", r)
	}
}
