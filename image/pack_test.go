package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// packed runs Pack on root and returns the members by name and the report.
func packed(t *testing.T, root string, opts PackOptions) (map[string]*tar.Header, map[string]string, []string, PackReport) {
	t.Helper()
	var buf bytes.Buffer
	var warnings []string
	opts.Warn = func(s string) { warnings = append(warnings, s) }
	r, err := Pack(context.Background(), &buf, root, opts)
	if err != nil {
		t.Fatalf("Pack: %v", err)
	}
	hdrs, bodies := map[string]*tar.Header{}, map[string]string{}
	tr := tar.NewReader(&buf)
	var order []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		hdrs[h.Name], bodies[h.Name] = h, string(b)
		order = append(order, h.Name)
	}
	if len(order) == 0 || order[0] != "./" {
		t.Errorf("first member %q, want ./", order)
	}
	if r.Entries != len(order) {
		t.Errorf("report says %d entries, the archive has %d", r.Entries, len(order))
	}
	return hdrs, bodies, warnings, r
}

func mustWrite(t *testing.T, name, body string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, mode); err != nil {
		t.Fatal(err)
	}
}

// TestPackRoundTrip: what Pack writes, Unpack makes into the same tree:
// types, modes with setuid, owners, hard links, symlinks, FIFOs, user
// xattrs and file capabilities.
func TestPackRoundTrip(t *testing.T) {
	requireRoot(t)
	src := t.TempDir()
	mustWrite(t, filepath.Join(src, "bin/su"), "#!/bin/sh\n", 0o4755)
	mustWrite(t, filepath.Join(src, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n", 0o644)
	mustWrite(t, filepath.Join(src, "home/u/file"), "data", 0o600)
	must(t, os.Chown(filepath.Join(src, "home/u/file"), 1234, 5678))
	must(t, os.Link(filepath.Join(src, "etc/passwd"), filepath.Join(src, "etc/passwd-")))
	must(t, os.Symlink("/usr/lib", filepath.Join(src, "lib")))
	must(t, syscall.Mkfifo(filepath.Join(src, "fifo"), 0o620))
	must(t, os.Mkdir(filepath.Join(src, "tmp"), 0o755))
	must(t, os.Chmod(filepath.Join(src, "tmp"), 0o1777))
	if err := unix.Setxattr(filepath.Join(src, "etc/passwd"), "user.origin", []byte("test"), 0); err != nil {
		t.Skipf("user xattrs unsupported here: %v", err)
	}
	capV2 := make([]byte, capV2Size)
	binary.LittleEndian.PutUint32(capV2, capRevision2|1) // effective
	binary.LittleEndian.PutUint32(capV2[4:], 1<<13)      // CAP_NET_RAW permitted
	must(t, unix.Setxattr(filepath.Join(src, "bin/su"), "security.capability", capV2, 0))

	hdrs, _, _, r := packed(t, src, PackOptions{})
	for name, want := range map[string]byte{
		"./bin/": tar.TypeDir, "./bin/su": tar.TypeReg, "./lib": tar.TypeSymlink, "./fifo": tar.TypeFifo,
		"./etc/passwd": tar.TypeReg, "./etc/passwd-": tar.TypeLink, "./tmp/": tar.TypeDir,
	} {
		if h := hdrs[name]; h == nil || h.Typeflag != want {
			t.Errorf("member %s = %+v, want type %q", name, h, want)
		}
	}
	if h := hdrs["./etc/passwd-"]; h != nil && h.Linkname != "./etc/passwd" {
		t.Errorf("hard link ./etc/passwd- -> %q, want ./etc/passwd", h.Linkname)
	}
	if h := hdrs["./home/u/file"]; h == nil || h.Uid != 1234 || h.Gid != 5678 || h.Mode != 0o600 {
		t.Errorf("./home/u/file = %+v, want 1234:5678 mode 0600", h)
	}
	if r.Bytes == 0 || len(r.Devices) != 0 {
		t.Errorf("report %+v: want bytes and no devices", r)
	}

	var buf bytes.Buffer
	if _, err := Pack(context.Background(), &buf, src, PackOptions{}); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if _, err := Unpack(context.Background(), &buf, dst, Options{}); err != nil {
		t.Fatalf("Unpack of Pack's output: %v", err)
	}
	for _, name := range []string{"bin/su", "etc/passwd", "home/u/file", "tmp", "fifo", "lib"} {
		var a, b unix.Stat_t
		must(t, unix.Lstat(filepath.Join(src, name), &a))
		must(t, unix.Lstat(filepath.Join(dst, name), &b))
		if a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid || a.Mtim.Sec != b.Mtim.Sec {
			t.Errorf("%s: unpacked mode %o %d:%d mtime %d, packed from %o %d:%d mtime %d", name, b.Mode, b.Uid, b.Gid, b.Mtim.Sec, a.Mode, a.Uid, a.Gid, a.Mtim.Sec)
		}
	}
	if linkCount(t, filepath.Join(dst, "etc/passwd")) != 2 {
		t.Errorf("etc/passwd and etc/passwd- are not one file after the round trip")
	}
	v := make([]byte, 64)
	if n, err := unix.Getxattr(filepath.Join(dst, "etc/passwd"), "user.origin", v); err != nil || string(v[:n]) != "test" {
		t.Errorf("user.origin after the round trip = %q, %v", v[:max(n, 0)], err)
	}
	if n, err := unix.Getxattr(filepath.Join(dst, "bin/su"), "security.capability", v); err != nil || !bytes.Equal(v[:n], capV2) {
		t.Errorf("security.capability after the round trip = %x, %v; want %x", v[:max(n, 0)], err, capV2)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestPackHostileTree: a container's rootfs points symlinks out of itself
// and at the host's files, plants a FIFO where a template file is
// expected and a socket; Pack records the links as links, reads nothing
// outside, never blocks on the FIFO, and leaves the socket out.
func TestPackHostileTree(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	mustWrite(t, secret, "LXC_NAME host secret", 0o644)
	src := t.TempDir()
	must(t, os.Mkdir(filepath.Join(src, "etc"), 0o755))
	must(t, os.Symlink(secret, filepath.Join(src, "etc/hostname")))
	must(t, syscall.Mkfifo(filepath.Join(src, "etc/hosts"), 0o644))
	must(t, os.Symlink(outside, filepath.Join(src, "escape")))
	must(t, os.Symlink("../../../"+filepath.Base(outside), filepath.Join(src, "up")))
	l, err := net.Listen("unix", filepath.Join(src, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	hdrs, bodies, warnings, r := packed(t, src, PackOptions{Name: "c1", Templates: []string{"/etc/hostname", "/etc/hosts"}})
	for name, h := range hdrs {
		if strings.HasPrefix(name, "./escape/") || strings.HasPrefix(name, "./up/") || strings.Contains(bodies[name], "host secret") {
			t.Errorf("member %s (%q) came from outside the tree", name, bodies[name])
		}
		if h.Typeflag == tar.TypeReg && h.Size > 0 && name != "./" {
			t.Errorf("member %s: a regular file, the tree has none", name)
		}
	}
	if h := hdrs["./etc/hostname"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != secret {
		t.Errorf("./etc/hostname = %+v, want the symlink as it is", h)
	}
	if h := hdrs["./etc/hosts"]; h == nil || h.Typeflag != tar.TypeFifo {
		t.Errorf("./etc/hosts = %+v, want the FIFO as a FIFO", h)
	}
	if _, ok := hdrs["./sock"]; ok || !strings.Contains(strings.Join(warnings, "\n"), "sock: socket not packed") {
		t.Errorf("socket: packed %v, warnings %q; want it left out with a warning", ok, warnings)
	}
	if len(r.Templates) != 0 {
		t.Errorf("templates %q: a symlink or FIFO is never a template file", r.Templates)
	}
}

// TestPackTemplatesAndDevices: the container's name goes back to LXC_NAME
// in template files, and recorded devices come back as nodes, with their
// parents, except where the tree has something of its own.
func TestPackTemplatesAndDevices(t *testing.T) {
	src := t.TempDir()
	mustWrite(t, filepath.Join(src, "etc/hostname"), "web\n", 0o644)
	mustWrite(t, filepath.Join(src, "etc/hosts"), "127.0.1.1\tweb web.local webserver\n::1 localhost\n", 0o644)
	mustWrite(t, filepath.Join(src, "etc/motd"), "web\n", 0o644)
	mustWrite(t, filepath.Join(src, "dev/zero"), "", 0o644)
	devs := []Device{
		{Path: "dev/net/tun", Type: 'c', Major: 10, Minor: 200, Mode: 0o666},
		{Path: "dev/zero", Type: 'c', Major: 1, Minor: 5, Mode: 0o666},
		{Path: "dev/sda", Type: 'b', Major: 8, Minor: 0, Mode: 0o660, GID: 6},
		{Path: "../../etc/shadow", Type: 'c', Major: 1, Minor: 3},
	}
	hdrs, bodies, warnings, r := packed(t, src, PackOptions{Name: "web", Templates: []string{"/etc/hostname", "/etc/hosts", "/etc/missing"}, Devices: devs})
	if got := bodies["./etc/hostname"]; got != "LXC_NAME\n" {
		t.Errorf("etc/hostname = %q, want LXC_NAME", got)
	}
	if got, want := bodies["./etc/hosts"], "127.0.1.1\tLXC_NAME web.local webserver\n::1 localhost\n"; got != want {
		t.Errorf("etc/hosts = %q, want %q", got, want)
	}
	if got := bodies["./etc/motd"]; got != "web\n" {
		t.Errorf("etc/motd = %q: only template files change", got)
	}
	if strings.Join(r.Templates, " ") != "/etc/hostname /etc/hosts" {
		t.Errorf("templates = %q", r.Templates)
	}
	if h := hdrs["./dev/net/"]; h == nil || h.Typeflag != tar.TypeDir {
		t.Errorf("./dev/net/ = %+v, want the parent made up", h)
	}
	if h := hdrs["./dev/net/tun"]; h == nil || h.Typeflag != tar.TypeChar || h.Devmajor != 10 || h.Devminor != 200 || h.Mode != 0o666 {
		t.Errorf("./dev/net/tun = %+v, want c 10 200 0666", h)
	}
	if h := hdrs["./dev/sda"]; h == nil || h.Typeflag != tar.TypeBlock || h.Gid != 6 {
		t.Errorf("./dev/sda = %+v, want b 8 0 gid 6", h)
	}
	if h := hdrs["./dev/zero"]; h == nil || h.Typeflag != tar.TypeReg {
		t.Errorf("./dev/zero = %+v, want the tree's own file", h)
	}
	if strings.Join(r.Devices, " ") != "./dev/net/tun ./dev/sda" {
		t.Errorf("report devices %q", r.Devices)
	}
	w := strings.Join(warnings, "\n")
	if !strings.Contains(w, "dev/zero not packed") || !strings.Contains(w, `"../../etc/shadow" not packed`) {
		t.Errorf("warnings %q: want the shadowed and the hostile device named", warnings)
	}
}

func TestPackOwner(t *testing.T) {
	src := t.TempDir()
	mustWrite(t, filepath.Join(src, "f"), "x", 0o644)
	var buf bytes.Buffer
	shift := func(uid, gid uint32) (int, int, error) { return int(uid) + 1000, int(gid) + 2000, nil }
	if _, err := Pack(context.Background(), &buf, src, PackOptions{Owner: shift}); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		if h.Uid != os.Getuid()+1000 || h.Gid != os.Getgid()+2000 {
			t.Errorf("%s owned %d:%d, want the mapped owner", h.Name, h.Uid, h.Gid)
		}
	}
	errOwner := errors.New("outside the map")
	_, err := Pack(context.Background(), io.Discard, src, PackOptions{Owner: func(uint32, uint32) (int, int, error) { return 0, 0, errOwner }})
	if !errors.Is(err, errOwner) {
		t.Errorf("Pack with a failing Owner = %v, want its error", err)
	}
}

func TestReplaceWord(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"web\n", "LXC_NAME\n"},
		{"web web", "LXC_NAME LXC_NAME"},
		{"webserver web2 my-web web.local", "webserver web2 my-web web.local"},
		{"127.0.1.1\tweb # web", "127.0.1.1\tLXC_NAME # LXC_NAME"},
		{"", ""},
	} {
		if got := string(replaceWord([]byte(tc.in), "web", "LXC_NAME")); got != tc.want {
			t.Errorf("replaceWord(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMetaWriteTarRoundTrip(t *testing.T) {
	m := &Meta{
		Config: "lxc.arch = amd64\n", ConfigUser: "lxc.include = LXC_TEMPLATE_CONFIG/userns.conf\n",
		ExcludesUser: []string{"./dev/null", "./dev/net/tun"}, Templates: []string{"/etc/hostname"},
		Expiry: epoch, CreateMessage: "hello\n",
	}
	var buf bytes.Buffer
	if err := m.WriteTar(&buf, epoch); err != nil {
		t.Fatal(err)
	}
	got, err := ReadMeta(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config != m.Config || got.ConfigUser != m.ConfigUser || got.CreateMessage != m.CreateMessage ||
		strings.Join(got.ExcludesUser, ",") != "./dev/null,./dev/net/tun" || strings.Join(got.Templates, ",") != "/etc/hostname" ||
		!got.Expiry.Equal(epoch) {
		t.Errorf("ReadMeta(WriteTar(m)) = %+v, want %+v", got, m)
	}
}
