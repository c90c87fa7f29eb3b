package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"

	"github.com/ulxc/ulxc/download/downloadtest"
	"github.com/ulxc/ulxc/internal/testenv"
)

// Debug messages of template's rootfs source, as --debug prints them.
const (
	msgDecompress = `msg="rootfs: decompressing rootfs.tar.xz"`
	msgKept       = `msg="rootfs: using the kept decompressed tar"`
	msgStored     = `msg="rootfs: decompressed tar kept in the cache"`
	msgCorrupt    = `msg="rootfs: the kept tar is corrupt; decompressing rootfs.tar.xz"`
)

// entryDir is the committed cache entry of the test image.
func (h *imageHome) entryDir(t *testing.T) string {
	t.Helper()
	img := downloadtest.Image{}.Request(h.srv)
	dir, err := filepath.EvalSymlinks(filepath.Join(h.Dir, ".cache/ulxc/download", img.Dist, img.Release, img.Arch, img.Variant, "current"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// create runs `ulxc --debug create NAME ...` with env and fails the test
// unless it succeeds; it returns stderr.
func (h *imageHome) create(t *testing.T, env []string, name string, more ...string) string {
	t.Helper()
	r := testenv.RunCmd(t, h.Command(t, env, append([]string{"--debug"}, h.createArgs(name, more...)...)...))
	if r.Code != 0 {
		t.Fatalf("create %s = exit %d, stderr:\n%s", name, r.Code, r.Stderr)
	}
	return r.Stderr
}

// plainTar is the served rootfs.tar.xz decompressed.
func plainTar(t *testing.T, srv *downloadtest.Server) []byte {
	t.Helper()
	zr, err := xz.NewReader(bytes.NewReader(srv.File(downloadtest.Image{}.Path() + "rootfs.tar.xz")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tree describes a rootfs: every path with its type, mode, owner and
// contents (the container's name replaced in etc/, where templates write
// it).
func tree(t *testing.T, h *imageHome, name string) string {
	t.Helper()
	root := filepath.Join(h.containerDir(name), "rootfs")
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		uid, gid := ownerOf(t, p)
		fmt.Fprintf(&b, "%s %v %d:%d", strings.TrimPrefix(p, root), fi.Mode(), uid, gid)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprintf(&b, " -> %s", target)
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if strings.HasPrefix(p, filepath.Join(root, "etc")+"/") {
				data = bytes.ReplaceAll(data, []byte(name), []byte("NAME"))
			}
			sum := sha256.Sum256(data)
			fmt.Fprintf(&b, " %x", sum[:8])
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestCreateKeepsDecompressedRootfs checks the kept tar end to end: the
// first create decompresses and keeps it, the next uses it without
// decompressing, and a damaged or mismatched one is never trusted: the
// create decompresses the verified rootfs.tar.xz again, with the same
// result.
func TestCreateKeepsDecompressedRootfs(t *testing.T) {
	u := testenv.SubIDUser(t)
	srv := downloadtest.New(t, downloadtest.Options{})
	h := newImageHome(t, u, srv)
	plain := plainTar(t, srv)

	stderr := h.create(t, nil, "first")
	if !strings.Contains(stderr, msgDecompress) || !strings.Contains(stderr, msgStored) {
		t.Fatalf("first create: stderr lacks %s and %s:\n%s", msgDecompress, msgStored, stderr)
	}
	entry := h.entryDir(t)
	kept := filepath.Join(entry, "rootfs.tar")
	if b, err := os.ReadFile(kept); err != nil || !bytes.Equal(b, plain) {
		t.Fatalf("kept %s = %d bytes, %v; want the %d bytes of the decompressed rootfs.tar.xz", kept, len(b), err, len(plain))
	}
	want := tree(t, h, "first")

	stderr = h.create(t, nil, "second")
	if !strings.Contains(stderr, msgKept) || strings.Contains(stderr, "xz decoder") {
		t.Errorf("second create: stderr lacks %s or ran a decoder:\n%s", msgKept, stderr)
	}
	if got := tree(t, h, "second"); got != want {
		t.Errorf("rootfs from the kept tar differs from the first:\n%s\nwant\n%s", got, want)
	}

	damage := []struct {
		name   string
		damage func(t *testing.T)
		msg    string // what the create says
	}{
		{"corrupt", func(t *testing.T) {
			b, err := os.ReadFile(kept)
			if err != nil {
				t.Fatal(err)
			}
			// Inside busybox's contents: a same-size change that only
			// the digest sees.
			b[len(b)/2] ^= 0xff
			if err := os.WriteFile(kept, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, msgCorrupt},
		{"truncated", func(t *testing.T) {
			if err := os.Truncate(kept, int64(len(plain)/2)); err != nil {
				t.Fatal(err)
			}
		}, msgDecompress},
		{"record of another rootfs.tar.xz", func(t *testing.T) {
			rec := filepath.Join(entry, "rootfs.tar.json")
			b, err := os.ReadFile(rec)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256([]byte("another rootfs.tar.xz"))
			m["rootfs"]["sha256"] = hex.EncodeToString(sum[:])
			b, _ = json.Marshal(m)
			if err := os.WriteFile(rec, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, msgDecompress},
	}
	for i, tc := range damage {
		t.Run(tc.name, func(t *testing.T) {
			tc.damage(t)
			name := fmt.Sprintf("damaged%d", i)
			stderr := h.create(t, nil, name)
			if !strings.Contains(stderr, tc.msg) || !strings.Contains(stderr, msgStored) {
				t.Errorf("create with a %s kept tar: stderr lacks %s and %s:\n%s", tc.name, tc.msg, msgStored, stderr)
			}
			if got := tree(t, h, name); got != want {
				t.Errorf("rootfs with a %s kept tar differs from the first:\n%s\nwant\n%s", tc.name, got, want)
			}
			if b, err := os.ReadFile(kept); err != nil || !bytes.Equal(b, plain) {
				t.Errorf("kept tar after a %s one = %d bytes, %v; want it kept again, whole", tc.name, len(b), err)
			}
		})
	}

	// --flush-cache removes it with the entry, and the create keeps a new one.
	stderr = h.create(t, nil, "flushed", "--flush-cache")
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Errorf("--flush-cache left the old entry %s: %v", entry, err)
	}
	if !strings.Contains(stderr, msgDecompress) || !strings.Contains(stderr, msgStored) {
		t.Errorf("create --flush-cache: stderr lacks %s and %s:\n%s", msgDecompress, msgStored, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(h.entryDir(t), "rootfs.tar")); err != nil || !bytes.Equal(b, plain) {
		t.Errorf("kept tar after --flush-cache = %d bytes, %v; want a new one", len(b), err)
	}
}

// TestCreateXZDecoders creates from the same image with each decoder that
// ULXC_XZ forces: the same rootfs either way.
func TestCreateXZDecoders(t *testing.T) {
	u := testenv.SubIDUser(t)
	var want string
	for _, dec := range []string{"go", "xz-utils"} {
		t.Run(dec, func(t *testing.T) {
			srv := downloadtest.New(t, downloadtest.Options{})
			h := newImageHome(t, u, srv)
			stderr := h.create(t, []string{"ULXC_XZ=" + dec}, "web")
			if !strings.Contains(stderr, "decoder="+dec) {
				t.Errorf("ULXC_XZ=%s create: stderr does not name decoder=%s:\n%s", dec, dec, stderr)
			}
			got := tree(t, h, "web")
			if want == "" {
				want = got
			} else if got != want {
				t.Errorf("rootfs decoded by %s differs:\n%s\nwant\n%s", dec, got, want)
			}
		})
	}
	h := u.NewHome(t)
	if r := testenv.RunCmd(t, h.Command(t, []string{"ULXC_XZ=lzma"}, "create", "box", "-t", "busybox")); r.Code != 2 || !strings.Contains(r.Stderr, "ULXC_XZ") {
		t.Errorf("ULXC_XZ=lzma create = exit %d, %q; want 2 and a usage error", r.Code, r.Stderr)
	}
}

// TestCreateCorruptXZ serves a rootfs.tar.xz that is validly signed but
// corrupt or truncated: each decoder's error fails the create, nothing of
// the container is left and no decompressed tar is kept.
func TestCreateCorruptXZ(t *testing.T) {
	u := testenv.SubIDUser(t)
	p := downloadtest.Image{}.Path() + "rootfs.tar.xz"
	for _, dec := range []string{"go", "xz-utils"} {
		for _, damage := range []string{"flipped byte", "truncated"} {
			t.Run(dec+" "+damage, func(t *testing.T) {
				srv := downloadtest.New(t, downloadtest.Options{})
				b := srv.File(p)
				if damage == "truncated" {
					b = b[:len(b)*2/3]
				} else {
					b[len(b)/2] ^= 0x40
				}
				srv.SetFile(p, b)
				srv.Sign(t, p, srv.Key, nil)
				h := newImageHome(t, u, srv)
				r := testenv.RunCmd(t, h.Command(t, []string{"ULXC_XZ=" + dec}, h.createArgs("web")...))
				if r.Code != 1 || !strings.Contains(r.Stderr, "decompress rootfs") {
					t.Errorf("create from a %s rootfs.tar.xz (%s) = exit %d, %q; want 1 and a decompress error", damage, dec, r.Code, r.Stderr)
				}
				h.noTrace(t, "web")
				for _, f := range h.cacheFiles(t) {
					if strings.Contains(f, "rootfs.tar") && !strings.HasSuffix(f, ".xz") && !strings.HasSuffix(f, ".asc") {
						t.Errorf("cache holds %s after a failed decompression", f)
					}
				}
			})
		}
	}
}

// TestCreateTrailingBomb serves a signed rootfs whose archive ends early
// and is followed by more zeros than any tar pads with: the child refuses
// to read them for ever, and nothing is left.
func TestCreateTrailingBomb(t *testing.T) {
	u := testenv.SubIDUser(t)
	srv := downloadtest.New(t, downloadtest.Options{})
	p := downloadtest.Image{}.Path() + "rootfs.tar.xz"
	var buf bytes.Buffer
	zw, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	plain := plainTar(t, srv)
	zw.Write(plain)
	zw.Write(make([]byte, 17<<20))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	srv.SetFile(p, buf.Bytes())
	srv.Sign(t, p, srv.Key, nil)
	h := newImageHome(t, u, srv)
	r := h.Run(t, h.createArgs("web")...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "after the end of the archive") {
		t.Errorf("create with 17 MiB after the archive = exit %d, %q; want 1 and a limit error", r.Code, r.Stderr)
	}
	h.noTrace(t, "web")
}
