//go:build !ulxc_lean

package main

import (
	"errors"
	"net"

	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/hostcheck"
	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/publish"
)

// This file and create.go, images.go, keys*.go and image*.go are the image verbs: the
// code that fetches, verifies and unpacks images, which links an HTTP
// client and OpenPGP. The ulxc that scripts/setup installs is built with
// -tags ulxc_lean, without them (imageverbs_lean.go), and runs these verbs
// by exec'ing ulxc-image, this full build; see README, "Binaries".

func init() {
	childEntries = append(childEntries,
		childVerb{"__template", templateChild}, // template.ChildEntry: create's unpack
		childVerb{"__pack", publish.ChildMain}) // publish.ChildEntry: image pack's read of a rootfs
}

// buildCheck is checkconfig's line about this build: the full one carries
// the image verbs itself.
func buildCheck() []hostcheck.Result { return nil }

// imageHints are the hints for the errors of the image verbs.
func imageHints(err error) []string {
	var out []string
	switch {
	case errors.Is(err, pgperrors.ErrKeyExpired):
		out = append(out, "the signing key has expired: update ulxc, or pass --keyid with the publisher's new key")
	case errors.Is(err, download.ErrBadSignature):
		out = append(out, "the index or image is not signed by the pinned key: a broken mirror or tampering; use --no-validate only if you trust the transport")
	}
	if errors.Is(err, download.ErrKeyNotFound) {
		out = append(out, "add the key with 'ulxc keys add FILE', or pass --keyring FILE or --keyserver URL")
	}
	if errors.Is(err, download.ErrStaleSignature) || errors.Is(err, download.ErrChecksum) {
		out = append(out, "the server serves a file of another build under this build's path: a broken mirror or tampering; try again later or another --server")
	}
	if errors.Is(err, download.ErrTooLarge) {
		out = append(out, "the server sends a file larger than any image needs: a broken mirror or tampering; try another --server")
	}
	if errors.Is(err, download.ErrDowngrade) {
		out = append(out, "the server offers an older build than the cached one (a replayed index?); --flush-cache accepts it")
	}
	// Refused, unresolvable, unreachable or timed out; not a TLS or HTTP
	// failure, which the server answered.
	var oe *net.OpError
	var de *net.DNSError
	var ne net.Error
	if errors.As(err, &oe) || errors.As(err, &de) || errors.As(err, &ne) && ne.Timeout() {
		out = append(out, "the image server cannot be reached: check the network (and https_proxy behind a proxy), or name a mirror or a local server with --server URL")
	}
	if errors.Is(err, download.ErrNotKey) {
		out = append(out, "give a public key file, armored (-----BEGIN PGP PUBLIC KEY BLOCK-----) or binary, as 'gpg --export --armor FINGERPRINT' writes it")
	}
	if errors.Is(err, download.ErrNoMatch) {
		out = append(out, "see what the server offers: ulxc images --server SERVER -d DIST")
	}
	if errors.Is(err, download.ErrNotCached) {
		out = append(out, "run without --force-cache to download the image")
	}
	if errors.Is(err, image.ErrDynamicBusybox) {
		out = append(out, "install a static busybox (as root): apt-get install busybox-static")
	}
	if errors.Is(err, image.ErrUnmappedID) {
		out = append(out, "the image uses ids beyond the container's map: give it 65536 ids (as root): "+usermodFix())
	}
	if errors.Is(err, image.ErrInsecurePath) {
		out = append(out, "the image tries to write outside its rootfs: it is corrupt or malicious, do not use it")
	}
	if errors.Is(err, image.ErrLimit) {
		out = append(out, "the image is larger than the unpack limits (16 GiB, 2M entries)")
	}
	return out
}

// inFullBuild: this is the full build, which documents every verb itself.
func (e *env) inFullBuild(string, []string) (bool, error) { return false, nil }
