package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
	"github.com/ulxc/ulxc/store"
)

// firstSubID reads the user's first subordinate range from /etc/subuid or
// /etc/subgid, naively, so the test does not trust package subid.
func firstSubID(t *testing.T, file, name string, uid uint32) (start, count uint64) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		testenv.Skipf(t, "no %s: %v", file, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(p) == 3 && (p[0] == name || p[0] == strconv.FormatUint(uint64(uid), 10)) {
			start, err1 := strconv.ParseUint(p[1], 10, 32)
			count, err2 := strconv.ParseUint(p[2], 10, 32)
			if err1 == nil && err2 == nil && count >= 65536 {
				return start, count
			}
		}
	}
	testenv.Skipf(t, "%s: no range of 65536 ids for %s", file, name)
	return 0, 0
}

// hybridCgroup2 returns where cgroup2 is mounted when the host is hybrid
// (cgroup2 present, but not at /sys/fs/cgroup), else "".
func hybridCgroup2(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f := strings.Fields(pre)
		if !ok || len(f) < 5 || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		if f[4] != "/sys/fs/cgroup" {
			return f[4]
		}
	}
	return ""
}

// TestSpecRunsInCrun prints a busybox container's spec with `ulxc spec` and
// runs it with crun, both as the unprivileged test user: the spec is good
// enough for an OCI runtime that is not ours.
func TestSpecRunsInCrun(t *testing.T) {
	u := testenv.SubIDUser(t)
	crun, err := exec.LookPath("crun")
	if err != nil {
		testenv.Skipf(t, "crun is not installed (apt-get install crun)")
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		testenv.Skipf(t, "busybox is not installed (apt-get install busybox-static)")
	}
	subUID, _ := firstSubID(t, "/etc/subuid", u.Name, u.UID)
	subGID, _ := firstSubID(t, "/etc/subgid", u.Name, u.GID)
	h := u.NewHome(t)
	bundle := u.TempDir(t)
	rootfs := filepath.Join(bundle, "rootfs")

	// The rootfs is made inside the user's namespace, so that its files
	// belong to the container's root (subUID) as an unpacked image's do.
	mk := h.Command(t, nil, "usernsexec",
		"-m", fmt.Sprintf("u:0:%d:65536", subUID), "-m", fmt.Sprintf("g:0:%d:65536", subGID), "-s", "--",
		"sh", "-c", `mkdir -p "$1/bin" "$1/proc" "$1/sys" "$1/dev" "$1/tmp" "$1/etc" && cp "$2" "$1/bin/busybox" && chown -R 0:0 "$1"`,
		"sh", rootfs, busybox)
	if r := testenv.RunCmd(t, mk); r.Code != 0 {
		t.Fatalf("ulxc usernsexec (make the rootfs): exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	fi, err := os.Stat(filepath.Join(rootfs, "bin", "busybox"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); uint64(st.Uid) != subUID {
		t.Fatalf("rootfs/bin/busybox belongs to uid %d, want the container root %d", st.Uid, subUID)
	}

	script := strings.Join([]string{
		"busybox hostname",
		"busybox cat /proc/self/uid_map",
		"ulimit -n",
		"busybox grep CapBnd /proc/self/status",
		"echo x > /dev/null && echo devnull-ok",
		"busybox test -f /sys/fs/cgroup/cgroup.controllers && echo cgroup2-ok",
		"busybox grep -q ' /tmp tmpfs ' /proc/self/mounts && echo tmp-ok",
		"echo $container",
		"exit 7",
	}, "; ")
	h.WriteFile(t, ".local/share/ulxc/c1/config", fmt.Sprintf(`lxc.idmap = u 0 %d 65536
lxc.idmap = g 0 %d 65536
lxc.rootfs.path = dir:%s
lxc.uts.name = ocitest
lxc.init.cmd = /bin/busybox sh -c "PATH=/bin; %s"
lxc.mount.auto = proc:mixed sys:ro cgroup:mixed
lxc.mount.entry = tmpfs tmp tmpfs mode=1777,size=1m 0 0
lxc.prlimit.nofile = 512:1024
lxc.cap.drop = sys_module
lxc.net.0.type = empty
`, subUID, subGID, rootfs, script))
	res := h.MustRun(t, "spec", "c1")
	if res.Stderr != "" {
		t.Errorf("ulxc spec c1: unexpected stderr:\n%s", res.Stderr)
	}
	config := filepath.Join(bundle, "config.json")
	if err := os.WriteFile(config, []byte(res.Stdout), 0o644); err != nil {
		t.Fatal(err)
	}

	id := fmt.Sprintf("ulxc-spec-test-%d", os.Getpid())
	crunArgs := []string{"--root", filepath.Join(h.Dir, "run", "crun"), "--cgroup-manager=disabled", "run", "-b", bundle, id}
	var cmd *exec.Cmd
	if unified := hybridCgroup2(t); unified != "" {
		// crun refuses hybrid cgroup hosts ("cgroups in hybrid mode not
		// supported"), and this one mounts cgroup2 at unified. Root hides
		// that mount in a private mount namespace made for crun alone,
		// then becomes the test user: crun itself, the user namespace and
		// the container still run unprivileged.
		if os.Geteuid() != 0 {
			testenv.Skipf(t, "crun refuses this hybrid cgroup host (cgroup2 at %s); hiding it needs the test to run as root", unified)
		}
		argv := append([]string{"-m", "--propagation", "private", "sh", "-c",
			`mount -t tmpfs -o ro none "$1" && shift && exec "$@"`, "sh", unified,
			"setpriv", "--reuid=" + strconv.Itoa(int(u.UID)), "--regid=" + strconv.Itoa(int(u.GID)), "--clear-groups",
			"env", "-i"}, h.Env...)
		argv = append(append(argv, crun), crunArgs...)
		cmd = exec.Command("unshare", argv...)
		cmd.Dir = h.Dir
	} else {
		cmd = h.Exec(t, nil, crun, crunArgs...)
	}
	r := testenv.RunCmd(t, cmd)
	if r.Code != 7 {
		t.Fatalf("crun run (ulxc spec c1): exit %d, want the container's 7\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	allCaps := uint64(1)<<41 - 1
	want := []string{
		"ocitest",
		fmt.Sprintf("0 %d 65536", subUID),
		"512",
		fmt.Sprintf("CapBnd: %016x", allCaps&^(1<<16)), // every capability but CAP_SYS_MODULE
		"devnull-ok",
		"cgroup2-ok",
		"tmp-ok",
		"lxc",
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		got = append(got, strings.Join(strings.Fields(line), " "))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("crun run (ulxc spec c1) printed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSpecCLI covers the verb's own behaviour: the command override, the
// warning for unenforced keys, LXC's seccomp policy, and its errors.
func TestSpecCLI(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	h.WriteFile(t, ".local/share/ulxc/web/config", `lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.init.cmd = /sbin/init
lxc.seccomp.profile = /usr/share/lxc/config/common.seccomp
lxc.selinux.context = system_u:system_r:lxc_t:s0
`)
	h.WriteFile(t, ".local/share/ulxc/nomap/config", "lxc.uts.name = nomap\n")

	r := h.MustRun(t, "spec", "-n", "web", "--", "/bin/echo", "hi there")
	var s specs.Spec
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		t.Fatalf("ulxc spec web: stdout is not JSON: %v\n%s", err, r.Stdout)
	}
	if got := strings.Join(s.Process.Args, "|"); got != "/bin/echo|hi there" {
		t.Errorf("ulxc spec web -- /bin/echo 'hi there': args = %q, want [/bin/echo, hi there]", s.Process.Args)
	}
	if want := filepath.Join(h.Dir, ".local/share/ulxc/web/rootfs"); s.Root.Path != want {
		t.Errorf("ulxc spec web: root = %q, want %q", s.Root.Path, want)
	}
	if !strings.Contains(r.Stderr, "ulxc: warning: web: not enforced by ulxc: lxc.selinux.context") {
		t.Errorf("ulxc spec web: stderr = %q, want a warning naming lxc.selinux.context", r.Stderr)
	}
	// LXC's own policy (the lxc package is installed) becomes linux.seccomp.
	if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != specs.ActAllow || len(s.Linux.Seccomp.Syscalls) == 0 {
		t.Errorf("ulxc spec web: linux.seccomp = %+v, want LXC's common.seccomp", s.Linux.Seccomp)
	}

	for _, tc := range []struct {
		args []string
		code int
		text string
	}{
		{[]string{"spec"}, 2, "no container name"},
		{[]string{"spec", "web", "extra"}, 2, `unexpected "extra"`},
		{[]string{"spec", "web", "--"}, 2, "nothing after --"},
		{[]string{"spec", "ghost"}, 1, "no such container"},
		{[]string{"spec", "nomap"}, 1, "spec nomap: lxc.idmap"},
	} {
		r := h.Run(t, tc.args...)
		if r.Code != tc.code || !strings.Contains(r.Stderr, tc.text) {
			t.Errorf("ulxc %s = exit %d, stderr %q; want exit %d mentioning %q", strings.Join(tc.args, " "), r.Code, r.Stderr, tc.code, tc.text)
		}
	}
}

// monitorNotCarried are the JSON fields of this test's spec that the
// monitor's copy does not carry: runtime reads none of them (its
// notCarried, in wire_fields_test.go, says why for each). Without the
// version on the wire, the monitor's copy says that of the runtime-spec
// module it was built with; runtime applies the bounding set of the
// capabilities only (lxc.cap.*).
var monitorNotCarried = []string{".ociVersion", ".process.capabilities.effective", ".process.capabilities.permitted"}

// TestSpecIsWhatStartRuns: `ulxc spec NAME` prints exactly what `ulxc
// start NAME` runs, in the foreground and under the monitor (after the
// monitor's wire), for a container with id maps, a tmpfs, a bind of a
// host node, host hooks and the device nodes its image recorded. What
// runs is written out by a build of ulxc with a test hook (tag
// ulxc_spechook) that the ulxc users run does not have.
func TestSpecIsWhatStartRuns(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	dir := runtimetest.NewBusybox(t, h, "sp",
		"lxc.mount.entry = tmpfs tmp tmpfs mode=1777,size=1m 0 0",
		"lxc.mount.entry = /dev/null dev/hostnull none bind,create=file 0 0",
		"lxc.hook.pre-start = /bin/true pre-start",
		"lxc.hook.post-stop = /bin/true post-stop",
		"lxc.hook.destroy = /bin/true destroy",
		"lxc.prlimit.nofile = 512:1024",
		"lxc.cap.drop = sys_module",
		"lxc.environment = FOO=bar",
	)
	devs := []store.Device{{Path: "dev/hostnull", Type: 'c', Major: 1, Minor: 3, Mode: 0o666},
		{Path: "dev/kvm", Type: 'c', Major: 10, Minor: 232, Mode: 0o660}}
	if err := store.WriteDevices(dir, devs); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(dir, store.DevicesFile), int(u.UID), int(u.GID)); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(testenv.BuildStatic(t, "cmd/ulxc", "ulxc", "ulxc_lean,ulxc_spechook"), "ulxc")
	dump := filepath.Join(h.Dir, "spec")
	env := []string{"ULXC_TEST_SPEC_DUMP=" + dump}
	cmd := []string{"--", "/bin/true"}

	spec := h.MustRun(t, append([]string{"spec", "sp"}, cmd...)...)
	want := testenv.JSONLeaves(t, []byte(spec.Stdout))
	var s specs.Spec
	if err := json.Unmarshal([]byte(spec.Stdout), &s); err != nil {
		t.Fatal(err)
	}
	// The comparison is not vacuous: the spec has what the test is about.
	var bound bool
	for _, m := range s.Mounts {
		bound = bound || m.Destination == "/dev/hostnull"
	}
	if !bound || len(s.Linux.UIDMappings) == 0 || s.Hooks == nil || len(s.Hooks.CreateRuntime) == 0 {
		t.Fatalf("ulxc spec sp lacks the bind of /dev/hostnull, the id maps or the hooks:\n%s", spec.Stdout)
	}

	compare := func(t *testing.T, kind string, ignore []string) {
		t.Helper()
		var doc []byte
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			var err error
			if doc, err = os.ReadFile(dump + "." + kind); err == nil || time.Now().After(deadline) {
				if err != nil {
					t.Fatalf("the %s wrote no spec: %v", kind, err)
				}
				break
			}
		}
		got := testenv.JSONLeaves(t, doc)
		used := map[string]bool{}
		skip := func(l string) bool {
			for _, p := range ignore {
				if strings.HasPrefix(l, p+" = ") || strings.HasPrefix(l, p+".") || strings.HasPrefix(l, p+"[") {
					used[p] = true
					return true
				}
			}
			return false
		}
		missing, extra := testenv.DiffLines(want, got)
		missing, extra = slices.DeleteFunc(missing, skip), slices.DeleteFunc(extra, skip)
		if len(missing)+len(extra) > 0 {
			t.Errorf("the %s runs another spec than ulxc spec prints:\nonly in ulxc spec:\n\t%s\nonly in what runs:\n\t%s",
				kind, strings.Join(missing, "\n\t"), strings.Join(extra, "\n\t"))
		}
		for _, p := range ignore {
			if !used[p] {
				t.Errorf("%s is listed as not carried to the %s, yet the two specs agree on it: take it off the list", p, kind)
			}
		}
	}

	t.Run("foreground", func(t *testing.T) {
		r := testenv.RunCmd(t, h.Exec(t, env, bin, append([]string{"start", "-F", "sp"}, cmd...)...))
		if r.Code != 0 {
			t.Fatalf("start -F sp: exit %d: %s", r.Code, r.Stderr)
		}
		if !strings.Contains(r.Stderr, "device nodes of the image not bound from the host: /dev/kvm\n") {
			t.Errorf("start -F sp did not name the recorded node it left out:\n%s", r.Stderr)
		}
		compare(t, "foreground", nil)
	})
	t.Run("monitor", func(t *testing.T) {
		r := testenv.RunCmd(t, h.Exec(t, env, bin, append([]string{"start", "sp"}, cmd...)...))
		if r.Code != 0 {
			t.Fatalf("start sp: exit %d: %s", r.Code, r.Stderr)
		}
		compare(t, "monitor", monitorNotCarried)
	})
}
