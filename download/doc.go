// Package download fetches LXC images from a meta/1.0 image server
// (images.linuxcontainers.org and its mirrors), verifies them against a
// pinned OpenPGP key and keeps them in a per-user cache.
//
// Fetch is the one entry point callers need: it turns a Request (server,
// distribution, release, architecture, variant) into an Image whose rootfs and
// meta tarballs sit, verified, in the cache. VerifyFile applies the same
// checks to files on disk (a maintainer's tree, a mirror), and CheckEntry
// the index syntax to a line about to be published.
//
// # What it guarantees
//
//   - The index, rootfs.tar.xz and meta.tar.xz are each verified with their
//     armored detached signature (.asc) before anything is parsed or enters the
//     cache. The signer's primary key fingerprint must equal the pinned one
//     (never a 64-bit key id); the signature must use a modern hash (SHA-1,
//     MD5 and RIPEMD-160 message signatures are refused); the key must be
//     neither expired nor revoked, both when the signature was made and now.
//     Every such failure is ErrBadSignature.
//   - A signature binds its file to the build it is served as. lxc-ci names
//     a build (BUILD, e.g. 20240102_05:24) after the UTC minute it started
//     and signs its files later, when it publishes them; so a signature of
//     rootfs.tar.xz, meta.tar.xz or SHA256SUMS made more than an hour (the
//     slack for clock skew between the machines) before its build started
//     is ErrStaleSignature: an older build's file, validly signed, served
//     under the newest build's path. A build id that is not such a time (a
//     server that numbers its builds otherwise) binds nothing, and only the
//     rest of the checks apply.
//   - Where the build directory has a SHA256SUMS (lxc-ci publishes one, and
//     its signature, with every build), it is fetched before the tarballs,
//     verified like them (key and build time) and parsed strictly; each
//     tarball must then be listed with its SHA-256, or it is ErrChecksum.
//     That binds rootfs.tar.xz and meta.tar.xz to each other and to the
//     build even within the slack. A SHA256SUMS without its signature is
//     ErrBadSignature; a 404 is no error (older or third-party servers).
//   - The default key is the linuxcontainers image-signing key, embedded in
//     the binary and pinned by its fingerprint (DefaultFingerprint). Another
//     key is pinned by its full 40-hex-digit fingerprint and comes from a
//     keyring file, the user's trust store (TrustDir) or an HKP keyserver; the
//     fingerprint is checked after every load.
//   - Index paths cannot leave the server: a PATH must be absolute and clean,
//     is appended to the server's own URL and never changes its host. Plain
//     HTTP is used only when the server URL says http://, and a redirect from
//     https to http is refused.
//   - The build selected is the greatest BUILD among matching index lines; a
//     build older than the trusted cached one is refused (ErrDowngrade), which
//     stops a replayed old (but validly signed) index.
//   - The cache is committed by renaming: each build is staged in a
//     temporary directory, verified, fsynced and renamed into place, then the
//     "current" symlink is atomically replaced. A crash at any instant leaves
//     the previous complete entry or the new complete entry. A lock file per
//     image serialises concurrent fetches, so the second waits and reuses.
//   - Nothing a server sends is unbounded (see "Size limits"): a file larger
//     than its limit is refused with ErrTooLarge, naming the URL and the
//     limit, before it is verified and without a retry, and what was
//     written of it is removed.
//   - Entries fetched with NoValidate are recorded as such; a later validating
//     Fetch does not trust them and downloads again.
//   - A decompressed rootfs kept in the cache (see below) is only ever made
//     by Decompress from the committed rootfs.tar.xz, and only trusted by
//     OpenTar while it matches what the entry recorded at commit.
//
// # Cache layout
//
//	CacheDir/DIST/RELEASE/ARCH/VARIANT/
//	    .lock                 flock(2) held while fetching or committing
//	    current -> build.XXXX the committed entry (symlink swapped by rename)
//	    build.XXXX/           rootfs.tar.xz(.asc), meta.tar.xz(.asc), state.json,
//	                          rootfs.tar and rootfs.tar.json once decompressed
//	    .partial-BUILD/       a download in progress (see "Partial downloads")
//
// state.json records the build id, whether the entry was validated, the
// fingerprint it was validated with, the expiry read from meta.tar.xz and
// the SHA-256 and size of rootfs.tar.xz, taken after its verification.
//
// # Size limits
//
// A mirror can replay a genuine signed index and then serve anything under
// its paths; signatures are only checked once a file is complete, so every
// download is bounded while it arrives:
//
//	index                  16 MiB
//	signatures (.asc)      64 KiB
//	SHA256SUMS              1 MiB
//	meta.tar.xz            32 MiB, what readExpiry would decompress at most
//	rootfs.tar.xz          16 GiB, the unpack limit (image.DefaultMaxBytes)
//	keys from a keyserver   1 MiB
//
// A Content-Length (or, on a resume, the announced rest) beyond the limit
// is refused before the body is read; a body without one is read to one
// byte past the limit and no further.
//
// # Partial downloads
//
// A transfer that fails on the network (a cut connection, a timeout, an
// interrupted run) keeps what it wrote in .partial-BUILD, and the next
// Fetch of the same build resumes it with a Range request. That is sound
// because nothing in it is trusted: each file is verified in full, as if
// newly downloaded, before it is committed, and the resumed size still
// counts against the file's limit. Any other failure while the build
// downloads removes the partial download: a verification failure of any
// kind, a file over its limit, an HTTP error status, a failed commit. Staging a build removes the partial
// downloads of other builds of the image, so the cache holds at most one,
// no larger than one build's limits.
//
// # The kept decompressed rootfs
//
// Decompressing rootfs.tar.xz costs more CPU than anything else in a
// create, so the first create of an image keeps the plain tar next to it and
// later creates read that instead (OpenTar). Decompress writes it while the
// stream goes by, to a temporary file in the build directory, and Keep
// commits it only when the decoder reached the end without error (every xz
// check passed), the compressed bytes had the SHA-256 recorded in
// state.json, and the entry is still the current one (under its lock); the
// file is fsynced, rootfs.tar.json is written (the rootfs.tar.xz digest it
// came from, the tar's own SHA-256 and size) and the tar renamed into
// place. OpenTar trusts it only while that record names the digest in
// state.json and rootfs.tar.xz and the tar have the recorded sizes; the
// caller checks the tar's SHA-256 with Verify while it reads it. Anything
// else is ErrNoTar and the file is removed. The tar lives and dies with its
// build directory: a newer build prunes it and FlushCache (--flush-cache)
// removes it with the rest. Entries committed before digests were recorded
// keep no tar.
//
// Disk cost: the uncompressed size of the rootfs on top of the compressed
// one, per cached image: 200 MiB beside the 68 MiB of a Debian minbase, so
// the cached image takes about four times its download. Flushing the cache or removing the build
// directory's rootfs.tar gives it back (the next create decompresses
// again).
//
// # Index syntax
//
// ParseIndex is strict: every non-empty line must have exactly six fields with
// safe characters and a clean absolute PATH, or the whole index is refused
// with a *SyntaxError naming the line. The index is signed, so a malformed
// line means a broken or hostile server, and skipping it would hide that.
//
// # What it does not defend against
//
//   - A compromised signing key, or a server that withholds newer builds
//     (freeze attack): the signed index carries no timestamp, so ulxc can only
//     refuse to go backwards from what it has already seen.
//   - With NoValidate nothing but TLS (if https) protects the download
//     (neither signatures nor SHA256SUMS are read); Warn is called on every
//     such use.
//   - A server that withholds SHA256SUMS (a 404 is accepted: not every
//     server has one) and serves, under the newest build's path, a file of
//     a build started less than the slack (an hour) before it, or, where
//     build ids are not times, a file of any other build.
//   - A server that sends files up to their limits and then fails
//     verification costs that much bandwidth on every Fetch; one that cuts
//     every transfer short keeps up to one build's limits of disk in the
//     partial download.
//   - Another process of the same user writing into the cache directory: the
//     cache is trusted once committed, like the rest of the user's home.
//   - Image returns paths; a later Fetch of the same image may replace the
//     entry (a newer build, FlushCache). Open the files right after Fetch;
//     open file descriptors stay valid.
package download
