package publish

import (
	"bytes"
	"crypto"
	_ "crypto/sha512" // the signature and self-signature hash
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// KeyAlgorithm names the public-key algorithm of a generated key.
type KeyAlgorithm string

// The algorithms GenerateKey knows.
const (
	// Ed25519 is the default: small, fast, verified by gpg 2.1 and later
	// and by go-crypto.
	Ed25519 KeyAlgorithm = "ed25519"
	// RSA4096 is for clients whose gpg predates 2.1.
	RSA4096 KeyAlgorithm = "rsa4096"
)

// ParseKeyAlgorithm accepts "ed25519" and "rsa4096" ("" is Ed25519).
func ParseKeyAlgorithm(s string) (KeyAlgorithm, error) {
	switch a := KeyAlgorithm(strings.ToLower(s)); a {
	case "", Ed25519:
		return Ed25519, nil
	case RSA4096:
		return a, nil
	default:
		return "", fmt.Errorf("unknown key algorithm %q (ed25519 or rsa4096)", s)
	}
}

var (
	// ErrNotSecretKey means a --sign-key file holds no usable secret key.
	ErrNotSecretKey = errors.New("not an OpenPGP secret key")
	// ErrEncryptedKey means the secret key is protected by a passphrase,
	// which an unattended signer cannot type.
	ErrEncryptedKey = errors.New("secret key is passphrase-protected")
)

// signingHash is the hash of every signature this package makes.
const signingHash = crypto.SHA512

// maxKeyFile bounds a key file read.
const maxKeyFile = 1 << 20

// KeyOptions configure GenerateKey.
type KeyOptions struct {
	// Name is the key's user id name; required.
	Name string
	// Email is added to the user id when set; default none.
	Email string
	// Lifetime makes the key expire that long after its creation; default
	// (0) never.
	Lifetime time.Duration
	// Algorithm defaults to Ed25519.
	Algorithm KeyAlgorithm
	// Now is the creation time; default time.Now.
	Now func() time.Time
}

// SigningKey is an OpenPGP key with its secret part.
type SigningKey struct {
	e *openpgp.Entity
}

// GenerateKey makes a signing key (see the package documentation for what
// it holds and why).
func GenerateKey(o KeyOptions) (*SigningKey, error) {
	if strings.TrimSpace(o.Name) == "" {
		return nil, errors.New("generate key: no name")
	}
	if o.Lifetime < 0 || o.Lifetime/time.Second > 1<<32-1 {
		return nil, fmt.Errorf("generate key: lifetime %s out of range", o.Lifetime)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	created := now()
	cfg := &packet.Config{
		DefaultHash:     signingHash,
		Time:            func() time.Time { return created },
		KeyLifetimeSecs: uint32(o.Lifetime / time.Second),
	}
	switch a, err := ParseKeyAlgorithm(string(o.Algorithm)); {
	case err != nil:
		return nil, fmt.Errorf("generate key: %w", err)
	case a == Ed25519:
		cfg.Algorithm = packet.PubKeyAlgoEdDSA
	case a == RSA4096:
		cfg.Algorithm, cfg.RSABits = packet.PubKeyAlgoRSA, 4096
	}
	e, err := openpgp.NewEntity(o.Name, "", o.Email, cfg)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	// NewEntity adds an encryption subkey; a signing key has no use for
	// one, and every key in it is one more thing to keep safe.
	e.Subkeys = nil
	return &SigningKey{e: e}, nil
}

// Fingerprint is the primary key's fingerprint, 40 upper-case hex digits.
func (k *SigningKey) Fingerprint() string {
	return strings.ToUpper(hex.EncodeToString(k.e.PrimaryKey.Fingerprint))
}

// UserID is the key's primary user id.
func (k *SigningKey) UserID() string {
	if _, id := k.e.PrimaryIdentity(time.Time{}, nil); id != nil {
		return id.Name
	}
	return ""
}

// Created is when the key was made.
func (k *SigningKey) Created() time.Time { return k.e.PrimaryKey.CreationTime }

// Expires is when the key expires; zero for never.
func (k *SigningKey) Expires() time.Time {
	sig, _ := k.e.PrimaryIdentity(time.Time{}, nil)
	if sig == nil || sig.KeyLifetimeSecs == nil || *sig.KeyLifetimeSecs == 0 {
		return time.Time{}
	}
	return k.Created().Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second)
}

// WriteSecret writes the key with its secret part, armored.
func (k *SigningKey) WriteSecret(w io.Writer) error {
	aw, err := armorWriter(w, openpgp.PrivateKeyType)
	if err != nil {
		return err
	}
	if err := k.e.SerializePrivateWithoutSigning(aw, nil); err != nil {
		return err
	}
	return closeArmor(w, aw)
}

// armorWriter starts an armored block with a CRC-24 line, which go-crypto
// leaves out by default (RFC 9580 makes it optional) and gpg 2.2 needs:
// without it, gpg --verify reads the END line as more base64 and fails
// after it reported a good signature.
func armorWriter(w io.Writer, blockType string) (io.WriteCloser, error) {
	return armor.EncodeWithChecksumOption(w, blockType, nil, true)
}

// closeArmor ends an armored block with the newline go-crypto leaves out.
func closeArmor(w io.Writer, aw io.WriteCloser) error {
	if err := aw.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WritePublic writes the key's public part, armored: what clients trust.
func (k *SigningKey) WritePublic(w io.Writer) error {
	aw, err := armorWriter(w, openpgp.PublicKeyType)
	if err != nil {
		return err
	}
	if err := k.e.Serialize(aw); err != nil {
		return err
	}
	return closeArmor(w, aw)
}

// PublicArmored returns WritePublic's output.
func (k *SigningKey) PublicArmored() ([]byte, error) {
	var b bytes.Buffer
	err := k.WritePublic(&b)
	return b.Bytes(), err
}

// LoadSigningKey reads an armored or binary secret key file, as
// GenerateKey's WriteSecret or `gpg --export-secret-keys` writes it. The
// file must hold exactly one key, with an unencrypted secret part that can
// sign now.
func LoadSigningKey(name string) (*SigningKey, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", name, err)
	}
	k, err := parseSigningKey(data)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", name, err)
	}
	return k, nil
}

func parseSigningKey(data []byte) (*SigningKey, error) {
	var r io.Reader = bytes.NewReader(data)
	if bytes.Contains(data, []byte("-----BEGIN PGP")) {
		block, err := armor.Decode(r)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotSecretKey, err)
		}
		if block.Type != openpgp.PrivateKeyType {
			return nil, fmt.Errorf("%w: the file holds a %q block (give the .key file, not the public .asc)", ErrNotSecretKey, block.Type)
		}
		r = block.Body
	}
	list, err := openpgp.ReadKeyRing(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotSecretKey, err)
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("%w: the file holds %d keys, want one", ErrNotSecretKey, len(list))
	}
	e := list[0]
	signer, ok := e.SigningKey(time.Now(), nil)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: no key in it can sign now (expired or revoked?)", ErrNotSecretKey)
	case signer.PrivateKey == nil:
		return nil, fmt.Errorf("%w: it holds the public part only", ErrNotSecretKey)
	case signer.PrivateKey.Encrypted:
		return nil, ErrEncryptedKey
	}
	return &SigningKey{e: e}, nil
}

// Sign writes an armored detached signature of data, made with SHA-512 at
// now (time.Now when zero).
func (k *SigningKey) Sign(w io.Writer, data io.Reader, now time.Time) error {
	if now.IsZero() {
		now = time.Now()
	}
	cfg := &packet.Config{DefaultHash: signingHash, Time: func() time.Time { return now }}
	aw, err := armorWriter(w, openpgp.SignatureType)
	if err != nil {
		return err
	}
	if err := openpgp.DetachSignWithParams(aw, []*openpgp.Entity{k.e}, data, &openpgp.SignParams{Config: cfg}); err != nil {
		return err
	}
	return closeArmor(w, aw)
}

// SignFile writes name+".asc", the armored detached signature of the file
// name, with WriteFile's care.
func (k *SigningKey) SignFile(name string, now time.Time) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	var sig bytes.Buffer
	if err := k.Sign(&sig, f, now); err != nil {
		return fmt.Errorf("sign %s: %w", name, err)
	}
	return WriteFile(name+".asc", sig.Bytes(), 0o644)
}

// KeyDir returns where `ulxc keys generate` keeps signing keys by default:
// ${XDG_CONFIG_HOME:-~/.config}/ulxc/signing.
func KeyDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("signing key directory: %w", err)
	}
	return filepath.Join(d, "ulxc", "signing"), nil
}

// KeyFiles are where WriteKeyFiles put a key.
type KeyFiles struct {
	Secret string // NAME.key, mode 0600
	Public string // NAME.asc, mode 0644
}

// WriteKeyFiles writes k as dir/NAME.key (the secret key, mode 0600) and
// dir/NAME.asc (its public part), making dir (mode 0700) if needed.
// Neither file may exist already: a signing key is never overwritten
// (ErrExist), and on any error neither file is left.
func WriteKeyFiles(k *SigningKey, dir, name string) (files KeyFiles, err error) {
	if !safeKeyName(name) {
		return files, fmt.Errorf("key name %q: use letters, digits and ._- (it names the key's files)", name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return files, err
	}
	files = KeyFiles{Secret: filepath.Join(dir, name+".key"), Public: filepath.Join(dir, name+".asc")}
	if _, err := os.Lstat(files.Public); err == nil {
		return files, fmt.Errorf("%s: %w", files.Public, ErrExist)
	}
	var secret bytes.Buffer
	if err := k.WriteSecret(&secret); err != nil {
		return files, err
	}
	public, err := k.PublicArmored()
	if err != nil {
		return files, err
	}
	if err := CreateFile(files.Secret, secret.Bytes(), 0o600); err != nil {
		return files, err
	}
	if err := CreateFile(files.Public, public, 0o644); err != nil {
		os.Remove(files.Secret)
		return files, err
	}
	return files, nil
}

// safeKeyName is a file name of letters, digits and ._-, not starting
// with a dot.
func safeKeyName(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
