package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// TestStartEphemeral: the copy is named ORIG-XXXXXXXX, its command's output
// and exit status are ulxc's, what it writes is gone with it, ORIG is
// untouched, and nothing is left that ls shows.
func TestStartEphemeral(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	orig := richBusybox(t, h, "ct")
	before := treeSum(t, filepath.Join(orig, "rootfs"))
	r := h.MustRun(t, "start-ephemeral", "-o", "ct", "--", "/bin/sh", "-c", "hostname; cat /etc/hostname; echo x > /root/written")
	got := lines(r.Stdout)
	if len(got) != 2 || !regexp.MustCompile(`^ct-[a-z0-9]{8}$`).MatchString(got[0]) || got[1] != got[0] {
		t.Errorf("start-ephemeral -o ct -- hostname; cat /etc/hostname = %q, want ct-XXXXXXXX twice", got)
	}
	if r := h.Run(t, "start-ephemeral", "-o", "ct", "--", "/bin/sh", "-c", "exit 7"); r.Code != 7 {
		t.Errorf("start-ephemeral -- exit 7: ulxc exit %d, want 7 (%s)", r.Code, r.Stderr)
	}
	if rows := lsJSON(t, h); len(rows) != 1 || rows["ct"].Name != "ct" {
		t.Errorf("ls after the ephemeral runs: %v, want only ct", rows)
	}
	if ents, _ := os.ReadDir(runtimetest.StorePath(h)); len(ents) != 1 {
		t.Errorf("store holds %v after the ephemeral runs, want only ct", ents)
	}
	if d := diffSums(before, treeSum(t, filepath.Join(orig, "rootfs"))); len(d) > 0 {
		t.Errorf("the original changed:\n%s", strings.Join(d, "\n"))
	}

	// A running original, a fixed name, a kept copy on disk.
	runningBusybox(t, h, "ct")
	h.MustRun(t, "start-ephemeral", "-o", "ct", "-n", "keep", "-k", "-s", "dir", "--", "/bin/sh", "-c", "echo kept > /root/file")
	r = h.MustRun(t, "start", "-F", "keep", "--", "/bin/cat", "/root/file")
	if strings.TrimSpace(r.Stdout) != "kept" {
		t.Errorf("a kept copy (-k -s dir) lost its file: %q", r.Stdout)
	}
	// Without -k, the same with -s dir is gone.
	h.MustRun(t, "start-ephemeral", "-o", "ct", "-n", "gone", "-s", "dir", "--", "/bin/true")
	if _, err := os.Stat(filepath.Join(runtimetest.StorePath(h), "gone")); !os.IsNotExist(err) {
		t.Errorf("ephemeral -s dir left its directory: %v", err)
	}
	if r := h.Run(t, "start-ephemeral", "-o", "ct", "-k", "--", "/bin/true"); r.Code != 2 || !strings.Contains(r.Stderr, "-s dir") {
		t.Errorf("-k without -s dir: exit %d %q, want a usage error", r.Code, r.Stderr)
	}
}

// TestStartEphemeralDaemon: a -d copy runs under its monitor, and is gone
// after ulxc stop; a killed monitor leaves nothing that ls shows, and the
// same name can run again.
func TestStartEphemeralDaemon(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	runtimetest.NewBusybox(t, h, "ct")
	r := h.MustRun(t, "start-ephemeral", "-o", "ct", "-d", "-n", "eph")
	if strings.TrimSpace(r.Stdout) != "eph" {
		t.Errorf("start-ephemeral -d printed %q, want the name", r.Stdout)
	}
	if row := lsJSON(t, h)["eph"]; row.State != "RUNNING" {
		t.Fatalf("ls: eph is %+v, want RUNNING", row)
	}
	h.MustRun(t, "stop", "-k", "eph")
	waitUntil(t, "eph removed after stop", func() bool {
		_, err := os.Stat(filepath.Join(runtimetest.StorePath(h), "eph"))
		return os.IsNotExist(err)
	})
	h.MustRun(t, "start-ephemeral", "-o", "ct", "-d", "-n", "eph")
	row := lsJSON(t, h)["eph"]
	monitor := parentOf(t, row.Pid)
	if err := syscall.Kill(monitor, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "eph's init gone with its monitor", func() bool { return syscall.Kill(row.Pid, 0) != nil })
	if rows := lsJSON(t, h); len(rows) != 1 {
		t.Errorf("ls after the monitor was killed: %v, want only ct", rows)
	}
	r = h.MustRun(t, "start-ephemeral", "-o", "ct", "-n", "eph", "--", "/bin/hostname")
	if strings.TrimSpace(r.Stdout) != "eph" {
		t.Errorf("the same name after a killed monitor printed %q, want eph", r.Stdout)
	}
	if _, err := os.Stat(filepath.Join(runtimetest.StorePath(h), "eph")); !os.IsNotExist(err) {
		t.Errorf("eph left after its second run: %v", err)
	}
}

func parentOf(t *testing.T, pid int) int {
	t.Helper()
	var ppid int
	if _, err := fmt.Sscan(statusField(t, pid, "PPid"), &ppid); err != nil {
		t.Fatal(err)
	}
	return ppid
}

// TestStartEphemeralUser: -u runs as the container's user; with -b the
// user's ids are the host user's, both ways; -S leaves the key in the
// user's authorized_keys.
func TestStartEphemeralUser(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	orig := runtimetest.NewBusybox(t, h, "ct")
	start, count := runtimetest.SubRange(t, u)
	h.MustRun(t, "usernsexec", "-m", fmt.Sprintf("b:0:%d:%d", start, count), "-s", "--", "/bin/sh", "-c",
		`set -e; cd "$1/rootfs"; echo 'dev:x:1000:1000:dev:/home/dev:/bin/sh' >> etc/passwd; echo 'dev:x:1000:' >> etc/group
mkdir -p home/dev && chown 1000:1000 home/dev`, "sh", orig)
	work := filepath.Join(h.Dir, "work")
	h.WriteFile(t, "work/mine", "host\n")
	key := h.WriteFile(t, "id.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITEST test@host\n")
	r := h.MustRun(t, "start-ephemeral", "-o", "ct", "-u", "dev", "-b", work, "-S", key, "--", "/bin/sh", "-c",
		"id -u; id -g; echo $HOME; echo dev >> "+work+"/mine && touch "+work+"/made-by-dev && cat ~/.ssh/authorized_keys && stat -c '%u %a' ~/.ssh ~/.ssh/authorized_keys")
	want := []string{"1000", "1000", "/home/dev", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITEST test@host", "1000 700", "1000 600"}
	if got := lines(r.Stdout); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("as dev with -b and -S: %q, want %q (stderr %s)", got, want, r.Stderr)
	}
	if uid, gid := ownerOf(t, filepath.Join(work, "made-by-dev")); uid != u.UID || gid != u.GID {
		t.Errorf("a file dev made in the bound directory is owned %d:%d on the host, want %d:%d", uid, gid, u.UID, u.GID)
	}
	if b, _ := os.ReadFile(filepath.Join(work, "mine")); string(b) != "host\ndev\n" {
		t.Errorf("the host user's file after dev wrote it: %q", b)
	}
	time.Sleep(0)
}

// TestStartEphemeralKeptFails: a kept copy (-k, copy -e -D) whose start
// fails is removed, as lxc-copy removes a -D copy it could not start (its
// clone hooks, which run inside the start, may not have run); one whose
// process ran and failed is kept.
func TestStartEphemeralKeptFails(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	runtimetest.NewBusybox(t, h, "ct")
	store := runtimetest.StorePath(h)
	for _, args := range [][]string{
		{"start-ephemeral", "-o", "ct", "-n", "kept", "-s", "dir", "-k", "--", "/no/such/program"},
		{"copy", "-e", "-D", "-n", "ct", "-N", "kept", "-F", "--", "/no/such/program"},
	} {
		r := h.Run(t, args...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "/no/such/program") {
			t.Errorf("%s: exit %d, stderr %q; want 1 and the program named", args, r.Code, r.Stderr)
		}
		if _, err := os.Lstat(filepath.Join(store, "kept")); !os.IsNotExist(err) {
			t.Errorf("%s: a kept copy that never started is still there: %v", args, err)
		}
		if rows := lsJSON(t, h); len(rows) != 1 {
			t.Errorf("%s: ls after the failed start: %v, want only ct", args, rows)
		}
	}
	if r := h.Run(t, "start-ephemeral", "-o", "ct", "-n", "ran", "-s", "dir", "-k", "--", "/bin/sh", "-c", "exit 3"); r.Code != 3 {
		t.Errorf("start-ephemeral -k -- exit 3: exit %d, want 3 (%s)", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(store, "ran", "config")); err != nil {
		t.Errorf("a kept copy whose process ran and failed is gone: %v", err)
	}
}
