package image

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ulikunitz/xz"

	"github.com/ulxc/ulxc/internal/testenv"
)

// content returns n bytes that compress like a filesystem: text with some
// noise.
func content(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	for b.Len() < n {
		fmt.Fprintf(&b, "line %d value %x word%d\n", b.Len(), r.Uint32(), r.IntN(50))
	}
	return b.Bytes()[:n]
}

func writeTemp(t testing.TB, data []byte) *os.File {
	t.Helper()
	name := filepath.Join(t.TempDir(), "f.xz")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// xzGo compresses with ulikunitz/xz, one block per blockSize bytes.
func xzGo(t testing.TB, data []byte, blockSize int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := xz.WriterConfig{BlockSize: blockSize}.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// xzUtils compresses with xz(1).
func xzUtils(t testing.TB, data []byte, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("xz"); err != nil {
		testenv.Skipf(t, "xz-utils is not installed")
	}
	cmd := exec.Command("xz", append([]string{"-c"}, args...)...)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xz %v: %v", args, err)
	}
	return out
}

func readXZ(t testing.TB, compressed []byte) (string, []byte, error) {
	t.Helper()
	r, err := NewXZReader(writeTemp(t, compressed))
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	kind := fmt.Sprintf("%T", r)
	got, err := io.ReadAll(r)
	return kind, got, err
}

func TestXZReader(t *testing.T) {
	data := content(3<<20, 1)
	other := content(1<<20, 2)
	tests := []struct {
		name       string
		compressed func(t *testing.T) []byte
		want       []byte
		kind       string
	}{
		{"go single block", func(t *testing.T) []byte { return xzGo(t, data, 0) }, data, "*image.readAhead"},
		{"go 256KiB blocks", func(t *testing.T) []byte { return xzGo(t, data, 256<<10) }, data, "*image.parallelXZ"},
		{"empty", func(t *testing.T) []byte { return xzGo(t, nil, 0) }, nil, "*image.readAhead"},
		{"xz -T1", func(t *testing.T) []byte { return xzUtils(t, data, "-T1", "-1") }, data, "*image.readAhead"},
		{"xz -T2 blocks", func(t *testing.T) []byte { return xzUtils(t, data, "-T2", "--block-size=300KiB") }, data, "*image.parallelXZ"},
		{"xz sha256 blocks", func(t *testing.T) []byte { return xzUtils(t, data, "--check=sha256", "--block-size=1MiB") }, data, "*image.parallelXZ"},
		{"xz no check blocks", func(t *testing.T) []byte { return xzUtils(t, data, "--check=none", "--block-size=1MiB") }, data, "*image.parallelXZ"},
		{"concatenated streams with padding", func(t *testing.T) []byte {
			a := xzUtils(t, data, "--block-size=1MiB")
			b := xzUtils(t, other, "-T1")
			return append(append(append(a, make([]byte, 8)...), b...), make([]byte, 4)...)
		}, append(append([]byte{}, data...), other...), "*image.parallelXZ"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kind, got, err := readXZ(t, tc.compressed(t))
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("decompressed %d bytes, want the %d bytes compressed", len(got), len(tc.want))
			}
			if kind != tc.kind {
				t.Errorf("NewXZReader chose %s, want %s", kind, tc.kind)
			}
		})
	}
}

func TestXZReaderCorrupt(t *testing.T) {
	data := content(2<<20, 3)
	for _, tc := range []struct {
		name       string
		compressed []byte
	}{
		{"multi block", xzGo(t, data, 256<<10)},
		{"single block", xzGo(t, data, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, at := range []int{len(tc.compressed) / 3, len(tc.compressed) / 2, len(tc.compressed) - 30} {
				bad := bytes.Clone(tc.compressed)
				bad[at] ^= 0x40
				if _, got, err := readXZ(t, bad); err == nil && bytes.Equal(got, data) {
					t.Errorf("flipping a bit at %d of %d: no error", at, len(bad))
				} else if err == nil {
					t.Errorf("flipping a bit at %d of %d: wrong data and no error", at, len(bad))
				}
			}
			if _, _, err := readXZ(t, tc.compressed[:len(tc.compressed)-100]); err == nil {
				t.Errorf("truncated file: no error")
			}
		})
	}
}

func TestXZReaderCloseEarly(t *testing.T) {
	for _, bs := range []int64{0, 64 << 10} {
		r, err := NewXZReader(writeTemp(t, xzGo(t, content(4<<20, 4), bs)))
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
	}
}

func TestParseXZIndex(t *testing.T) {
	if _, err := parseXZIndex([]byte{0, 1, 2, 3, 4, 5, 6, 7}); err == nil {
		t.Errorf("parseXZIndex(bad crc) succeeded")
	}
	if _, err := xzBlocks(bytes.NewReader(make([]byte, 64)), 64); err == nil {
		t.Errorf("xzBlocks(zeros) succeeded")
	}
}

// benchTar is a ~50 MB tar of /usr/lib's files, built once.
var benchTar []byte

func benchContent(b *testing.B) []byte {
	if benchTar != nil {
		return benchTar
	}
	var members []member
	total := 0
	filepath.WalkDir("/usr/lib", func(p string, d os.DirEntry, err error) error {
		if err != nil || total > 50<<20 {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil || len(data) > 8<<20 {
			return nil
		}
		members = append(members, reg(p[1:], string(data)))
		total += len(data)
		return nil
	})
	if total < 10<<20 {
		b.Skipf("only %d bytes in /usr/lib", total)
	}
	benchTar = tarOf(b, members...)
	return benchTar
}

// BenchmarkXZ compares NewXZReader with one ulikunitz stream and with
// xz-utils, on a file that `xz -T0` made (several blocks).
func BenchmarkXZ(b *testing.B) {
	data := benchContent(b)
	if _, err := exec.LookPath("xz"); err != nil {
		b.Skip("xz-utils is not installed: it makes the multi-block file")
	}
	f := writeTemp(b, xzUtils(b, data, "-T0", "-6", "--block-size=8MiB"))
	run := func(b *testing.B, open func() (io.Reader, func())) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			r, done := open()
			n, err := io.Copy(io.Discard, r)
			done()
			if err != nil || n != int64(len(data)) {
				b.Fatalf("decompressed %d bytes, %v", n, err)
			}
		}
	}
	b.Run("NewXZReader", func(b *testing.B) {
		run(b, func() (io.Reader, func()) {
			r, err := NewXZReader(f)
			if err != nil {
				b.Fatal(err)
			}
			return r, func() { r.Close() }
		})
	})
	b.Run("ulikunitz-stream", func(b *testing.B) {
		run(b, func() (io.Reader, func()) {
			r, err := xz.NewReader(bufioReader(f))
			if err != nil {
				b.Fatal(err)
			}
			return r, func() {}
		})
	})
	b.Run("xz-utils", func(b *testing.B) {
		run(b, func() (io.Reader, func()) {
			cmd := exec.Command("xz", "-dc")
			cmd.Stdin = io.NewSectionReader(f, 0, 1<<62)
			out, err := cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			return out, func() { cmd.Wait() }
		})
	})
}

func bufioReader(f *os.File) io.Reader {
	return bufio.NewReaderSize(io.NewSectionReader(f, 0, 1<<62), 1<<20)
}

// BenchmarkUnpack measures xz decompression overlapped with extraction,
// the way create runs them.
func BenchmarkUnpack(b *testing.B) {
	data := benchContent(b)
	f := writeTemp(b, xzGo(b, data, 8<<20))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		b.StopTimer()
		root := filepath.Join(b.TempDir(), "root")
		if err := os.Mkdir(root, 0o755); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		r, err := NewXZReader(f)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Unpack(b.Context(), r, root, Options{}); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}
