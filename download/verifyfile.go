package download

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// VerifyOptions configure VerifyFile. The zero value checks name.asc with
// the embedded linuxcontainers key, now.
type VerifyOptions struct {
	// Key says which key to trust, as for Fetch.
	Key KeySource
	// Signature is the armored detached signature; default name + ".asc".
	Signature string
	// Build is the build the file belongs to, which its signature must
	// not predate (see ErrStaleSignature); default the name of the file's
	// directory, as the server layout names it (a directory whose name is
	// no build time binds nothing).
	Build string
	// Now is the clock for key validity; default time.Now.
	Now func() time.Time
	// Options supplies the HTTP client and user agent for a Keyserver.
	Options Options
}

// Check is the verdict on one file.
type Check struct {
	File string // as given, or beside the SHA256SUMS
	// What was checked: "signature" or "checksum".
	What string
	// Signer and Signed say who made a good signature and when.
	Signer string
	Signed time.Time
	// Skipped is set for a file SHA256SUMS lists that is not beside it.
	Skipped bool
	Err     error // nil: it holds
}

// VerifyFile checks the detached signature of the file name as Fetch
// checks a downloaded file: a pinned key, neither expired nor revoked, no
// weak hash, and no older than the build. When name is a SHA256SUMS (by
// its base name), each file it lists that sits beside it must then have
// the listed SHA-256. It returns a Check per file and an error, which
// names each failed file and why, unless all hold.
func VerifyFile(ctx context.Context, name string, o VerifyOptions) ([]Check, error) {
	now := time.Now()
	if o.Now != nil {
		now = o.Now()
	}
	sigName := o.Signature
	if sigName == "" {
		sigName = name + ".asc"
	}
	build := o.Build
	if build == "" {
		build = filepath.Base(filepath.Dir(name))
	}
	key, err := o.Key.load(ctx, newGetter(&o.Options))
	if err != nil {
		return nil, err
	}
	sig, err := readBounded(sigName, maxSigBytes)
	if err != nil {
		return nil, &SignatureError{File: filepath.Base(name), Err: fmt.Errorf("read signature: %w", err)}
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// SHA256SUMS is read once, for the signature and the sums.
	var data io.Reader = f
	var sumsText []byte
	isSums := filepath.Base(name) == sumsName
	if isSums {
		if sumsText, err = readBounded(name, maxSumsBytes); err != nil {
			return nil, err
		}
		data = bytes.NewReader(sumsText)
	}
	c := Check{File: name, What: "signature"}
	c.Signed, c.Err = key.verify(filepath.Base(name), data, sig, now)
	if c.Err == nil {
		c.Signer = key.fpr
		c.Err = bindToBuild(filepath.Base(name), c.Signed, build)
	} else {
		c.Err = fmt.Errorf("%w (the key checked against is %s)", c.Err, key.fpr)
	}
	checks := []Check{c}
	if c.Err != nil || !isSums {
		return checks, failures(checks)
	}
	sums, err := parseSums(sumsText)
	if err != nil {
		checks = append(checks, Check{File: name, What: "checksum", Err: err})
		return checks, failures(checks)
	}
	var names []string
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		checks = append(checks, checkListed(filepath.Join(filepath.Dir(name), n), n, sums))
	}
	return checks, failures(checks)
}

// checkListed compares the file at p with its line in sums.
func checkListed(p, listed string, sums sums) Check {
	c := Check{File: p, What: "checksum"}
	if filepath.Base(listed) != listed {
		// A listed name with a directory is not "beside" SHA256SUMS, and
		// a signed file must not send the check out of its directory.
		c.Skipped = true
		return c
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		c.Skipped = true
		return c
	}
	if err != nil {
		c.Err = fmt.Errorf("%s: %w", listed, err)
		return c
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		c.Err = fmt.Errorf("%s: %w", listed, err)
		return c
	}
	c.Err = sums.check(listed, h.Sum(nil))
	return c
}

// failures joins the errors of checks, each of which names its file, or
// is nil.
func failures(checks []Check) error {
	var errs []error
	for _, c := range checks {
		if c.Err != nil {
			errs = append(errs, c.Err)
		}
	}
	return errors.Join(errs...)
}

func readBounded(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", name, ErrTooLarge, limit)
	}
	return b, nil
}
