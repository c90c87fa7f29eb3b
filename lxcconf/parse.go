package lxcconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Bounds on hostile input; LXC's own configs are a few KiB and a few hundred
// lines with every include expanded.
const (
	maxFileSize = 16 << 20
	// maxLines bounds the lines of a config with its includes expanded: a
	// file that includes another ten times, which includes another ten
	// times... would otherwise never finish.
	maxLines = 1 << 18
)

// ErrTooLarge is returned for a config file larger than 16 MiB, or one whose
// includes expand to more than 262144 lines.
var ErrTooLarge = errors.New("config too large")

// Entry is one line of a config file, kept verbatim for writing back.
type Entry struct {
	Key   string // canonical (modern) key, "" for comment/blank lines
	Value string // trimmed, one pair of surrounding quotes removed (as LXC does)
	Raw   string // the original line text (comments, blank lines, original legacy key spelling)
	File  string // absolute path of the file that holds it ("" if read from a reader without name)
	Line  int
}

// Warning is something LXC would treat differently or that the user should
// change: an unknown key, a legacy key, a skipped standard include.
type Warning struct {
	File string
	Line int
	Msg  string
}

// String returns "FILE:LINE: MSG".
func (w Warning) String() string { return position(w.File, w.Line) + ": " + w.Msg }

// SyntaxError is a line that is not `key = value`, a comment or blank.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

// Error returns "FILE:LINE: MSG".
func (e *SyntaxError) Error() string { return position(e.File, e.Line) + ": " + e.Msg }

func position(file string, line int) string {
	if file == "" {
		return "line " + strconv.Itoa(line)
	}
	return file + ":" + strconv.Itoa(line)
}

// Options tune Parse and Load. The zero value collects warnings in
// Config.Warnings and substitutes nothing in include paths.
type Options struct {
	// Warn receives unknown keys, deprecated legacy keys (with the modern name), skipped standard includes,
	// once each, in file order, when Parse or Load returns successfully.
	// nil: warnings are collected in Config.Warnings only.
	Warn func(Warning)
	// Vars: substitutions applied to include paths before reading (e.g. "LXC_TEMPLATE_CONFIG" -> dir); nil: none.
	// A name is replaced where it appears as ${NAME} or NAME, as LXC's templates do with sed.
	Vars map[string]string
}

// Config is a parsed config file.
type Config struct {
	Entries  []Entry   // every line of the top file, in order; includes are NOT inlined here...
	Warnings []Warning // warnings of the top file and its includes, in file order, without duplicates
	// After Set, Add, Unset or SetAt, the Key, Value, File and Line of
	// Entries and the Warnings are brought up to date by the next method
	// that reads the effective view (Lookup, Get, Values, Path, Keys,
	// Networks, WriteTo, Clone).
	// ...the effective view (top file + includes expanded in place) is what Get/Values read.

	file  string // absolute path of the top file, "" for an unnamed reader
	id    fileID // the top file's identity, once a rebuild needed it
	noEOL bool   // the top file does not end with a newline
	opts  Options
	src   *sources
	eff   []Entry
	err   error // first invalid edit, reported by WriteTo

	// An edit marks the effective view stale; the next read rebuilds it
	// (sync). A rebuild re-evaluates every line with the includes, 0.03
	// ms for a Debian container's config: a copy made four edits in a
	// row. Set reads the stale view when the edits since touched only
	// other keys, each of which leaves every other key alone (pending).
	stale   bool
	pending []string // the keys edited since the view was built, when all are independent
	tangled bool     // an edit since may have changed other keys or the lines' positions
}

// Load reads the config file at path and the files it includes.
func Load(path string, opts Options) (*Config, error) {
	data, err := osFiles{}.readFile(path)
	if err != nil {
		return nil, err
	}
	return parse(data, path, opts, osFiles{})
}

// Parse reads a config from r. name is the file's path, used in messages and
// to resolve relative paths (a relative name is made absolute against the
// current directory, where the file is); with name "" relative includes are
// an error and Path returns relative values unresolved.
func Parse(r io.Reader, name string, opts Options) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: %w", displayName(name), ErrTooLarge)
	}
	return parse(data, name, opts, osFiles{})
}

func displayName(name string) string {
	if name == "" {
		return "config"
	}
	return name
}

func parse(data []byte, name string, opts Options, fsys files) (*Config, error) {
	return parseWith(data, name, opts, newSources(fsys))
}

// parseWith is parse with the included files read through src, which
// may hold them already.
func parseWith(data []byte, name string, opts Options, src *sources) (*Config, error) {
	if name != "" {
		abs, err := filepath.Abs(name)
		if err != nil {
			return nil, err
		}
		name = abs
	}
	c := &Config{file: name, opts: opts, src: src}
	raws, noEOL := splitLines(data)
	c.noEOL = noEOL
	c.Entries = make([]Entry, len(raws))
	for i, raw := range raws {
		c.Entries[i] = Entry{Raw: raw, File: name, Line: i + 1}
		if _, _, _, err := parseLine(raw, name, i+1); err != nil {
			return nil, err
		}
	}
	if err := c.rebuild(false); err != nil {
		return nil, err
	}
	if opts.Warn != nil {
		for _, w := range c.Warnings {
			opts.Warn(w)
		}
	}
	return c, nil
}

// splitLines splits data at '\n' keeping everything else (a '\r' of a CRLF
// file stays at the end of its line), and reports whether the last line has
// no newline.
func splitLines(data []byte) (lines []string, noEOL bool) {
	if len(data) == 0 {
		return nil, false
	}
	s := string(data)
	noEOL = !strings.HasSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\n")
	return strings.Split(s, "\n"), noEOL
}

// blank is what LXC trims around keys and values; '\r' because LXC also
// splits lines there.
const blank = " \t\r"

// parseLine returns the key as written and the value of a `key = value`
// line; kv is false for blank lines and comments.
func parseLine(raw, file string, line int) (key, value string, kv bool, err error) {
	if strings.IndexByte(raw, 0) >= 0 {
		return "", "", false, &SyntaxError{File: file, Line: line, Msg: "NUL byte in line"}
	}
	s := strings.Trim(raw, blank)
	if s == "" || s[0] == '#' {
		return "", "", false, nil
	}
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", false, &SyntaxError{File: file, Line: line, Msg: fmt.Sprintf("missing '=' in %q", s)}
	}
	k = strings.TrimRight(k, blank)
	if k == "" {
		return "", "", false, &SyntaxError{File: file, Line: line, Msg: "missing key before '='"}
	}
	return k, unquote(strings.Trim(v, blank)), true, nil
}

// unquote removes one pair of matching surrounding quotes, as LXC does.
func unquote(v string) string {
	if len(v) > 1 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// files is the file system includes are read from; tests replace it.
type files interface {
	readFile(path string) ([]byte, error)
	// readDir returns the sorted names of the entries of a directory that
	// are not directories themselves.
	readDir(path string) ([]string, error)
	// stat returns whether path (symlinks followed) is a directory, and
	// the identity of what it names: the same for every path to one file.
	stat(path string) (dir bool, id fileID, err error)
}

// fileID tells files apart for the include-cycle check: a device and
// inode on a real file system, a cleaned path in the tests' fake one.
// One stat gives it, where resolving a path's symlinks took an lstat per
// component: a quarter of the load of Debian's config with its includes.
type fileID struct {
	dev, ino uint64
	name     string
}

type osFiles struct{}

func (osFiles) readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(io.LimitReader(f, maxFileSize+1)); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if b.Len() > maxFileSize {
		return nil, fmt.Errorf("%s: %w", path, ErrTooLarge)
	}
	return b.Bytes(), nil
}

func (osFiles) readDir(path string) ([]string, error) {
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if fi, err := os.Stat(filepath.Join(path, e.Name())); err == nil && fi.IsDir() {
			continue
		}
		names = append(names, e.Name())
	}
	return names, nil
}

func (osFiles) stat(path string) (bool, fileID, error) {
	var st unix.Stat_t
	if err := ignoringEINTR(func() error { return unix.Stat(path, &st) }); err != nil {
		return false, fileID{}, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return st.Mode&unix.S_IFMT == unix.S_IFDIR, fileID{dev: st.Dev, ino: st.Ino}, nil
}

// ignoringEINTR retries f while it is interrupted, as package os does.
func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
