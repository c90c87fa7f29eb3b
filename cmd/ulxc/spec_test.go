package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ulxc/ulxc/internal/testenv"
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
