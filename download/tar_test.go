package download_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/download/downloadtest"
	"github.com/ulxc/ulxc/image"
)

// decompress reads img's rootfs through Decompress with the Go decoder and
// keeps it; it returns the tar and Keep's error.
func decompress(t *testing.T, img *download.Image, dec download.Decoder) ([]byte, error) {
	t.Helper()
	if dec == nil {
		dec = func(f *os.File) (io.ReadCloser, error) { return image.NewXZReader(f) }
	}
	d, err := img.Decompress(dec)
	if err != nil {
		t.Fatalf("Decompress = %v", err)
	}
	defer d.Close()
	data, err := io.ReadAll(d)
	if err != nil {
		t.Fatalf("reading the decompressed rootfs: %v", err)
	}
	return data, d.Keep()
}

// plainRootfs is the served rootfs.tar.xz of build, decompressed.
func plainRootfs(t *testing.T, s *downloadtest.Server, build string) []byte {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "rootfs")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(s.File(rootfsPath(build))); err != nil {
		t.Fatal(err)
	}
	xr, err := image.NewXZReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer xr.Close()
	data, err := io.ReadAll(xr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// readKept opens the kept tar, verifies it and returns its contents.
func readKept(t *testing.T, img *download.Image) ([]byte, error) {
	t.Helper()
	kept, err := img.OpenTar()
	if err != nil {
		return nil, err
	}
	defer kept.Close()
	data, err := io.ReadAll(kept.File)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != kept.Size {
		t.Errorf("kept tar holds %d bytes, Size = %d", len(data), kept.Size)
	}
	return data, kept.Verify()
}

func TestKeptTar(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	img := mustFetch(t, req(s), o)
	if _, err := img.OpenTar(); !errors.Is(err, download.ErrNoTar) {
		t.Fatalf("OpenTar before any Decompress = %v, want ErrNoTar", err)
	}
	want := plainRootfs(t, s, build1)
	got, err := decompress(t, img, nil)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Decompress = %d bytes, Keep = %v; want the %d bytes of the tar and nil", len(got), err, len(want))
	}
	// A later Fetch reuses the entry, and the kept tar with it.
	again := mustFetch(t, req(s), o)
	if again.Dir != img.Dir {
		t.Fatalf("second Fetch moved the entry from %s to %s", img.Dir, again.Dir)
	}
	if kept, err := readKept(t, again); err != nil || !bytes.Equal(kept, want) {
		t.Errorf("kept tar = %d bytes, %v; want the %d bytes of the tar", len(kept), err, len(want))
	}
	if fi, err := os.Stat(filepath.Join(img.Dir, "rootfs.tar")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("rootfs.tar = %v, %v; want mode 0600", fi, err)
	}
	// Nothing temporary is left next to it.
	ents, _ := os.ReadDir(img.Dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("%s left in the cache entry", e.Name())
		}
	}
}

// TestKeptTarMismatch damages a kept tar or its record in every way a
// crash, a disk or an older entry could: OpenTar or Verify refuses it with
// ErrNoTar and removes it, and decompressing again keeps a good one.
func TestKeptTarMismatch(t *testing.T) {
	flip := func(t *testing.T, name string, at func(size int64) int64) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		b[at(int64(len(b)))] ^= 0x55
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	editJSON := func(t *testing.T, name string, edit func(m map[string]any)) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		if b, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		damage  func(t *testing.T, dir string)
		atOpen  bool // refused by OpenTar (else by Verify)
		removed bool // the tar is removed
	}{
		{"truncated", func(t *testing.T, dir string) {
			if err := os.Truncate(filepath.Join(dir, "rootfs.tar"), 1024); err != nil {
				t.Fatal(err)
			}
		}, true, true},
		{"corrupt", func(t *testing.T, dir string) {
			flip(t, filepath.Join(dir, "rootfs.tar"), func(n int64) int64 { return n / 2 })
		}, false, true},
		{"missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "rootfs.tar"))
		}, true, true},
		{"record of another rootfs", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "rootfs.tar.json"), func(m map[string]any) {
				m["rootfs"].(map[string]any)["sha256"] = strings.Repeat("0", 64)
			})
		}, true, true},
		{"garbled record", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "rootfs.tar.json"), []byte("{"), 0o600)
		}, true, true},
		{"state of another rootfs", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "state.json"), func(m map[string]any) {
				m["rootfs"].(map[string]any)["size"] = 1
			})
		}, true, true},
		{"entry without a digest", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "state.json"), func(m map[string]any) { delete(m, "rootfs") })
		}, true, false},
		{"rootfs.tar.xz replaced", func(t *testing.T, dir string) {
			if err := os.Truncate(filepath.Join(dir, "rootfs.tar.xz"), 100); err != nil {
				t.Fatal(err)
			}
		}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, o := setup(t, downloadtest.Options{})
			img := mustFetch(t, req(s), o)
			if _, err := decompress(t, img, nil); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, img.Dir)
			img = mustFetch(t, req(s), o) // reads state.json again
			kept, err := img.OpenTar()
			if tc.atOpen != (err != nil) {
				t.Fatalf("OpenTar of a %s tar = %v, want an error: %v", tc.name, err, tc.atOpen)
			}
			if err == nil {
				err = kept.Verify()
				kept.Close()
			}
			if !errors.Is(err, download.ErrNoTar) {
				t.Fatalf("kept tar %s: OpenTar, Verify = %v, want ErrNoTar", tc.name, err)
			}
			if _, serr := os.Stat(filepath.Join(img.Dir, "rootfs.tar")); tc.removed != errors.Is(serr, fs.ErrNotExist) {
				t.Errorf("after refusing a %s tar: stat rootfs.tar = %v, want removed: %v", tc.name, serr, tc.removed)
			}
			if _, err := img.OpenTar(); !errors.Is(err, download.ErrNoTar) {
				t.Errorf("second OpenTar of a %s tar = %v, want ErrNoTar", tc.name, err)
			}
		})
	}
}

// TestKeepRefuses checks that Keep keeps nothing unless the whole stream of
// the verified rootfs.tar.xz was read without error.
func TestKeepRefuses(t *testing.T) {
	t.Run("decoder error", func(t *testing.T) {
		s, o := setup(t, downloadtest.Options{})
		img := mustFetch(t, req(s), o)
		d, err := img.Decompress(func(f *os.File) (io.ReadCloser, error) {
			return io.NopCloser(io.MultiReader(strings.NewReader("some tar"), errReader{})), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(d); err == nil {
			t.Fatal("reading a failing decoder succeeded")
		}
		if err := d.Keep(); err == nil {
			t.Error("Keep after a decoder error = nil, want an error")
		}
		d.Close()
		if _, err := img.OpenTar(); !errors.Is(err, download.ErrNoTar) {
			t.Errorf("OpenTar after a failed decompression = %v, want ErrNoTar", err)
		}
		assertNoTemp(t, img.Dir)
	})
	t.Run("not read to the end", func(t *testing.T) {
		s, o := setup(t, downloadtest.Options{})
		img := mustFetch(t, req(s), o)
		d, err := img.Decompress(func(f *os.File) (io.ReadCloser, error) { return image.NewXZReader(f) })
		if err != nil {
			t.Fatal(err)
		}
		io.ReadFull(d, make([]byte, 10))
		if err := d.Keep(); err == nil {
			t.Error("Keep of half a stream = nil, want an error")
		}
		d.Close()
		assertNoTemp(t, img.Dir)
	})
	t.Run("rootfs.tar.xz changed after verification", func(t *testing.T) {
		s, o := setup(t, downloadtest.Options{})
		img := mustFetch(t, req(s), o)
		plain := plainRootfs(t, s, build1)
		// Same size, other bytes: a decoder that ignores its input must
		// not get its output kept as this image's rootfs.
		b, _ := os.ReadFile(img.Rootfs)
		b[len(b)/2] ^= 1
		os.WriteFile(img.Rootfs, b, 0o600)
		_, err := decompress(t, img, func(f *os.File) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(plain)), nil
		})
		if err == nil || !strings.Contains(err.Error(), "SHA-256") {
			t.Errorf("Keep after rootfs.tar.xz changed = %v, want a digest mismatch", err)
		}
		if _, err := img.OpenTar(); !errors.Is(err, download.ErrNoTar) {
			t.Errorf("OpenTar = %v, want ErrNoTar", err)
		}
	})
	t.Run("entry replaced", func(t *testing.T) {
		s, o := setup(t, downloadtest.Options{})
		img := mustFetch(t, req(s), o)
		d, err := img.Decompress(func(f *os.File) (io.ReadCloser, error) { return image.NewXZReader(f) })
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		io.Copy(io.Discard, d)
		// A flush while the stream was being read.
		o.FlushCache = true
		mustFetch(t, req(s), o)
		if err := d.Keep(); err == nil {
			t.Error("Keep into a flushed entry = nil, want an error")
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("corrupt block") }

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), "rootfs.tar") && !strings.HasSuffix(e.Name(), ".xz") && !strings.HasSuffix(e.Name(), ".asc") {
			t.Errorf("%s left in the cache entry", e.Name())
		}
	}
}

// TestKeptTarGoesWithTheEntry checks that the kept tar is removed with its
// entry: by FlushCache and when a new build prunes the old one.
func TestKeptTarGoesWithTheEntry(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	img := mustFetch(t, req(s), o)
	if _, err := decompress(t, img, nil); err != nil {
		t.Fatal(err)
	}
	flush := o
	flush.FlushCache = true
	fresh := mustFetch(t, req(s), flush)
	if _, err := os.Stat(filepath.Join(img.Dir, "rootfs.tar")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("FlushCache left the kept tar: %v", err)
	}
	if _, err := fresh.OpenTar(); !errors.Is(err, download.ErrNoTar) {
		t.Errorf("OpenTar after FlushCache = %v, want ErrNoTar", err)
	}
	if _, err := decompress(t, fresh, nil); err != nil {
		t.Fatal(err)
	}
	s.AddImage(t, downloadtest.Image{Build: build2})
	o.Now = later(31 * 24 * time.Hour)
	newer := mustFetch(t, req(s), o)
	if newer.Build != build2 {
		t.Fatalf("Fetch = build %s, want %s", newer.Build, build2)
	}
	if _, err := os.Stat(filepath.Join(fresh.Dir, "rootfs.tar")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the new build left the old kept tar: %v", err)
	}
	if _, err := newer.OpenTar(); !errors.Is(err, download.ErrNoTar) {
		t.Errorf("OpenTar of a new build = %v, want ErrNoTar", err)
	}
}
