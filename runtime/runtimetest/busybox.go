// Package runtimetest makes containers for tests that run the built ulxc
// as an unprivileged user (internal/testenv): a busybox system container
// whose files belong to the user's subordinate ids, made inside the user
// namespace with `ulxc usernsexec`, as a real create would.
package runtimetest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// Busybox is the host's static busybox, which the container runs.
const Busybox = "/bin/busybox"

// ProbeDir is where the container's boot script writes what it sees
// (inside the rootfs): hostname, devnull (yes when writing /dev/null
// worked), pts (the listing of /dev/pts), uid (id -u).
const ProbeDir = "tmp/probe"

// rootfsScript builds the rootfs in $1, run as root of the container's
// user namespace (with the user's own ids mapped too, -s, to write in the
// user's container directory).
const rootfsScript = `set -e
r="$1/rootfs"
mkdir -p "$r"
cd "$r"
mkdir -p bin sbin etc proc sys dev tmp root run var usr/bin usr/sbin
cp ` + Busybox + ` bin/busybox
for a in $(bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "bin/$a"; done
ln -sf ../bin/busybox sbin/init
cat > etc/inittab <<'EOT'
::sysinit:/etc/rc
::shutdown:/bin/echo container halting
EOT
cat > etc/rc <<'EOT'
#!/bin/sh
mkdir -p /` + ProbeDir + `
cd /` + ProbeDir + `
hostname > hostname.tmp && mv hostname.tmp hostname
echo yes > /dev/null && echo yes > devnull
ls /dev/pts > pts
id -u > uid
echo booted > done
EOT
chmod 755 etc/rc
echo "root:x:0:0:root:/root:/bin/sh" > etc/passwd
echo "root:x:0:" > etc/group
chmod 1777 tmp
chown -R 0:0 .
`

// SubRange returns the first /etc/subuid range of u, read naively so the
// test does not trust the code it tests, capped at 65536 ids.
func SubRange(t testing.TB, u *testenv.User) (start, count uint64) {
	t.Helper()
	f, err := os.Open("/etc/subuid")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(p) == 3 && (p[0] == u.Name || p[0] == fmt.Sprint(u.UID)) {
			fmt.Sscan(p[1], &start)
			fmt.Sscan(p[2], &count)
			return start, min(count, 65536)
		}
	}
	t.Fatalf("no /etc/subuid line for %s", u.Name)
	return 0, 0
}

// WriteRootFile writes content to rel in the root filesystem of the
// container directory dir that NewBusybox made, owned by container root
// (the first id of h's subordinate range), as an image's file would be.
func WriteRootFile(t testing.TB, h *testenv.Home, dir, rel, content string) {
	t.Helper()
	root, _ := SubRange(t, h.User)
	p := filepath.Join(dir, "rootfs", rel)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, int(root), int(root)); err != nil {
		t.Fatal(err)
	}
}

// StorePath is the default store of h: $HOME/.local/share/ulxc.
func StorePath(h *testenv.Home) string { return filepath.Join(h.Dir, ".local/share/ulxc") }

// NewBusybox creates the container name in h's default store and returns
// its directory. Its init is busybox init with lxc.signal.halt = SIGUSR1;
// extra lines are appended to its config.
func NewBusybox(t testing.TB, h *testenv.Home, name string, extra ...string) string {
	t.Helper()
	if _, err := os.Stat(Busybox); err != nil {
		testenv.Skipf(t, "no static busybox at %s (apt-get install busybox-static): %v", Busybox, err)
	}
	start, count := SubRange(t, h.User)
	dir := filepath.Join(StorePath(h), name)
	cfg := strings.Join(append([]string{
		fmt.Sprintf("lxc.idmap = u 0 %d %d", start, count),
		fmt.Sprintf("lxc.idmap = g 0 %d %d", start, count),
		"lxc.rootfs.path = dir:" + filepath.Join(dir, "rootfs"),
		"lxc.uts.name = " + name,
		"lxc.signal.halt = SIGUSR1",
	}, extra...), "\n") + "\n"
	mk := h.Exec(t, nil, "sh", "-c", `mkdir -p "$1" && chmod 700 "$1" && cat > "$1/config"`, "sh", dir)
	mk.Stdin = strings.NewReader(cfg)
	if r := testenv.RunCmd(t, mk); r.Code != 0 {
		t.Fatalf("make container dir %s: exit %d: %s", dir, r.Code, r.Stderr)
	}
	m := fmt.Sprintf("b:0:%d:%d", start, count)
	if r := testenv.RunCmd(t, h.Command(t, nil, "usernsexec", "-m", m, "-s", "--", Busybox, "sh", "-c", rootfsScript, "sh", dir)); r.Code != 0 {
		t.Fatalf("build busybox rootfs in %s: exit %d: %s%s", dir, r.Code, r.Stdout, r.Stderr)
	}
	return dir
}

// Probe returns what the container's boot script wrote in file (see
// ProbeDir), or "" if it has not yet.
func Probe(dir, file string) string {
	b, err := os.ReadFile(filepath.Join(dir, "rootfs", ProbeDir, file))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
