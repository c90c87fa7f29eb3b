package download

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"sort"
	"strings"
)

// Request names one image on one server.
type Request struct {
	// Server is a host[:port] (meaning https://host[:port]) or a full http://
	// or https:// URL, optionally with a path prefix; default DefaultServer.
	Server string
	// Dist and Release are required, e.g. "debian" and "bookworm".
	Dist, Release string
	// Arch is a Debian architecture name; default HostArch().
	Arch string
	// Variant defaults to "default".
	Variant string
}

func (r Request) String() string {
	return fmt.Sprintf("%s/%s/%s/%s", r.Dist, r.Release, r.Arch, r.Variant)
}

// IndexEntry is one line of a meta/1.0 index.
type IndexEntry struct {
	Dist    string `json:"dist"`
	Release string `json:"release"`
	Arch    string `json:"arch"`
	Variant string `json:"variant"`
	// Build is the server's build id ("serial"), e.g. "20240102_00:00";
	// lexicographic order is chronological order.
	Build string `json:"build"`
	// Path is the build directory on the server, absolute and clean, e.g.
	// "/images/debian/bookworm/amd64/default/20240102_00:00/".
	Path string `json:"path"`
}

// SyntaxError is a malformed index line.
type SyntaxError struct {
	Line   int    // 1-based
	Reason string // what is wrong with it
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("index line %d: %s", e.Line, e.Reason) }

// Is makes every *SyntaxError match ErrBadIndex.
func (e *SyntaxError) Is(target error) bool { return target == ErrBadIndex }

var (
	// ErrBadIndex is a malformed index (see *SyntaxError).
	ErrBadIndex = errors.New("malformed image index")
	// ErrNoMatch means the index has no line for the requested image.
	ErrNoMatch = errors.New("no matching image")
	// ErrBadRequest is a Request with a missing or unsafe field.
	ErrBadRequest = errors.New("invalid image request")
)

const (
	maxIndexLine = 4096
	maxNameLen   = 128
	maxPathLen   = 1024
)

// ParseIndex parses a meta/1.0 index: LF-terminated lines
// DIST;RELEASE;ARCH;VARIANT;BUILD;PATH. Empty lines are ignored; any other
// malformed line fails the whole index with a *SyntaxError.
func ParseIndex(r io.Reader) ([]IndexEntry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxIndexLine)
	var out []IndexEntry
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			continue
		}
		e, reason := parseIndexLine(line)
		if reason != "" {
			return nil, &SyntaxError{Line: n, Reason: reason}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &SyntaxError{Line: n + 1, Reason: fmt.Sprintf("longer than %d bytes", maxIndexLine)}
		}
		return nil, fmt.Errorf("read index: %w", err)
	}
	return out, nil
}

func parseIndexLine(line string) (IndexEntry, string) {
	f := strings.Split(line, ";")
	if len(f) != 6 {
		return IndexEntry{}, fmt.Sprintf("%d fields, want 6", len(f))
	}
	e := IndexEntry{Dist: f[0], Release: f[1], Arch: f[2], Variant: f[3], Build: f[4], Path: f[5]}
	for _, c := range []struct{ name, v string }{
		{"dist", e.Dist}, {"release", e.Release}, {"arch", e.Arch}, {"variant", e.Variant}, {"build", e.Build},
	} {
		if !safeName(c.v, c.name == "build") {
			return IndexEntry{}, fmt.Sprintf("bad %s %q", c.name, c.v)
		}
	}
	if !safeServerPath(e.Path) {
		return IndexEntry{}, fmt.Sprintf("bad path %q", e.Path)
	}
	return e, ""
}

// safeName reports whether s can be a path component of the cache: letters,
// digits and ._+- (and ':' in build ids), not starting with a dot.
func safeName(s string, build bool) bool {
	if s == "" || len(s) > maxNameLen || s[0] == '.' {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '+', c == '-':
		case c == ':' && build:
		default:
			return false
		}
	}
	return true
}

// safeServerPath accepts an absolute, clean path of printable ASCII without
// "..", escapes or URL syntax, so that appending it to the server URL can
// neither climb out of the server's prefix nor change its host.
func safeServerPath(p string) bool {
	if len(p) < 2 || len(p) > maxPathLen || p[0] != '/' {
		return false
	}
	for _, c := range []byte(p) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`%?#\;`, c) >= 0 {
			return false
		}
	}
	trimmed := strings.TrimSuffix(p, "/")
	if len(trimmed) < 2 || path.Clean(trimmed) != trimmed {
		return false
	}
	for _, part := range strings.Split(trimmed[1:], "/") {
		if part == "." || part == ".." {
			return false
		}
	}
	return true
}

// Select returns the line for req with the greatest build. req's fields must
// already be filled in (see Request's defaults).
func Select(entries []IndexEntry, req Request) (IndexEntry, error) {
	var best IndexEntry
	found := false
	for _, e := range entries {
		if e.Dist != req.Dist || e.Release != req.Release || e.Arch != req.Arch || e.Variant != req.Variant {
			continue
		}
		if !found || e.Build > best.Build {
			best, found = e, true
		}
	}
	if !found {
		return IndexEntry{}, fmt.Errorf("%s: %w", req, ErrNoMatch)
	}
	return best, nil
}

// filterEntries returns the entries matching every non-empty field of f, sorted.
func filterEntries(entries []IndexEntry, f Request) []IndexEntry {
	var out []IndexEntry
	for _, e := range entries {
		if (f.Dist == "" || e.Dist == f.Dist) && (f.Release == "" || e.Release == f.Release) &&
			(f.Arch == "" || e.Arch == f.Arch) && (f.Variant == "" || e.Variant == f.Variant) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		for _, p := range [][2]string{{a.Dist, b.Dist}, {a.Release, b.Release}, {a.Arch, b.Arch}, {a.Variant, b.Variant}, {a.Build, b.Build}} {
			if p[0] != p[1] {
				return p[0] < p[1]
			}
		}
		return false
	})
	return out
}

// HostArch returns the Debian name of the architecture ulxc runs on.
func HostArch() string { return debianArch(runtime.GOARCH) }

func debianArch(goarch string) string {
	switch goarch {
	case "arm":
		return "armhf"
	case "386":
		return "i386"
	case "ppc64le":
		return "ppc64el"
	default: // amd64, arm64, s390x, riscv64, mips64el... share Go's name
		return goarch
	}
}

// withDefaults fills in the defaults of req and checks that every field is
// safe to use as a cache path component.
func (r Request) withDefaults() (Request, error) {
	if r.Server == "" {
		r.Server = DefaultServer
	}
	if r.Arch == "" {
		r.Arch = HostArch()
	}
	if r.Variant == "" {
		r.Variant = "default"
	}
	for _, c := range []struct{ name, v string }{
		{"dist", r.Dist}, {"release", r.Release}, {"arch", r.Arch}, {"variant", r.Variant},
	} {
		if c.v == "" {
			return r, fmt.Errorf("%w: %s is required", ErrBadRequest, c.name)
		}
		if !safeName(c.v, false) {
			return r, fmt.Errorf("%w: bad %s %q", ErrBadRequest, c.name, c.v)
		}
	}
	return r, nil
}

// CheckEntry refuses an entry that ParseIndex would refuse as a line:
// fields with characters outside letters, digits and ._+- (and ':' in
// builds), or a PATH that is not clean and absolute. Publishers check
// what they are about to list with it.
func CheckEntry(e IndexEntry) error {
	line := strings.Join([]string{e.Dist, e.Release, e.Arch, e.Variant, e.Build, e.Path}, ";")
	if _, reason := parseIndexLine(line); reason != "" {
		return fmt.Errorf("%w: %s", ErrBadIndex, reason)
	}
	return nil
}
