package download

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// ErrChecksum means a file's SHA-256 differs from the one its build's
// signed SHA256SUMS lists, or SHA256SUMS does not list the file.
var ErrChecksum = errors.New("checksum does not match SHA256SUMS")

const (
	sumsName = "SHA256SUMS"
	// maxSumsBytes bounds SHA256SUMS: lxc-ci writes one line per file of a
	// build, a dozen or so.
	maxSumsBytes = 1 << 20
)

// sums maps a file name of a build directory to its SHA-256 (lower-case
// hex), as the build's SHA256SUMS lists it.
type sums map[string]string

// fetchSums gets the SHA256SUMS of the build directory dirPath and its
// signature, verifies both as the build's files are (key and build time),
// and parses it. A server that has no SHA256SUMS (404) yields nil: the
// files' own signatures are then all there is.
func fetchSums(ctx context.Context, g *getter, base *url.URL, dirPath, build string, key *pinned, now time.Time) (sums, error) {
	u := join(base, dirPath+sumsName)
	data, err := g.small(ctx, u, maxSumsBytes)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", sumsName, err)
	}
	sig, err := g.small(ctx, u+".asc", maxSigBytes)
	if err != nil {
		return nil, &SignatureError{File: sumsName, Err: fmt.Errorf("get signature: %w", err)}
	}
	signed, err := key.verify(sumsName, bytes.NewReader(data), sig, now)
	if err != nil {
		return nil, err
	}
	if err := bindToBuild(sumsName, signed, build); err != nil {
		return nil, err
	}
	return parseSums(data)
}

// parseSums reads sha256sum(1) output: "HEX  NAME" (or "HEX *NAME") per
// line. It is signed, so a malformed line fails the whole file, as a
// malformed index line does, and so does a name listed twice.
func parseSums(data []byte) (sums, error) {
	out := sums{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text() // without its "\n" or "\r\n"
		if line == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, " ")
		name, bin := strings.CutPrefix(name, "*")
		if !bin {
			name, ok = strings.CutPrefix(name, " ")
		}
		if _, err := hex.DecodeString(sum); !ok || err != nil || len(sum) != 64 || name == "" || strings.ContainsFunc(name, unicode.IsControl) {
			return nil, fmt.Errorf("%s line %d: want a SHA-256 and a file name, as sha256sum writes them", sumsName, n)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s line %d: %s listed twice", sumsName, n, name)
		}
		out[name] = strings.ToLower(sum)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", sumsName, err)
	}
	return out, nil
}

// check compares the SHA-256 sum (raw bytes) of the file name with the
// listed one.
func (s sums) check(name string, sum []byte) error {
	want, ok := s[name]
	if !ok {
		return fmt.Errorf("%s: %w: %s does not list it", name, ErrChecksum, sumsName)
	}
	if got := hex.EncodeToString(sum); got != want {
		return fmt.Errorf("%s: %w: %s says %s, the file has %s", name, ErrChecksum, sumsName, want, got)
	}
	return nil
}
