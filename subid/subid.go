package subid

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// The files shadow's useradd and usermod maintain.
const (
	UIDFile = "/etc/subuid"
	GIDFile = "/etc/subgid"
)

// maxID is one past the largest id: a Range ends at most here.
const maxID = 1 << 32

// Range is Count consecutive ids starting at Start. A parsed Range has
// Count > 0 and Start+Count <= 2^32.
type Range struct{ Start, Count uint32 }

// End returns one past the last id of r.
func (r Range) End() uint64 { return uint64(r.Start) + uint64(r.Count) }

// Contains reports whether the count ids from start all lie inside r. An
// empty span (count 0) is contained in nothing.
func (r Range) Contains(start uint32, count uint32) bool {
	return count > 0 && start >= r.Start && uint64(start)+uint64(count) <= r.End()
}

// String returns r as an inclusive span, "200000-265535".
func (r Range) String() string {
	if r.Count == 0 {
		return fmt.Sprintf("%d (empty)", r.Start)
	}
	return fmt.Sprintf("%d-%d", r.Start, r.End()-1)
}

func (r Range) overlaps(o Range) bool {
	return uint64(r.Start) < o.End() && uint64(o.Start) < r.End()
}

// Entry is one line of a subordinate id file.
type Entry struct {
	Owner string // user name or decimal uid, as written
	Range Range
	Line  int // 1-based line number
}

// File is a parsed subordinate id file.
type File struct {
	Path    string
	Entries []Entry
}

// SyntaxError is a line of a subordinate id file that does not parse.
type SyntaxError struct {
	Path string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg) }

// maxLine bounds one line; real lines are a few dozen bytes.
const maxLine = 64 << 10

// Parse reads a subordinate id file from r; path names it in errors.
func Parse(r io.Reader, path string) (*File, error) {
	f := &File{Path: path}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		e, msg := parseLine(line)
		if msg != "" {
			return nil, &SyntaxError{Path: path, Line: n, Msg: msg}
		}
		e.Line = n
		f.Entries = append(f.Entries, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &SyntaxError{Path: path, Line: n + 1, Msg: "line too long"}
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return f, nil
}

// parseLine parses "owner:start:count"; a non-empty msg says what is wrong.
func parseLine(line string) (Entry, string) {
	fields := strings.Split(line, ":")
	if len(fields) != 3 {
		return Entry{}, fmt.Sprintf("want owner:start:count, got %d field(s) in %q", len(fields), line)
	}
	owner := fields[0]
	if owner == "" {
		return Entry{}, "empty owner"
	}
	if strings.ContainsFunc(owner, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return Entry{}, fmt.Sprintf("owner %q contains a space or control character", owner)
	}
	start, err := strconv.ParseUint(fields[1], 10, 32)
	if err != nil {
		return Entry{}, fmt.Sprintf("start %q is not an id (0-4294967295)", fields[1])
	}
	count, err := strconv.ParseUint(fields[2], 10, 32)
	if err != nil {
		return Entry{}, fmt.Sprintf("count %q is not a number (1-4294967295)", fields[2])
	}
	if count == 0 {
		return Entry{}, "count is 0"
	}
	if start+count > maxID {
		return Entry{}, fmt.Sprintf("range %d+%d runs past the last id 4294967295", start, count)
	}
	return Entry{Owner: owner, Range: Range{Start: uint32(start), Count: uint32(count)}}, ""
}

// Load reads and parses the file at path. A missing file is an empty File:
// it means nobody has subordinate ids, which callers report as ErrNoRanges.
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &File{Path: path}, nil
	}
	if err != nil {
		return nil, err // *PathError already names the operation and path
	}
	defer fh.Close()
	return Parse(fh, path)
}

func owns(owner, name string, uid uint32) bool {
	return (name != "" && owner == name) || owner == strconv.FormatUint(uint64(uid), 10)
}

// Lookup returns the ranges of the user called name or with the given uid,
// in file order.
func (f *File) Lookup(name string, uid uint32) []Range {
	var out []Range
	for _, e := range f.Entries {
		if owns(e.Owner, name, uid) {
			out = append(out, e.Range)
		}
	}
	return out
}

// Overlapping returns the entries of other owners that overlap one of this
// user's ranges: two users sharing subordinate ids can reach each other's
// containers' files.
func (f *File) Overlapping(name string, uid uint32) []Entry {
	mine := f.Lookup(name, uid)
	var out []Entry
	for _, e := range f.Entries {
		if owns(e.Owner, name, uid) {
			continue
		}
		for _, r := range mine {
			if e.Range.overlaps(r) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// ErrNoRanges means a user has no subordinate ids in a file.
var ErrNoRanges = errors.New("no subordinate ids")

// Ranges loads path and returns the ranges of the user, or an error wrapping
// ErrNoRanges that names the user and the file when there are none.
func Ranges(path, name string, uid uint32) ([]Range, error) {
	f, err := Load(path)
	if err != nil {
		return nil, err
	}
	rs := f.Lookup(name, uid)
	if len(rs) == 0 {
		return nil, fmt.Errorf("%w for user %s in %s", ErrNoRanges, userString(name, uid), path)
	}
	return rs, nil
}

func userString(name string, uid uint32) string {
	if name == "" {
		return fmt.Sprintf("uid %d", uid)
	}
	return fmt.Sprintf("%q (uid %d)", name, uid)
}
