package download

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

func TestParseSums(t *testing.T) {
	a, b := strings.Repeat("ab", 32), strings.Repeat("0f", 32)
	tests := []struct {
		name, in string
		want     sums // nil: an error
	}{
		{"lxc-ci", a + "  rootfs.tar.xz\n" + b + "  meta.tar.xz\n", sums{"rootfs.tar.xz": a, "meta.tar.xz": b}},
		{"binary mode", a + " *rootfs.tar.xz\n", sums{"rootfs.tar.xz": a}},
		{"upper case, CRLF, blank lines", strings.ToUpper(a) + "  rootfs.tar.xz\r\n\n", sums{"rootfs.tar.xz": a}},
		{"empty", "", sums{}},
		{"one space", a + " rootfs.tar.xz\n", nil},
		{"no name", a + "  \n", nil},
		{"short sum", a[:62] + "  rootfs.tar.xz\n", nil},
		{"not hex", strings.Repeat("zz", 32) + "  rootfs.tar.xz\n", nil},
		{"md5", strings.Repeat("ab", 16) + "  rootfs.tar.xz\n", nil},
		{"control character", a + "  rootfs.tar.xz\r\r\n", nil},
		{"listed twice", a + "  rootfs.tar.xz\n" + b + "  rootfs.tar.xz\n", nil},
	}
	for _, tc := range tests {
		got, err := parseSums([]byte(tc.in))
		if tc.want == nil {
			if err == nil {
				t.Errorf("parseSums(%s) = %v, want an error", tc.name, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseSums(%s) = %v, %v, want %v", tc.name, got, err, tc.want)
		}
	}
}

func TestSumsCheck(t *testing.T) {
	data := []byte("rootfs")
	sum := sha256.Sum256(data)
	other := sha256.Sum256([]byte("other"))
	s, err := parseSums([]byte(strings.ToUpper(hex.EncodeToString(sum[:])) + "  rootfs.tar.xz\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.check("rootfs.tar.xz", sum[:]); err != nil {
		t.Errorf("check of the listed sum = %v", err)
	}
	for _, tc := range []struct {
		name string
		sum  []byte
	}{{"rootfs.tar.xz", other[:]}, {"meta.tar.xz", sum[:]}} {
		if err := s.check(tc.name, tc.sum); !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("check(%s, %x) = %v, want ErrChecksum naming the file", tc.name, tc.sum, err)
		}
	}
}

// FuzzParseSums checks that accepted sums are SHA-256 sums of named files
// and that parsing is stable.
func FuzzParseSums(f *testing.F) {
	seeds, err := filepath.Glob("testdata/sums/*.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseSums(data)
		if err != nil {
			return
		}
		var b strings.Builder
		for name, sum := range s {
			if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size || sum != strings.ToLower(sum) {
				t.Fatalf("parseSums accepted sum %q", sum)
			}
			if name == "" || strings.ContainsFunc(name, unicode.IsControl) {
				t.Fatalf("parseSums accepted name %q", name)
			}
			fmt.Fprintf(&b, "%s  %s\n", sum, name)
		}
		again, err := parseSums([]byte(b.String()))
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("re-parse = %v, %v, want %v", again, err, s)
		}
	})
}
