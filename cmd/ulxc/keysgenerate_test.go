package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// TestKeysGenerate: as the test user, keys generate writes the secret key
// 0600 and the public key beside it, says where and how to publish it,
// and gpg finds no SHA-1 in it; a second generate of the same name is
// refused and changes nothing.
func TestKeysGenerate(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	r := h.MustRun(t, "keys", "generate", "images", "--expire", "1y", "--email", "images@example.org")
	fpr := regexp.MustCompile(`(?m)^Fingerprint: ([0-9A-F]{40})$`).FindStringSubmatch(r.Stdout)
	dir := filepath.Join(h.Dir, ".config/ulxc/signing")
	secret, public := filepath.Join(dir, "images.key"), filepath.Join(dir, "images.asc")
	if fpr == nil || !strings.Contains(r.Stdout, secret) || !strings.Contains(r.Stdout, public) ||
		!strings.Contains(r.Stdout, "ulxc keys add "+public) || !strings.Contains(r.Stdout, "--keyid "+fpr[1]) {
		t.Fatalf("keys generate printed:\n%s\nwant the fingerprint, both files and how to publish", r.Stdout)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{{secret, 0o600}, {public, 0o644}} {
		st, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != c.mode || st.Sys().(*syscall.Stat_t).Uid != u.UID {
			t.Errorf("%s: mode %v owner %d, want %v owned by %d", c.path, st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Uid, c.mode, u.UID)
		}
	}

	if _, err := exec.LookPath("gpg"); err != nil {
		testenv.Skipf(t, "gpg is not installed (apt-get install gnupg): %v", err)
	}
	gnupg := t.TempDir()
	out, err := exec.Command("gpg", "--homedir", gnupg, "--batch", "--list-packets", public).CombinedOutput()
	if err != nil {
		t.Fatalf("gpg --list-packets: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "digest algo 10") || strings.Contains(string(out), "digest algo 2,") {
		t.Errorf("gpg --list-packets: want SHA-512 (10) self-signatures and no SHA-1 (2):\n%s", out)
	}
	if m := regexp.MustCompile(`pref-hash-algos: ([0-9 ]+)`).FindStringSubmatch(string(out)); m == nil || strings.Contains(" "+m[1]+" ", " 2 ") {
		t.Errorf("preferred hashes %q: want some and no SHA-1 (2)", m)
	}
	if !strings.Contains(string(out), "key expires after") {
		t.Errorf("gpg --list-packets: want a key expiry:\n%s", out)
	}

	before, _ := os.ReadFile(secret)
	r = h.Run(t, "keys", "generate", "images")
	if after, _ := os.ReadFile(secret); r.Code != 1 || !strings.Contains(r.Stderr, "already exists") || string(after) != string(before) {
		t.Errorf("second keys generate images: exit %d, %q; want exit 1 naming the existing key, the key unchanged", r.Code, r.Stderr)
	}
	if r := h.Run(t, "keys", "generate", "x", "--expire", "soon"); r.Code != 2 || !strings.Contains(r.Stderr, "--expire") {
		t.Errorf("keys generate --expire soon: exit %d, %q; want a usage error naming --expire", r.Code, r.Stderr)
	}
}
