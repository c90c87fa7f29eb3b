package download

import (
	"crypto"
	"errors"
	"os"
	"testing"
	"time"
)

// TestEmbeddedKeyPinned loads the exact key file shipped in keys/ (whose
// 2014 self-signature uses SHA-1) and proves the fingerprint pin.
func TestEmbeddedKeyPinned(t *testing.T) {
	data, err := os.ReadFile("keys/linuxcontainers-images.asc")
	if err != nil {
		t.Fatal(err)
	}
	list, err := readKeys(data)
	if err != nil || len(list) != 1 {
		t.Fatalf("readKeys(linuxcontainers-images.asc) = %d keys, %v, want 1", len(list), err)
	}
	e := list[0]
	if got := fingerprintOf(e); got != DefaultFingerprint {
		t.Fatalf("fingerprint = %s, want %s", got, DefaultFingerprint)
	}
	sig, _ := e.PrimaryIdentity(time.Time{}, nil)
	if sig == nil || sig.Hash != crypto.SHA1 {
		t.Fatalf("self-signature hash = %v, want SHA-1 (the file this test must load)", sig)
	}
	if _, err := e.VerifyPrimaryKey(time.Now(), nil); err != nil {
		t.Fatalf("VerifyPrimaryKey(now) = %v, want the key valid", err)
	}
	if string(data) != string(defaultKeyArmored) {
		t.Fatal("embedded key differs from keys/linuxcontainers-images.asc")
	}
	p, err := defaultKey()
	if err != nil || p.fpr != DefaultFingerprint || len(p.ring) != 1 {
		t.Fatalf("defaultKey() = %v, %v", p, err)
	}
	if _, ok := pick(list, "0000000000000000000000000000000000000000"); ok {
		t.Fatal("pick with another fingerprint accepted the embedded key")
	}
	if _, ok := pick(list, DefaultFingerprint[24:]); ok {
		t.Fatal("pick with a 64-bit key id accepted the embedded key")
	}
}

func TestParseFingerprint(t *testing.T) {
	tests := []struct{ in, want string }{
		{"E7FB0CAEC8173D669066514CBAEFF88C22F6E216", DefaultFingerprint},
		{"e7fb 0cae c817 3d66 9066  514c baef f88c 22f6 e216", DefaultFingerprint},
		{"0xE7FB0CAEC8173D669066514CBAEFF88C22F6E216", DefaultFingerprint},
		{"22F6E216", ""},
		{"0xBAEFF88C22F6E216", ""},
		{"G7FB0CAEC8173D669066514CBAEFF88C22F6E216", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, err := ParseFingerprint(tc.in)
		if tc.want == "" {
			if !errors.Is(err, ErrBadFingerprint) {
				t.Errorf("ParseFingerprint(%q) = %q, %v, want ErrBadFingerprint", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseFingerprint(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestContentRangeStart(t *testing.T) {
	for in, want := range map[string]int64{
		"bytes 100-199/200": 100, "bytes 0-9/10": 0, "bytes */200": -1, "": -1, "items 1-2/3": -1,
	} {
		if got := contentRangeStart(in); got != want {
			t.Errorf("contentRangeStart(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestHKPURL(t *testing.T) {
	for in, want := range map[string]string{
		"hkp://keyserver.ubuntu.com":      "http://keyserver.ubuntu.com:11371",
		"hkp://keyserver.ubuntu.com:80":   "http://keyserver.ubuntu.com:80",
		"hkps://keys.openpgp.org":         "https://keys.openpgp.org",
		"https://keys.example.org/prefix": "https://keys.example.org/prefix",
		"hkp://[::1]":                     "http://[::1]:11371",
	} {
		if got := hkpURL(in); got != want {
			t.Errorf("hkpURL(%q) = %q, want %q", in, got, want)
		}
	}
}
