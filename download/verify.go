package download

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
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
// pinned key at time now and returns when the signature was made. go-crypto
// checks the key when the signature was made; a key that has since expired
// or been revoked is refused here too, as is any signer whose primary
// fingerprint is not the pin.
func (p *pinned) verify(name string, data io.Reader, sig []byte, now time.Time) (signed time.Time, err error) {
	fail := func(err error) (time.Time, error) { return time.Time{}, &SignatureError{File: name, Err: err} }
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
	return s.CreationTime, nil
}

// ErrStaleSignature means a file of a build carries a signature made before
// that build started: a file of an older build, validly signed, served
// under the newer build's path. The error is a *StaleSignatureError.
var ErrStaleSignature = errors.New("signature older than its build")

// StaleSignatureError is a signature made before the build its file is
// served as.
type StaleSignatureError struct {
	File   string    // the name on the server, e.g. "rootfs.tar.xz"
	Signed time.Time // when the signature was made
	Build  string    // the build id the file is served as
}

func (e *StaleSignatureError) Error() string {
	return fmt.Sprintf("%s: %v: signed %s, more than %s before build %s started",
		e.File, ErrStaleSignature, e.Signed.UTC().Format(time.DateTime+" MST"),
		strings.TrimSuffix(signatureSlack.String(), "0m0s"), e.Build)
}

func (e *StaleSignatureError) Unwrap() error { return ErrStaleSignature }

// buildLayout is a build id as lxc-ci writes it, `date -u +%Y%m%d_%H:%M`
// when the build starts; the files are signed when it is published, later.
const buildLayout = "20060102_15:04"

// signatureSlack is how much earlier than its build id a genuine signature
// may claim to be: clock skew between the build and signing machines.
// Builds of one image are a day or more apart, so a replayed older build
// is far outside it.
const signatureSlack = time.Hour

// bindToBuild refuses a signature of file made more than signatureSlack
// before build started. A build id that is not a time in buildLayout (a
// server that numbers its builds otherwise) binds nothing.
func bindToBuild(file string, signed time.Time, build string) error {
	start, err := time.Parse(buildLayout, build)
	if err != nil {
		return nil
	}
	if signed.Before(start.Add(-signatureSlack)) {
		return &StaleSignatureError{File: file, Signed: signed, Build: build}
	}
	return nil
}
