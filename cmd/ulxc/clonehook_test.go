package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// recordHook writes an executable hook script that appends its arguments
// and LXC's variables to the file rec, and fails when fail exists.
func recordHook(t *testing.T, h *testenv.Home, name, rec, fail string) string {
	t.Helper()
	p := h.WriteFile(t, name, `#!/bin/sh
{ echo "args=$*"
  echo "name=$LXC_NAME src=$LXC_SRC_NAME type=$LXC_HOOK_TYPE section=$LXC_HOOK_SECTION"
  echo "config=$LXC_CONFIG_FILE"
  echo "rootfs=$LXC_ROOTFS_PATH mount=$LXC_ROOTFS_MOUNT"
  test -d "$LXC_ROOTFS_MOUNT" && echo "rootfs-present"
} >> `+rec+`
test -e `+fail+` && exit 3
exit 0
`)
	if err := os.Chmod(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// sharedDir makes the directory rel of the home, writable by everyone:
// where hooks that run as container root in the container's own user
// namespace (an ephemeral copy's clone hooks, inside its start) can
// write, since that namespace does not map the user's ids.
func sharedDir(t *testing.T, h *testenv.Home, rel string) string {
	t.Helper()
	dir := filepath.Dir(h.WriteFile(t, filepath.Join(rel, ".keep"), ""))
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCloneHook: lxc.hook.clone runs after copy and copy -s, and in the
// start of an ephemeral copy, on the new container with LXC's arguments (NAME lxc
// clone) and environment (LXC_SRC_NAME, the copy's config and root); a
// failing clone hook fails the copy and leaves no container behind.
func TestCloneHook(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	rec := filepath.Join(sharedDir(t, h, "rec"), "clone.rec")
	fail := filepath.Join(h.Dir, "fail")
	hook := recordHook(t, h, "clone.sh", rec, fail)
	runtimetest.NewBusybox(t, h, "ct", "lxc.hook.clone = "+hook)
	store := runtimetest.StorePath(h)
	for _, tc := range []struct {
		args    []string
		newName string
	}{
		{[]string{"copy", "ct", "full"}, "full"},
		{[]string{"copy", "-s", "-n", "ct", "-N", "snap"}, "snap"},
		{[]string{"start-ephemeral", "-o", "ct", "-n", "eph", "--", "/bin/true"}, "eph"},
	} {
		os.Remove(rec)
		h.MustRun(t, tc.args...)
		b, err := os.ReadFile(rec)
		if err != nil {
			t.Errorf("%s: the clone hook did not run: %v", tc.args, err)
			continue
		}
		got := string(b)
		for _, want := range []string{
			"args=" + tc.newName + " lxc clone\n",
			"name=" + tc.newName + " src=ct type=clone section=lxc\n",
			"config=" + filepath.Join(store, tc.newName, "config") + "\n",
			"rootfs-present\n",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: the clone hook recorded\n%s\nwant a line %q", tc.args, got, want)
			}
		}
	}
	h.WriteFile(t, "fail", "")
	os.Remove(rec)
	r := h.Run(t, "copy", "ct", "bad")
	if r.Code == 0 || !strings.Contains(r.Stderr, "clone hook") {
		t.Errorf("copy with a failing clone hook: code %d, stderr %q; want a failure naming the clone hook", r.Code, r.Stderr)
	}
	if _, err := os.Stat(rec); err != nil {
		t.Errorf("the failing clone hook did not run: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(store, "bad")); !os.IsNotExist(err) {
		t.Errorf("a failed copy left %s: %v", filepath.Join(store, "bad"), err)
	}
	if r := h.MustRun(t, "ls"); strings.Contains(r.Stdout, "bad") {
		t.Errorf("ls after a failed copy shows it: %q", r.Stdout)
	}
}

// TestDestroyHook: lxc.hook.destroy runs on the host before destroy
// removes anything, with LXC's arguments (NAME lxc destroy) and the
// container's variables, its files still there; a failing destroy hook
// stops the destroy and keeps the container whole.
func TestDestroyHook(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	rec := filepath.Join(h.Dir, "destroy.rec")
	fail := filepath.Join(h.Dir, "fail")
	hook := recordHook(t, h, "destroy.sh", rec, fail)
	dir := runtimetest.NewBusybox(t, h, "ct", "lxc.hook.destroy = "+hook)
	h.WriteFile(t, "fail", "")
	r := h.Run(t, "destroy", "ct")
	if r.Code == 0 || !strings.Contains(r.Stderr, "destroy hook") {
		t.Errorf("destroy with a failing destroy hook: code %d, stderr %q; want a failure naming the hook", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "rootfs", "bin")); err != nil {
		t.Errorf("a refused destroy removed files: %v", err)
	}
	h.MustRun(t, "start", "-F", "ct", "--", "/bin/true")
	os.Remove(fail)
	os.Remove(rec)
	h.MustRun(t, "destroy", "ct")
	b, err := os.ReadFile(rec)
	if err != nil {
		t.Fatalf("the destroy hook did not run: %v", err)
	}
	for _, want := range []string{
		"args=ct lxc destroy\n",
		"name=ct src= type=destroy section=lxc\n",
		"config=" + filepath.Join(dir, "config") + "\n",
		"rootfs-present\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the destroy hook recorded\n%s\nwant a line %q", b, want)
		}
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("destroy left %s: %v", dir, err)
	}
}

// TestStopHook: lxc.hook.stop runs on the host once the container's init
// exited, with LXC's arguments NAME lxc stop and a NAME:PATH reference to
// each namespace of the container's own; the references still name the
// container's namespaces (its uts namespace, whose identity the container
// printed) while the hook runs.
func TestStopHook(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	rec := filepath.Join(h.Dir, "stop.rec")
	hook := h.WriteFile(t, "stop.sh", `#!/bin/sh
echo "args=$*" >> `+rec+`
echo "type=$LXC_HOOK_TYPE name=$LXC_NAME" >> `+rec+`
for a in "$@"; do
  case "$a" in *:/*) echo "ns ${a%%:*}=$(readlink "${a#*:}")" >> `+rec+`;; esac
done
`)
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	runtimetest.NewBusybox(t, h, "ct", "lxc.hook.stop = "+hook)
	r := h.MustRun(t, "start", "-F", "ct", "--", "readlink", "/proc/self/ns/uts")
	uts := strings.TrimSpace(r.Stdout)
	if !strings.HasPrefix(uts, "uts:[") {
		t.Fatalf("the container printed %q for its uts namespace", r.Stdout)
	}
	b, err := os.ReadFile(rec)
	if err != nil {
		t.Fatalf("the stop hook did not run: %v", err)
	}
	got := string(b)
	if !strings.HasPrefix(got, "args=ct lxc stop user:/proc/self/fd/3 mnt:/proc/self/fd/4 pid:/proc/self/fd/5 uts:/proc/self/fd/6") {
		t.Errorf("stop hook arguments: %q; want ct lxc stop, then user:, mnt:, pid:, uts: references", got)
	}
	for _, want := range []string{"type=stop name=ct\n", "ns uts=" + uts + "\n", "ns mnt=mnt:["} {
		if !strings.Contains(got, want) {
			t.Errorf("the stop hook recorded\n%s\nwant %q", got, want)
		}
	}
	// A daemon: the monitor runs them, after ulxc stop.
	os.Remove(rec)
	h.MustRun(t, "start", "ct")
	t.Cleanup(func() { h.Run(t, "stop", "-k", "ct") })
	h.MustRun(t, "stop", "ct")
	b, err = os.ReadFile(rec)
	if err != nil || !strings.Contains(string(b), "args=ct lxc stop user:/proc/self/fd/3 mnt:") || !strings.Contains(string(b), "ns uts=uts:[") {
		t.Errorf("the stop hook of a daemon recorded %q, %v; want its namespaces", b, err)
	}
}

// TestStopHookQuickExit: a container whose process exits at once still
// gives its stop hooks its namespaces: init sends them to the supervisor
// before its exec. (The supervisor opened /proc/PID/ns once init had
// exec'd, and a process that had exited by then left it only the user
// and pid namespaces, which outlive it: this failed within a few starts.)
func TestStopHookQuickExit(t *testing.T) {
	h := testenv.SubIDUser(t).NewHome(t)
	rec := filepath.Join(h.Dir, "stop.rec")
	hook := h.WriteFile(t, "stop.sh", `#!/bin/sh
for a in "$@"; do
  case "$a" in *:/*) echo "ns ${a%%:*}=$(readlink "${a#*:}")" >> `+rec+`;; esac
done
`)
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	runtimetest.NewBusybox(t, h, "qx", "lxc.hook.stop = "+hook)
	for i := 0; i < 20; i++ {
		os.Remove(rec)
		cmd := []string{"/bin/true"}
		if i%2 == 0 {
			cmd = []string{"readlink", "/proc/self/ns/uts"}
		}
		out := h.MustRun(t, append([]string{"start", "-F", "qx", "--"}, cmd...)...).Stdout
		b, _ := os.ReadFile(rec)
		wants := []string{"ns user=user:[", "ns mnt=mnt:[", "ns pid=pid:[", "ns uts=uts:[", "ns ipc=ipc:[", "ns net=net:["}
		if i%2 == 0 {
			// The very namespace the container's process was in.
			wants = append(wants, "ns uts="+strings.TrimSpace(out)+"\n")
		}
		for _, want := range wants {
			if !strings.Contains(string(b), want) {
				t.Fatalf("start %d (%s): the stop hook recorded\n%s\nwant %q", i, cmd, b, want)
			}
		}
	}
}

// TestStopHookFails: a failing stop hook is reported by start -F as a
// warning, as a failing post-stop hook is (the exit status stays the
// container's), and does not keep the post-stop hooks from running.
func TestStopHookFails(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	post := filepath.Join(h.Dir, "post.rec")
	stop := h.WriteFile(t, "stop.sh", "#!/bin/sh\nexit 4\n")
	postHook := h.WriteFile(t, "post.sh", "#!/bin/sh\necho ran > "+post+"\n")
	for _, p := range []string{stop, postHook} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runtimetest.NewBusybox(t, h, "ct", "lxc.hook.stop = "+stop, "lxc.hook.post-stop = "+postHook)
	r := h.Run(t, "start", "-F", "ct", "--", "/bin/true")
	if !strings.Contains(r.Stderr, "ulxc: warning: stop hook "+stop) || r.Code != 0 {
		t.Errorf("start -F with a failing stop hook: code %d, stderr %q; want 0 and a warning naming the stop hook", r.Code, r.Stderr)
	}
	if b, err := os.ReadFile(post); err != nil || string(b) != "ran\n" {
		t.Errorf("the post-stop hook after a failed stop hook: %q, %v; want it run", b, err)
	}
}

// TestDestroyHookEphemeral: the removal of an ephemeral copy runs its
// destroy hooks (inherited from the original), as LXC's does; a failing
// one is a warning and the copy is removed all the same.
func TestDestroyHookEphemeral(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	rec := filepath.Join(h.Dir, "destroy.rec")
	fail := filepath.Join(h.Dir, "fail")
	hook := recordHook(t, h, "destroy.sh", rec, fail)
	runtimetest.NewBusybox(t, h, "ct", "lxc.hook.destroy = "+hook)
	h.MustRun(t, "start-ephemeral", "-o", "ct", "-n", "eph", "--", "/bin/true")
	if b, err := os.ReadFile(rec); err != nil || !strings.Contains(string(b), "args=eph lxc destroy\n") {
		t.Errorf("the ephemeral copy's destroy hook recorded %q, %v; want eph lxc destroy", b, err)
	}
	h.WriteFile(t, "fail", "")
	r := h.MustRun(t, "start-ephemeral", "-o", "ct", "-n", "eph2", "--", "/bin/true")
	if !strings.Contains(r.Stderr, "destroy hook") {
		t.Errorf("a failing destroy hook of an ephemeral copy: stderr %q, want a warning", r.Stderr)
	}
	if r := h.MustRun(t, "ls"); strings.TrimSpace(r.Stdout) != "ct" {
		t.Errorf("ls after the ephemeral runs = %q, want ct alone", r.Stdout)
	}
}

// TestCloneHookRoot: a clone hook runs as the copy's root (uid 0 of a
// user namespace with the copy's id map) with the copy's root filesystem
// mounted at LXC_ROOTFS_MOUNT, as LXC runs it: on a snapshot it reads the
// original's files through the overlay and what it writes lands in the
// snapshot's upper layer, owned by container root (the first subordinate
// id on the host), not in the original; on a full copy it writes the
// copy's tree; on an ephemeral copy it sees the original's files.
// LXC_ROOTFS_PATH is the root as the copy's config names it.
func TestCloneHookRoot(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	recDir := filepath.Join(h.Dir, "rec")
	hook := h.WriteFile(t, "clone.sh", `#!/bin/sh
r="$LXC_ROOTFS_MOUNT"
{ echo "uid=$(id -u)"
  echo "path=$LXC_ROOTFS_PATH"
  echo "hostname=$(cat "$r/etc/hostname")"
  echo "lower=$(cat "$r/etc/lowermark")"
} > `+recDir+`/"$LXC_NAME"
echo "hook of $LXC_NAME" > "$r/etc/hookmark"
`)
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	h.WriteFile(t, "rec/.keep", "")
	if err := os.Chmod(recDir, 0o777); err != nil {
		t.Fatal(err)
	}
	dir := runtimetest.NewBusybox(t, h, "ct", "lxc.hook.clone = "+hook)
	root, _ := runtimetest.SubRange(t, h.User)
	runtimetest.WriteRootFile(t, h, dir, "etc/hostname", "ct\n")
	runtimetest.WriteRootFile(t, h, dir, "etc/lowermark", "from the original\n")
	store := runtimetest.StorePath(h)
	for _, tc := range []struct {
		args []string
		name string
		// hostname is the copy's /etc/hostname when the hook runs: the
		// runtime writes an ephemeral copy's into its tmpfs at start.
		hostname string
		// mark is where the hook's /etc/hookmark must land, "" when
		// nowhere that outlives the run (a tmpfs upper layer).
		mark string
	}{
		{[]string{"copy", "-s", "-n", "ct", "-N", "snap"}, "snap", "snap", "snap/overlay/delta/etc/hookmark"},
		{[]string{"copy", "-B", "dir", "ct", "full"}, "full", "full", "full/rootfs/etc/hookmark"},
		{[]string{"start-ephemeral", "-o", "ct", "-n", "eph", "--", "/bin/true"}, "eph", "ct", ""},
	} {
		if r := h.Run(t, tc.args...); r.Code != 0 {
			t.Errorf("%s: exit %d: %s", tc.args, r.Code, r.Stderr)
			continue
		}
		b, err := os.ReadFile(filepath.Join(recDir, tc.name))
		if err != nil {
			t.Errorf("%s: the clone hook recorded nothing: %v", tc.args, err)
			continue
		}
		got := string(b)
		want := []string{"uid=0\n", "hostname=" + tc.hostname + "\n", "lower=from the original\n"}
		if tc.mark != "" {
			want = append(want, "path="+configRootfs(t, filepath.Join(store, tc.name, "config"))+"\n")
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: the clone hook recorded\n%s\nwant a line %q", tc.args, got, w)
			}
		}
		if tc.mark == "" {
			continue
		}
		p := filepath.Join(store, tc.mark)
		b, err = os.ReadFile(p)
		if err != nil || string(b) != "hook of "+tc.name+"\n" {
			t.Errorf("%s: %s = %q, %v; want what the hook wrote", tc.args, p, b, err)
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if uint64(st.Uid) != root || uint64(st.Gid) != root {
			t.Errorf("%s: %s is owned by %d:%d, want container root %d:%d", tc.args, p, st.Uid, st.Gid, root, root)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "rootfs", "etc", "hookmark")); !os.IsNotExist(err) {
		t.Errorf("a clone hook of a copy wrote into the original: %v", err)
	}
	// The snapshot, started, sees the hook's file as its own root's.
	r := h.Run(t, "start", "-F", "snap", "--", "/bin/sh", "-c", "cat /etc/hookmark; stat -c %u /etc/hookmark")
	if r.Code != 0 || r.Stdout != "hook of snap\n0\n" {
		t.Errorf("the started snapshot's /etc/hookmark: exit %d, %q, %s; want the hook's text and owner 0", r.Code, r.Stdout, r.Stderr)
	}
}

// TestCloneHookFailedSnapshot: a snapshot whose clone hook fails leaves
// nothing behind, not even its record in the original's lxc_snapshots:
// a container made later under its name would count as a snapshot and
// keep the original from being destroyed.
func TestCloneHookFailedSnapshot(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	fail := filepath.Join(h.Dir, "fail")
	hook := recordHook(t, h, "clone.sh", filepath.Join(h.Dir, "clone.rec"), fail)
	dir := runtimetest.NewBusybox(t, h, "ct", "lxc.hook.clone = "+hook)
	store := runtimetest.StorePath(h)
	h.WriteFile(t, "fail", "")
	if r := h.Run(t, "copy", "-s", "ct", "bad"); r.Code == 0 || !strings.Contains(r.Stderr, "clone hook "+hook+": exit status 3") {
		t.Errorf("copy -s with a failing clone hook: exit %d, stderr %q; want a failure naming the hook", r.Code, r.Stderr)
	}
	if _, err := os.Lstat(filepath.Join(store, "bad")); !os.IsNotExist(err) {
		t.Errorf("a snapshot whose clone hook failed left %s: %v", filepath.Join(store, "bad"), err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "lxc_snapshots")); strings.Contains(string(b), "bad") {
		t.Errorf("a snapshot whose clone hook failed is still listed in lxc_snapshots: %q", b)
	}
	os.Remove(fail)
	h.MustRun(t, "copy", "ct", "bad")
	if r := h.Run(t, "destroy", "ct"); r.Code != 0 {
		t.Errorf("destroy of an original without snapshots, after a failed snapshot and a full copy of the same name: exit %d, %s", r.Code, r.Stderr)
	}
}

// configRootfs is the lxc.rootfs.path of the config file name, as LXC
// hooks see it: without the "dir:" of a plain directory.
func configRootfs(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "lxc.rootfs.path" {
			return strings.TrimPrefix(strings.TrimSpace(v), "dir:")
		}
	}
	t.Fatalf("%s has no lxc.rootfs.path", name)
	return ""
}

// TestCloneHookEphemeralInStart: an ephemeral copy's clone hooks run
// inside its start, by its init: in the very user and pid namespaces the
// container's process then runs in, as container root, with the copy's
// root at LXC_ROOTFS_MOUNT, in a mount namespace of their own, copied
// before init mounted anything in the root (so they see no /proc there,
// as lxc-copy's hooks see none), while init goes on mounting. (They ran
// in a user and mount namespace of their own before the start, which
// cost about as much as the start itself.) A kept copy (-k) does not run
// them again when it is started later: they ran once, after the copy.
func TestCloneHookEphemeralInStart(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	rec := filepath.Join(sharedDir(t, h, "rec"), "clone.rec")
	hook := h.WriteFile(t, "clone.sh", `#!/bin/sh
{ for ns in user pid mnt; do echo "$ns=$(readlink /proc/self/ns/$ns)"; done
  echo "uid=$(id -u) src=$LXC_SRC_NAME name=$LXC_NAME"
  cat "$LXC_ROOTFS_MOUNT/etc/lowermark"
  echo "proc entries: $(ls "$LXC_ROOTFS_MOUNT/proc" | wc -l)"
} >> `+rec+`
`)
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := runtimetest.NewBusybox(t, h, "ct", "lxc.hook.clone = "+hook)
	runtimetest.WriteRootFile(t, h, dir, "etc/lowermark", "from the original\n")
	const nsScript = `for ns in user pid mnt; do echo "$ns=$(readlink /proc/self/ns/$ns)"; done`
	hostMnt, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		copy string // the copy's name
		args []string
	}{
		{"eph", []string{"start-ephemeral", "-o", "ct", "-n", "eph"}},
		{"kept", []string{"start-ephemeral", "-o", "ct", "-n", "kept", "-s", "dir", "-k"}},
		{"ecopy", []string{"copy", "-e", "-n", "ct", "-N", "ecopy"}},
	} {
		os.Remove(rec)
		r := h.Run(t, append(tc.args, "--", "/bin/sh", "-c", nsScript)...)
		if r.Code != 0 {
			t.Errorf("%s: exit %d: %s", tc.args, r.Code, r.Stderr)
			continue
		}
		b, err := os.ReadFile(rec)
		if err != nil {
			t.Errorf("%s: the clone hook did not run: %v", tc.args, err)
			continue
		}
		// The container's user and pid namespaces, then a mount
		// namespace that is neither the container's nor the host's.
		shared, ctMnt, _ := strings.Cut(r.Stdout, "mnt=")
		want := shared + "mnt=HOOK\nuid=0 src=ct name=" + tc.copy + "\nfrom the original\nproc entries: 0\n"
		got, hookMnt := string(b), ""
		if i := strings.Index(got, "mnt="); i >= 0 {
			j := strings.IndexByte(got[i:], '\n')
			if j < 0 {
				j = len(got) - i
			}
			hookMnt = got[i+len("mnt=") : i+j]
			got = got[:i] + "mnt=HOOK" + got[i+j:]
		}
		if !strings.HasPrefix(r.Stdout, "user=user:[") || got != want || hookMnt == "" ||
			hookMnt == strings.TrimSpace(ctMnt) || hookMnt == hostMnt {
			t.Errorf("%s: the clone hook recorded\n%s\nwant the container's own user and pid namespaces, a mount namespace of its own (container %s, host %s) and the copy's root without init's mounts\n%s",
				tc.args, b, strings.TrimSpace(ctMnt), hostMnt, want)
		}
	}
	os.Remove(rec)
	h.MustRun(t, "start", "-F", "kept", "--", "/bin/true")
	if b, err := os.ReadFile(rec); !os.IsNotExist(err) {
		t.Errorf("a start of the kept copy ran its clone hooks again: %q, %v", b, err)
	}
}

// TestCloneHookEphemeralFails: an ephemeral start whose clone hook fails
// fails with the hook named, before the container's process runs, and
// leaves nothing, as a copy whose clone hook fails does: in the
// foreground, as a daemon, and with -k, which would otherwise keep it.
func TestCloneHookEphemeralFails(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	shared := sharedDir(t, h, "rec")
	rec := filepath.Join(shared, "clone.rec")
	fail := filepath.Join(h.Dir, "fail")
	hook := recordHook(t, h, "clone.sh", rec, fail)
	destroyRec := filepath.Join(h.Dir, "destroy.rec")
	destroyHook := recordHook(t, h, "destroy.sh", destroyRec, filepath.Join(h.Dir, "nofail"))
	runtimetest.NewBusybox(t, h, "ct", "lxc.hook.clone = "+hook, "lxc.hook.destroy = "+destroyHook)
	store := runtimetest.StorePath(h)
	h.WriteFile(t, "fail", "")
	// The container's process would write here, through a bind.
	ran := filepath.Join(shared, "ran")
	for _, tc := range []struct {
		name string // the copy's
		args []string
		cmd  bool // runs a command
	}{
		{"eph", []string{"start-ephemeral", "-o", "ct", "-n", "eph", "-b", shared}, true},
		{"kept", []string{"start-ephemeral", "-o", "ct", "-n", "kept", "-s", "dir", "-k", "-b", shared}, true},
		{"ephd", []string{"start-ephemeral", "-o", "ct", "-n", "ephd", "-d", "-b", shared}, false},
		{"ecopy", []string{"copy", "-e", "-D", "-n", "ct", "-N", "ecopy", "-F", "-m", "bind=" + shared}, true},
	} {
		os.Remove(rec)
		name, args := tc.name, tc.args
		if tc.cmd {
			args = append(args, "--", "/bin/sh", "-c", "echo ran > "+ran)
		}
		r := h.Run(t, args...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "clone hook "+hook+": exit status 3") {
			t.Errorf("%s: exit %d, stderr %q; want 1 and the clone hook named", args, r.Code, r.Stderr)
		}
		if b, err := os.ReadFile(rec); err != nil || !strings.Contains(string(b), "name="+name+" src=ct type=clone") {
			t.Errorf("%s: the clone hook recorded %q, %v; want its run for %s", tc.name, b, err, name)
		}
		if _, err := os.Lstat(ran); !os.IsNotExist(err) {
			t.Errorf("%s: the container's process ran after its clone hook failed: %v", tc.name, err)
		}
		if _, err := os.Lstat(filepath.Join(store, name)); !os.IsNotExist(err) {
			t.Errorf("%s: a failed ephemeral start left %s: %v", tc.name, filepath.Join(store, name), err)
		}
		if r := h.MustRun(t, "ls"); strings.TrimSpace(r.Stdout) != "ct" {
			t.Errorf("%s: ls after the failed start = %q, want ct alone", tc.name, r.Stdout)
		}
	}
	if b, err := os.ReadFile(destroyRec); !os.IsNotExist(err) {
		t.Errorf("copies whose clone hook failed ran their destroy hooks, as no failed copy does: %q, %v", b, err)
	}
	// The original is whole: a start after the failures works, and its
	// process can write where the failed ones would have.
	os.Remove(fail)
	h.MustRun(t, "start-ephemeral", "-o", "ct", "-n", "eph", "-b", shared, "--", "/bin/sh", "-c", "echo ran > "+ran)
	if b, err := os.ReadFile(ran); err != nil || string(b) != "ran\n" {
		t.Errorf("the container's process of a start whose clone hook worked wrote %q, %v; want ran", b, err)
	}
}

// TestCloneHookEphemeralPrivate: an ephemeral copy's clone hook runs as
// container root, which may not enter the user's private directories:
// a hook kept in one fails the start, naming the hook, with a hint that
// says why and where to keep it; nothing is left.
func TestCloneHookEphemeralPrivate(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	hook := h.WriteFile(t, "private/clone.sh", "#!/bin/sh\nexit 0\n")
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(hook), 0o700); err != nil {
		t.Fatal(err)
	}
	runtimetest.NewBusybox(t, h, "ct", "lxc.hook.clone = "+hook)
	r := h.Run(t, "start-ephemeral", "-o", "ct", "-n", "eph", "--", "/bin/true")
	if r.Code != 1 || !strings.Contains(r.Stderr, "clone hook "+hook) || !strings.Contains(r.Stderr, "permission denied") ||
		!strings.Contains(r.Stderr, "hint: this hook runs inside the container, as its root") {
		t.Errorf("start-ephemeral with a clone hook in a 0700 directory: exit %d, stderr %q; want 1, the hook, EACCES and the hint", r.Code, r.Stderr)
	}
	if r := h.MustRun(t, "ls"); strings.TrimSpace(r.Stdout) != "ct" {
		t.Errorf("ls after the failed start = %q, want ct alone", r.Stdout)
	}
}

// TestCloneHookEphemeralDir: an ephemeral copy's clone hook runs in the
// caller's working directory, as lxc-copy's do, reachable from its own
// root (pwd names it); when container root may not enter it (mode 0700)
// the hook runs in / and the start works.
func TestCloneHookEphemeralDir(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	rec := filepath.Join(sharedDir(t, h, "rec"), "dir.rec")
	hook := h.WriteFile(t, "clone.sh", "#!/bin/sh\npwd >> "+rec+"\n")
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	runtimetest.NewBusybox(t, h, "ct", "lxc.hook.clone = "+hook)
	open := sharedDir(t, h, "open")
	private := filepath.Dir(h.WriteFile(t, "private/.keep", ""))
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, want string }{{open, open}, {private, "/"}} {
		os.Remove(rec)
		cmd := h.Command(t, nil, "start-ephemeral", "-o", "ct", "--", "/bin/true")
		cmd.Dir = tc.dir
		if r := testenv.RunCmd(t, cmd); r.Code != 0 {
			t.Errorf("start-ephemeral in %s: exit %d: %s", tc.dir, r.Code, r.Stderr)
			continue
		}
		if b, err := os.ReadFile(rec); err != nil || string(b) != tc.want+"\n" {
			t.Errorf("start-ephemeral in %s: the clone hook's pwd was %q, %v; want %s", tc.dir, b, err, tc.want)
		}
	}
}

// TestCloneHooksEphemeralOrder: an ephemeral copy's clone hooks run one
// after the other, the last beside init's mounts, and the container's
// process runs only once the last is done (however slow), after the
// copy's name is written in: the hooks see the original's /etc/hostname,
// the process sees every hook's work and the copy's name.
func TestCloneHooksEphemeralOrder(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	rec := filepath.Join(sharedDir(t, h, "rec"), "order.rec")
	hook := func(name, body string) string {
		p := h.WriteFile(t, name, "#!/bin/sh\n"+body)
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := hook("first.sh", `echo "first saw $(cat "$LXC_ROOTFS_MOUNT/etc/hostname")" >> `+rec+`
echo 1 >> "$LXC_ROOTFS_MOUNT/etc/order"
`)
	last := hook("last.sh", `grep -q 1 "$LXC_ROOTFS_MOUNT/etc/order" || exit 5
sleep 1
echo "last saw $(cat "$LXC_ROOTFS_MOUNT/etc/hostname")" >> `+rec+`
echo 2 >> "$LXC_ROOTFS_MOUNT/etc/order"
`)
	dir := runtimetest.NewBusybox(t, h, "ct", "lxc.hook.clone = "+first, "lxc.hook.clone = "+last)
	runtimetest.WriteRootFile(t, h, dir, "etc/hostname", "ct\n")
	name := filepath.Join(dir, "rootfs", "etc", "hostname")
	r := h.MustRun(t, "start-ephemeral", "-o", "ct", "-n", "eph", "--", "/bin/sh", "-c", "cat /etc/order /etc/hostname")
	if r.Stdout != "1\n2\neph\n" {
		t.Errorf("the container's process saw %q, want both hooks' lines and the copy's name", r.Stdout)
	}
	if b, err := os.ReadFile(rec); err != nil || string(b) != "first saw ct\nlast saw ct\n" {
		t.Errorf("the hooks recorded %q, %v; want each to see the original's /etc/hostname", b, err)
	}
	if b, err := os.ReadFile(name); err != nil || string(b) != "ct\n" {
		t.Errorf("the original's /etc/hostname is %q, %v after the ephemeral start", b, err)
	}
}

// TestCloneHookEphemeralNameUnderMount: the copy's name goes into the
// copy's own /etc/hostname after its clone hooks also when a mount of
// the container's config covers that file (init cannot write it through
// the root then, and writes it through a copy of the root's mount
// alone). The container's process sees the mount, and under it (through
// a bind of the root alone) the name.
func TestCloneHookEphemeralNameUnderMount(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	hook := h.WriteFile(t, "clone.sh", "#!/bin/sh\nexit 0\n")
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	cover := h.WriteFile(t, "cover", "covered\n")
	if err := os.Chmod(cover, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := runtimetest.NewBusybox(t, h, "ct", "lxc.hook.clone = "+hook,
		"lxc.mount.entry = "+cover+" etc/hostname none bind,ro,create=file 0 0")
	runtimetest.WriteRootFile(t, h, dir, "etc/hostname", "ct\n")
	r := h.MustRun(t, "start-ephemeral", "-o", "ct", "-n", "eph", "--", "/bin/sh", "-c",
		"cat /etc/hostname; mkdir /under && mount --bind / /under && cat /under/etc/hostname")
	if r.Stdout != "covered\neph\n" {
		t.Errorf("the container's process saw /etc/hostname, then under the mount: %q; want covered, then the copy's name", r.Stdout)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "rootfs", "etc", "hostname")); err != nil || string(b) != "ct\n" {
		t.Errorf("the original's /etc/hostname is %q, %v after the ephemeral start", b, err)
	}
}
