package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
	"golang.org/x/sys/unix"
)

// treeSum describes every entry under root (read as root by the test):
// type, mode, owner, size, symlink target, xattrs, a hash of the data, and
// which entries share an inode. The test process is root; the test user's
// files are read directly.
func treeSum(t *testing.T, root string, skip ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	inodes := map[uint64]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		for _, s := range skip {
			if rel == s {
				return nil
			}
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("%o %d:%d", st.Mode, st.Uid, st.Gid)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(h[:8])
			if st.Nlink > 1 {
				if first, ok := inodes[st.Ino]; ok {
					desc += " link:" + first
				} else {
					inodes[st.Ino] = rel
				}
			}
		case unix.S_IFLNK:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case unix.S_IFDIR:
			if rel != "." {
				desc += fmt.Sprintf(" mtime:%d", st.Mtim.Sec)
			}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			desc += " " + xattrs(p)
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return out
}

func xattrs(p string) string {
	buf := make([]byte, 4096)
	n, _ := unix.Llistxattr(p, buf)
	var out []string
	for _, name := range strings.Split(string(buf[:max(n, 0)]), "\x00") {
		if name == "" {
			continue
		}
		v := make([]byte, 4096)
		m, _ := unix.Lgetxattr(p, name, v)
		out = append(out, name+"="+hex.EncodeToString(v[:max(m, 0)]))
	}
	return strings.Join(out, ",")
}

// diffSums reports the entries where two tree sums differ.
func diffSums(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, fmt.Sprintf("%s: %q != %q", k, v, b[k]))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			out = append(out, fmt.Sprintf("%s: only in the second: %q", k, v))
		}
	}
	return out
}

// richBusybox is a busybox container "ct" with what a copy must keep: a
// setuid file with a hardlink, a file capability, a user xattr, a FIFO, a
// 0700 directory, and its name in /etc/hostname and /etc/hosts.
func richBusybox(t *testing.T, h *testenv.Home, name string) string {
	t.Helper()
	dir := runtimetest.NewBusybox(t, h, name)
	start, count := runtimetest.SubRange(t, h.User)
	script := `set -e
cd "$1/rootfs"
echo ` + name + ` > etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 ` + name + ` ` + name + `.example # ` + name + `\n' > etc/hosts
mkdir -p usr/local/bin usr/local/sbin && cp bin/busybox usr/local/bin/true && chmod 4755 usr/local/bin/true && ln usr/local/bin/true usr/local/sbin/true
cp bin/busybox usr/bin/cap && setcap cap_net_raw+ep usr/bin/cap
mkfifo tmp/fifo && chown 5:7 tmp/fifo
mkdir -m 700 root/private && echo secret > root/private/key && chown -R 1000:1000 root/private
ln -s /etc/hostname etc/hostname-link
`
	h.MustRun(t, "usernsexec", "-m", fmt.Sprintf("b:0:%d:%d", start, count), "-s", "--", "/bin/sh", "-c", script, "sh", dir)
	if err := unix.Lsetxattr(filepath.Join(dir, "rootfs/usr/local/bin/true"), "user.test", []byte("hello"), 0); err != nil {
		t.Fatalf("set user.test: %v", err)
	}
	return dir
}

// TestCopyFull: a full copy keeps owners, modes, setuid bits, file
// capabilities, xattrs, hardlinks and FIFOs, gets its own name inside and
// in its config, runs, and leaves the original as it was.
func TestCopyFull(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	orig := richBusybox(t, h, "ct")
	before := treeSum(t, filepath.Join(orig, "rootfs"))
	r := h.MustRun(t, "copy", "ct", "ct2")
	if strings.Contains(r.Stderr, "warning") {
		t.Errorf("copy warned: %s", r.Stderr)
	}
	copyDir := filepath.Join(runtimetest.StorePath(h), "ct2")
	if d := diffSums(before, treeSum(t, filepath.Join(orig, "rootfs"))); len(d) > 0 {
		t.Errorf("the original changed:\n%s", strings.Join(d, "\n"))
	}
	got := treeSum(t, filepath.Join(copyDir, "rootfs"), "etc/hostname", "etc/hosts", "tmp/probe")
	want := treeSum(t, filepath.Join(orig, "rootfs"), "etc/hostname", "etc/hosts", "tmp/probe")
	if d := diffSums(want, got); len(d) > 0 {
		t.Errorf("the copy differs:\n%s", strings.Join(d, "\n"))
	}
	if !strings.Contains(got["usr/bin/cap"], "security.capability=") || !strings.Contains(got["usr/local/sbin/true"], "link:usr/local/bin/true") ||
		!strings.Contains(got["usr/local/bin/true"], "user.test=68656c6c6f") || !strings.HasPrefix(got["tmp/fifo"], "10644") {
		t.Errorf("copy lacks what the test planted: cap %q, link %q, suid %q, fifo %q", got["usr/bin/cap"], got["usr/local/sbin/true"], got["usr/local/bin/true"], got["tmp/fifo"])
	}
	for file, want := range map[string]string{
		"etc/hostname": "ct2\n",
		"etc/hosts":    "127.0.0.1 localhost\n127.0.1.1 ct2 ct2.example # ct\n",
	} {
		if b, err := os.ReadFile(filepath.Join(copyDir, "rootfs", file)); err != nil || string(b) != want {
			t.Errorf("copy's %s = %q, %v; want %q", file, b, err, want)
		}
	}
	if v := configValues(t, filepath.Join(copyDir, "config"), "lxc.uts.name"); len(v) != 1 || v[0] != "ct2" {
		t.Errorf("copy's lxc.uts.name = %q, want ct2", v)
	}
	if v := configValues(t, filepath.Join(copyDir, "config"), "lxc.rootfs.path"); len(v) != 1 || v[0] != "dir:"+filepath.Join(copyDir, "rootfs") {
		t.Errorf("copy's lxc.rootfs.path = %q, want its own rootfs", v)
	}
	r = h.MustRun(t, "start", "-F", "ct2", "--", "/bin/sh", "-c", "hostname; /usr/local/sbin/true && echo ran")
	if got := lines(r.Stdout); strings.Join(got, "|") != "ct2|ran" {
		t.Errorf("start -F ct2 printed %q, want ct2, ran", got)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(copyDir, "rootfs/usr/local/bin/true"), &st); err != nil || st.Mode&unix.S_ISUID == 0 {
		t.Errorf("copy's usr/local/bin/true mode %o, %v: setuid bit lost", st.Mode, err)
	}
}

// TestSnapshot: copy -s makes LXC's overlay snapshot, which starts with
// its own name and writes only its upper layer; the original refuses
// destroy and rename while the snapshot depends on it, ls -f names the
// origin, and destroy -s takes both.
func TestSnapshot(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	orig := richBusybox(t, h, "ct")
	before := treeSum(t, filepath.Join(orig, "rootfs"))
	h.MustRun(t, "copy", "-n", "ct", "-N", "snap", "-s")
	snap := filepath.Join(runtimetest.StorePath(h), "snap")
	wantPath := "overlay:" + filepath.Join(orig, "rootfs") + ":" + filepath.Join(snap, "overlay/delta")
	if v := configValues(t, filepath.Join(snap, "config"), "lxc.rootfs.path"); len(v) != 1 || v[0] != wantPath {
		t.Errorf("snapshot's lxc.rootfs.path = %q, want %q", v, wantPath)
	}
	r := h.MustRun(t, "start", "-F", "snap", "--", "/bin/sh", "-c",
		"hostname; cat /etc/hostname; grep 127.0.1.1 /etc/hosts; echo x > /written; rm /etc/inittab; stat -c %a /root/private")
	if got, want := lines(r.Stdout), []string{"snap", "snap", "127.0.1.1 snap snap.example # ct", "700"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("in the snapshot: %q, want %q", got, want)
	}
	if d := diffSums(before, treeSum(t, filepath.Join(orig, "rootfs"))); len(d) > 0 {
		t.Errorf("the original changed:\n%s", strings.Join(d, "\n"))
	}
	if _, err := os.Stat(filepath.Join(snap, "overlay/delta/written")); err != nil {
		t.Errorf("the snapshot's write is not in its upper layer: %v", err)
	}
	rows := lsJSON(t, h)
	if rows["snap"].Origin != "ct" || rows["ct"].Origin != "" {
		t.Errorf("ls: origin of snap %q, of ct %q; want ct and none", rows["snap"].Origin, rows["ct"].Origin)
	}
	if fancy := h.MustRun(t, "ls", "-f", "-F", "NAME,ORIGIN").Stdout; !strings.Contains(fancy, "ORIGIN") || !strings.Contains(fancy, "snap ct") {
		t.Errorf("ls -f -F NAME,ORIGIN = %q, want an ORIGIN column with ct for snap", fancy)
	}
	r = h.Run(t, "destroy", "ct")
	if r.Code == 0 || !strings.Contains(r.Stderr, "has snapshots") || !strings.Contains(r.Stderr, "ulxc destroy -s") {
		t.Errorf("destroy ct with a snapshot: exit %d, %q; want a refusal naming destroy -s", r.Code, r.Stderr)
	}
	if r := h.Run(t, "rename", "ct", "ct-old"); r.Code == 0 || !strings.Contains(r.Stderr, "has snapshots") {
		t.Errorf("rename ct with a snapshot: exit %d, %q; want a refusal", r.Code, r.Stderr)
	}
	// A full copy of the snapshot is a plain directory: the overlay's
	// lxc.rootfs.options = userxattr must not follow it there.
	h.MustRun(t, "copy", "snap", "full")
	if v := configValues(t, filepath.Join(runtimetest.StorePath(h), "full", "config"), "lxc.rootfs.options"); len(v) != 0 {
		t.Errorf("full copy of a snapshot: lxc.rootfs.options = %q, want none", v)
	}
	r = h.MustRun(t, "start", "-F", "full", "--", "/bin/sh", "-c", "hostname; cat /written")
	if got := lines(r.Stdout); strings.Join(got, "|") != "full|x" {
		t.Errorf("full copy of the snapshot printed %q, want full, x", got)
	}
	h.MustRun(t, "destroy", "full")
	// The snapshot renamed: new name inside, the original's record follows.
	h.MustRun(t, "rename", "snap", "snap2")
	r = h.MustRun(t, "start", "-F", "snap2", "--", "/bin/sh", "-c", "hostname; cat /etc/hostname; cat /written")
	if got := lines(r.Stdout); strings.Join(got, "|") != "snap2|snap2|x" {
		t.Errorf("renamed snapshot printed %q, want snap2, snap2, x", got)
	}
	if b, _ := os.ReadFile(filepath.Join(orig, "lxc_snapshots")); string(b) != runtimetest.StorePath(h)+"\nsnap2\n" {
		t.Errorf("ct/lxc_snapshots = %q, want the renamed snap2", b)
	}
	h.MustRun(t, "destroy", "-s", "ct")
	if names := lsJSON(t, h); len(names) != 0 {
		t.Errorf("after destroy -s ct: ls shows %v, want nothing", names)
	}
}
