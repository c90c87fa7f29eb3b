package veth

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/netshim"
)

// TestCheckHelper: a helper file without CAP_NET_ADMIN is refused before
// anything runs, with the install fix; the capability as
// scripts/install-netshim sets it, or a set-user-id-root file, passes.
func TestCheckHelper(t *testing.T) {
	testenv.RequireRoot(t, "set file capabilities and a set-user-id bit")
	if _, err := exec.LookPath("setcap"); err != nil {
		testenv.Skipf(t, "setcap is missing: apt-get install libcap2-bin")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		setup func(path string) error
		want  error
		msg   string
	}{
		{"no capability", func(string) error { return nil }, netshim.ErrInstall, "no cap_net_admin+ep file capability"},
		{"another capability", setcap("cap_net_raw+ep"), netshim.ErrInstall, "no cap_net_admin+ep file capability"},
		{"not effective", setcap("cap_net_admin+p"), netshim.ErrInstall, "no cap_net_admin+ep file capability"},
		{"installed", setcap("cap_net_admin+ep"), nil, ""},
		{"set-user-id root", func(p string) error { return os.Chmod(p, 0o755|os.ModeSetuid) }, nil, ""},
		{"missing", os.Remove, netshim.ErrNotInstalled, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := tc.setup(path); err != nil {
				t.Fatal(err)
			}
			err := CheckHelper(path)
			var he *netshim.HelperError
			switch {
			case tc.want == nil && err != nil:
				t.Errorf("CheckHelper = %v, want nil", err)
			case tc.want == nil:
			case !errors.Is(err, tc.want) || !errors.As(err, &he) || !strings.Contains(err.Error(), tc.msg):
				t.Errorf("CheckHelper = %v, want a HelperError wrapping %v and saying %q", err, tc.want, tc.msg)
			case !strings.Contains(he.Fix(), "scripts/"):
				t.Errorf("Fix() = %q, want the install command", he.Fix())
			}
		})
	}
}

func setcap(caps string) func(string) error {
	return func(path string) error {
		if out, err := exec.Command("setcap", caps, path).CombinedOutput(); err != nil {
			return errors.New("setcap: " + err.Error() + ": " + string(out))
		}
		return nil
	}
}
