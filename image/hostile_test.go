package image

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnpackRefusesHostileArchives checks archives that must be refused
// with ErrInsecurePath, leaving everything outside root untouched.
func TestUnpackRefusesHostileArchives(t *testing.T) {
	tests := []struct {
		name    string
		members func(s *sandbox) []member
	}{
		{"absolute name", func(s *sandbox) []member {
			return []member{reg(filepath.Join(s.outside, "pwned"), "x")}
		}},
		{"dotdot name", func(s *sandbox) []member { return []member{reg("../outside/pwned", "x")} }},
		{"dotdot inside name", func(s *sandbox) []member { return []member{dirm("a/", 0o755), reg("a/../../outside/pwned", "x")} }},
		{"dotdot after symlink", func(s *sandbox) []member {
			return []member{symlinkm("l", "."), reg("l/../outside/pwned", "x")}
		}},
		{"hardlink to absolute path", func(s *sandbox) []member { return []member{hardlinkm("passwd", "/etc/passwd")} }},
		{"hardlink to sentinel by absolute path", func(s *sandbox) []member {
			return []member{hardlinkm("keep", filepath.Join(s.outside, "keep"))}
		}},
		{"hardlink to dotdot", func(s *sandbox) []member { return []member{hardlinkm("keep", "../outside/keep")} }},
		{"hardlink through symlink to outside", func(s *sandbox) []member {
			return []member{symlinkm("l", s.outside), hardlinkm("keep", "l/keep")}
		}},
		{"hardlink to directory", func(s *sandbox) []member { return []member{dirm("d/", 0o755), hardlinkm("h", "d")} }},
		{"hardlink to root", func(s *sandbox) []member { return []member{hardlinkm("h", "./")} }},
		{"hardlink to missing file", func(s *sandbox) []member { return []member{hardlinkm("h", "nothing")} }},
		{"dot as symlink", func(s *sandbox) []member { return []member{symlinkm(".", s.outside), reg("pwned", "x")} }},
		{"dot-slash as symlink", func(s *sandbox) []member { return []member{symlinkm("./", "../outside"), reg("pwned", "x")} }},
		{"dot as file", func(s *sandbox) []member { return []member{reg(".", "x")} }},
		{"dot as hardlink", func(s *sandbox) []member { return []member{reg("f", "x"), hardlinkm(".", "f")} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			_, err := s.unpack(t, tarOf(t, tc.members(s)...), Options{})
			if !errors.Is(err, ErrInsecurePath) {
				t.Errorf("Unpack = %v, want ErrInsecurePath", err)
			}
			s.checkOutside(t)
		})
	}
}

// TestUnpackContainsSymlinkTricks checks archives whose symlinks point
// outside: later members through them must land inside root.
func TestUnpackContainsSymlinkTricks(t *testing.T) {
	tests := []struct {
		name    string
		members func(s *sandbox) []member
		inside  func(s *sandbox) string // a file that must exist in root afterwards
	}{
		{"absolute symlink to host root", func(s *sandbox) []member {
			return []member{symlinkm("evil", "/"), reg("evil"+s.outside+"/pwned", "x")}
		}, func(s *sandbox) string { return s.outside + "/pwned" }},
		{"relative symlink escaping", func(s *sandbox) []member {
			return []member{symlinkm("evil", "../.."), reg("evil/outside/pwned", "x")}
		}, func(s *sandbox) string { return "outside/pwned" }},
		{"deep relative symlink escaping", func(s *sandbox) []member {
			return []member{mirror(s), symlinkm("evil", strings.Repeat("../", 40)+strings.TrimPrefix(s.outside, "/")), reg("evil/pwned", "x")}
		}, func(s *sandbox) string { return s.outside + "/pwned" }},
		{"symlink chain", func(s *sandbox) []member {
			return []member{mirror(s), symlinkm("a", "b"), symlinkm("b", "../c"), symlinkm("c", s.outside), reg("a/pwned", "x")}
		}, func(s *sandbox) string { return s.outside + "/pwned" }},
		{"symlink replaced by directory", func(s *sandbox) []member {
			return []member{symlinkm("d", s.outside), dirm("d/", 0o777), reg("d/pwned", "x")}
		}, func(s *sandbox) string { return "d/pwned" }},
		{"file written over a symlink", func(s *sandbox) []member {
			return []member{symlinkm("keep", filepath.Join(s.outside, "keep")), reg("keep", "overwritten")}
		}, func(s *sandbox) string { return "keep" }},
		{"directory replaced by symlink before its mode is applied", func(s *sandbox) []member {
			return []member{dirm("d/", 0o777), symlinkm("d", s.outside), reg("x", "x")}
		}, func(s *sandbox) string { return "x" }},
		{"directory member through a symlink", func(s *sandbox) []member {
			return []member{mirror(s), symlinkm("l", s.outside), dirm("l/sub/", 0o777), reg("l/sub/pwned", "x")}
		}, func(s *sandbox) string { return s.outside + "/sub/pwned" }},
		{"hardlink to a symlink", func(s *sandbox) []member {
			return []member{symlinkm("l", filepath.Join(s.outside, "keep")), hardlinkm("h", "l"), reg("h", "x")}
		}, func(s *sandbox) string { return "h" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			if _, err := s.unpack(t, tarOf(t, tc.members(s)...), Options{}); err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			s.checkOutside(t)
			st, err := os.Lstat(filepath.Join(s.root, tc.inside(s)))
			if err != nil || !st.Mode().IsRegular() {
				t.Errorf("Lstat(%q) = %v, %v, want a regular file inside root", tc.inside(s), st, err)
			}
		})
	}
}

// mirror is a directory inside root at the sentinel's absolute path, so
// that symlinks to the sentinel resolve to it.
func mirror(s *sandbox) member { return dirm(strings.TrimPrefix(s.outside, "/")+"/", 0o755) }

// TestUnpackDanglingSymlinkParent checks that a member below a symlink
// to a missing directory fails instead of following it out of root.
func TestUnpackDanglingSymlinkParent(t *testing.T) {
	s := newSandbox(t)
	_, err := s.unpack(t, tarOf(t, symlinkm("l", s.outside), reg("l/pwned", "x")), Options{})
	if err == nil {
		t.Errorf("Unpack through a dangling symlink succeeded")
	}
	s.checkOutside(t)
}

func TestUnpackRootEntry(t *testing.T) {
	s := newSandbox(t)
	root := dirm("./", 0o750)
	if _, err := s.unpack(t, tarOf(t, root, reg("a", "a")), Options{}); err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	st, err := os.Stat(s.root)
	if err != nil || st.Mode() != os.ModeDir|0o750 || !st.ModTime().Equal(epoch) {
		t.Errorf("root = %v %v, %v, want a 0750 directory dated %v", st.Mode(), st.ModTime(), err, epoch)
	}

	for _, typ := range []byte{tar.TypeSymlink, tar.TypeReg, tar.TypeFifo, tar.TypeLink} {
		s := newSandbox(t)
		m := member{Header: tar.Header{Name: ".", Typeflag: typ, Linkname: s.outside, ModTime: epoch}}
		if _, err := s.unpack(t, tarOf(t, m), Options{}); !errors.Is(err, ErrInsecurePath) {
			t.Errorf("Unpack of a %q root = %v, want ErrInsecurePath", typ, err)
		}
		if st, err := os.Lstat(s.root); err != nil || !st.IsDir() {
			t.Errorf("root is no longer a directory: %v, %v", st, err)
		}
		s.checkOutside(t)
	}
}
