//go:build !ulxc_lean

package main

import (
	"errors"
	"fmt"

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
	childEntries["__template"] = templateChild // template.ChildEntry: create's unpack
	childEntries["__pack"] = publish.ChildMain // publish.ChildEntry: image pack's read of a rootfs
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
		out = append(out, fmt.Sprintf("the image uses ids beyond the container's map: give it 65536 ids (as root): usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s", currentUser()))
	}
	if errors.Is(err, image.ErrInsecurePath) {
		out = append(out, "the image tries to write outside its rootfs: it is corrupt or malicious, do not use it")
	}
	if errors.Is(err, image.ErrLimit) {
		out = append(out, "the image is larger than the unpack limits (16 GiB, 2M entries)")
	}
	return out
}
