package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/image"
)

// Names in a build directory, as lxc-ci publishes them.
const (
	RootfsName = "rootfs.tar.xz"
	MetaName   = "meta.tar.xz"
	SumsName   = "SHA256SUMS"
)

// BuildLayout is how Pack names a build by default, as lxc-ci does: the
// UTC minute it started. download binds signatures to such names.
const BuildLayout = "20060102_15:04"

// DefaultExpiry is how long a packed image is cached by clients before
// they look for a newer build: distrobuilder's default.
const DefaultExpiry = 30 * 24 * time.Hour

// A Source writes a root filesystem as a tar stream (image.Pack's).
type Source interface {
	// Pack writes the tar to w and closes w, also on error.
	Pack(ctx context.Context, w *os.File) (image.PackReport, error)
}

// PackOptions configure Pack.
type PackOptions struct {
	// Tree is the root of the server tree; required.
	Tree string
	// Image names the build: Dist, Release, Arch (a Debian name) and
	// Variant are required; Build defaults to the current UTC minute in
	// BuildLayout. Path is set by Pack.
	Image download.IndexEntry
	// Key signs rootfs.tar.xz, meta.tar.xz and SHA256SUMS, and its public
	// part is written to TREE/keys/; default: no signatures.
	Key *SigningKey
	// Expiry is how long after packing clients may keep the image
	// cached; default DefaultExpiry.
	Expiry time.Duration
	// CreateMessage is shown after a create; default a line naming the
	// image.
	CreateMessage string
	// Config and ConfigUser are meta.tar.xz's config and config-user;
	// default DistributionConfig("", Image.Arch).
	Config, ConfigUser string
	// XZ tunes the compression of rootfs.tar.xz; default xz-utils at
	// level 6 in blocks of 24 MiB (image.CompressXZ).
	XZ image.XZOptions
	// Now is the clock of the build id, the expiry and the signatures;
	// default time.Now.
	Now func() time.Time
}

// Packed describes a build that Pack wrote.
type Packed struct {
	Image   download.IndexEntry
	Dir     string           // the build directory
	Report  image.PackReport // what the rootfs holds
	Encoder image.XZDecoder  // which xz encoder ran
	// RootfsSize and MetaSize are the sizes of the two tarballs.
	RootfsSize, MetaSize int64
	Signed               bool
}

// Pack writes the build of src that opts name into opts.Tree (see the
// package documentation for the layout): rootfs.tar.xz, meta.tar.xz
// (config, config-user, excludes-user listing the device nodes, templates,
// expiry, create-message), SHA256SUMS and, with a key, their signatures.
// The build directory appears whole or not at all; an existing build is
// never replaced (ErrExist).
func Pack(ctx context.Context, src Source, opts PackOptions) (p *Packed, err error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	start := now()
	img, err := buildEntry(opts.Image, start)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(opts.Tree, "images", img.Dist, img.Release, img.Arch, img.Variant)
	final := filepath.Join(dir, img.Build)
	if _, err := os.Lstat(final); err == nil {
		return nil, fmt.Errorf("pack %s: %s: %w (pick another build, or remove it)", img.Path, final, ErrExist)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pack %s: %w", img.Path, err)
	}
	stage, err := os.MkdirTemp(dir, "."+img.Build+".partial-")
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", img.Path, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(stage)
		}
	}()
	p = &Packed{Image: img, Dir: final, Signed: opts.Key != nil}
	if err := os.Chmod(stage, 0o755); err != nil {
		return nil, err
	}
	rootfsSum, err := p.rootfs(ctx, src, filepath.Join(stage, RootfsName), opts.XZ)
	if err != nil {
		return nil, fmt.Errorf("pack %s: rootfs: %w", img.Path, err)
	}
	metaSum, err := p.meta(filepath.Join(stage, MetaName), opts, start)
	if err != nil {
		return nil, fmt.Errorf("pack %s: meta: %w", img.Path, err)
	}
	sums := fmt.Sprintf("%s  %s\n%s  %s\n", rootfsSum, RootfsName, metaSum, MetaName)
	if err := WriteFile(filepath.Join(stage, SumsName), []byte(sums), 0o644); err != nil {
		return nil, fmt.Errorf("pack %s: %w", img.Path, err)
	}
	if opts.Key != nil {
		for _, name := range []string{RootfsName, MetaName, SumsName} {
			if err := opts.Key.SignFile(filepath.Join(stage, name), now()); err != nil {
				return nil, fmt.Errorf("pack %s: %w", img.Path, err)
			}
		}
		if err := PublishKey(opts.Tree, opts.Key); err != nil {
			return nil, fmt.Errorf("pack %s: %w", img.Path, err)
		}
	}
	if err := syncDir(stage); err != nil {
		return nil, err
	}
	if err := unix.Renameat2(unix.AT_FDCWD, stage, unix.AT_FDCWD, final, unix.RENAME_NOREPLACE); err != nil {
		if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
			return nil, fmt.Errorf("pack %s: %s: %w (made meanwhile by another pack)", img.Path, final, ErrExist)
		}
		return nil, fmt.Errorf("pack %s: commit: %w", img.Path, err)
	}
	return p, syncDir(dir)
}

// buildEntry checks the image's names and fills in Build and Path.
func buildEntry(e download.IndexEntry, now time.Time) (download.IndexEntry, error) {
	for _, f := range []struct{ name, v string }{{"dist", e.Dist}, {"release", e.Release}, {"arch", e.Arch}, {"variant", e.Variant}} {
		if f.v == "" {
			return e, fmt.Errorf("pack: no %s", f.name)
		}
	}
	if e.Build == "" {
		e.Build = now.UTC().Format(BuildLayout)
	}
	e.Path = fmt.Sprintf("/images/%s/%s/%s/%s/%s/", e.Dist, e.Release, e.Arch, e.Variant, e.Build)
	if err := download.CheckEntry(e); err != nil {
		return e, fmt.Errorf("pack %s/%s/%s/%s build %s: %w: use letters, digits and ._+- (and ':' in the build)",
			e.Dist, e.Release, e.Arch, e.Variant, e.Build, err)
	}
	// download refuses a signature made more than its slack (an hour)
	// before the build it is served as: a build id in the future would
	// make every signature of it look replayed.
	if t, err := time.Parse(BuildLayout, e.Build); err == nil && t.After(now.Add(time.Hour)) {
		return e, fmt.Errorf("pack: build %s is in the future: clients would refuse its signatures as older than the build", e.Build)
	}
	return e, nil
}

// rootfs writes the compressed tar of src to name and returns its SHA-256.
func (p *Packed) rootfs(ctx context.Context, src Source, name string, xz image.XZOptions) (string, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	defer f.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return "", err
	}
	unix.FcntlInt(pw.Fd(), unix.F_SETPIPE_SZ, 1<<20)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		report image.PackReport
		err    error
	}
	walked := make(chan result, 1)
	go func() {
		r, err := src.Pack(ctx, pw)
		walked <- result{r, err}
	}()
	h := sha256.New()
	counted := &countWriter{w: io.MultiWriter(f, h)}
	p.Encoder, err = image.CompressXZ(counted, pr, xz)
	pr.Close() // a walk still writing gets EPIPE
	if err != nil {
		cancel()
	}
	w := <-walked
	switch {
	case w.err != nil && (err == nil || !errors.Is(w.err, unix.EPIPE)):
		return "", w.err
	case err != nil:
		return "", fmt.Errorf("compress: %w", err)
	}
	p.Report, p.RootfsSize = w.report, counted.n
	if err := f.Sync(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), f.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// meta writes meta.tar.xz and returns its SHA-256.
func (p *Packed) meta(name string, o PackOptions, now time.Time) (string, error) {
	expiry := o.Expiry
	if expiry == 0 {
		expiry = DefaultExpiry
	}
	config, configUser := DistributionConfig("", p.Image.Arch)
	if o.Config != "" {
		config = o.Config
	}
	if o.ConfigUser != "" {
		configUser = o.ConfigUser
	}
	msg := o.CreateMessage
	if msg == "" {
		i := p.Image
		msg = fmt.Sprintf("You just created a %s %s %s (%s) container, build %s.", i.Dist, i.Release, i.Arch, i.Variant, i.Build)
	}
	m := &image.Meta{
		Config: config, ConfigUser: configUser, CreateMessage: strings.TrimRight(msg, "\n") + "\n",
		ExcludesUser: p.Report.Devices, Templates: p.Report.Templates, Expiry: now.Add(expiry),
	}
	var tarball, xz bytes.Buffer
	if err := m.WriteTar(&tarball, now); err != nil {
		return "", err
	}
	// Kilobytes: one block of the pure-Go encoder, no process to start.
	if _, err := image.CompressXZ(&xz, &tarball, image.XZOptions{Encoder: image.XZGo}); err != nil {
		return "", err
	}
	p.MetaSize = int64(xz.Len())
	if err := WriteFile(name, xz.Bytes(), 0o644); err != nil {
		return "", err
	}
	sum := sha256.Sum256(xz.Bytes())
	return hex.EncodeToString(sum[:]), nil
}

// PublishKey writes the public part of k to TREE/keys/FINGERPRINT.asc,
// where the server's keyserver endpoint finds it.
func PublishKey(tree string, k *SigningKey) error {
	pub, err := k.PublicArmored()
	if err != nil {
		return err
	}
	dir := filepath.Join(tree, "keys")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := filepath.Join(dir, k.Fingerprint()+".asc")
	if old, err := os.ReadFile(name); err == nil && bytes.Equal(old, pub) {
		return nil
	}
	return WriteFile(name, pub, 0o644)
}
