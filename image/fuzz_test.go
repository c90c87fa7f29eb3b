package image

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seeds are the archives in testdata/, named after what they reproduce.
// `go test -run TestSeeds -update` rewrites them.
func seeds(t testing.TB) map[string][]byte {
	capV3 := "\x01\x00\x00\x03" + strings.Repeat("\xff", 16) + "\x10\x27\x00\x00"
	xf := reg("bin/ping", "ping")
	xf.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": capV3, "SCHILY.xattr.user.x": "y", "SCHILY.xattr.trusted.z": "z"}
	suid := reg("bin/su", "su")
	suid.Mode = 0o4755
	return map[string][]byte{
		"symlink-escape.tar":          tarOf(t, symlinkm("evil", "../.."), reg("evil/outside/pwned", "x")),
		"absolute-symlink.tar":        tarOf(t, symlinkm("evil", "/"), reg("evil/tmp/pwned", "x")),
		"absolute-name.tar":           tarOf(t, reg("/tmp/ulxc-fuzz-pwned", "x")),
		"dotdot-name.tar":             tarOf(t, reg("../outside/pwned", "x")),
		"hardlink-escape.tar":         tarOf(t, hardlinkm("h", "../outside/keep")),
		"hardlink-dir.tar":            tarOf(t, dirm("d/", 0o755), hardlinkm("h", "d")),
		"root-symlink.tar":            tarOf(t, symlinkm(".", "../outside"), reg("pwned", "x")),
		"dir-replaced-by-symlink.tar": tarOf(t, dirm("d/", 0o777), symlinkm("d", "../outside"), reg("d/pwned", "x")),
		"device-whiteout.tar": tarOf(t,
			member{Header: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666}},
			member{Header: tar.Header{Name: "gone", Typeflag: tar.TypeChar}}, reg(".wh.x", "")),
		"xattrs.tar": tarOf(t, xf),
		"basic.tar": tarOf(t, dirm("./", 0o755), dirm("ro/", 0o555), reg("ro/f", "f"), suid, hardlinkm("bin/su2", "bin/su"),
			member{Header: tar.Header{Name: "fifo", Typeflag: tar.TypeFifo, Mode: 0o600}}, symlinkm("lib", "usr/lib")),
	}
}

func TestSeeds(t *testing.T) {
	for name, data := range seeds(t) {
		file := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		onDisk, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run with -update to create the seeds)", err)
		}
		if !bytes.Equal(onDisk, data) {
			t.Errorf("%s differs from what seeds() builds: run with -update", file)
		}
	}
}

// FuzzUnpack checks that no archive panics Unpack or makes it write
// outside its root.
func FuzzUnpack(f *testing.F) {
	files, err := filepath.Glob("testdata/*.tar")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSandbox(t)
		_, _ = Unpack(context.Background(), bytes.NewReader(data), s.root, Options{Limits: Limits{MaxBytes: 1 << 20, MaxEntries: 256}})
		s.checkOutside(t)
		if _, err := os.Lstat("/tmp/ulxc-fuzz-pwned"); err == nil {
			t.Errorf("/tmp/ulxc-fuzz-pwned was written outside root")
		}
	})
}
