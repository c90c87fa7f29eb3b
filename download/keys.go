package download

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/ulxc/ulxc/internal/fileio"
)

// DefaultFingerprint is the linuxcontainers image-signing key, embedded in
// ulxc and trusted when KeySource is zero.
const DefaultFingerprint = "E7FB0CAEC8173D669066514CBAEFF88C22F6E216"

//go:embed keys/linuxcontainers-images.asc
var defaultKeyArmored []byte

const maxKeyBytes = 1 << 20

var (
	// ErrBadFingerprint is a key id that is not a full 40-hex-digit
	// fingerprint (short and long key ids are refused).
	ErrBadFingerprint = errors.New("not a 40-hex-digit OpenPGP fingerprint")
	// ErrKeyNotFound means no source holds a key with the pinned fingerprint.
	ErrKeyNotFound = errors.New("key not found")
	// ErrSecretKey means a key file holds secret key material.
	ErrSecretKey = errors.New("refusing a secret key")
	// ErrNotKey means a key file holds no OpenPGP public key at all (a
	// signature, some other file).
	ErrNotKey = errors.New("not an OpenPGP public key")
)

// KeySource says which key to trust and where to find it. The zero value
// trusts the embedded linuxcontainers key.
type KeySource struct {
	// Fingerprint pins the key (40 hex digits, spaces allowed); default
	// DefaultFingerprint with the embedded key.
	Fingerprint string
	// Keyring is an OpenPGP key file (armored or binary) to take the key
	// from; default: the trust store, then Keyserver.
	Keyring string
	// TrustDir is the trust store; default TrustDir().
	TrustDir string
	// Keyserver is an HKP base URL (https://host[:port] or http://...) asked
	// last; default: none.
	Keyserver string
}

// ParseFingerprint normalises a fingerprint: spaces and a 0x prefix are
// removed and the 40 hex digits upper-cased.
func ParseFingerprint(s string) (string, error) {
	f := strings.ToUpper(strings.Join(strings.Fields(s), ""))
	f = strings.TrimPrefix(f, "0X")
	if len(f) != 40 {
		return "", fmt.Errorf("%q: %w", s, ErrBadFingerprint)
	}
	if _, err := hex.DecodeString(f); err != nil {
		return "", fmt.Errorf("%q: %w", s, ErrBadFingerprint)
	}
	return f, nil
}

// TrustDir returns the default trust store,
// ${XDG_CONFIG_HOME:-~/.config}/ulxc/trusted.d, where each trusted key is
// FINGERPRINT.asc.
func TrustDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("trust store: %w", err)
	}
	return filepath.Join(d, "ulxc", "trusted.d"), nil
}

func fingerprintOf(e *openpgp.Entity) string {
	return strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint))
}

// pinned is a keyring that holds exactly the pinned key.
type pinned struct {
	fpr  string
	ring openpgp.EntityList
}

// pick returns the entity of list whose primary fingerprint is fpr.
func pick(list openpgp.EntityList, fpr string) (*pinned, bool) {
	for _, e := range list {
		if fingerprintOf(e) == fpr {
			return &pinned{fpr: fpr, ring: openpgp.EntityList{e}}, true
		}
	}
	return nil, false
}

// readKeys reads armored or binary public keys.
func readKeys(data []byte) (openpgp.EntityList, error) {
	if bytes.Contains(data, []byte("-----BEGIN PGP")) {
		block, err := armor.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("decode armor: %w", err)
		}
		if block.Type == openpgp.PrivateKeyType {
			return nil, ErrSecretKey
		}
		if block.Type != openpgp.PublicKeyType {
			return nil, fmt.Errorf("%w: the armor block is a %q", ErrNotKey, block.Type)
		}
		b, err := io.ReadAll(io.LimitReader(block.Body, maxKeyBytes))
		if err != nil {
			return nil, fmt.Errorf("decode armor: %w", err)
		}
		data = b
	}
	list, err := openpgp.ReadKeyRing(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotKey, err)
	}
	if len(list) == 0 {
		return nil, ErrNotKey
	}
	for _, e := range list {
		if e.PrivateKey != nil {
			return nil, ErrSecretKey
		}
		for _, s := range e.Subkeys {
			if s.PrivateKey != nil {
				return nil, ErrSecretKey
			}
		}
	}
	return list, nil
}

func readKeyFile(name string) (openpgp.EntityList, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyBytes))
	if err != nil {
		return nil, err
	}
	list, err := readKeys(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return list, nil
}

// load finds the pinned key. Each source is checked for the fingerprint, so
// a file or keyserver answer holding another key is never trusted.
func (k KeySource) load(ctx context.Context, g *getter) (*pinned, error) {
	if k.Fingerprint == "" {
		if k.Keyring != "" || k.Keyserver != "" {
			return nil, fmt.Errorf("key: a keyring or keyserver needs a fingerprint: %w", ErrBadFingerprint)
		}
		return defaultKey()
	}
	fpr, err := ParseFingerprint(k.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	if k.Keyring != "" {
		list, err := readKeyFile(k.Keyring)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", fpr, err)
		}
		if p, ok := pick(list, fpr); ok {
			return p, nil
		}
		return nil, fmt.Errorf("key %s: keyring %s: %w", fpr, k.Keyring, ErrKeyNotFound)
	}
	if fpr == DefaultFingerprint {
		return defaultKey()
	}
	dir := k.TrustDir
	if dir == "" {
		if dir, err = TrustDir(); err != nil {
			return nil, fmt.Errorf("key %s: %w", fpr, err)
		}
	}
	list, err := readKeyFile(filepath.Join(dir, fpr+".asc"))
	switch {
	case err == nil:
		if p, ok := pick(list, fpr); ok {
			return p, nil
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("key %s: %w", fpr, err)
	}
	if k.Keyserver == "" {
		return nil, fmt.Errorf("key %s: not in %s and no keyserver given: %w", fpr, dir, ErrKeyNotFound)
	}
	return k.fromKeyserver(ctx, g, fpr)
}

// fromKeyserver asks an HKP server for the key the way dirmngr does.
func (k KeySource) fromKeyserver(ctx context.Context, g *getter, fpr string) (*pinned, error) {
	base, err := ServerURL(hkpURL(k.Keyserver))
	if err != nil {
		return nil, fmt.Errorf("key %s: keyserver: %w", fpr, err)
	}
	u := *base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/pks/lookup"
	u.RawQuery = url.Values{"op": {"get"}, "options": {"mr"}, "search": {"0x" + fpr}}.Encode()
	data, err := g.small(ctx, u.String(), maxKeyBytes)
	if isNotFound(err) {
		return nil, fmt.Errorf("key %s: keyserver %s: %w", fpr, base.Host, ErrKeyNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("key %s: keyserver: %w", fpr, err)
	}
	list, err := readKeys(data)
	if err != nil {
		return nil, fmt.Errorf("key %s: keyserver %s: %w", fpr, base.Host, err)
	}
	if p, ok := pick(list, fpr); ok {
		return p, nil
	}
	return nil, fmt.Errorf("key %s: keyserver %s answered with other keys: %w", fpr, base.Host, ErrKeyNotFound)
}

// hkpURL maps LXC's hkp://HOST (port 11371) and hkps://HOST to the http(s)
// URLs they mean. Plain HTTP is acceptable here because the fingerprint of
// whatever comes back is checked.
func hkpURL(s string) string {
	if rest, ok := strings.CutPrefix(s, "hkps://"); ok {
		return "https://" + rest
	}
	rest, ok := strings.CutPrefix(s, "hkp://")
	if !ok {
		return s
	}
	host, path, _ := strings.Cut(rest, "/")
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(strings.Trim(host, "[]"), "11371")
	}
	if path != "" {
		path = "/" + path
	}
	return "http://" + host + path
}

// defaultKey parses the embedded key and proves it is the pinned one.
func defaultKey() (*pinned, error) {
	list, err := readKeys(defaultKeyArmored)
	if err != nil {
		return nil, fmt.Errorf("embedded key: %w", err)
	}
	if p, ok := pick(list, DefaultFingerprint); ok {
		return p, nil
	}
	return nil, fmt.Errorf("embedded key: %w", ErrKeyNotFound)
}

// KeyInfo describes one trusted key.
type KeyInfo struct {
	Fingerprint string    `json:"fingerprint"`
	UserID      string    `json:"user_id"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires,omitzero"`  // zero: never
	Default     bool      `json:"default,omitempty"` // the embedded key
	File        string    `json:"file,omitempty"`    // in the trust store
}

func keyInfo(e *openpgp.Entity) KeyInfo {
	ki := KeyInfo{Fingerprint: fingerprintOf(e), Created: e.PrimaryKey.CreationTime}
	sig, id := e.PrimaryIdentity(time.Time{}, nil)
	if id != nil {
		ki.UserID = id.Name
	}
	if sig != nil && sig.KeyLifetimeSecs != nil && *sig.KeyLifetimeSecs != 0 {
		ki.Expires = ki.Created.Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second)
	}
	return ki
}

// AddKeys copies every public key of the key file r into the trust store dir
// ("" = TrustDir()), one FINGERPRINT.asc each, and describes them. A file
// with any secret key material is refused with ErrSecretKey.
func AddKeys(dir string, r io.Reader) ([]KeyInfo, error) {
	if dir == "" {
		var err error
		if dir, err = TrustDir(); err != nil {
			return nil, err
		}
	}
	data, err := io.ReadAll(io.LimitReader(r, maxKeyBytes))
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	list, err := readKeys(data)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	var out []KeyInfo
	for _, e := range list {
		ki := keyInfo(e)
		ki.File = filepath.Join(dir, ki.Fingerprint+".asc")
		if err := writeArmoredKey(ki.File, e); err != nil {
			return nil, fmt.Errorf("add key %s: %w", ki.Fingerprint, err)
		}
		out = append(out, ki)
	}
	return out, nil
}

func writeArmoredKey(name string, e *openpgp.Entity) (err error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return err
	}
	if err := e.Serialize(w); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return fileio.WriteAtomic(name, buf.Bytes(), 0o644)
}

// ListKeys describes the embedded default key and every key in the trust
// store dir ("" = TrustDir()), the default first, then by fingerprint.
func ListKeys(dir string) ([]KeyInfo, error) {
	def, err := defaultKey()
	if err != nil {
		return nil, err
	}
	ki := keyInfo(def.ring[0])
	ki.Default = true
	out := []KeyInfo{ki}
	if dir == "" {
		if dir, err = TrustDir(); err != nil {
			return nil, err
		}
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.asc"))
	if err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		list, err := readKeyFile(name)
		if err != nil {
			return nil, fmt.Errorf("trust store: %w", err)
		}
		for _, e := range list {
			ki := keyInfo(e)
			ki.File = name
			out = append(out, ki)
		}
	}
	return out, nil
}
