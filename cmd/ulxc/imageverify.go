//go:build !ulxc_lean

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ulxc/ulxc/download"
)

const imageVerifyUsage = `Usage: ulxc image verify FILE [--signature FILE.asc] [--keyid FPR [--keyring FILE | --keyserver URL]]

Check FILE's detached signature (FILE.asc unless --signature) as 'ulxc create'
checks a download: made by the pinned key (the built-in linuxcontainers key,
or --keyid's, from --keyring, the trust store or --keyserver), neither
expired nor revoked, with no weak hash, and not older than the build its
directory names. For a SHA256SUMS, also check each file it lists that sits
beside it. One line per file; the exit status is 0 only when all hold.

Examples:
  ulxc image verify ~/tree/images/busybox/1.36/amd64/default/20240101_00:00/SHA256SUMS \
      --keyid FINGERPRINT --keyring ~/.config/ulxc/signing/images.asc
  ulxc image verify rootfs.tar.xz
`

func cmdImageVerify(e *env, args []string) error {
	fs := e.newFlagSet("image verify")
	sig := fs.String("signature", "", "the armored detached signature `FILE` (default FILE.asc)")
	keyID := fs.String("keyid", "", "trust the key with this full `FINGERPRINT` instead of the linuxcontainers key")
	keyring := fs.String("keyring", "", "take the --keyid key from this key `FILE`")
	keyserver := fs.String("keyserver", "", "fetch the --keyid key from this HKP `URL` if it is not in the trust store")
	if err := e.parse(fs, imageVerifyUsage, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("image verify: want one FILE (see 'ulxc image verify --help')")
	}
	df := downloadFlags{keyID: *keyID, keyring: *keyring, keyserver: *keyserver}
	o, err := df.options(e)
	if err != nil {
		return err
	}
	checks, err := download.VerifyFile(context.Background(), fs.Arg(0), download.VerifyOptions{
		Key: o.Key, Signature: *sig, Options: download.Options{UserAgent: o.UserAgent}})
	var failed []error
	for _, c := range checks {
		switch {
		case c.Err != nil:
			failed = append(failed, c.Err)
			fmt.Fprintf(e.stdout, "%s: %s FAILED: %v\n", c.File, c.What, c.Err)
		case c.Skipped:
			fmt.Fprintf(e.stdout, "%s: not present, not checked\n", c.File)
		case c.What == "signature":
			fmt.Fprintf(e.stdout, "%s: good signature by %s, made %s\n", c.File, c.Signer, c.Signed.UTC().Format(time.DateTime+" MST"))
		default:
			fmt.Fprintf(e.stdout, "%s: matches SHA256SUMS\n", c.File)
		}
	}
	switch {
	case len(failed) > 1:
		// One line: each failure is on stdout with its file. Not wrapped:
		// the hints for a server's errors do not fit a local file.
		return fmt.Errorf("image verify: %v (and %d more failures)", failed[0], len(failed)-1)
	case len(failed) == 1:
		return fmt.Errorf("image verify: %v", failed[0])
	case err != nil: // nothing was checked: no key, no signature file
		return fmt.Errorf("image verify: %w", err)
	}
	return nil
}
