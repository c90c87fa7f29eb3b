package publish

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/ulxc/ulxc/download"
)

// IndexNames are the indexes Index writes, in TREE/meta/1.0/: LXC's
// clients read index-system as root and index-user otherwise, and real
// servers list the same images in both.
var IndexNames = []string{"index-system", "index-user"}

// IndexOptions configure Index.
type IndexOptions struct {
	// Key signs the indexes; default: unsigned (and any old signature
	// removed). With a key, a build whose SHA256SUMS it did not sign is
	// left out: clients that pin it would refuse the build.
	Key *SigningKey
	// Warn receives one line per build left out and why; default: discard.
	Warn func(string)
	// Now is the signatures' time; default time.Now.
	Now func() time.Time
}

// Index (re)writes the tree's indexes: one line per image (dist, release,
// arch, variant) for its greatest BUILD whose directory holds
// rootfs.tar.xz, meta.tar.xz and SHA256SUMS, sorted; with a key, signed.
// Hidden directories (a build being packed) are never listed. It returns
// the lines written.
func Index(tree string, opts IndexOptions) ([]download.IndexEntry, error) {
	warn := func(format string, a ...any) {
		if opts.Warn != nil {
			opts.Warn(fmt.Sprintf(format, a...))
		}
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	var ring openpgp.EntityList
	if opts.Key != nil {
		ring = openpgp.EntityList{opts.Key.e}
	}
	newest := map[[4]string]download.IndexEntry{}
	builds, err := filepath.Glob(filepath.Join(tree, "images", "*", "*", "*", "*", "*"))
	if err != nil {
		return nil, err
	}
	for _, dir := range builds {
		rel, _ := filepath.Rel(filepath.Join(tree, "images"), dir)
		f := strings.Split(rel, string(filepath.Separator))
		if hiddenPath(f) {
			continue
		}
		e := download.IndexEntry{Dist: f[0], Release: f[1], Arch: f[2], Variant: f[3], Build: f[4], Path: "/images/" + rel + "/"}
		if err := download.CheckEntry(e); err != nil {
			warn("images/%s: not listed: %v", rel, err)
			continue
		}
		if why := incomplete(dir, ring); why != "" {
			warn("images/%s: not listed: %s", rel, why)
			continue
		}
		key := [4]string{e.Dist, e.Release, e.Arch, e.Variant}
		if old, ok := newest[key]; !ok || e.Build > old.Build {
			newest[key] = e
		}
	}
	var out []download.IndexEntry
	for _, e := range newest {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	var text bytes.Buffer
	for _, e := range out {
		fmt.Fprintf(&text, "%s;%s;%s;%s;%s;%s\n", e.Dist, e.Release, e.Arch, e.Variant, e.Build, e.Path)
	}
	dir := filepath.Join(tree, "meta", "1.0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	for _, name := range IndexNames {
		p := filepath.Join(dir, name)
		if err := WriteFile(p, text.Bytes(), 0o644); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		if opts.Key == nil {
			if err := os.Remove(p + ".asc"); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("index: remove the old signature: %w", err)
			}
			continue
		}
		if err := opts.Key.SignFile(p, now()); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
	}
	if opts.Key != nil {
		if err := PublishKey(tree, opts.Key); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
	}
	return out, nil
}

func hiddenPath(parts []string) bool {
	for _, p := range parts {
		if strings.HasPrefix(p, ".") {
			return true
		}
	}
	return false
}

// incomplete says why the build directory dir cannot be listed, or "".
// With ring, its SHA256SUMS must carry a signature by that key.
func incomplete(dir string, ring openpgp.EntityList) string {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "not a directory"
	}
	for _, name := range []string{RootfsName, MetaName, SumsName} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || !st.Mode().IsRegular() {
			return "no " + name
		}
	}
	if ring == nil {
		return ""
	}
	sums, err := os.ReadFile(filepath.Join(dir, SumsName))
	if err != nil {
		return err.Error()
	}
	sig, err := os.ReadFile(filepath.Join(dir, SumsName+".asc"))
	if err != nil {
		return "SHA256SUMS is not signed"
	}
	if _, _, err := openpgp.VerifyArmoredDetachedSignature(ring, bytes.NewReader(sums), bytes.NewReader(sig), nil); err != nil {
		return fmt.Sprintf("SHA256SUMS is not signed by %s: %v", fingerprintOf(ring[0]), err)
	}
	return ""
}

func fingerprintOf(e *openpgp.Entity) string {
	return (&SigningKey{e: e}).Fingerprint()
}

// TreeKey finds the secret key that signs tree, for Index without an
// explicit key: the tree's keys/ must hold exactly one public key, and
// keyDir (default KeyDir()) a secret key with its fingerprint. It returns
// nil and no error when the tree has no key at all.
func TreeKey(tree, keyDir string) (*SigningKey, error) {
	pubs, err := filepath.Glob(filepath.Join(tree, "keys", "*.asc"))
	if err != nil {
		return nil, err
	}
	switch len(pubs) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, fmt.Errorf("%s holds %d keys: say which signs with --sign-key", filepath.Join(tree, "keys"), len(pubs))
	}
	fpr := strings.TrimSuffix(filepath.Base(pubs[0]), ".asc")
	if keyDir == "" {
		if keyDir, err = KeyDir(); err != nil {
			return nil, err
		}
	}
	secrets, _ := filepath.Glob(filepath.Join(keyDir, "*.key"))
	for _, s := range secrets {
		if k, err := LoadSigningKey(s); err == nil && k.Fingerprint() == fpr {
			return k, nil
		}
	}
	return nil, fmt.Errorf("the tree is signed by %s, whose secret key is not in %s: give --sign-key FILE", fpr, keyDir)
}
