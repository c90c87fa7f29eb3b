package hostcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/userns"
)

// TestMain lets the test binary serve as the overlay probe's child, as
// ulxc does.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == OverlayProbeEntry {
		if err := userns.Enter(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := ProbeOverlayChild(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	testenv.Cleanup()
	os.Exit(code)
}

// host is a fake machine: a proc root, a cgroup tree and id files.
type host struct {
	proc, cgroup string
	opts         Options
}

func newHost(t *testing.T) *host {
	t.Helper()
	h := &host{proc: t.TempDir(), cgroup: t.TempDir()}
	h.write(t, "sys/kernel/osrelease", "6.1.0-28-amd64\n")
	h.write(t, "sys/user/max_user_namespaces", "63288\n")
	h.write(t, "self/uid_map", "         0          0 4294967295\n")
	for _, ns := range namespaces {
		h.write(t, "self/ns/"+ns.name, "")
	}
	h.write(t, "self/mountinfo", "41 31 0:38 / "+h.cgroup+" rw,relatime - cgroup2 cgroup2 rw\n")
	h.write(t, "self/cgroup", "0::/\n")
	h.write(t, "sys/net/ipv4/ping_group_range", "0\t2147483647\n")
	tun := filepath.Join(t.TempDir(), "tun")
	if err := os.WriteFile(tun, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	fuse := filepath.Join(t.TempDir(), "fuse")
	if err := os.WriteFile(fuse, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(fuse, 0o666); err != nil { // past the umask
		t.Fatal(err)
	}
	for name, content := range map[string]string{"cgroup.controllers": "memory pids\n", "cgroup.subtree_control": "", "cgroup.procs": ""} {
		if err := os.WriteFile(filepath.Join(h.cgroup, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.opts = Options{
		ProcRoot:     h.proc,
		KernelConfig: "testdata/config-full.gz",
		SubUIDFile:   "testdata/subid-ok",
		SubGIDFile:   "testdata/subid-ok",
		LXCDefault:   filepath.Join(t.TempDir(), "absent.conf"),
		User:         "alice", UID: 1000, GID: 1000,
		SkipProbe: true,
		// A machine without the veth helper: whatever this one has.
		Netshim:       filepath.Join(t.TempDir(), "ulxc-netshim"),
		NetshimPolicy: filepath.Join(t.TempDir(), "usernet"),
		LookPath:      func(name string) (string, error) { return "/usr/bin/" + name, nil },
		TunDevice:     tun,
		FuseDevice:    fuse,
	}
	return h
}

func (h *host) write(t *testing.T, rel, content string) {
	t.Helper()
	p := filepath.Join(h.proc, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// find returns the result named group: name, failing the test without it.
func find(t *testing.T, r Report, group, name string) Result {
	t.Helper()
	for _, res := range r.Results {
		if res.Group == group && res.Name == name {
			return res
		}
	}
	t.Fatalf("no result %s: %s in %+v", group, name, r.Results)
	return Result{}
}

func TestRunHealthy(t *testing.T) {
	h := newHost(t)
	r := Run(context.Background(), h.opts)
	if !r.OK() || r.Err() != nil {
		t.Errorf("Run(healthy).OK() = %v, Err() = %v, want true, nil; missing: %+v", r.OK(), r.Err(), r.Missing())
	}
	if res := find(t, r, "subid", "subuid"); res.Status != OK || !strings.Contains(res.Detail, "200000-265535 (65536 ids)") {
		t.Errorf("Run(healthy) subuid = %+v, want OK with 65536 ids", res)
	}
	if res := find(t, r, "kernel", "version"); res.Status != OK || res.Detail != "6.1.0-28-amd64" {
		t.Errorf("Run(healthy) version = %+v, want OK 6.1.0-28-amd64", res)
	}
	if res := find(t, r, "kernel", "CONFIG_OVERLAY_FS"); res.Status != OK || res.Detail != "module" {
		t.Errorf("Run(healthy) CONFIG_OVERLAY_FS = %+v, want OK module", res)
	}
	if res := find(t, r, "kernel", "CONFIG_DEVPTS_MULTIPLE_INSTANCES"); res.Status != OK {
		t.Errorf("Run(healthy) CONFIG_DEVPTS_MULTIPLE_INSTANCES = %+v, want OK after 4.7", res)
	}
	if res := find(t, r, "lxc", "default.conf"); res.Status != OK || !strings.Contains(res.Detail, "0 -> first subordinate id") {
		t.Errorf("Run(healthy) default.conf = %+v, want OK with LXC's default", res)
	}
	if res := find(t, r, "cgroup", "delegation"); res.Status != OK || !strings.Contains(res.Detail, "memory pids") {
		t.Errorf("Run(healthy) delegation = %+v, want OK listing memory pids", res)
	}
	// Without the veth helper a machine is still healthy: a warning.
	if res := find(t, r, "network", "ulxc-netshim"); res.Status != Warn || res.Mandatory || !strings.Contains(res.Fix, "scripts/setup") {
		t.Errorf("Run(healthy) netshim = %+v, want a warning that is not mandatory and says how to install it", res)
	}
	if res := find(t, r, "network", "veth quota"); res.Status != Warn || res.Mandatory || !strings.Contains(res.Detail, "does not exist") {
		t.Errorf("Run(healthy) veth quota = %+v, want a warning that is not mandatory", res)
	}
	if res := find(t, r, "network", "pasta"); res.Status != OK || res.Detail != "/usr/bin/pasta (the default user-mode networking)" {
		t.Errorf("Run(healthy) pasta = %+v, want OK", res)
	}
	if res := find(t, r, "network", h.opts.TunDevice); res.Status != OK || !strings.Contains(res.Detail, "usable by alice") {
		t.Errorf("Run(healthy) tun = %+v, want OK", res)
	}
	if res := find(t, r, "overlay", "fuse-overlayfs"); res.Status != OK || !strings.HasPrefix(res.Detail, "/usr/bin/fuse-overlayfs (") {
		t.Errorf("Run(healthy) fuse-overlayfs = %+v, want OK", res)
	}
	if res := find(t, r, "overlay", h.opts.FuseDevice); res.Status != OK || !strings.Contains(res.Detail, "mode 0666") {
		t.Errorf("Run(healthy) fuse device = %+v, want OK, mode 0666", res)
	}
	if res := find(t, r, "network", "net.ipv4.ping_group_range"); res.Status != OK || !strings.Contains(res.Detail, "covers gid 1000") {
		t.Errorf("Run(healthy) ping_group_range = %+v, want OK", res)
	}
	for _, res := range r.Results {
		if res.Status != OK && res.Fix == "" {
			t.Errorf("Run(healthy) %s: %s is %s without a fix", res.Group, res.Name, res.Status)
		}
	}
}

func TestRunFindings(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(t *testing.T, h *host)
		group, item string
		want        Status
		wantOK      bool   // Report.OK()
		detail, fix string // substrings
	}{
		{"no subordinate ids", func(t *testing.T, h *host) {
			h.opts.SubUIDFile, h.opts.SubGIDFile = "testdata/subid-none", "testdata/subid-none"
		},
			"subid", "subuid", Missing, false, "no subordinate ids for alice",
			// 100000-165535 is bob's: the fix picks the next free span.
			"usermod --add-subuids 165536-231071 --add-subgids 165536-231071 alice"},
		{"missing id file", func(t *testing.T, h *host) { h.opts.SubGIDFile = filepath.Join(t.TempDir(), "subgid") },
			"subid", "subgid", Missing, false, "no subordinate ids", "usermod --add-subuids"},
		{"few subordinate ids", func(t *testing.T, h *host) { h.opts.SubUIDFile = "testdata/subid-small" },
			"subid", "subuid", Warn, true, "1000 ids", "usermod --add-subuids"},
		{"overlapping ranges", func(t *testing.T, h *host) { h.opts.SubUIDFile = "testdata/subid-overlap" },
			"subid", "subuid overlap", Warn, true, "mallory's range 250000-315535 at testdata/subid-overlap:3", "mallory"},
		{"default.conf outside the allocation", func(t *testing.T, h *host) { h.opts.LXCDefault = "testdata/default-outside.conf" },
			"lxc", "lxc.idmap = u 0 100000 65536", Missing, false, "outside the subordinate ids allocated in testdata/subid-ok (200000-265535)",
			"lxc.idmap = u 0 200000 65536"},
		{"default.conf inside the allocation", func(t *testing.T, h *host) { h.opts.LXCDefault = "testdata/default-inside.conf" },
			"lxc", "lxc.idmap = g 0 200000 65536", OK, true, "inside", ""},
		{"default.conf without idmap", func(t *testing.T, h *host) { h.opts.LXCDefault = "testdata/default-noidmap.conf" },
			"lxc", "default.conf", OK, true, "testdata/default-noidmap.conf has no lxc.idmap: LXC default: 0 -> first subordinate id", ""},
		{"user namespaces disabled", func(t *testing.T, h *host) { h.write(t, "sys/user/max_user_namespaces", "0\n") },
			"userns", "user.max_user_namespaces", Missing, false, "is 0", "sysctl -w user.max_user_namespaces="},
		{"debian clone sysctl off", func(t *testing.T, h *host) { h.write(t, "sys/kernel/unprivileged_userns_clone", "0\n") },
			"userns", "kernel.unprivileged_userns_clone", Missing, false, "is 0", "unprivileged_userns_clone=1"},
		{"debian clone sysctl on", func(t *testing.T, h *host) { h.write(t, "sys/kernel/unprivileged_userns_clone", "1\n") },
			"userns", "kernel.unprivileged_userns_clone", OK, true, "1", ""},
		{"apparmor restriction, unconfined", func(t *testing.T, h *host) {
			h.write(t, "sys/kernel/apparmor_restrict_unprivileged_userns", "1\n")
			h.write(t, "self/attr/apparmor/current", "unconfined\n")
		}, "userns", "kernel.apparmor_restrict_unprivileged_userns", Missing, false, "no AppArmor profile", "userns,"},
		{"apparmor restriction, profile", func(t *testing.T, h *host) {
			h.write(t, "sys/kernel/apparmor_restrict_unprivileged_userns", "1\n")
			h.write(t, "self/attr/apparmor/current", "ulxc (unconfined)\n")
		}, "userns", "kernel.apparmor_restrict_unprivileged_userns", OK, true, `profile "ulxc"`, ""},
		{"nested", func(t *testing.T, h *host) { h.write(t, "self/uid_map", "0 1000 1\n1 100000 65536\n") },
			"userns", "nesting", Warn, true, `uid_map "0 1000 1 1 100000 65536"`, "enclosing namespace"},
		{"no user namespace", func(t *testing.T, h *host) { os.Remove(filepath.Join(h.proc, "self/ns/user")) },
			"kernel", "namespace user", Missing, false, "no such file", "CONFIG_USER_NS=y"},
		{"no time namespace", func(t *testing.T, h *host) { os.Remove(filepath.Join(h.proc, "self/ns/time")) },
			"kernel", "namespace time", Warn, true, "no such file", "CONFIG_TIME_NS=y"},
		{"old kernel", func(t *testing.T, h *host) { h.write(t, "sys/kernel/osrelease", "5.4.0-150-generic\n") },
			"kernel", "version", Warn, true, "needs 5.11", "upgrade"},
		{"unparsable kernel version", func(t *testing.T, h *host) { h.write(t, "sys/kernel/osrelease", "banana\n") },
			"kernel", "version", Warn, true, "not a kernel version", ""},
		{"kernel config unreadable", func(t *testing.T, h *host) { h.opts.KernelConfig = filepath.Join(t.TempDir(), "none") },
			"kernel", "config", Warn, true, "not readable", "modprobe configs"},
		{"kernel without user namespaces", func(t *testing.T, h *host) { h.opts.KernelConfig = "testdata/config-no-userns" },
			"kernel", "CONFIG_USER_NS", Missing, false, "not set", "CONFIG_USER_NS=y"},
		{"kernel without veth", func(t *testing.T, h *host) { h.opts.KernelConfig = "testdata/config-no-userns" },
			"kernel", "CONFIG_VETH", Warn, false, "veth networking", "CONFIG_VETH=y"},
		{"old kernel without multiple devpts", func(t *testing.T, h *host) {
			h.write(t, "sys/kernel/osrelease", "4.4.0\n")
			h.opts.KernelConfig = "testdata/config-full"
		}, "kernel", "CONFIG_DEVPTS_MULTIPLE_INSTANCES", Missing, false, "private /dev/pts", ""},
		{"no cgroup2", func(t *testing.T, h *host) {
			h.write(t, "self/mountinfo", "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n")
		},
			"cgroup", "cgroup v2", Warn, true, "cgroup v1 only", "unified_cgroup_hierarchy"},
		{"controllers not delegated", func(t *testing.T, h *host) {
			if err := os.WriteFile(filepath.Join(h.cgroup, "cgroup.controllers"), []byte("cpu io\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "cgroup", "controllers", Warn, true, "memory, pids", "Delegate="},
		{"no pasta", func(t *testing.T, h *host) {
			h.opts.LookPath = func(name string) (string, error) {
				if name == "pasta" {
					return "", exec.ErrNotFound
				}
				return "/usr/bin/" + name, nil
			}
		}, "network", "pasta", Warn, true, "not installed", "apt-get install passt"},
		{"no slirp4netns", func(t *testing.T, h *host) {
			h.opts.LookPath = func(name string) (string, error) { return "", exec.ErrNotFound }
		}, "network", "slirp4netns", Warn, true, "not installed", "apt-get install slirp4netns"},
		// Read-only to root as well: what a 0600 /dev/net/tun is to a user.
		{"tun not usable", func(t *testing.T, h *host) { h.opts.TunDevice = "/proc/sys/kernel/osrelease" },
			"network", "/proc/sys/kernel/osrelease", Warn, true, "not usable by alice (mode 0444)", "chmod 0666 /proc/sys/kernel/osrelease"},
		{"no tun", func(t *testing.T, h *host) { h.opts.TunDevice = filepath.Join(t.TempDir(), "tun") },
			"network", "", Warn, true, "missing", "modprobe tun"},
		{"ping for nobody", func(t *testing.T, h *host) { h.write(t, "sys/net/ipv4/ping_group_range", "1\t0\n") },
			"network", "net.ipv4.ping_group_range", Warn, true, "1 0 leaves out gid 1000", "sysctl -w net.ipv4.ping_group_range='0 2147483647'"},
		{"ping for others", func(t *testing.T, h *host) { h.write(t, "sys/net/ipv4/ping_group_range", "0\t999\n") },
			"network", "net.ipv4.ping_group_range", Warn, true, "leaves out gid 1000", "sysctl"},
		{"no fuse-overlayfs", func(t *testing.T, h *host) {
			h.opts.LookPath = func(name string) (string, error) {
				if name == "fuse-overlayfs" {
					return "", exec.ErrNotFound
				}
				return "/usr/bin/" + name, nil
			}
		}, "overlay", "fuse-overlayfs", Warn, true, "not installed: where the kernel refuses overlayfs", "apt-get install fuse-overlayfs"},
		{"fuse device 0600", func(t *testing.T, h *host) {
			if err := os.Chmod(h.opts.FuseDevice, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "overlay", "/fuse", Warn, true, "mode 0600: container root (a subordinate id) may not open it", "chmod 0666"},
		{"no fuse device", func(t *testing.T, h *host) { h.opts.FuseDevice = filepath.Join(t.TempDir(), "fuse") },
			"overlay", "/fuse", Warn, true, "missing", "modprobe fuse"},
		{"probe skipped", func(t *testing.T, h *host) {}, "overlay", "overlayfs in a user namespace (userxattr)", Warn, true, "not tried: skipped", "without skipping"},
		{"probe after a blocker", func(t *testing.T, h *host) {
			h.write(t, "sys/user/max_user_namespaces", "0\n")
			h.opts.SkipProbe = false
		}, "overlay", "overlayfs in a user namespace (userxattr)", Warn, false, "not tried: user namespaces are unusable (user.max_user_namespaces: is 0", "fix the rows above"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t)
			tc.setup(t, h)
			r := Run(context.Background(), h.opts)
			item := tc.item
			switch item {
			case "":
				item = h.opts.TunDevice
			case "/fuse":
				item = h.opts.FuseDevice
			}
			res := find(t, r, tc.group, item)
			if res.Status != tc.want || !strings.Contains(res.Detail, tc.detail) || !strings.Contains(res.Fix, tc.fix) {
				t.Errorf("Run(%s) %s: %s = %+v, want %s with detail ~%q and fix ~%q", tc.name, tc.group, tc.item, res, tc.want, tc.detail, tc.fix)
			}
			if r.OK() != tc.wantOK {
				t.Errorf("Run(%s).OK() = %v, want %v; missing: %+v", tc.name, r.OK(), tc.wantOK, r.Missing())
			}
			err := r.Err()
			var me *MissingError
			if tc.wantOK != (err == nil) || (err != nil && (!errors.Is(err, ErrMissing) || !errors.As(err, &me) || len(me.Items) == 0)) {
				t.Errorf("Run(%s).Err() = %v, want a *MissingError: %v", tc.name, err, !tc.wantOK)
			}
		})
	}
}

func TestStatusLabel(t *testing.T) {
	tests := []struct {
		s       Status
		want    string
		wantErr bool
	}{{OK, "OK", false}, {Missing, "MISSING", false}, {Warn, "WARN", false}, {"maybe", "", true}}
	for _, tc := range tests {
		got, err := tc.s.Label()
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("Status(%q).Label() = %q, %v, want %q, error %v", string(tc.s), got, err, tc.want, tc.wantErr)
		}
	}
}

func TestReportJSON(t *testing.T) {
	r := Report{Results: []Result{
		{Group: "subid", Name: "subuid", Status: Missing, Detail: "none", Fix: "usermod", Mandatory: true},
		{Group: "network", Name: "ulxc-netshim", Status: Warn},
	}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ok":false,"results":[{"group":"subid","name":"subuid","status":"missing","detail":"none","fix":"usermod","mandatory":true},` +
		`{"group":"network","name":"ulxc-netshim","status":"warn","mandatory":false}]}`
	if string(b) != want {
		t.Errorf("json.Marshal(report) = %s, want %s", b, want)
	}
	if b, _ := json.Marshal(Report{}); string(b) != `{"ok":true,"results":[]}` {
		t.Errorf("json.Marshal(Report{}) = %s, want an empty list", b)
	}
}

func TestProbeOverlayChildRefusesHost(t *testing.T) {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil || strings.Join(strings.Fields(string(b)), " ") != "0 0 4294967295" {
		testenv.Skipf(t, "this test runs inside a user namespace already")
	}
	if err := ProbeOverlayChild(t.TempDir()); !errors.Is(err, ErrInitialNamespace) {
		t.Errorf("ProbeOverlayChild(on the host) = %v, want ErrInitialNamespace", err)
	}
}

// TestRunProbe runs the real probe: this test binary re-executed in a new
// user and mount namespace (see TestMain).
func TestRunProbe(t *testing.T) {
	if n, err := userns.MaxUserNamespaces(); err != nil || n == 0 {
		testenv.Skipf(t, "user namespaces unavailable (user.max_user_namespaces: %d, %v)", n, err)
	}
	dir := t.TempDir()
	r := Run(context.Background(), Options{OverlayDir: dir})
	trial := find(t, r, "userns", "mapped user namespace (trial)")
	if trial.Status == Missing {
		t.Fatalf("Run() trial namespace = %+v", trial)
	}
	if res := find(t, r, "overlay", "overlayfs in a user namespace (userxattr)"); res.Status != OK {
		t.Errorf("Run() overlay = %+v, want OK on a kernel with overlayfs", res)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 0 {
		t.Errorf("after the probe %s holds %v (%v), want it empty", dir, entries, err)
	}
}
