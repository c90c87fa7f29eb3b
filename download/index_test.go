package download

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseIndex(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int // entries
		errLine int // 0: no error
	}{
		{"empty", "", 0, 0},
		{"one", "debian;bookworm;amd64;default;20240101_05:24;/images/debian/bookworm/amd64/default/20240101_05:24/\n", 1, 0},
		{"no trailing newline", "a;b;c;d;e;/f/", 1, 0},
		{"crlf and blank lines", "a;b;c;d;e;/f/\r\n\n\na;b;c;d;f;/g\n", 2, 0},
		{"five fields", "a;b;c;d;/f/\n", 0, 1},
		{"seven fields", "a;b;c;d;e;/f/;g\n", 0, 1},
		{"error names the line", "a;b;c;d;e;/f/\n\na;b;c;d;e;f\n", 0, 3},
		{"relative path", "a;b;c;d;e;images/x/\n", 0, 1},
		{"dotdot path", "a;b;c;d;e;/images/../../etc/\n", 0, 1},
		{"dot path", "a;b;c;d;e;/images/./x/\n", 0, 1},
		{"double slash path", "a;b;c;d;e;//evil.example/x/\n", 0, 1},
		{"encoded path", "a;b;c;d;e;/images/%2e%2e/x/\n", 0, 1},
		{"query in path", "a;b;c;d;e;/x?y\n", 0, 1},
		{"backslash path", `a;b;c;d;e;/x\y/` + "\n", 0, 1},
		{"root path", "a;b;c;d;e;/\n", 0, 1},
		{"double slash root path", "a;b;c;d;e;//\n", 0, 1},
		{"empty dist", ";b;c;d;e;/f/\n", 0, 1},
		{"slash in release", "a;b/c;c;d;e;/f/\n", 0, 1},
		{"dotdot build", "a;b;c;d;..;/f/\n", 0, 1},
		{"colon outside build", "a:b;b;c;d;e;/f/\n", 0, 1},
		{"space in variant", "a;b;c;d d;e;/f/\n", 0, 1},
		{"too long", strings.Repeat("x", maxIndexLine+1) + "\n", 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseIndex(strings.NewReader(tc.in))
			var se *SyntaxError
			switch {
			case tc.errLine == 0 && err != nil:
				t.Fatalf("ParseIndex(%q) = %v, want no error", tc.in, err)
			case tc.errLine != 0 && (!errors.As(err, &se) || se.Line != tc.errLine || !errors.Is(err, ErrBadIndex)):
				t.Fatalf("ParseIndex(%q) = %v, want a *SyntaxError for line %d", tc.in, err, tc.errLine)
			case len(got) != tc.want:
				t.Fatalf("ParseIndex(%q) = %d entries, want %d", tc.in, len(got), tc.want)
			}
		})
	}
}

func TestParseIndexFields(t *testing.T) {
	in := "debian;bookworm;arm64;cloud;20240103_05:24;/images/debian/bookworm/arm64/cloud/20240103_05:24/\n"
	got, err := ParseIndex(strings.NewReader(in))
	want := IndexEntry{"debian", "bookworm", "arm64", "cloud", "20240103_05:24", "/images/debian/bookworm/arm64/cloud/20240103_05:24/"}
	if err != nil || len(got) != 1 || got[0] != want {
		t.Fatalf("ParseIndex(%q) = %+v, %v, want [%+v]", in, got, err, want)
	}
}

func TestSelectGreatestBuild(t *testing.T) {
	data, err := os.ReadFile("testdata/index/several-builds.txt")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := ParseIndex(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		req     Request
		build   string
		noMatch bool
	}{
		{Request{Dist: "debian", Release: "bookworm", Arch: "amd64", Variant: "default"}, "20240103_05:24", false},
		{Request{Dist: "debian", Release: "bookworm", Arch: "arm64", Variant: "default"}, "", true},
		{Request{Dist: "debian", Release: "bookworm", Arch: "amd64", Variant: "cloud"}, "", true},
	}
	for _, tc := range tests {
		got, err := Select(entries, tc.req)
		if tc.noMatch {
			if !errors.Is(err, ErrNoMatch) {
				t.Errorf("Select(%v) = %v, %v, want ErrNoMatch", tc.req, got, err)
			}
			continue
		}
		if err != nil || got.Build != tc.build {
			t.Errorf("Select(%v) = %v, %v, want build %s", tc.req, got.Build, err, tc.build)
		}
	}
}

func TestDebianArch(t *testing.T) {
	for goarch, want := range map[string]string{
		"amd64": "amd64", "arm64": "arm64", "arm": "armhf", "386": "i386", "ppc64le": "ppc64el", "s390x": "s390x", "riscv64": "riscv64",
	} {
		if got := debianArch(goarch); got != want {
			t.Errorf("debianArch(%q) = %q, want %q", goarch, got, want)
		}
	}
}

func TestRequestDefaults(t *testing.T) {
	r, err := Request{Dist: "debian", Release: "bookworm"}.withDefaults()
	if err != nil || r.Arch != HostArch() || r.Variant != "default" || r.Server != DefaultServer {
		t.Fatalf("withDefaults() = %+v, %v", r, err)
	}
	for _, bad := range []Request{{Release: "x"}, {Dist: "x"}, {Dist: "..", Release: "x"}, {Dist: "a/b", Release: "x"}, {Dist: "x", Release: "y", Variant: ".hidden"}} {
		if _, err := bad.withDefaults(); !errors.Is(err, ErrBadRequest) {
			t.Errorf("withDefaults(%+v) = %v, want ErrBadRequest", bad, err)
		}
	}
}

func TestServerURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "https://images.linuxcontainers.org"},
		{"images.example.org", "https://images.example.org"},
		{"images.example.org:8443", "https://images.example.org:8443"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"https://mirror.example.org/lxc/", "https://mirror.example.org/lxc"},
		{"ftp://x", ""},
		{"host/path", ""},
		{"https://user@host", ""},
		{"https://host/?q", ""},
		{"http://", ""},
	}
	for _, tc := range tests {
		u, err := ServerURL(tc.in)
		got := ""
		if err == nil {
			got = u.String()
		}
		if got != tc.want {
			t.Errorf("ServerURL(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
	u, _ := ServerURL("https://mirror.example.org/lxc")
	if got, want := join(u, "/images/a/b/"+"rootfs.tar.xz"), "https://mirror.example.org/lxc/images/a/b/rootfs.tar.xz"; got != want {
		t.Errorf("join = %q, want %q", got, want)
	}
}

// FuzzParseIndex checks that accepted entries are always safe to turn into
// cache paths and URLs, and that parsing is stable.
func FuzzParseIndex(f *testing.F) {
	seeds, err := filepath.Glob("testdata/index/*.txt")
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
		entries, err := ParseIndex(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		var b strings.Builder
		for _, e := range entries {
			for _, s := range []string{e.Dist, e.Release, e.Arch, e.Variant} {
				if !safeName(s, false) || strings.ContainsAny(s, "/:") {
					t.Fatalf("ParseIndex accepted unsafe name %q", s)
				}
			}
			if !safeName(e.Build, true) || strings.Contains(e.Build, "/") {
				t.Fatalf("ParseIndex accepted unsafe build %q", e.Build)
			}
			if !strings.HasPrefix(e.Path, "/") || strings.HasPrefix(e.Path, "//") || strings.ContainsAny(e.Path, "%?#\\") {
				t.Fatalf("ParseIndex accepted unsafe path %q", e.Path)
			}
			for _, part := range strings.Split(e.Path, "/") {
				if part == ".." || part == "." {
					t.Fatalf("ParseIndex accepted path %q with %q", e.Path, part)
				}
			}
			fmt.Fprintf(&b, "%s;%s;%s;%s;%s;%s\n", e.Dist, e.Release, e.Arch, e.Variant, e.Build, e.Path)
		}
		again, err := ParseIndex(strings.NewReader(b.String()))
		if err != nil || len(again) != len(entries) {
			t.Fatalf("re-parse = %d entries, %v, want %d", len(again), err, len(entries))
		}
	})
}
