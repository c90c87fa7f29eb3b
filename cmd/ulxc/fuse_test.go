package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// forceFuse is the environment that makes ulxc serve overlay roots with
// fuse-overlayfs (this kernel never refuses overlayfs in a user
// namespace, so auto would never pick it).
var forceFuse = []string{"ULXC_OVERLAY=fuse"}

// requireFuse skips unless fuse-overlayfs is in $PATH and /dev/fuse is a
// device the test user may open.
func requireFuse(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("fuse-overlayfs"); err != nil {
		testenv.Skipf(t, "fuse-overlayfs is not in $PATH (apt-get install fuse-overlayfs)")
	}
	fi, err := os.Stat("/dev/fuse")
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		testenv.Skipf(t, "/dev/fuse is missing (modprobe fuse)")
	}
	if fi.Mode().Perm()&0o006 != 0o006 {
		testenv.Skipf(t, "/dev/fuse is mode %v, not 0666 (scripts/setup sets it)", fi.Mode().Perm())
	}
}

// runMustFuse runs `ulxc ARGS...` with ULXC_OVERLAY=fuse and fails on a
// non-zero exit.
func runMustFuse(t *testing.T, h *testenv.Home, args ...string) testenv.Result {
	t.Helper()
	r := testenv.RunCmd(t, h.Command(t, forceFuse, args...))
	if r.Code != 0 {
		t.Fatalf("ULXC_OVERLAY=fuse ulxc %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// rootFstype is the fstype of / in the mountinfo lines a container printed.
func rootFstype(mountinfo []string) string {
	for _, l := range mountinfo {
		pre, post, ok := strings.Cut(l, " - ")
		if f := strings.Fields(pre); ok && len(f) >= 5 && f[4] == "/" {
			if g := strings.Fields(post); len(g) > 0 {
				return g[0]
			}
		}
	}
	return ""
}

// fuseDaemons are the pids of the fuse-overlayfs processes on the host
// whose parent is ppid (0: any) and whose real uid is uid.
func fuseDaemons(t *testing.T, ppid int, uid uint32) []int {
	t.Helper()
	return hostPids(t, func(_ int, status string) bool {
		if field(status, "Name:") != "fuse-overlayfs" || ppid != 0 && field(status, "PPid:") != strconv.Itoa(ppid) {
			return false
		}
		f := strings.Fields(field(status, "Uid:"))
		return len(f) > 0 && f[0] == strconv.FormatUint(uint64(uid), 10)
	})
}

// hostOwner is the host uid:gid of path.
func hostOwner(t *testing.T, path string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Errorf("stat %s: %v", path, err)
		return ""
	}
	return fmt.Sprintf("%d:%d", st.Uid, st.Gid)
}

// TestFuseOverlaySnapshot: with ULXC_OVERLAY=fuse a snapshot's root is
// fuse-overlayfs' mount, what container root writes lands in the upper
// layer owned by the subordinate root id (and a chown inside to 1000 by
// the subordinate id 1000 above it), a removal is a whiteout there, the
// original is untouched, and nothing runs or stays mounted afterwards.
func TestFuseOverlaySnapshot(t *testing.T) {
	requireFuse(t)
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	start, _ := runtimetest.SubRange(t, u)
	orig := richBusybox(t, h, "ct")
	before := treeSum(t, filepath.Join(orig, "rootfs"))
	h.MustRun(t, "copy", "-n", "ct", "-N", "snap", "-s")
	snap := filepath.Join(runtimetest.StorePath(h), "snap")
	r := runMustFuse(t, h, "start", "-F", "snap", "--", "/bin/sh", "-c",
		"cat /proc/self/mountinfo; echo new > /root/new; touch /f1000; chown 1000:1000 /f1000; rm /etc/inittab; "+
			"cat /root/private/key; hostname")
	got := lines(r.Stdout)
	if fs := rootFstype(got); fs != "fuse.fuse-overlayfs" {
		t.Errorf("fstype of / inside = %q, want fuse.fuse-overlayfs\n%s", fs, r.Stdout)
	}
	if n := len(got); n < 2 || got[n-2] != "secret" || got[n-1] != "snap" {
		t.Errorf("cat /root/private/key; hostname = %q, want secret (a 0700 directory of uid 1000 read by root) and snap", got)
	}
	delta := filepath.Join(snap, "overlay/delta")
	if b, err := os.ReadFile(filepath.Join(delta, "root/new")); err != nil || string(b) != "new\n" {
		t.Errorf("upper layer root/new = %q, %v; want new", b, err)
	}
	if got, want := hostOwner(t, filepath.Join(delta, "root/new")), fmt.Sprintf("%d:%d", start, start); got != want {
		t.Errorf("root/new, made by container root, is %s on the host, want %s", got, want)
	}
	if got, want := hostOwner(t, filepath.Join(delta, "f1000")), fmt.Sprintf("%d:%d", start+1000, start+1000); got != want {
		t.Errorf("f1000, chowned to 1000 inside, is %s on the host, want %s", got, want)
	}
	if _, err := os.Lstat(filepath.Join(delta, "etc/inittab")); err != nil {
		t.Errorf("no whiteout of etc/inittab in the upper layer: %v", err)
	}
	if d := diffSums(before, treeSum(t, filepath.Join(orig, "rootfs"))); len(d) > 0 {
		t.Errorf("the original changed:\n%s", strings.Join(d, "\n"))
	}
	if pids := daemonsServing(t, u, h.Dir); len(pids) > 0 {
		t.Errorf("fuse-overlayfs %v still serves a layer of this test after the container stopped", pids)
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil && strings.Contains(string(b), snap) {
		t.Errorf("a mount of snap is left on the host:\n%s", b)
	}
	// A start that fails once the daemon runs (init's exec) leaves none.
	if r := testenv.RunCmd(t, h.Command(t, forceFuse, "start", "-F", "snap", "--", "/nonexistent")); r.Code == 0 || !strings.Contains(r.Stderr, "/nonexistent") {
		t.Errorf("start -F snap -- /nonexistent: exit %d %q, want a failure naming it", r.Code, r.Stderr)
	}
	if pids := daemonsServing(t, u, h.Dir); len(pids) > 0 {
		t.Errorf("fuse-overlayfs %v still serves a layer of this test after a failed start", pids)
	}
	// The layers stay what LXC and the kernel's overlayfs read: the next
	// run, by the kernel, sees the same root.
	r = h.MustRun(t, "start", "-F", "snap", "--", "/bin/sh", "-c", "cat /root/new; stat -c %u:%g /f1000; test -e /etc/inittab || echo gone")
	if got := strings.Join(lines(r.Stdout), "|"); got != "new|1000:1000|gone" {
		t.Errorf("the kernel's overlay of the same layers sees %q, want new|1000:1000|gone", got)
	}
}

// TestFuseOverlayEphemeral: an ephemeral copy (tmpfs upper layer) runs on
// fuse-overlayfs with its own name, and its writes go with it.
func TestFuseOverlayEphemeral(t *testing.T) {
	requireFuse(t)
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	orig := richBusybox(t, h, "ct")
	before := treeSum(t, filepath.Join(orig, "rootfs"))
	r := runMustFuse(t, h, "start-ephemeral", "-o", "ct", "--", "/bin/sh", "-c",
		"cat /proc/self/mountinfo; echo x > /root/written; stat -c '%u:%g %a' / /root/written; cat /etc/hostname")
	got := lines(r.Stdout)
	if fs := rootFstype(got); fs != "fuse.fuse-overlayfs" {
		t.Errorf("fstype of / inside = %q, want fuse.fuse-overlayfs\n%s", fs, r.Stdout)
	}
	if n := len(got); n < 3 || got[n-3] != "0:0 755" || got[n-2] != "0:0 644" || !strings.HasPrefix(got[n-1], "ct-") {
		t.Errorf("stat / /root/written; cat /etc/hostname = %q, want 0:0 755, 0:0 644 and ct-XXXXXXXX", got)
	}
	if d := diffSums(before, treeSum(t, filepath.Join(orig, "rootfs"))); len(d) > 0 {
		t.Errorf("the original changed:\n%s", strings.Join(d, "\n"))
	}
	if rows := lsJSON(t, h); len(rows) != 1 {
		t.Errorf("ls after the ephemeral run: %v, want only ct", rows)
	}
}

// TestFuseOverlayDaemon: the daemon of a started (-d) snapshot runs as
// the user, not as any id of the container, in a mount namespace that
// holds the layers and not the user's home; container root, holding
// every capability of the container's user namespace, can neither
// ptrace it nor open its memory (while it can ptrace the container's own
// init: the probe is able to attach); ulxc stop leaves no daemon.
func TestFuseOverlayDaemon(t *testing.T) {
	requireFuse(t)
	if _, err := exec.LookPath("nsenter"); err != nil {
		testenv.Skipf(t, "nsenter is not in $PATH (apt-get install util-linux)")
	}
	testenv.RequireRoot(t, "enter the container's user namespace as its root from the host")
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	runtimetest.NewBusybox(t, h, "ct")
	h.MustRun(t, "copy", "-n", "ct", "-N", "snap", "-s")
	snap := filepath.Join(runtimetest.StorePath(h), "snap")
	pidFile := filepath.Join(h.Dir, "run", "snap.pid")
	runMustFuse(t, h, "start", "snap", "-p", pidFile)
	t.Cleanup(func() { h.Run(t, "stop", "-k", "snap") })
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	monitor, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	daemon := monitorDaemon(t, monitor, u)
	if got := daemonsServing(t, u, h.Dir); len(got) != 1 || got[0] != daemon {
		t.Errorf("daemons serving a layer under the home: %v, want %d (the check after stop relies on it)", got, daemon)
	}
	initPid := strings.TrimSpace(h.MustRun(t, "info", "-p", "-H", "snap").Stdout)

	// The daemon's mounts: none of the filesystem that holds the home
	// is mounted from the home or above it (which would show the home).
	var home unix.Stat_t
	if err := unix.Stat(h.Dir, &home); err != nil {
		t.Fatal(err)
	}
	homeDev := fmt.Sprintf("%d:%d", unix.Major(home.Dev), unix.Minor(home.Dev))
	mi, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", daemon))
	if err != nil {
		t.Fatal(err)
	}
	layers := 0
	for _, l := range lines(string(mi)) {
		f := strings.Fields(l)
		if len(f) < 5 || f[2] != homeDev {
			continue
		}
		root := f[3]
		if root == h.Dir || strings.HasPrefix(h.Dir, strings.TrimSuffix(root, "/")+"/") {
			t.Errorf("the daemon's mount %s shows %s, which holds the user's home %s", f[4], root, h.Dir)
		}
		if strings.HasPrefix(root, h.Dir+"/") {
			layers++
		}
	}
	if layers < 2 {
		t.Errorf("the daemon's mountinfo has %d mounts of the layers under %s, want the lower and the upper:\n%s", layers, h.Dir, mi)
	}
	if !strings.Contains(string(mi), snap) {
		t.Errorf("the daemon's mountinfo does not name snap's layers:\n%s", mi)
	}

	// Container root, as the host sees it: the subordinate root id with
	// the container's user namespace and every capability there.
	// The probe is this test binary, in a place container root may
	// execute it from.
	probeBin := worldCopy(t, os.Args[0])
	probe := func(target string) (string, string) {
		cmd := exec.Command("nsenter", "-t", initPid, "-U", "--", probeBin, "-test.run=^$")
		cmd.Env = append(os.Environ(), ptraceProbeEnv+"="+target)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ptrace probe of %s: %v: %s", target, err, out)
		}
		attach, mem, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
		return attach, mem
	}
	if attach, _ := probe(initPid); attach != "ok" {
		t.Fatalf("container root cannot PTRACE_ATTACH the container's own init (%s): the probe proves nothing", attach)
	}
	attach, mem := probe(strconv.Itoa(daemon))
	t.Logf("container root against the daemon %d: PTRACE_ATTACH %s, open /proc/%d/mem %s", daemon, attach, daemon, mem)
	if attach != "EPERM" {
		t.Errorf("container root's PTRACE_ATTACH of the daemon: %s, want EPERM", attach)
	}
	if mem != "EACCES" && mem != "EPERM" {
		t.Errorf("container root's open of /proc/%d/mem: %s, want EACCES or EPERM", daemon, mem)
	}

	h.MustRun(t, "stop", "snap")
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", daemon)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("fuse-overlayfs %d still exists after ulxc stop (%v)", daemon, err)
	}
}

// worldCopy copies the executable src into a new directory that anyone
// may search, as a file anyone may execute, and returns its path.
func worldCopy(t *testing.T, src string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ulxc-probe-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b, err := os.ReadFile(src)
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	dst := filepath.Join(dir, "probe")
	if err == nil {
		err = os.WriteFile(dst, b, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// monitorDaemon returns the fuse-overlayfs process of the container
// whose monitor is monitor: its child, running as u.
func monitorDaemon(t *testing.T, monitor int, u *testenv.User) int {
	t.Helper()
	daemons := fuseDaemons(t, monitor, u.UID)
	if len(daemons) != 1 {
		t.Fatalf("fuse-overlayfs children of the monitor %d running as uid %d: %v, want one", monitor, u.UID, daemons)
	}
	return daemons[0]
}

// procStatus is the value of key in /proc/PID/status, or "" (no such
// process, or key).
func procStatus(pid int, key string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// TestFuseOverlayMonitorKilled: a monitor killed with SIGKILL takes the
// fuse-overlayfs daemon with it (its parent-death signal), even while
// something (here the test) keeps the container's mount namespace, and
// so its FUSE connection, alive.
func TestFuseOverlayMonitorKilled(t *testing.T) {
	requireFuse(t)
	testenv.RequireRoot(t, "kill the user's monitor and hold its container's mount namespace")
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	runtimetest.NewBusybox(t, h, "ct")
	h.MustRun(t, "copy", "-n", "ct", "-N", "snap", "-s")
	pidFile := filepath.Join(h.Dir, "run", "snap.pid")
	runMustFuse(t, h, "start", "snap", "-p", pidFile)
	t.Cleanup(func() { h.Run(t, "stop", "-k", "snap") })
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	monitor := atoi(strings.TrimSpace(string(b)))
	daemon := monitorDaemon(t, monitor, u)
	initPid := strings.TrimSpace(h.MustRun(t, "info", "-p", "-H", "snap").Stdout)
	mnt, err := os.Open("/proc/" + initPid + "/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	defer mnt.Close()
	if err := syscall.Kill(monitor, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, fmt.Sprintf("fuse-overlayfs %d to die with its monitor %d", daemon, monitor), func() bool {
		st := procStatus(daemon, "State")
		return st == "" || strings.HasPrefix(st, "Z")
	})
}

// ptraceProbeEnv makes the test binary the ptrace probe (ptraceProbe).
const ptraceProbeEnv = "ULXC_TEST_PTRACE_PROBE"

// ptraceProbe tries PTRACE_ATTACH on the pid in ptraceProbeEnv, and to
// open its /proc/PID/mem, and prints how each ended: "ok" or the errno's
// name.
func ptraceProbe(target string) int {
	pid, err := strconv.Atoi(target)
	if err != nil {
		fmt.Println("bad pid")
		return 1
	}
	name := func(err error) string {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			return unix.ErrnoName(errno)
		}
		if err != nil {
			return err.Error()
		}
		return "ok"
	}
	attach := unix.PtraceAttach(pid)
	if attach == nil {
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WALL, nil)
		_ = unix.PtraceDetach(pid)
	}
	f, mem := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if mem == nil {
		f.Close()
	}
	fmt.Println(name(attach), name(mem))
	return 0
}

// TestFuseOverlayMissing: ULXC_OVERLAY=fuse without fuse-overlayfs in
// $PATH fails before anything starts, names it and the way out, and
// leaves no state; an unknown ULXC_OVERLAY is a usage error.
func TestFuseOverlayMissing(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	runtimetest.NewBusybox(t, h, "ct")
	h.MustRun(t, "copy", "-n", "ct", "-N", "snap", "-s")
	t.Cleanup(func() { h.Run(t, "stop", "-k", "snap") }) // a start that was not refused
	empty := filepath.Join(h.Dir, "nobin")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"start", "-F", "snap", "--", "/bin/true"}, {"start", "snap"}, {"start-ephemeral", "-o", "ct", "--", "/bin/true"}} {
		r := testenv.RunCmd(t, h.Command(t, []string{"ULXC_OVERLAY=fuse", "PATH=" + empty}, args...))
		if r.Code != 1 || !strings.Contains(r.Stderr, "fuse-overlayfs is not in $PATH") || !strings.Contains(r.Stderr, "apt-get install fuse-overlayfs") {
			t.Errorf("ULXC_OVERLAY=fuse PATH=%s ulxc %s: exit %d %q, want 1 and an error naming fuse-overlayfs and its package", empty, strings.Join(args, " "), r.Code, r.Stderr)
		}
	}
	if rows := lsJSON(t, h); len(rows) != 2 || rows["snap"].State != "STOPPED" {
		t.Errorf("ls after the refused starts: %v, want ct and snap, stopped", rows)
	}
	r := testenv.RunCmd(t, h.Command(t, []string{"ULXC_OVERLAY=fusee"}, "start", "-F", "snap", "--", "/bin/true"))
	if r.Code != 2 || !strings.Contains(r.Stderr, "ULXC_OVERLAY") || !strings.Contains(r.Stderr, "auto, kernel or fuse") {
		t.Errorf("ULXC_OVERLAY=fusee ulxc start: exit %d %q, want a usage error naming the variable and its values", r.Code, r.Stderr)
	}
}

// TestFuseOverlayCloneHook: with ULXC_OVERLAY=fuse the clone hook of a
// snapshot and of an ephemeral copy sees the root on fuse-overlayfs, what
// it writes lands in the snapshot's upper layer as container root's, and
// in the ephemeral copy's tmpfs upper layer (its hooks run inside its
// start, as container root: the record goes where that root may write).
func TestFuseOverlayCloneHook(t *testing.T) {
	requireFuse(t)
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	start, _ := runtimetest.SubRange(t, u)
	rec := filepath.Join(sharedDir(t, h, "rec"), "clone.rec")
	hook := h.WriteFile(t, "clone.sh", `#!/bin/sh
stat -f -c %t "$LXC_ROOTFS_MOUNT/" >> `+rec+`
echo hooked > "$LXC_ROOTFS_MOUNT/hooked"
`)
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	runtimetest.NewBusybox(t, h, "ct", "lxc.hook.clone = "+hook)
	runMustFuse(t, h, "copy", "-s", "-n", "ct", "-N", "snap")
	r := runMustFuse(t, h, "start-ephemeral", "-o", "ct", "--", "/bin/cat", "/hooked")
	if got := strings.TrimSpace(r.Stdout); got != "hooked" {
		t.Errorf("the ephemeral copy's /hooked = %q, want what its clone hook wrote there, \"hooked\"", got)
	}
	b, _ := os.ReadFile(rec)
	// FUSE_SUPER_MAGIC: LXC_ROOTFS_MOUNT is a path inside init's own
	// mount namespace for the ephemeral copy (/proc/self/fd/N), which
	// mountinfo does not show by that name.
	if got := strings.Join(lines(string(b)), "|"); got != "65735546|65735546" {
		t.Errorf("the clone hooks of copy -s and start-ephemeral saw the root's filesystem as %q, want FUSE's magic 65735546 twice", got)
	}
	hooked := filepath.Join(runtimetest.StorePath(h), "snap/overlay/delta/hooked")
	if got, want := hostOwner(t, hooked), fmt.Sprintf("%d:%d", start, start); got != want {
		t.Errorf("the clone hook's file in the snapshot's upper layer is %s on the host, want %s", got, want)
	}
	if pids := daemonsServing(t, u, h.Dir); len(pids) > 0 {
		t.Errorf("fuse-overlayfs %v left running", pids)
	}
}

// daemonsServing are the user's fuse-overlayfs processes that have a
// layer under dir mounted.
func daemonsServing(t *testing.T, u *testenv.User, dir string) []int {
	t.Helper()
	var pids []int
	for _, pid := range fuseDaemons(t, 0, u.UID) {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid)); strings.Contains(string(b), dir+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestFuseOverlaySingleID: a user without subordinate ids (a single-id
// map: container root is the user) gets fuse-overlayfs too, its files
// the user's own on the host.
func TestFuseOverlaySingleID(t *testing.T) {
	requireFuse(t)
	u := testenv.NoSubIDUser(t)
	h := u.NewHome(t)
	h.MustRun(t, "create", "ct", "-t", "busybox")
	h.MustRun(t, "copy", "-n", "ct", "-N", "snap", "-s")
	r := runMustFuse(t, h, "start", "-F", "snap", "--", "/bin/sh", "-c", "cat /proc/self/mountinfo; echo new > /root/new")
	if fs := rootFstype(lines(r.Stdout)); fs != "fuse.fuse-overlayfs" {
		t.Errorf("fstype of / inside = %q, want fuse.fuse-overlayfs\n%s", fs, r.Stdout)
	}
	newFile := filepath.Join(runtimetest.StorePath(h), "snap/overlay/delta/root/new")
	if got, want := hostOwner(t, newFile), fmt.Sprintf("%d:%d", u.UID, u.GID); got != want {
		t.Errorf("root/new, made by container root, is %s on the host, want the user's %s", got, want)
	}
	if pids := daemonsServing(t, u, h.Dir); len(pids) > 0 {
		t.Errorf("fuse-overlayfs %v left running", pids)
	}
}
