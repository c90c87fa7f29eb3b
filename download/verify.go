package download

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// ErrBadSignature means a file's detached signature is missing, malformed,
// made by another key, made with a weak hash, or made by an expired or
// revoked key. It is wrapped with the file's name and the cause.
var ErrBadSignature = errors.New("bad signature")

// SignatureError is a failed verification of one file.
type SignatureError struct {
	File string // the name on the server, e.g. "rootfs.tar.xz"
	Err  error  // the cause
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("%s: %v: %v", e.File, ErrBadSignature, e.Err)
}

func (e *SignatureError) Unwrap() []error { return []error{ErrBadSignature, e.Err} }

const maxSigBytes = 64 << 10

// verify checks the armored detached signature sig over data against the
// pinned key at time now. go-crypto checks the key when the signature was
// made; a key that has since expired or been revoked is refused here too,
// as is any signer whose primary fingerprint is not the pin.
func (p *pinned) verify(name string, data io.Reader, sig []byte, now time.Time) error {
	fail := func(err error) error { return &SignatureError{File: name, Err: err} }
	cfg := &packet.Config{Time: func() time.Time { return now }}
	s, signer, err := openpgp.VerifyArmoredDetachedSignature(p.ring, data, bytes.NewReader(sig), cfg)
	if err != nil {
		return fail(err)
	}
	if signer == nil || s == nil {
		return fail(errors.New("no signer"))
	}
	if fpr := fingerprintOf(signer); fpr != p.fpr {
		return fail(fmt.Errorf("signed by %s, want %s", fpr, p.fpr))
	}
	if _, err := signer.VerifyPrimaryKey(now, cfg); err != nil {
		return fail(fmt.Errorf("key %s now: %w", p.fpr, err))
	}
	if s.IssuerKeyId == nil {
		return fail(errors.New("signature names no issuer"))
	}
	if _, ok := signer.SigningKeyById(now, *s.IssuerKeyId, cfg); !ok {
		return fail(fmt.Errorf("signing key %X of %s is no longer valid", *s.IssuerKeyId, p.fpr))
	}
	return nil
}
