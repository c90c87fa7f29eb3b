package image

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// sample returns n bytes that compress like a rootfs: text, runs and
// noise.
func sample(n int) []byte {
	rng := rand.New(rand.NewSource(1))
	var b bytes.Buffer
	for b.Len() < n {
		switch rng.Intn(3) {
		case 0:
			b.WriteString("lxc.include = LXC_TEMPLATE_CONFIG/common.conf\n")
		case 1:
			b.Write(bytes.Repeat([]byte{byte(rng.Intn(256))}, rng.Intn(300)))
		default:
			noise := make([]byte, rng.Intn(200))
			rng.Read(noise)
			b.Write(noise)
		}
	}
	return b.Bytes()[:n]
}

// TestCompressXZ: both encoders write several blocks whose headers hold
// their sizes, which NewXZReader decodes in parallel and xz-utils decodes
// too, for inputs of no, part of one, exactly one and several blocks.
func TestCompressXZ(t *testing.T) {
	const block = 64 << 10
	_, xzErr := exec.LookPath("xz")
	for _, enc := range []XZDecoder{XZGo, XZUtils} {
		for _, size := range []int{0, 1000, block, 3*block + 123} {
			t.Run(string(enc)+"/"+strconv.Itoa(size), func(t *testing.T) {
				if enc == XZUtils && xzErr != nil {
					testenv.Skipf(t, "xz-utils is not installed (apt-get install xz-utils): %v", xzErr)
				}
				data := sample(size)
				var out bytes.Buffer
				used, err := CompressXZ(&out, bytes.NewReader(data), XZOptions{Encoder: enc, BlockSize: block, Level: 1})
				if err != nil || used != enc {
					t.Fatalf("CompressXZ = %v, %v; want %s", used, err, enc)
				}
				f := writeTemp(t, out.Bytes())
				blocks, err := xzBlocks(f, int64(out.Len()))
				if err != nil {
					t.Fatalf("xzBlocks: %v", err)
				}
				if want := (size + block - 1) / block; len(blocks) != want {
					t.Errorf("%d blocks, want %d", len(blocks), want)
				}
				r, err := NewXZReader(f)
				if err != nil {
					t.Fatal(err)
				}
				if size > block {
					if _, ok := r.(*parallelXZ); !ok {
						t.Errorf("NewXZReader chose %T, want the parallel decoder", r)
					}
				}
				got, err := io.ReadAll(r)
				r.Close()
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("decoded %d bytes, %v; want the %d written", len(got), err, len(data))
				}
				if xzErr != nil {
					return
				}
				cmd := exec.Command("xz", "-dc", "-T0")
				cmd.Stdin = bytes.NewReader(out.Bytes())
				if got, err := cmd.Output(); err != nil || !bytes.Equal(got, data) {
					t.Errorf("xz -dc: %d bytes, %v; want the %d written", len(got), err, len(data))
				}
				list, err := exec.Command("xz", "--robot", "-vv", "--list", f.Name()).Output()
				if err != nil {
					t.Fatalf("xz --list: %v", err)
				}
				for _, l := range strings.Split(string(list), "\n") {
					if f := strings.Split(l, "\t"); f[0] == "block" && (len(f) < 13 || f[12] != "cu") {
						t.Errorf("block line %q: want both sizes in the header (cu), which parallel decoders need", l)
					}
				}
			})
		}
	}
}

type failingReader struct{ after int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.after <= 0 {
		return 0, errors.New("disk on fire")
	}
	n := min(len(p), r.after)
	r.after -= n
	return n, nil
}

func TestCompressXZErrors(t *testing.T) {
	if _, err := CompressXZ(io.Discard, &failingReader{after: 200 << 10}, XZOptions{Encoder: XZGo, BlockSize: 64 << 10}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("CompressXZ of a failing reader = %v, want its error", err)
	}
	for _, o := range []XZOptions{{Level: 10}, {Level: -1}, {BlockSize: 100}, {Encoder: "zstd"}} {
		if _, err := CompressXZ(io.Discard, strings.NewReader("x"), o); err == nil {
			t.Errorf("CompressXZ(%+v) = nil, want a refusal", o)
		}
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := CompressXZ(io.Discard, strings.NewReader("x"), XZOptions{Encoder: XZUtils}); !errors.Is(err, ErrNoXZUtils) {
		t.Errorf("CompressXZ(xz-utils) without xz = %v, want ErrNoXZUtils", err)
	}
	if used, err := CompressXZ(io.Discard, strings.NewReader("x"), XZOptions{}); err != nil || used != XZGo {
		t.Errorf("CompressXZ(auto) without xz = %v, %v; want the Go encoder", used, err)
	}
}

func TestLZMA2DictProp(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want byte
	}{{4 << 10, 0}, {6 << 10, 1}, {1 << 20, 16}, {3 << 20, 19}, {8 << 20, 22}, {8<<20 + 1, 23}} {
		if got := lzma2DictProp(tc.n); got != tc.want {
			t.Errorf("lzma2DictProp(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}
