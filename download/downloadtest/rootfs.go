package downloadtest

import (
	"archive/tar"
	"bytes"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/ulxc/ulxc/internal/testenv"
)

// HostBusybox is the static busybox copied into every rootfs.
const HostBusybox = "/bin/busybox"

// Applets are linked to /bin/busybox in the rootfs.
var Applets = []string{"sh", "ls", "cat", "id", "echo", "sleep", "mount", "umount", "hostname", "ps", "mkdir", "rm", "touch", "true", "false", "grep", "env", "passwd"}

// RootPasswordHash is root's hash in /etc/shadow (the password is "root").
const RootPasswordHash = "$6$ulxctestsalt$5iSJfF5zPbrpwGkbvsAEd23GhcyR7LXBfwn3v5Pfg9BYRxtJ7OLi9LdeTuod7pFXpgwpx.fa6Evwkm3Ra690k/"

var (
	rootfsOnce sync.Once
	rootfsXZ   []byte
	rootfsErr  error
)

// busyboxRootfs returns the xz-compressed rootfs, built once per process
// unless it carries devs.
func busyboxRootfs(t testing.TB, devs []Device) []byte {
	t.Helper()
	if _, err := os.Stat(HostBusybox); err != nil {
		testenv.Skipf(t, "no static busybox at %s (apt-get install busybox-static): %v", HostBusybox, err)
	}
	if len(devs) > 0 {
		b, err := buildRootfs(devs)
		if err != nil {
			t.Fatalf("downloadtest: build rootfs: %v", err)
		}
		return b
	}
	rootfsOnce.Do(func() { rootfsXZ, rootfsErr = buildRootfs(nil) })
	if rootfsErr != nil {
		t.Fatalf("downloadtest: build rootfs: %v", rootfsErr)
	}
	return rootfsXZ
}

// member is one tar entry; typ tar.TypeReg, TypeDir, TypeSymlink or TypeChar.
type member struct {
	name     string
	typ      byte
	mode     int64
	body     []byte
	link     string
	maj, min int64
}

func buildRootfs(devs []Device) ([]byte, error) {
	bb, err := os.ReadFile(HostBusybox)
	if err != nil {
		return nil, err
	}
	dir := func(n string, mode int64) member { return member{name: n, typ: tar.TypeDir, mode: mode} }
	file := func(n string, mode int64, body string) member {
		return member{name: n, typ: tar.TypeReg, mode: mode, body: []byte(body)}
	}
	ms := []member{dir("./", 0o755)}
	for _, d := range []string{"bin", "sbin", "etc", "dev", "proc", "sys", "tmp", "root", "run", "var", "usr", "usr/bin"} {
		mode := int64(0o755)
		switch d {
		case "tmp":
			mode = 0o1777
		case "root":
			mode = 0o700
		}
		ms = append(ms, dir("./"+d+"/", mode))
	}
	ms = append(ms, member{name: "./bin/busybox", typ: tar.TypeReg, mode: 0o755, body: bb})
	for _, a := range Applets {
		ms = append(ms, member{name: "./bin/" + a, typ: tar.TypeSymlink, mode: 0o777, link: "busybox"})
	}
	ms = append(ms,
		member{name: "./sbin/init", typ: tar.TypeSymlink, mode: 0o777, link: "../bin/busybox"},
		file("./etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
		file("./etc/group", 0o644, "root:x:0:\nnogroup:x:65534:\n"),
		file("./etc/shadow", 0o600, "root:"+RootPasswordHash+":19700:0:99999:7:::\nnobody:*:19700:0:99999:7:::\n"),
		file("./etc/hostname", 0o644, "LXC_NAME\n"),
		file("./etc/inittab", 0o644, "::sysinit:/bin/hostname -F /etc/hostname\n::respawn:/bin/sh\n"),
		member{name: "./dev/null", typ: tar.TypeChar, mode: 0o666, maj: 1, min: 3},
		member{name: "./dev/zero", typ: tar.TypeChar, mode: 0o666, maj: 1, min: 5},
	)
	for _, d := range devs {
		ms = append(ms, member{name: "./" + d.Path, typ: tar.TypeChar, mode: 0o666, maj: d.Major, min: d.Minor})
	}
	return tarXZ(ms)
}

// metaTarball builds meta.tar.xz for img (flat, as distrobuilder packs it).
func metaTarball(t testing.TB, img Image) []byte {
	t.Helper()
	file := func(n, body string) member { return member{name: n, typ: tar.TypeReg, mode: 0o644, body: []byte(body)} }
	b, err := tarXZ([]member{
		file("config", "lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.arch = "+img.Arch+"\n"),
		file("config-user", img.ConfigUser),
		file("excludes-user", "./dev/null\n./dev/zero\n"),
		file("templates", "/etc/hostname\n"),
		file("expiry", strconv.FormatInt(img.Expiry.Unix(), 10)+"\n"),
		file("create-message", img.CreateMessage+"\n"),
		file("build", img.Build+"\n"),
	})
	if err != nil {
		t.Fatalf("downloadtest: build meta.tar.xz: %v", err)
	}
	return b
}

func tarXZ(ms []member) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := xz.NewWriter(&buf)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	mtime := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, m := range ms {
		h := &tar.Header{
			Name: m.name, Typeflag: m.typ, Mode: m.mode, Linkname: m.link, Size: int64(len(m.body)),
			Devmajor: m.maj, Devminor: m.min, ModTime: mtime, Format: tar.FormatPAX,
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(m.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
