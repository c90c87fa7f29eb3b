package image

import (
	"archive/tar"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the seed archives in testdata/")

// childEnv makes the test binary act as the unpacking child of
// TestUnpackInUserNamespace instead of running tests.
const childEnv = "ULXC_IMAGE_TEST_UNPACK_CHILD"

func TestMain(m *testing.M) {
	if root := os.Getenv(childEnv); root != "" {
		os.Exit(unpackChild(root))
	}
	os.Exit(m.Run())
}

// unpackChild unpacks the tar on stdin into root, with the IDMapSize given
// in ULXC_IMAGE_TEST_IDMAPSIZE, and reports the error on stderr.
func unpackChild(root string) int {
	size, err := strconv.ParseUint(os.Getenv("ULXC_IMAGE_TEST_IDMAPSIZE"), 10, 32)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if _, err := Unpack(context.Background(), os.Stdin, root, Options{IDMapSize: uint32(size)}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

var epoch = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// member is one archive entry for the tests.
type member struct {
	tar.Header
	body string
}

func reg(name, body string) member {
	return member{Header: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)), ModTime: epoch}, body: body}
}

func dirm(name string, mode int64) member {
	return member{Header: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: mode, ModTime: epoch}}
}

func symlinkm(name, target string) member {
	return member{Header: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777, ModTime: epoch}}
}

func hardlinkm(name, target string) member {
	return member{Header: tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target, ModTime: epoch}}
}

func tarOf(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		h := m.Header
		if h.Format == tar.FormatUnknown && len(h.PAXRecords) > 0 {
			h.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("write header %q: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(m.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sandbox is a root to unpack into beside a directory that must stay
// untouched.
type sandbox struct {
	base, root, outside string
}

func newSandbox(t testing.TB) *sandbox {
	t.Helper()
	// Archives say who owns their files: only root (or the root of a user
	// namespace, see userns_test.go) can unpack them.
	requireRoot(t)
	base := t.TempDir()
	s := &sandbox{base: base, root: filepath.Join(base, "root"), outside: filepath.Join(base, "outside")}
	for _, d := range []string{s.root, s.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.outside, "keep"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// checkOutside fails the test if anything beside root or in the sentinel
// directory changed.
func (s *sandbox) checkOutside(t testing.TB) {
	t.Helper()
	ents, err := os.ReadDir(s.base)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 2 {
		t.Errorf("the directory around root holds %d entries, want 2 (root, outside)", len(ents))
	}
	ents, err = os.ReadDir(s.outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "keep" {
		t.Errorf("the sentinel directory changed: %v", ents)
	}
	st, err := os.Lstat(filepath.Join(s.outside, "keep"))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm() != 0o644 {
		t.Errorf("the sentinel file changed: %v", st.Mode())
	}
	if data, _ := os.ReadFile(filepath.Join(s.outside, "keep")); string(data) != "keep" {
		t.Errorf("the sentinel file holds %q", data)
	}
	if st, err := os.Lstat(s.outside); err != nil || st.Mode() != os.ModeDir|0o755 {
		t.Errorf("the sentinel directory's mode changed: %v, %v", st.Mode(), err)
	}
	if nlink := linkCount(t, filepath.Join(s.outside, "keep")); nlink != 1 {
		t.Errorf("the sentinel file has %d links", nlink)
	}
}

func (s *sandbox) unpack(t testing.TB, data []byte, opts Options) (Report, error) {
	t.Helper()
	return Unpack(context.Background(), bytes.NewReader(data), s.root, opts)
}
