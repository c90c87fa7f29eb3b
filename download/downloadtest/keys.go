package downloadtest

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// KeyOptions configure NewKey.
type KeyOptions struct {
	// Created is the key's creation time; default one day ago.
	Created time.Time
	// Lifetime makes the key expire that long after Created; default never.
	Lifetime time.Duration
}

// NewKey generates an Ed25519 signing key (fast, and as good as RSA for
// what the tests prove).
func NewKey(t testing.TB, name string, o KeyOptions) *openpgp.Entity {
	t.Helper()
	created := o.Created
	if created.IsZero() {
		created = time.Now().Add(-24 * time.Hour)
	}
	cfg := &packet.Config{
		Algorithm:       packet.PubKeyAlgoEdDSA,
		Time:            func() time.Time { return created },
		KeyLifetimeSecs: uint32(o.Lifetime / time.Second),
	}
	e, err := openpgp.NewEntity(name, "", "test@ulxc.invalid", cfg)
	if err != nil {
		t.Fatalf("downloadtest: new key: %v", err)
	}
	return e
}

// Fingerprint returns key's primary fingerprint, 40 upper-case hex digits.
func Fingerprint(key *openpgp.Entity) string {
	return strings.ToUpper(hex.EncodeToString(key.PrimaryKey.Fingerprint))
}

// SignConfig returns a signing config whose clock says at.
func SignConfig(at time.Time) *packet.Config {
	return &packet.Config{Time: func() time.Time { return at }}
}

// Revoke adds a "superseded" revocation made at `at` to key. Signatures made
// before that stay valid at their own time; only a check at a later "now"
// sees the revocation.
func Revoke(t testing.TB, key *openpgp.Entity, at time.Time) {
	t.Helper()
	if err := key.Revoke(packet.KeySuperseded, "test", SignConfig(at)); err != nil {
		t.Fatalf("downloadtest: revoke: %v", err)
	}
}

// ArmoredPublicKey returns key's public part, armored.
func ArmoredPublicKey(t testing.TB, key *openpgp.Entity) []byte {
	t.Helper()
	b, err := armoredPublicKey(key)
	if err != nil {
		t.Fatalf("downloadtest: serialize key: %v", err)
	}
	return b
}

func armoredPublicKey(key *openpgp.Entity) ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := key.Serialize(w); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ArmoredSecretKey returns key with its secret part, armored.
func ArmoredSecretKey(t testing.TB, key *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err == nil {
		err = key.SerializePrivate(w, nil)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatalf("downloadtest: serialize secret key: %v", err)
	}
	return buf.Bytes()
}
