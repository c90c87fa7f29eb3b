package download

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ulxc/ulxc/internal/fileio"
)

var (
	// ErrDowngrade means the server offers a build older than the one in
	// the cache: a replayed old index, or a server rolled back. Flush the
	// cache to accept it.
	ErrDowngrade = errors.New("server offers an older build than the cached one")
	// ErrNotCached means ForceCache found no usable entry.
	ErrNotCached = errors.New("image not in cache")
)

// Size limits on what a server may send, enforced while the bytes arrive,
// before anything is verified (see doc.go, "Size limits"). Signatures
// (maxSigBytes) and keys (maxKeyBytes) have theirs beside their readers.
const (
	maxIndexBytes = 16 << 20
	// maxMetaXZBytes: readExpiry reads no more than maxMetaBytes out of
	// meta.tar.xz, so a compressed file larger than that is no metadata
	// tarball.
	maxMetaXZBytes = maxMetaBytes
)

// maxRootfsBytes is the unpack limit, image.DefaultMaxBytes (16 GiB of file
// contents; download does not import image): a larger rootfs.tar.xz holds
// more than Unpack accepts, short of incompressible contents right at the
// limit. It is a variable so that tests can lower it.
var maxRootfsBytes int64 = 16 << 30

// Options tune Fetch and List. The zero value downloads from the server in
// the request, verifies with the embedded key and caches in
// DefaultCacheDir().
type Options struct {
	// CacheDir holds the cache; default DefaultCacheDir().
	CacheDir string
	// Key says which key to trust; the zero value trusts the embedded
	// linuxcontainers key.
	Key KeySource
	// NoValidate skips signature checks; Warn is called on every use. Such
	// entries are marked in the cache and not trusted by validating runs.
	NoValidate bool
	// FlushCache removes the cached entry before fetching.
	FlushCache bool
	// ForceCache uses the cached entry without any network access and fails
	// with ErrNotCached when there is none.
	ForceCache bool
	// HTTPClient is used for every request; default: a client with
	// timeouts, proxies from the environment and no https->http redirects.
	HTTPClient *http.Client
	// UserAgent is sent with every request; default "ulxc" (the CLI sends
	// "ulxc/VERSION").
	UserAgent string
	// Progress receives a one-line progress bar per tarball; default none.
	Progress io.Writer
	// Now is the clock for expiry and key validity; default time.Now.
	Now func() time.Time
	// Retries is how often a request is repeated after a network error or a
	// 5xx answer, with exponential backoff; default 3, negative for none.
	Retries int
	// RetryDelay is the first backoff delay, doubled for each retry;
	// default 500ms.
	RetryDelay time.Duration
	// IdleTimeout aborts a request that receives nothing for this long;
	// default 60s.
	IdleTimeout time.Duration
	// Warn receives warnings (NoValidate); default: discarded.
	Warn func(string)
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) warn(format string, a ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, a...))
	}
}

// pin returns the fingerprint entries must have been validated with.
func (o *Options) pin() (string, error) {
	if o.NoValidate {
		return "", nil
	}
	if o.Key.Fingerprint == "" {
		return DefaultFingerprint, nil
	}
	return ParseFingerprint(o.Key.Fingerprint)
}

// Image is a cached image, ready to unpack.
type Image struct {
	Request // with defaults filled in
	// Build is the server's build id of the cached files.
	Build string
	// Dir is the committed cache directory; Rootfs and Meta are the
	// tarballs in it (their signatures are next to them, with ".asc").
	Dir, Rootfs, Meta string
	// Validated is true when the files were verified with the key whose
	// fingerprint is Fingerprint; false only with NoValidate.
	Validated   bool
	Fingerprint string
	// Expiry is when the image should be refreshed (zero: not set).
	Expiry time.Time
	// Downloaded is false when the cache was reused without downloading
	// the tarballs.
	Downloaded bool

	rootfs *fileDigest // of Rootfs when it was verified; nil for old entries
}

func newImage(req Request, dir string, st *state, downloaded bool) *Image {
	return &Image{
		Request: req, Build: st.Build, Dir: dir,
		Rootfs: filepath.Join(dir, "rootfs.tar.xz"), Meta: filepath.Join(dir, "meta.tar.xz"),
		Validated: st.Validated, Fingerprint: st.Fingerprint, Expiry: st.Expiry, Downloaded: downloaded,
		rootfs: st.Rootfs,
	}
}

// Fetch returns req's image from the cache, downloading and verifying it
// first when needed. It is the complete, safe way to get an image:
//
//   - The cache is locked per image; a concurrent Fetch of the same image
//     waits and then reuses what the first one committed.
//   - A trusted, unexpired entry is used without contacting the server (as
//     LXC does). Trusted means validated with the pinned key, or any entry
//     when NoValidate is set.
//   - Otherwise the signed index is fetched and verified, the greatest
//     matching build selected (ErrNoMatch if none), an older build than the
//     trusted cached one refused (ErrDowngrade), and the same build reused.
//   - A new build is downloaded into a staging directory, each file within
//     its size limit (ErrTooLarge), both tarballs are verified
//     (ErrBadSignature, ErrStaleSignature, and ErrChecksum against the
//     build's SHA256SUMS where it has one), the expiry read from
//     meta.tar.xz, and the entry committed atomically. On failure the cache
//     keeps its previous entry; only an interrupted transfer leaves its
//     staged files behind, for the next run to resume and verify again.
func Fetch(ctx context.Context, req Request, opts Options) (*Image, error) {
	req, err := req.withDefaults()
	if err != nil {
		return nil, err
	}
	img, err := fetch(ctx, req, &opts)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", req, err)
	}
	return img, nil
}

func fetch(ctx context.Context, req Request, opts *Options) (*Image, error) {
	if opts.FlushCache && opts.ForceCache {
		return nil, errors.New("flush-cache and force-cache exclude each other")
	}
	base, err := ServerURL(req.Server)
	if err != nil {
		return nil, err
	}
	pin, err := opts.pin()
	if err != nil {
		return nil, err
	}
	if opts.NoValidate {
		opts.warn("signature validation is disabled (--no-validate): the image is not verified")
	}
	cacheDir := opts.CacheDir
	if cacheDir == "" {
		if cacheDir, err = DefaultCacheDir(); err != nil {
			return nil, err
		}
	}
	ent, err := openEntry(ctx, cacheDir, req)
	if err != nil {
		return nil, err
	}
	defer ent.close()
	if opts.FlushCache {
		if err := ent.flush(); err != nil {
			return nil, err
		}
	}
	now := opts.now()
	dir, st := ent.current()
	trusted := st != nil && (opts.NoValidate || (st.Validated && st.Fingerprint == pin))
	switch {
	case opts.ForceCache && !trusted && st != nil:
		return nil, fmt.Errorf("%w: the cached entry was not validated with key %s", ErrNotCached, pin)
	case opts.ForceCache && !trusted:
		return nil, ErrNotCached
	case opts.ForceCache, trusted && !st.Expiry.IsZero() && now.Before(st.Expiry):
		return newImage(req, dir, st, false), nil
	}

	g := newGetter(opts)
	var key *pinned
	if !opts.NoValidate {
		if key, err = opts.Key.load(ctx, g); err != nil {
			return nil, err
		}
	}
	entries, err := fetchIndex(ctx, g, base, key, now)
	if err != nil {
		return nil, err
	}
	sel, err := Select(entries, req)
	if err != nil {
		return nil, err
	}
	if trusted && sel.Build < st.Build {
		return nil, fmt.Errorf("%w: server has %s, cache has %s", ErrDowngrade, sel.Build, st.Build)
	}
	if trusted && sel.Build == st.Build {
		return newImage(req, dir, st, false), nil
	}
	stage, err := ent.staging(sel.Build)
	if err != nil {
		return nil, err
	}
	if err := download(ctx, g, base, sel, stage, key, now); err != nil {
		if !isTransfer(err) {
			os.RemoveAll(stage)
		}
		return nil, err
	}
	expiry, err := readExpiry(filepath.Join(stage, "meta.tar.xz"))
	if err != nil {
		os.RemoveAll(stage)
		return nil, err
	}
	// The digest is taken after verification, of the file that is about
	// to be committed: what Decompress checks before it keeps a tar.
	digest, err := digestFile(filepath.Join(stage, "rootfs.tar.xz"))
	if err != nil {
		os.RemoveAll(stage)
		return nil, fmt.Errorf("digest rootfs.tar.xz: %w", err)
	}
	st = &state{Build: sel.Build, Validated: key != nil, Expiry: expiry, Fetched: now, Server: base.String(), Rootfs: digest}
	if key != nil {
		st.Fingerprint = key.fpr
	}
	final, err := ent.commit(stage, st)
	if err != nil {
		os.RemoveAll(stage)
		return nil, err
	}
	return newImage(req, final, st, true), nil
}

// transferError marks a failed transfer whose partial file is worth keeping.
type transferError struct{ err error }

func (e *transferError) Error() string { return e.err.Error() }
func (e *transferError) Unwrap() error { return e.err }

func isTransfer(err error) bool {
	var te *transferError
	return errors.As(err, &te)
}

// download fetches and verifies rootfs.tar.xz and meta.tar.xz (with their
// signatures and the build's SHA256SUMS) into stage. Complete files left
// by an earlier interrupted run are reused and verified like new ones.
func download(ctx context.Context, g *getter, base *url.URL, sel IndexEntry, stage string, key *pinned, now time.Time) error {
	dirPath := strings.TrimSuffix(sel.Path, "/") + "/"
	var sums sums
	if key != nil {
		var err error
		if sums, err = fetchSums(ctx, g, base, dirPath, sel.Build, key, now); err != nil {
			return err
		}
	}
	for _, file := range []struct {
		name  string
		limit int64
	}{{"meta.tar.xz", maxMetaXZBytes}, {"rootfs.tar.xz", maxRootfsBytes}} {
		name := file.name
		u := join(base, dirPath+name)
		local := filepath.Join(stage, name)
		var sig []byte
		if key != nil {
			var err error
			if sig, err = g.small(ctx, u+".asc", maxSigBytes); err != nil {
				return &SignatureError{File: name, Err: fmt.Errorf("get signature: %w", err)}
			}
			if err := fileio.WriteAtomic(local+".asc", sig, 0o600); err != nil {
				return err
			}
		}
		if _, err := os.Stat(local); err != nil {
			if err := g.file(ctx, u, local+".part", name, file.limit); err != nil {
				var se *StatusError
				if errors.As(err, &se) || errors.Is(err, ErrTooLarge) {
					return err
				}
				return &transferError{err}
			}
			if err := os.Rename(local+".part", local); err != nil {
				return err
			}
		}
		if key == nil {
			continue
		}
		if err := verifyFile(key, name, local, sig, now, sel.Build, sums); err != nil {
			return err
		}
	}
	return nil
}

// verifyFile verifies the file local, served as name in build, with its
// signature sig (made by the pinned key, and not before the build) and,
// unless sums is nil, against the build's SHA256SUMS.
func verifyFile(key *pinned, name, local string, sig []byte, now time.Time, build string, sums sums) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	// One read serves both checks.
	h := sha256.New()
	signed, err := key.verify(name, io.TeeReader(f, h), sig, now)
	if err != nil {
		return err
	}
	if err := bindToBuild(name, signed, build); err != nil {
		return err
	}
	if sums == nil {
		return nil
	}
	if _, err := io.Copy(h, f); err != nil { // whatever verify left unread
		return err
	}
	return sums.check(name, h.Sum(nil))
}

// fetchIndex gets index-user.7 or, if the server has none (or no signature
// for it), index-user, and verifies it when key is not nil.
func fetchIndex(ctx context.Context, g *getter, base *url.URL, key *pinned, now time.Time) ([]IndexEntry, error) {
	data, err := getIndex(ctx, g, base, key, now, "index-user.7")
	if isNotFound(err) {
		data, err = getIndex(ctx, g, base, key, now, "index-user")
	}
	if err != nil {
		return nil, err
	}
	return ParseIndex(bytes.NewReader(data))
}

func getIndex(ctx context.Context, g *getter, base *url.URL, key *pinned, now time.Time, name string) ([]byte, error) {
	u := join(base, "/meta/1.0/"+name)
	data, err := g.small(ctx, u, maxIndexBytes)
	if err != nil {
		return nil, fmt.Errorf("get index: %w", err)
	}
	if key == nil {
		return data, nil
	}
	sig, err := g.small(ctx, u+".asc", maxSigBytes)
	if err != nil {
		return nil, &SignatureError{File: name, Err: fmt.Errorf("get signature: %w", err)}
	}
	if _, err := key.verify(name, bytes.NewReader(data), sig, now); err != nil {
		return nil, err
	}
	return data, nil
}

func isNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusNotFound
}

// List returns the server's index entries that match every non-empty field
// of filter (an empty Variant matches all variants), sorted. The index is
// verified like Fetch's unless NoValidate. server "" means filter.Server,
// then DefaultServer.
func List(ctx context.Context, server string, filter Request, opts Options) ([]IndexEntry, error) {
	if server == "" {
		server = filter.Server
	}
	base, err := ServerURL(server)
	if err != nil {
		return nil, err
	}
	g := newGetter(&opts)
	var key *pinned
	if opts.NoValidate {
		opts.warn("signature validation is disabled (--no-validate): the index is not verified")
	} else if key, err = opts.Key.load(ctx, g); err != nil {
		return nil, err
	}
	entries, err := fetchIndex(ctx, g, base, key, opts.now())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", base.Host, err)
	}
	return filterEntries(entries, filter), nil
}

// RootfsSHA256 is the SHA-256 (hex) of Rootfs as it was verified, or ""
// for an entry cached before ulxc recorded it.
func (i *Image) RootfsSHA256() string {
	if i.rootfs == nil {
		return ""
	}
	return i.rootfs.SHA256
}
