package image

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

func decompressWith(t *testing.T, d XZDecoder, compressed []byte) ([]byte, error) {
	t.Helper()
	f := writeTemp(t, compressed)
	// The decoders read from the start, whatever the offset.
	if _, err := f.Seek(int64(len(compressed)/2), io.SeekStart); err != nil {
		t.Fatal(err)
	}
	r, used, err := DecompressXZ(f, d)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if d != XZAuto && used != d {
		t.Errorf("DecompressXZ(%q) used %q", d, used)
	}
	return io.ReadAll(r)
}

// TestDecompressXZ runs both decoders on good, corrupt and truncated
// files: the same bytes or an error, never a short stream that ends in EOF.
func TestDecompressXZ(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		testenv.Skipf(t, "xz-utils is not installed")
	}
	data := content(2<<20, 5)
	single := xzGo(t, data, 0)
	multi := xzUtils(t, data, "-T2", "--block-size=256KiB")
	for _, d := range []XZDecoder{XZGo, XZUtils, XZAuto} {
		for _, tc := range []struct {
			name       string
			compressed []byte
			ok         bool
		}{
			{"single block", single, true},
			{"multi block", multi, true},
			{"flipped bit", flipAt(single, len(single)/2), false},
			{"flipped bit in a block", flipAt(multi, len(multi)/3), false},
			{"flipped check", flipAt(single, len(single)-40), false},
			{"truncated", single[:len(single)-100], false},
			{"truncated at a block", multi[:len(multi)/2], false},
			{"trailing garbage", append(bytes.Clone(single), "garbage!"...), false},
			{"not xz", []byte("plain text, not xz"), false},
		} {
			got, err := decompressWith(t, d, tc.compressed)
			switch {
			case tc.ok && (err != nil || !bytes.Equal(got, data)):
				t.Errorf("DecompressXZ(%q) of %s = %d bytes, %v; want the %d bytes", d, tc.name, len(got), err, len(data))
			case !tc.ok && err == nil:
				t.Errorf("DecompressXZ(%q) of %s = %d bytes, nil error; want an error", d, tc.name, len(got))
			}
		}
	}
}

func flipAt(b []byte, at int) []byte {
	b = bytes.Clone(b)
	b[at] ^= 0x40
	return b
}

func TestDecompressXZWithoutXZUtils(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	data := content(64<<10, 6)
	if _, err := decompressWith(t, XZUtils, xzGo(t, data, 0)); !errors.Is(err, ErrNoXZUtils) {
		t.Errorf("DecompressXZ(%q) without xz in PATH = %v, want ErrNoXZUtils", XZUtils, err)
	}
	r, used, err := DecompressXZ(writeTemp(t, xzGo(t, data, 0)), XZAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if used != XZGo || err != nil || !bytes.Equal(got, data) {
		t.Errorf("DecompressXZ(auto) without xz in PATH used %q: %d bytes, %v; want go and the data", used, len(got), err)
	}
}

func TestDecompressXZCloseEarly(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		testenv.Skipf(t, "xz-utils is not installed")
	}
	r, _, err := DecompressXZ(writeTemp(t, xzGo(t, content(3<<20, 7), 0)), XZUtils)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := r.Read(make([]byte, 10)); err == nil {
		t.Errorf("Read after Close succeeded")
	}
	if c := r.(*xzCommand); c.cmd.ProcessState == nil {
		t.Errorf("xz still running after Close")
	}
}

func TestParseXZDecoder(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want XZDecoder
		ok   bool
	}{
		{"", XZAuto, true}, {"auto", XZAuto, true}, {"xz-utils", XZUtils, true}, {"xz", XZUtils, true},
		{"go", XZGo, true}, {"lzma", "", false}, {"GO", "", false},
	} {
		got, err := ParseXZDecoder(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseXZDecoder(%q) = %q, %v, want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// The file handed to xz is a copy of the caller's descriptor: the
// caller's offset stays where it was.
func TestDecompressXZKeepsOffset(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		testenv.Skipf(t, "xz-utils is not installed")
	}
	f := writeTemp(t, xzGo(t, content(1<<20, 8), 0))
	f.Seek(7, io.SeekStart)
	r, _, err := DecompressXZ(f, XZUtils)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r)
	r.Close()
	if off, _ := f.Seek(0, io.SeekCurrent); off != 7 {
		t.Errorf("offset after DecompressXZ = %d, want 7", off)
	}
}
