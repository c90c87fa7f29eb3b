package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Netshim is ulxc-netshim installed by scripts/install-netshim under a
// directory of its own (DESTDIR): set-group-id NetshimGroup with its file
// capability, as root installs it, but reading its policy and state below
// Dir. One per test process.
type Netshim struct {
	Dir    string
	Bin    string // the installed helper
	Policy string // its policy file, root's, mode 0644
	State  string // its quota state file
}

// NetshimGroup is the group the test helper is set-group-id to: one that
// exists everywhere and that no test user is a member of.
const NetshimGroup = "nogroup"

var (
	netshimOnce sync.Once
	netshim     *Netshim
	netshimErr  string
)

// InstallNetshim installs the helper once per test process; it needs root.
// The policy starts empty; SetPolicy writes it.
func InstallNetshim(t testing.TB) *Netshim {
	t.Helper()
	RequireRoot(t, "install ulxc-netshim with setcap and a set-group-id bit")
	if _, err := exec.LookPath("setcap"); err != nil {
		Skipf(t, "setcap is missing: apt-get install libcap2-bin")
	}
	netshimOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			netshimErr = err.Error()
			return
		}
		dir, err := os.MkdirTemp(sharedTemp(t), "netshim-")
		if err == nil {
			err = os.Chmod(dir, 0o755)
		}
		if err != nil {
			netshimErr = err.Error()
			return
		}
		cmd := exec.Command("bash", filepath.Join(root, "scripts/install-netshim"))
		cmd.Env = append(os.Environ(), "DESTDIR="+dir, "NETSHIM_GROUP="+NetshimGroup, "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			netshimErr = "scripts/install-netshim: " + err.Error() + "\n" + string(out)
			return
		}
		netshim = &Netshim{Dir: dir, Bin: filepath.Join(dir, "usr/local/bin/ulxc-netshim"),
			Policy: filepath.Join(dir, "etc/ulxc/usernet"), State: filepath.Join(dir, "run/ulxc/nics")}
	})
	if netshim == nil {
		t.Fatal(netshimErr)
	}
	return netshim
}

// SetPolicy replaces the helper's policy with content (root's, 0644).
func (n *Netshim) SetPolicy(t testing.TB, content string) {
	t.Helper()
	tmp := n.Policy + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, n.Policy); err != nil {
		t.Fatal(err)
	}
}
