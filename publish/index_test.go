package publish

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/image"
)

// packBuild packs a small rootfs as variant/build into tree with key.
func packBuild(t *testing.T, tree string, key *SigningKey, variant, build string) string {
	t.Helper()
	e := testImage
	e.Variant, e.Build = variant, build
	p, err := Pack(context.Background(), Dir{Path: smallRootfs(t)}, PackOptions{Tree: tree, Image: e, Key: key, Now: fixedNow,
		XZ: image.XZOptions{Encoder: image.XZGo}})
	if err != nil {
		t.Fatal(err)
	}
	return p.Dir
}

// TestIndex: the index lists the newest complete build of each image that
// the key signed, never a staging directory, an incomplete build or one
// signed by another key, in the syntax ParseIndex accepts; both indexes
// carry the key's signature.
func TestIndex(t *testing.T) {
	tree := t.TempDir()
	key, other := testKey(t), testKey(t)
	packBuild(t, tree, key, "default", "20231231_00:00")
	packBuild(t, tree, key, "default", "20240101_00:00")
	packBuild(t, tree, key, "cloud", "20231201_00:00")
	foreign := packBuild(t, tree, other, "cloud", "20231202_00:00")
	half := packBuild(t, tree, key, "cloud", "20231203_00:00")
	must(t, os.Remove(filepath.Join(half, SumsName)))
	must(t, os.MkdirAll(filepath.Join(tree, "images/busybox/1.36/amd64/cloud/.20231204_00:00.partial-1"), 0o755))
	must(t, os.MkdirAll(filepath.Join(tree, "images/busybox/1.36/amd64/bad variant/20231204_00:00"), 0o755))

	var warnings []string
	got, err := Index(tree, IndexOptions{Key: key, Now: fixedNow, Warn: func(s string) { warnings = append(warnings, s) }})
	if err != nil {
		t.Fatal(err)
	}
	want := "busybox;1.36;amd64;cloud;20231201_00:00;/images/busybox/1.36/amd64/cloud/20231201_00:00/\n" +
		"busybox;1.36;amd64;default;20240101_00:00;/images/busybox/1.36/amd64/default/20240101_00:00/\n"
	ring := openpgp.EntityList{key.e}
	for _, name := range IndexNames {
		p := filepath.Join(tree, "meta/1.0", name)
		data, err := os.ReadFile(p)
		if err != nil || string(data) != want {
			t.Errorf("%s =\n%s%v\nwant\n%s", name, data, err, want)
		}
		sig, err := os.ReadFile(p + ".asc")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := openpgp.VerifyArmoredDetachedSignature(ring, bytes.NewReader(data), bytes.NewReader(sig), nil); err != nil {
			t.Errorf("%s.asc: %v", name, err)
		}
		parsed, err := download.ParseIndex(bytes.NewReader(data))
		if err != nil || len(parsed) != 2 || parsed[0] != got[0] || parsed[1] != got[1] {
			t.Errorf("ParseIndex(%s) = %+v, %v; want %+v", name, parsed, err, got)
		}
	}
	w := strings.Join(warnings, "\n")
	for _, why := range []string{filepath.Base(foreign) + ": not listed: SHA256SUMS is not signed by " + key.Fingerprint(), "20231203_00:00: not listed: no SHA256SUMS", "bad variant"} {
		if !strings.Contains(w, why) {
			t.Errorf("warnings %q: want one saying %q", warnings, why)
		}
	}
	if strings.Contains(w, "partial") {
		t.Errorf("warnings %q mention the staging directory, which is never listed", warnings)
	}

	// Unsigned: the old signatures go, or they would not match.
	if _, err := Index(tree, IndexOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tree, "meta/1.0/index-user.asc")); !os.IsNotExist(err) {
		t.Errorf("an unsigned index kept the old signature: %v", err)
	}
}

func TestTreeKey(t *testing.T) {
	keyDir, tree := t.TempDir(), t.TempDir()
	if k, err := TreeKey(tree, keyDir); k != nil || err != nil {
		t.Errorf("TreeKey of a tree without keys = %v, %v; want nothing", k, err)
	}
	key := testKey(t)
	must(t, PublishKey(tree, key))
	if _, err := TreeKey(tree, keyDir); err == nil || !strings.Contains(err.Error(), key.Fingerprint()) {
		t.Errorf("TreeKey without the secret key = %v, want an error naming %s", err, key.Fingerprint())
	}
	if _, err := WriteKeyFiles(testKey(t), keyDir, "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteKeyFiles(key, keyDir, "images"); err != nil {
		t.Fatal(err)
	}
	if k, err := TreeKey(tree, keyDir); err != nil || k.Fingerprint() != key.Fingerprint() {
		t.Errorf("TreeKey = %v, %v; want %s", k, err, key.Fingerprint())
	}
	must(t, PublishKey(tree, testKey(t)))
	if _, err := TreeKey(tree, keyDir); err == nil {
		t.Errorf("TreeKey of a tree with two keys = nil, want an error")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
