package publish

import (
	"bytes"
	"crypto"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// weakHashIDs are the OpenPGP ids of MD5, SHA-1 and RIPEMD-160.
var weakHashIDs = []uint8{1, 2, 3}

// packets returns every packet of an armored key.
func packets(t *testing.T, armored []byte) []packet.Packet {
	t.Helper()
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		t.Fatal(err)
	}
	var out []packet.Packet
	r := packet.NewReader(block.Body)
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
}

func TestGenerateKeyNoSHA1(t *testing.T) {
	for _, algo := range []KeyAlgorithm{Ed25519, RSA4096} {
		t.Run(string(algo), func(t *testing.T) {
			k, err := GenerateKey(KeyOptions{Name: "ulxc test images", Email: "images@ulxc.invalid", Algorithm: algo})
			if err != nil {
				t.Fatal(err)
			}
			pub, err := k.PublicArmored()
			if err != nil {
				t.Fatal(err)
			}
			var sigs, keys, subkeys int
			for _, p := range packets(t, pub) {
				switch p := p.(type) {
				case *packet.PublicKey:
					if p.IsSubkey {
						subkeys++
					} else {
						keys++
					}
				case *packet.Signature:
					sigs++
					if p.Hash != crypto.SHA512 {
						t.Errorf("self-signature type %#x hashed with %v, want SHA-512", p.SigType, p.Hash)
					}
					for _, id := range p.PreferredHash {
						if slices.Contains(weakHashIDs, id) {
							t.Errorf("preferred hashes %v list weak hash %d", p.PreferredHash, id)
						}
					}
					if len(p.PreferredHash) == 0 {
						t.Errorf("self-signature lists no preferred hashes (clients would assume SHA-1)")
					}
				}
			}
			if keys != 1 || subkeys != 0 || sigs == 0 {
				t.Errorf("key has %d primary keys, %d subkeys, %d signatures; want 1, 0, some", keys, subkeys, sigs)
			}
			// What it signs verifies, with SHA-512.
			var sig bytes.Buffer
			if err := k.Sign(&sig, strings.NewReader("data"), time.Time{}); err != nil {
				t.Fatal(err)
			}
			ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
			if err != nil {
				t.Fatal(err)
			}
			s, _, err := openpgp.VerifyArmoredDetachedSignature(ring, strings.NewReader("data"), &sig, nil)
			if err != nil {
				t.Fatalf("verify a signature of the new key: %v", err)
			}
			if s.Hash != crypto.SHA512 {
				t.Errorf("signature hash %v, want SHA-512", s.Hash)
			}
		})
	}
}

func TestGenerateKeyExpires(t *testing.T) {
	created := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	k, err := GenerateKey(KeyOptions{Name: "short", Lifetime: 48 * time.Hour, Now: func() time.Time { return created }})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := k.Expires(), created.Add(48*time.Hour); !got.Equal(want) {
		t.Errorf("Expires() = %v, want %v", got, want)
	}
	pub, _ := k.PublicArmored()
	ring, _ := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	at := created.Add(time.Hour)
	var sig bytes.Buffer
	if err := k.Sign(&sig, strings.NewReader("x"), at); err != nil {
		t.Fatal(err)
	}
	cfg := &packet.Config{Time: func() time.Time { return at }}
	if _, _, err := openpgp.VerifyArmoredDetachedSignature(ring, strings.NewReader("x"), &sig, cfg); err != nil {
		t.Errorf("signature made within the key's life: %v", err)
	}
	if err := k.Sign(io.Discard, strings.NewReader("x"), created.Add(49*time.Hour)); err == nil {
		t.Errorf("Sign after the key expired = nil, want an error")
	}
	if never, _ := GenerateKey(KeyOptions{Name: "forever"}); !never.Expires().IsZero() {
		t.Errorf("a key without lifetime expires %v, want never", never.Expires())
	}
}

func TestLoadSigningKey(t *testing.T) {
	dir := t.TempDir()
	k, err := GenerateKey(KeyOptions{Name: "loader"})
	if err != nil {
		t.Fatal(err)
	}
	files, err := WriteKeyFiles(k, dir, "loader")
	if err != nil {
		t.Fatal(err)
	}
	locked, _ := GenerateKey(KeyOptions{Name: "locked"})
	if err := locked.e.EncryptPrivateKeys([]byte("passphrase"), nil); err != nil {
		t.Fatal(err)
	}
	var lockedBuf bytes.Buffer
	if err := locked.WriteSecret(&lockedBuf); err != nil {
		t.Fatal(err)
	}
	other, _ := GenerateKey(KeyOptions{Name: "other"})
	var two bytes.Buffer
	w, _ := armor.Encode(&two, openpgp.PrivateKeyType, nil)
	k.e.SerializePrivateWithoutSigning(w, nil)
	other.e.SerializePrivateWithoutSigning(w, nil)
	w.Close()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, file string
		want       error // nil: loads
	}{
		{"secret", files.Secret, nil},
		{"public part", files.Public, ErrNotSecretKey},
		{"passphrase", write("locked.key", lockedBuf.Bytes()), ErrEncryptedKey},
		{"two keys", write("two.key", two.Bytes()), ErrNotSecretKey},
		{"garbage", write("garbage.key", []byte("not a key\n")), ErrNotSecretKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadSigningKey(tc.file)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("LoadSigningKey(%s) = %v, want %v", tc.name, err, tc.want)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.file) {
					t.Errorf("error %q does not name the file %s", err, tc.file)
				}
				return
			}
			if got.Fingerprint() != k.Fingerprint() {
				t.Errorf("loaded %s, want %s", got.Fingerprint(), k.Fingerprint())
			}
		})
	}
}

func TestWriteKeyFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "signing")
	k, _ := GenerateKey(KeyOptions{Name: "k"})
	files, err := WriteKeyFiles(k, dir, "k")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o700 | os.ModeDir}, {files.Secret, 0o600}, {files.Public, 0o644}} {
		if st, err := os.Stat(c.path); err != nil || st.Mode() != c.mode {
			t.Errorf("%s: %v %v, want mode %v", c.path, st.Mode(), err, c.mode)
		}
	}
	before, _ := os.ReadFile(files.Secret)
	k2, _ := GenerateKey(KeyOptions{Name: "k"})
	if _, err := WriteKeyFiles(k2, dir, "k"); !errors.Is(err, ErrExist) {
		t.Errorf("second WriteKeyFiles(k) = %v, want ErrExist", err)
	}
	// The public file alone existing also refuses, and the secret is
	// not left behind.
	os.Remove(files.Secret)
	if _, err := WriteKeyFiles(k2, dir, "k"); !errors.Is(err, ErrExist) {
		t.Errorf("WriteKeyFiles with k.asc present = %v, want ErrExist", err)
	}
	if _, err := os.Stat(files.Secret); !os.IsNotExist(err) {
		t.Errorf("refused WriteKeyFiles left %s: %v", files.Secret, err)
	}
	os.WriteFile(files.Secret, before, 0o600)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%s holds %d files, want 2 (no temporary files left)", dir, len(entries))
	}
	for _, bad := range []string{"", ".hidden", "a/b", "../k", "-x"} {
		if _, err := WriteKeyFiles(k, dir, bad); err == nil {
			t.Errorf("WriteKeyFiles(%q) = nil, want a refusal", bad)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30d", 30 * 24 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"1y", 365 * 24 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"0d", 0, false},
		{"-1h", 0, false},
		{"d", 0, false},
		{"1.5d", 0, false},
		{"soon", 0, false},
	} {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestArmorForGPG: signatures and keys end in a CRC-24 line and a
// newline; gpg 2.2 fails --verify without the CRC (after saying "Good
// signature"), which TestImagePack in cmd/ulxc shows with gpg itself.
func TestArmorForGPG(t *testing.T) {
	k, _ := GenerateKey(KeyOptions{Name: "armor"})
	var sig, pub bytes.Buffer
	if err := k.Sign(&sig, strings.NewReader("x"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := k.WritePublic(&pub); err != nil {
		t.Fatal(err)
	}
	crc := regexp.MustCompile(`\n=[A-Za-z0-9+/]{4}\n-----END PGP [A-Z ]+-----\n$`)
	for name, b := range map[string][]byte{"signature": sig.Bytes(), "public key": pub.Bytes()} {
		if !crc.Match(b) {
			t.Errorf("%s ends %q: want a CRC-24 line, the END line and a newline", name, b[max(0, len(b)-60):])
		}
	}
}
