package download

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ulikunitz/xz"
)

// Bounds for reading the expiry out of meta.tar.xz: the metadata tarball is
// a few kilobytes, so anything far larger is refused rather than inflated.
const (
	maxMetaMembers = 256
	maxMetaBytes   = 32 << 20 // decompressed
	maxExpiryBytes = 64
)

// readExpiry returns the time in the "expiry" member of a verified
// meta.tar.xz, or the zero time if there is none.
func readExpiry(name string) (time.Time, error) {
	f, err := os.Open(name)
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	zr, err := xz.NewReader(f)
	if err != nil {
		return time.Time{}, fmt.Errorf("meta.tar.xz: %w", err)
	}
	tr := tar.NewReader(io.LimitReader(zr, maxMetaBytes))
	for i := 0; i < maxMetaMembers; i++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return time.Time{}, nil
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("meta.tar.xz: %w", err)
		}
		if strings.TrimPrefix(h.Name, "./") != "expiry" || h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxExpiryBytes+1))
		if err != nil {
			return time.Time{}, fmt.Errorf("meta.tar.xz: expiry: %w", err)
		}
		s := strings.TrimSpace(string(b))
		if len(b) > maxExpiryBytes {
			return time.Time{}, fmt.Errorf("meta.tar.xz: expiry: longer than %d bytes", maxExpiryBytes)
		}
		secs, err := strconv.ParseInt(s, 10, 64)
		if err != nil || secs < 0 {
			return time.Time{}, fmt.Errorf("meta.tar.xz: expiry %q: not decimal epoch seconds", s)
		}
		return time.Unix(secs, 0), nil
	}
	return time.Time{}, fmt.Errorf("meta.tar.xz: more than %d members", maxMetaMembers)
}
