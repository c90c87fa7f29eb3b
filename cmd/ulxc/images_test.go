package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/download/downloadtest"
	"github.com/ulxc/ulxc/internal/testenv"
)

func imagesServer(t *testing.T) *downloadtest.Server {
	return downloadtest.New(t, downloadtest.Options{Images: []downloadtest.Image{
		{}, {Variant: "mini"}, {Dist: "alpine", Release: "3.19"}, {Arch: "riscv64"},
	}})
}

// rows returns the data lines of a table, fields split on blanks.
func rows(out string) [][]string {
	var r [][]string
	for i, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if i > 0 && l != "" {
			r = append(r, strings.Fields(l))
		}
	}
	return r
}

func TestImagesCLI(t *testing.T) {
	s := imagesServer(t)
	h := testenv.SubIDUser(t).NewHome(t)
	keyFile := h.WriteFile(t, "keys/images.asc", string(downloadtest.ArmoredPublicKey(t, s.Key)))
	base := []string{"images", "--server", s.URL, "--keyid", s.Fingerprint, "--keyring", keyFile}
	arch := download.HostArch()

	r := h.MustRun(t, base...)
	if !strings.HasPrefix(r.Stdout, "DIST") || len(rows(r.Stdout)) != 4 {
		t.Fatalf("ulxc images =\n%s\nwant a header and 4 rows", r.Stdout)
	}
	if got, want := rows(r.Stdout)[0], []string{"alpine", "3.19", arch, "default", "20240101_00:00"}; !reflect.DeepEqual(got, want) {
		t.Errorf("first row = %q, want %q", got, want)
	}

	tests := []struct {
		flags []string
		want  [][]string
	}{
		{[]string{"-d", "alpine"}, [][]string{{"alpine", "3.19", arch, "default", "20240101_00:00"}}},
		{[]string{"-d", "busybox", "-r", "1.36", "--variant", "mini"}, [][]string{{"busybox", "1.36", arch, "mini", "20240101_00:00"}}},
		{[]string{"-a", "riscv64"}, [][]string{{"busybox", "1.36", "riscv64", "default", "20240101_00:00"}}},
	}
	for _, tc := range tests {
		r := h.MustRun(t, append(base, tc.flags...)...)
		if got := rows(r.Stdout); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ulxc images %s = %q, want %q", strings.Join(tc.flags, " "), got, tc.want)
		}
	}

	r = h.MustRun(t, append(base, "--format", "json", "-d", "busybox", "-a", arch)...)
	var entries []download.IndexEntry
	if err := json.Unmarshal([]byte(r.Stdout), &entries); err != nil {
		t.Fatalf("ulxc images --format json = %q: %v", r.Stdout, err)
	}
	want := []download.IndexEntry{
		{Dist: "busybox", Release: "1.36", Arch: arch, Variant: "default", Build: "20240101_00:00", Path: downloadtest.Image{}.Path()},
		{Dist: "busybox", Release: "1.36", Arch: arch, Variant: "mini", Build: "20240101_00:00", Path: downloadtest.Image{Variant: "mini"}.Path()},
	}
	if !reflect.DeepEqual(entries, want) {
		t.Errorf("ulxc images --format json = %+v, want %+v", entries, want)
	}
}

func TestImagesCLIVerifies(t *testing.T) {
	s := imagesServer(t)
	h := testenv.SubIDUser(t).NewHome(t)

	// The default (linuxcontainers) key did not sign the test index.
	r := h.Run(t, "images", "--server", s.URL)
	if r.Code != 1 || !strings.Contains(r.Stderr, "bad signature") {
		t.Errorf("ulxc images with the default key: exit %d, stderr %q, want 1 and a bad signature", r.Code, r.Stderr)
	}
	r = h.Run(t, "images", "--server", s.URL, "--no-validate")
	if r.Code != 0 || len(rows(r.Stdout)) != 4 || !strings.Contains(r.Stderr, "ulxc: warning:") {
		t.Errorf("ulxc images --no-validate: exit %d, stdout %q, stderr %q, want 4 rows and a warning", r.Code, r.Stdout, r.Stderr)
	}
	r = h.Run(t, "images", "--server", s.URL, "--keyid", s.Fingerprint[24:])
	if r.Code != 2 || !strings.Contains(r.Stderr, "40 hex digits") {
		t.Errorf("ulxc images --keyid SHORTID: exit %d, stderr %q, want 2 and a usage error", r.Code, r.Stderr)
	}
	r = h.Run(t, "images", "--server", s.URL, "--keyid", s.Fingerprint, "--no-validate")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--no-validate and --keyid") {
		t.Errorf("ulxc images --keyid --no-validate: exit %d, stderr %q, want 2 naming both flags", r.Code, r.Stderr)
	}
}

func TestKeysCLI(t *testing.T) {
	s := imagesServer(t)
	h := testenv.SubIDUser(t).NewHome(t)
	keyFile := h.WriteFile(t, "images.asc", string(downloadtest.ArmoredPublicKey(t, s.Key)))

	// Not trusted yet: the trust store is empty.
	if r := h.Run(t, "images", "--server", s.URL, "--keyid", s.Fingerprint); r.Code != 1 || !strings.Contains(r.Stderr, "key not found") {
		t.Errorf("ulxc images --keyid (untrusted): exit %d, stderr %q, want 1 and key not found", r.Code, r.Stderr)
	}

	r := h.MustRun(t, "keys", "add", keyFile)
	if !strings.HasPrefix(r.Stdout, s.Fingerprint+"  ulxc test images") {
		t.Errorf("ulxc keys add = %q, want the fingerprint and user id", r.Stdout)
	}
	if _, err := os.Stat(filepath.Join(h.Dir, ".config/ulxc/trusted.d", s.Fingerprint+".asc")); err != nil {
		t.Errorf("trust store entry: %v", err)
	}

	r = h.MustRun(t, "keys", "list")
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], download.DefaultFingerprint) || !strings.Contains(lines[1], "built in") ||
		!strings.HasPrefix(lines[2], s.Fingerprint) || strings.Contains(lines[2], "built in") {
		t.Errorf("ulxc keys list =\n%s\nwant the built-in key, then the added one", r.Stdout)
	}
	var keys []download.KeyInfo
	r = h.MustRun(t, "keys", "list", "--format", "json")
	if err := json.Unmarshal([]byte(r.Stdout), &keys); err != nil || len(keys) != 2 || keys[1].Fingerprint != s.Fingerprint {
		t.Errorf("ulxc keys list --format json = %q (%v)", r.Stdout, err)
	}

	// Now the trust store supplies the key.
	if r := h.MustRun(t, "images", "--server", s.URL, "--keyid", s.Fingerprint); len(rows(r.Stdout)) != 4 {
		t.Errorf("ulxc images --keyid (trusted) = %q, want 4 rows", r.Stdout)
	}

	secret := h.WriteFile(t, "secret.asc", string(downloadtest.ArmoredSecretKey(t, s.Key)))
	if r := h.Run(t, "keys", "add", secret); r.Code != 1 || !strings.Contains(r.Stderr, "secret key") {
		t.Errorf("ulxc keys add SECRET: exit %d, stderr %q, want 1 and a refusal", r.Code, r.Stderr)
	}
	if r := h.Run(t, "keys", "remove", "x"); r.Code != 2 {
		t.Errorf("ulxc keys remove: exit %d, want 2", r.Code)
	}
}
