package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/hostcheck"
	"github.com/ulxc/ulxc/internal/testenv"
)

// firstSubUID is the first /etc/subuid line of u, read naively so that the
// test does not trust package subid.
func firstSubUID(t *testing.T, u *testenv.User) (start, count uint64) {
	t.Helper()
	b, err := os.ReadFile("/etc/subuid")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) == 3 && (f[0] == u.Name || f[0] == fmt.Sprint(u.UID)) {
			fmt.Sscan(f[1], &start)
			fmt.Sscan(f[2], &count)
			return start, count
		}
	}
	t.Fatalf("no /etc/subuid line for %s", u.Name)
	return 0, 0
}

// checkLine matches the text line of one item and captures its status.
func checkLine(group, name string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(group+": "+name) + ` \.{3,} (OK|MISSING|WARN)(  .*)?$`)
}

// jsonReport is the --format json output, decoded independently of the
// hostcheck types.
type jsonReport struct {
	OK      bool `json:"ok"`
	Results []struct {
		Group, Name, Status, Detail, Fix string
		Mandatory                        bool
	} `json:"results"`
}

func (r jsonReport) status(group, name string) string {
	for _, res := range r.Results {
		if res.Group == group && res.Name == name {
			return res.Status
		}
	}
	return ""
}

func TestCheckconfigSubIDUser(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	_, count := firstSubUID(t, u)
	lxcpath := filepath.Join(h.Dir, ".local/share/ulxc")
	h.WriteFile(t, ".local/share/ulxc/.keep", "")

	r := h.Run(t, "checkconfig", "-P", lxcpath)
	if r.Code != 0 {
		t.Fatalf("ulxc checkconfig as %s: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", u.Name, r.Code, r.Stdout, r.Stderr)
	}
	m := checkLine("subid", "subuid").FindStringSubmatch(r.Stdout)
	if m == nil || m[1] != "OK" || !strings.Contains(m[2], fmt.Sprintf("(%d ids)", count)) {
		t.Errorf("ulxc checkconfig subuid line = %q, want OK with (%d ids)\n%s", m, count, r.Stdout)
	}
	if m := checkLine("overlay", "overlayfs in a user namespace (userxattr)").FindStringSubmatch(r.Stdout); m == nil || m[1] != "OK" {
		t.Errorf("ulxc checkconfig overlay line = %q, want OK\n%s", m, r.Stdout)
	}
	if m := checkLine("userns", "mapped user namespace (trial)").FindStringSubmatch(r.Stdout); m == nil || m[1] != "OK" {
		t.Errorf("ulxc checkconfig trial namespace line = %q, want OK\n%s", m, r.Stdout)
	}
	// The helper line says what this machine has: OK where scripts/setup
	// installed ulxc-netshim with its capability (as CI does), else WARN.
	wantNetshim := "WARN"
	if out, err := exec.Command("getcap", "/usr/local/bin/ulxc-netshim").Output(); err == nil && strings.Contains(string(out), "cap_net_admin") {
		wantNetshim = "OK"
	}
	if m := checkLine("network", "ulxc-netshim").FindStringSubmatch(r.Stdout); m == nil || m[1] != wantNetshim {
		t.Errorf("ulxc checkconfig netshim line = %q, want %s\n%s", m, wantNetshim, r.Stdout)
	}
	if strings.Contains(r.Stdout, "\x1b[") {
		t.Errorf("ulxc checkconfig coloured its output to a pipe:\n%q", r.Stdout)
	}
	// The probe worked in the container directory and cleaned up after itself.
	if entries, err := os.ReadDir(lxcpath); err != nil || len(entries) != 1 {
		t.Errorf("after checkconfig %s holds %v (%v), want only .keep", lxcpath, entries, err)
	}

	j := h.Run(t, "checkconfig", "--format", "json")
	var rep jsonReport
	if err := json.Unmarshal([]byte(j.Stdout), &rep); err != nil {
		t.Fatalf("ulxc checkconfig --format json: %v\n%s", err, j.Stdout)
	}
	if j.Code != 0 || !rep.OK {
		t.Errorf("ulxc checkconfig --format json = exit %d, ok %v, want 0, true (as the text run)\n%s", j.Code, rep.OK, j.Stderr)
	}
	if got := rep.status("subid", "subuid"); got != "ok" {
		t.Errorf("ulxc checkconfig --format json subuid status = %q, want ok", got)
	}
	if got := rep.status("overlay", "overlayfs in a user namespace (userxattr)"); got != "ok" {
		t.Errorf("ulxc checkconfig --format json overlay status = %q, want ok", got)
	}
	if textLines := len(regexp.MustCompile(`(?m) \.{3,} (OK|MISSING|WARN)`).FindAllString(r.Stdout, -1)); textLines != len(rep.Results) {
		t.Errorf("ulxc checkconfig printed %d items as text and %d as JSON", textLines, len(rep.Results))
	}
}

func TestCheckconfigNoSubIDUser(t *testing.T) {
	u := testenv.NoSubIDUser(t)
	h := u.NewHome(t)
	fix := regexp.MustCompile(`usermod --add-subuids \d+-\d+ --add-subgids \d+-\d+ ` + regexp.QuoteMeta(u.Name) + `\b`)

	r := h.Run(t, "checkconfig")
	if r.Code != 1 {
		t.Errorf("ulxc checkconfig as %s: exit %d, want 1", u.Name, r.Code)
	}
	if m := checkLine("subid", "subuid").FindStringSubmatch(r.Stdout); m == nil || m[1] != "MISSING" {
		t.Errorf("ulxc checkconfig subuid line = %q, want MISSING\n%s", m, r.Stdout)
	}
	if !fix.MatchString(r.Stdout + r.Stderr) {
		t.Errorf("ulxc checkconfig as %s does not print the usermod fix\nstdout:\n%s\nstderr:\n%s", u.Name, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "ulxc: error: checkconfig: ") || !strings.Contains(r.Stderr, "subid: subuid") {
		t.Errorf("ulxc checkconfig stderr = %q, want an error naming the missing items", r.Stderr)
	}

	j := h.Run(t, "checkconfig", "--format", "json")
	var rep jsonReport
	if err := json.Unmarshal([]byte(j.Stdout), &rep); err != nil {
		t.Fatalf("ulxc checkconfig --format json: %v\n%s", err, j.Stdout)
	}
	if j.Code != 1 || rep.OK {
		t.Errorf("ulxc checkconfig --format json = exit %d, ok %v, want 1, false", j.Code, rep.OK)
	}
	if !fix.MatchString(j.Stdout) {
		t.Errorf("ulxc checkconfig --format json has no usermod fix for %s:\n%s", u.Name, j.Stdout)
	}
}

func TestCheckconfigDefaultConfOutsideRange(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	start, count := firstSubUID(t, u)
	bad := fmt.Sprintf("u 0 %d 65536", start+count) // just past the allocation
	conf := h.WriteFile(t, "xdg/lxc/default.conf", "lxc.idmap = "+bad+"\nlxc.idmap = g 0 "+fmt.Sprint(start)+" 65536\n")

	// XDG_CONFIG_HOME is honoured: the bad file is found there.
	r := testenv.RunCmd(t, h.Command(t, []string{"XDG_CONFIG_HOME=" + filepath.Join(h.Dir, "xdg")}, "checkconfig", "--format", "json"))
	var rep jsonReport
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("ulxc checkconfig --format json: %v\n%s", err, r.Stdout)
	}
	if r.Code != 1 || rep.OK {
		t.Errorf("ulxc checkconfig with %s in %s = exit %d, ok %v, want 1, false", bad, conf, r.Code, rep.OK)
	}
	found := false
	for _, res := range rep.Results {
		if res.Name == "lxc.idmap = "+bad {
			found = true
			if res.Status != "missing" || !strings.Contains(res.Detail, "/etc/subuid") {
				t.Errorf("ulxc checkconfig %s = %+v, want missing naming /etc/subuid", bad, res)
			}
		}
	}
	if !found {
		t.Errorf("ulxc checkconfig --format json has no row for lxc.idmap = %s:\n%s", bad, r.Stdout)
	}

	// Without XDG_CONFIG_HOME, ~/.config/lxc/default.conf (absent) is read.
	if r := h.Run(t, "checkconfig"); r.Code != 0 {
		t.Errorf("ulxc checkconfig without XDG_CONFIG_HOME: exit %d, want 0\n%s", r.Code, r.Stdout)
	}
}

func TestCheckconfigUsage(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	for _, args := range [][]string{{"checkconfig", "--format", "xml"}, {"checkconfig", "extra"}} {
		if r := h.Run(t, args...); r.Code != 2 || !strings.Contains(r.Stderr, "ulxc: error: checkconfig: ") {
			t.Errorf("ulxc %s: exit %d, stderr %q, want 2 and a usage error", strings.Join(args, " "), r.Code, r.Stderr)
		}
	}
}

func TestProbeOverlayEntryRegistered(t *testing.T) {
	if childEntry(hostcheck.OverlayProbeEntry) == nil {
		t.Errorf("childEntry(%q) = nil, want the overlay probe child", hostcheck.OverlayProbeEntry)
	}
}
