package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/userns"
)

var testImage = download.IndexEntry{Dist: "busybox", Release: "1.36", Arch: "amd64", Variant: "default", Build: "20240101_00:00"}

func smallRootfs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"etc/hostname": "LXC_NAME\n", "bin/sh": "#!", "etc/passwd": "root:x:0:0::/root:/bin/sh\n"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testKey(t *testing.T) *SigningKey {
	t.Helper()
	created := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	k, err := GenerateKey(KeyOptions{Name: "pack test", Now: func() time.Time { return created }})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fixedNow is after testImage's build.
func fixedNow() time.Time { return time.Date(2024, 1, 1, 0, 5, 0, 0, time.UTC) }

func TestPack(t *testing.T) {
	tree := t.TempDir()
	key := testKey(t)
	src := Dir{Path: smallRootfs(t), Options: image.PackOptions{
		Templates: TemplateFiles, Devices: []image.Device{{Path: "dev/net/tun", Type: 'c', Major: 10, Minor: 200, Mode: 0o666}},
	}}
	p, err := Pack(context.Background(), src, PackOptions{Tree: tree, Image: testImage, Key: key, Now: fixedNow,
		XZ: image.XZOptions{Encoder: image.XZGo}})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tree, "images/busybox/1.36/amd64/default/20240101_00:00")
	if p.Dir != dir || p.Image.Path != "/images/busybox/1.36/amd64/default/20240101_00:00/" || !p.Signed {
		t.Errorf("Pack = %+v, want the build in %s", p, dir)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("%s holds %d entries, want the build alone (no staging left)", filepath.Dir(dir), len(entries))
	}
	pub, err := os.ReadFile(filepath.Join(tree, "keys", key.Fingerprint()+".asc"))
	if err != nil {
		t.Fatalf("the public key is not in the tree: %v", err)
	}
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	if err != nil {
		t.Fatal(err)
	}
	sums, err := os.ReadFile(filepath.Join(dir, SumsName))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{RootfsName, MetaName, SumsName} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sig, err := os.ReadFile(filepath.Join(dir, name+".asc"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := openpgp.VerifyArmoredDetachedSignature(ring, bytes.NewReader(data), bytes.NewReader(sig), nil); err != nil {
			t.Errorf("%s.asc does not verify with the tree's key: %v", name, err)
		}
		if name != SumsName && !strings.Contains(string(sums), fmt.Sprintf("%x  %s\n", sha256.Sum256(data), name)) {
			t.Errorf("SHA256SUMS %q does not list %s with its sum", sums, name)
		}
	}
	f, err := os.Open(filepath.Join(dir, MetaName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := image.NewXZReader(f)
	if err != nil {
		t.Fatal(err)
	}
	m, err := image.ReadMeta(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.ExcludesUser, " ") != "./dev/net/tun" || strings.Join(m.Templates, " ") != "/etc/hostname" ||
		!m.Expiry.Equal(fixedNow().Add(DefaultExpiry)) || !strings.Contains(m.ConfigUser, "userns.conf") ||
		!strings.Contains(m.Config, "lxc.arch = amd64") || !strings.Contains(m.CreateMessage, "busybox 1.36 amd64 (default)") {
		t.Errorf("meta = %+v", m)
	}

	// The same build again is refused, and changes nothing.
	before, _ := os.ReadFile(filepath.Join(dir, RootfsName))
	_, err = Pack(context.Background(), src, PackOptions{Tree: tree, Image: testImage, Key: key, Now: fixedNow})
	if after, _ := os.ReadFile(filepath.Join(dir, RootfsName)); !errors.Is(err, ErrExist) || !bytes.Equal(before, after) {
		t.Errorf("second Pack of the build = %v, want ErrExist and the build unchanged", err)
	}
}

type brokenSource struct{}

func (brokenSource) Pack(ctx context.Context, w *os.File) (image.PackReport, error) {
	w.Write(make([]byte, 4096))
	w.Close()
	return image.PackReport{}, errors.New("disk on fire")
}

// TestPackFailureLeavesNothing: a source that fails after writing part of
// the stream leaves no build and no staging directory.
func TestPackFailureLeavesNothing(t *testing.T) {
	tree := t.TempDir()
	_, err := Pack(context.Background(), brokenSource{}, PackOptions{Tree: tree, Image: testImage, Now: fixedNow,
		XZ: image.XZOptions{Encoder: image.XZGo}})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Pack of a failing source = %v, want its error", err)
	}
	entries, _ := os.ReadDir(filepath.Join(tree, "images/busybox/1.36/amd64/default"))
	if len(entries) != 0 {
		t.Errorf("a failed Pack left %v", entries)
	}
}

func TestBuildEntry(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC)
	e := testImage
	e.Build = ""
	got, err := buildEntry(e, now)
	if err != nil || got.Build != "20250601_12:30" || got.Path != "/images/busybox/1.36/amd64/default/20250601_12:30/" {
		t.Errorf("buildEntry without build = %+v, %v; want the UTC minute", got, err)
	}
	for _, tc := range []struct {
		name string
		edit func(*download.IndexEntry)
	}{
		{"no dist", func(e *download.IndexEntry) { e.Dist = "" }},
		{"slash in release", func(e *download.IndexEntry) { e.Release = "1/36" }},
		{"dot-dot variant", func(e *download.IndexEntry) { e.Variant = ".." }},
		{"semicolon in arch", func(e *download.IndexEntry) { e.Arch = "amd64;x" }},
		{"space in build", func(e *download.IndexEntry) { e.Build = "2025 06" }},
		{"future build", func(e *download.IndexEntry) { e.Build = "20250602_00:00" }},
	} {
		e := testImage
		tc.edit(&e)
		if _, err := buildEntry(e, now); err == nil {
			t.Errorf("buildEntry(%s: %+v) = nil, want a refusal", tc.name, e)
		}
	}
}

func TestDistributionConfig(t *testing.T) {
	for _, tc := range []struct {
		name, container, wantSys, wantUser string
	}{
		{"directory", "",
			"lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.arch = arm64\n",
			"lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.include = LXC_TEMPLATE_CONFIG/userns.conf\nlxc.arch = arm64\n"},
		{"busybox container",
			"# Created by ulxc\nlxc.init.cmd = /sbin/init\nlxc.signal.halt = SIGUSR1\nlxc.idmap = u 0 100000 65536\nlxc.rootfs.path = dir:/x\nlxc.net.0.type = empty\nlxc.arch = x86_64\n",
			"lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.init.cmd = /sbin/init\nlxc.signal.halt = SIGUSR1\nlxc.arch = arm64\n",
			"lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.include = LXC_TEMPLATE_CONFIG/userns.conf\nlxc.init.cmd = /sbin/init\nlxc.signal.halt = SIGUSR1\nlxc.arch = arm64\n"},
		{"debian container",
			"lxc.include = /usr/share/lxc/config/debian.common.conf\nlxc.include = /usr/share/lxc/config/debian.userns.conf\nlxc.include = /etc/lxc/mine.conf\nlxc.start.auto = 1\n",
			"lxc.include = LXC_TEMPLATE_CONFIG/debian.common.conf\nlxc.arch = arm64\n",
			"lxc.include = LXC_TEMPLATE_CONFIG/debian.common.conf\nlxc.include = LXC_TEMPLATE_CONFIG/debian.userns.conf\nlxc.arch = arm64\n"},
	} {
		sys, user := DistributionConfig(tc.container, "arm64")
		if sys != tc.wantSys || user != tc.wantUser {
			t.Errorf("%s: DistributionConfig =\n%q\n%q\nwant\n%q\n%q", tc.name, sys, user, tc.wantSys, tc.wantUser)
		}
	}
}

func TestOwnerFromMaps(t *testing.T) {
	owner := OwnerFromMaps([]userns.Map{
		{Kind: userns.UID, ContainerID: 0, HostID: 100000, Size: 65536},
		{Kind: userns.GID, ContainerID: 0, HostID: 200000, Size: 1000},
	})
	for _, tc := range []struct {
		uid, gid         uint32
		wantUID, wantGID int
		ok               bool
	}{
		{100000, 200000, 0, 0, true},
		{165535, 200999, 65535, 999, true},
		{165536, 200000, 0, 0, false},
		{100000, 201000, 0, 0, false},
		{1000, 200000, 0, 0, false},
	} {
		u, g, err := owner(tc.uid, tc.gid)
		if (err == nil) != tc.ok || (tc.ok && (u != tc.wantUID || g != tc.wantGID)) {
			t.Errorf("owner(%d, %d) = %d, %d, %v; want %d, %d, ok %v", tc.uid, tc.gid, u, g, err, tc.wantUID, tc.wantGID, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrUnmappedOwner) {
			t.Errorf("owner(%d, %d) error %v, want ErrUnmappedOwner", tc.uid, tc.gid, err)
		}
	}
}
