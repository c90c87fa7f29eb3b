package download_test

import (
	"context"
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/download/downloadtest"
)

// buildDir writes the files of s's default build into a directory named
// after build and returns it.
func buildDir(t *testing.T, s *downloadtest.Server, build string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), build)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := downloadtest.Image{}.Path()
	for _, name := range []string{"rootfs.tar.xz", "meta.tar.xz", "SHA256SUMS"} {
		for _, f := range []string{name, name + ".asc"} {
			if err := os.WriteFile(filepath.Join(dir, f), s.File(p+f), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func TestVerifyFile(t *testing.T) {
	s := downloadtest.New(t, downloadtest.Options{})
	pinned := download.VerifyOptions{Key: download.KeySource{Fingerprint: s.Fingerprint, Keyring: s.KeyFile}}
	tamper := func(dir, name string) {
		p := filepath.Join(dir, name)
		b, _ := os.ReadFile(p)
		b[len(b)/2] ^= 1
		os.WriteFile(p, b, 0o644)
	}
	for _, tc := range []struct {
		name  string
		file  string // in the build directory
		build string // its name; default the build's own
		edit  func(t *testing.T, dir string)
		opts  download.VerifyOptions
		want  error  // nil: all hold
		says  string // in the error
		n     int    // checks
		skips int
	}{
		{name: "rootfs", file: "rootfs.tar.xz", opts: pinned, n: 1},
		{name: "sums and what they list", file: "SHA256SUMS", opts: pinned, n: 3},
		{name: "rootfs changed after signing", file: "rootfs.tar.xz", opts: pinned, n: 1,
			edit: func(t *testing.T, dir string) { tamper(dir, "rootfs.tar.xz") }, want: download.ErrBadSignature, says: "rootfs.tar.xz: bad signature"},
		{name: "sums of a changed rootfs", file: "SHA256SUMS", opts: pinned, n: 3,
			edit: func(t *testing.T, dir string) { tamper(dir, "rootfs.tar.xz") }, want: download.ErrChecksum, says: "rootfs.tar.xz: checksum does not match SHA256SUMS"},
		{name: "listed file absent", file: "SHA256SUMS", opts: pinned, n: 3, skips: 1,
			edit: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "meta.tar.xz")) }},
		{name: "default key", file: "SHA256SUMS", n: 1, want: download.ErrBadSignature, says: "the key checked against is " + download.DefaultFingerprint},
		{name: "no signature", file: "meta.tar.xz", opts: pinned,
			edit: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "meta.tar.xz.asc")) }, want: download.ErrBadSignature, says: "read signature"},
		{name: "signature elsewhere", file: "meta.tar.xz", n: 1,
			edit: func(t *testing.T, dir string) {
				os.Rename(filepath.Join(dir, "meta.tar.xz.asc"), filepath.Join(dir, "..", "meta.sig"))
			},
			opts: download.VerifyOptions{Key: pinned.Key, Signature: "../meta.sig"}},
		{name: "older than its build", file: "rootfs.tar.xz", build: "20300101_00:00", opts: pinned, n: 1,
			want: download.ErrStaleSignature, says: "before build 20300101_00:00"},
		{name: "key not in keyring", file: "rootfs.tar.xz",
			opts: download.VerifyOptions{Key: download.KeySource{Fingerprint: strings.Repeat("AB", 20), Keyring: s.KeyFile}}, want: download.ErrKeyNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			build := tc.build
			if build == "" {
				build = "20240101_00:00"
			}
			dir := buildDir(t, s, build)
			if tc.edit != nil {
				tc.edit(t, dir)
			}
			if tc.opts.Signature != "" {
				tc.opts.Signature = filepath.Join(dir, tc.opts.Signature)
			}
			checks, err := download.VerifyFile(context.Background(), filepath.Join(dir, tc.file), tc.opts)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) || (err != nil && !strings.Contains(err.Error(), tc.says)) {
				t.Fatalf("VerifyFile(%s) = %v, want %v saying %q", tc.file, err, tc.want, tc.says)
			}
			skips := 0
			for _, c := range checks {
				if c.Skipped {
					skips++
				}
			}
			if len(checks) != tc.n || skips != tc.skips {
				t.Errorf("%d checks, %d skipped: %+v; want %d, %d", len(checks), skips, checks, tc.n, tc.skips)
			}
			if tc.want == nil && checks[0].Signer != s.Fingerprint {
				t.Errorf("signer %q, want %s", checks[0].Signer, s.Fingerprint)
			}
		})
	}
}

// TestVerifyFileRefusesSHA1: a SHA-1 signature by the pinned key fails, as
// it does in Fetch.
func TestVerifyFileRefusesSHA1(t *testing.T) {
	s := downloadtest.New(t, downloadtest.Options{})
	p := downloadtest.Image{}.Path() + "rootfs.tar.xz"
	s.Sign(t, p, s.Key, &packet.Config{DefaultHash: crypto.SHA1, Time: func() time.Time { return time.Now().Add(-time.Minute) }})
	dir := buildDir(t, s, "20240101_00:00")
	_, err := download.VerifyFile(context.Background(), filepath.Join(dir, "rootfs.tar.xz"),
		download.VerifyOptions{Key: download.KeySource{Fingerprint: s.Fingerprint, Keyring: s.KeyFile}})
	if !errors.Is(err, download.ErrBadSignature) {
		t.Errorf("VerifyFile of a SHA-1 signature = %v, want ErrBadSignature", err)
	}
}

// TestVerifyFileStaysBeside: a signed SHA256SUMS that lists a path with a
// directory does not send the check out of its directory.
func TestVerifyFileStaysBeside(t *testing.T) {
	s := downloadtest.New(t, downloadtest.Options{})
	p := downloadtest.Image{}.Path()
	s.SetFile(p+"SHA256SUMS", []byte(strings.Repeat("0", 64)+"  ../../etc/passwd\n"))
	s.Sign(t, p+"SHA256SUMS", s.Key, nil)
	dir := buildDir(t, s, "20240101_00:00")
	checks, err := download.VerifyFile(context.Background(), filepath.Join(dir, "SHA256SUMS"),
		download.VerifyOptions{Key: download.KeySource{Fingerprint: s.Fingerprint, Keyring: s.KeyFile}})
	if err != nil || len(checks) != 2 || !checks[1].Skipped {
		t.Errorf("VerifyFile = %+v, %v; want the listed ../../etc/passwd skipped", checks, err)
	}
}
