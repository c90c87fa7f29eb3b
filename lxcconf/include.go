package lxcconf

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// maxIncludeDepth bounds nested includes; LXC's deepest chain is three
// (debian.userns.conf -> userns.conf -> userns.conf.d).
const maxIncludeDepth = 16

// standardDir holds the configs the LXC package installs.
const standardDir = "/usr/share/lxc/config"

var (
	// ErrIncludeCycle is returned when a file includes itself, directly or not.
	ErrIncludeCycle = errors.New("include cycle")
	// ErrIncludeDepth is returned when includes nest more than 16 deep.
	ErrIncludeDepth = errors.New("includes nested too deep")
	// ErrRelativePath is returned for a relative include in a config read
	// without a file name, which has no directory to resolve it against.
	ErrRelativePath = errors.New("relative include in a config without a file name")
)

// IncludeError is an lxc.include that could not be read. Err is
// ErrIncludeCycle, ErrIncludeDepth, ErrRelativePath, an error of the
// included file (such as a *SyntaxError) or the system's error
// (errors.Is(err, fs.ErrNotExist) for a missing file).
type IncludeError struct {
	File string // the file with the lxc.include line
	Line int
	Path string // the included path, substituted and resolved
	Err  error
}

// Error returns "FILE:LINE: include PATH: ERR".
func (e *IncludeError) Error() string {
	return position(e.File, e.Line) + ": include " + e.Path + ": " + e.Err.Error()
}

func (e *IncludeError) Unwrap() error { return e.Err }

// item is one line of the top file or of an included file, in the order in
// which LXC applies them.
type item struct {
	file  string
	line  int
	raw   string
	key   string // as written
	value string
	kv    bool
	top   int    // index in Config.Entries; -1 for a line of an included file
	warn  string // a warning from reading includes; such an item is nothing else
}

// sources caches included files and directories, so that editing a Config
// recomputes its effective view from what Parse read.
type sources struct {
	fsys  files
	files map[string][]item
	dirs  map[string][]string
	stats map[string]stat
}

type stat struct {
	dir bool
	id  fileID
	err error
}

func newSources(fsys files) *sources {
	return &sources{fsys: fsys, files: map[string][]item{}, dirs: map[string][]string{}, stats: map[string]stat{}}
}

// stat returns whether path is a directory and the identity of what it
// names.
func (s *sources) stat(path string) (dir bool, id fileID, err error) {
	st, ok := s.stats[path]
	if !ok {
		st.dir, st.id, st.err = s.fsys.stat(path)
		s.stats[path] = st
	}
	return st.dir, st.id, st.err
}

func (s *sources) lines(path string) ([]item, error) {
	if items, ok := s.files[path]; ok {
		return items, nil
	}
	data, err := s.fsys.readFile(path)
	if err != nil {
		return nil, err
	}
	raws, _ := splitLines(data)
	items := make([]item, 0, len(raws))
	for i, raw := range raws {
		k, v, kv, err := parseLine(raw, path, i+1)
		if err != nil {
			return nil, err
		}
		if kv {
			items = append(items, item{file: path, line: i + 1, raw: raw, key: k, value: v, kv: true, top: -1})
		}
	}
	s.files[path] = items
	return items, nil
}

func (s *sources) confFiles(dir string) ([]string, error) {
	if names, ok := s.dirs[dir]; ok {
		return names, nil
	}
	names, err := s.fsys.readDir(dir)
	if err != nil {
		return nil, err
	}
	var confs []string
	for _, n := range names {
		// LXC takes NAME.conf with a non-empty NAME.
		if len(n) > len(".conf") && strings.HasSuffix(n, ".conf") {
			confs = append(confs, n)
		}
	}
	sort.Strings(confs)
	s.dirs[dir] = confs
	return confs, nil
}

// expand appends items to out, each lxc.include followed by the lines it
// includes; stack holds the identities of the files being included.
func (c *Config) expand(items []item, stack []fileID, out *[]item, lenient bool) error {
	for _, it := range items {
		if len(*out) >= maxLines {
			return fmt.Errorf("more than %d lines with includes expanded: %w", maxLines, ErrTooLarge)
		}
		*out = append(*out, it)
		if !it.kv || it.key != "lxc.include" || it.value == "" {
			continue
		}
		path, err := c.include(it, stack, out)
		if err == nil {
			continue
		}
		ierr := &IncludeError{File: it.file, Line: it.line, Path: path, Err: err}
		if !lenient {
			return ierr
		}
		*out = append(*out, item{file: it.file, line: it.line, top: -1, warn: "include " + path + ": " + err.Error()})
	}
	return nil
}

// include expands one lxc.include line and returns the path it included.
func (c *Config) include(it item, stack []fileID, out *[]item) (string, error) {
	path := substitute(it.value, c.opts.Vars)
	standard := strings.Contains(it.value, "LXC_TEMPLATE_CONFIG") || within(path, standardDir)
	if !filepath.IsAbs(path) {
		if it.file == "" {
			return path, ErrRelativePath
		}
		path = filepath.Join(filepath.Dir(it.file), path)
	}
	dir, _, err := c.src.stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && standard {
			// Configs written by LXC include its own files; without the
			// LXC package they are simply not there.
			msg := "include " + path + ": not installed, skipped"
			if strings.Contains(path, "LXC_TEMPLATE_CONFIG") {
				msg = "include " + it.value + ": LXC_TEMPLATE_CONFIG not substituted, skipped"
			}
			*out = append(*out, item{file: it.file, line: it.line, top: -1, warn: msg})
			return path, nil
		}
		return path, bareError(err)
	}
	if len(stack) >= maxIncludeDepth {
		return path, ErrIncludeDepth
	}
	if !dir {
		return path, c.includeFile(path, stack, out)
	}
	names, err := c.src.confFiles(path)
	if err != nil {
		return path, bareError(err)
	}
	for _, n := range names {
		f := filepath.Join(path, n)
		if err := c.includeFile(f, stack, out); err != nil {
			return path, fmt.Errorf("%s: %w", n, err)
		}
	}
	return path, nil
}

func (c *Config) includeFile(path string, stack []fileID, out *[]item) error {
	_, id, err := c.src.stat(path)
	if err != nil {
		return bareError(err)
	}
	if slices.Contains(stack, id) {
		return ErrIncludeCycle
	}
	items, err := c.src.lines(path)
	if err != nil {
		return bareError(err)
	}
	return c.expand(items, append(stack[:len(stack):len(stack)], id), out, false)
}

// bareError drops the path of a *fs.PathError: IncludeError names it already.
func bareError(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// substitute replaces ${NAME} and NAME by vars[NAME], longest names first so
// that one name containing another is replaced whole.
func substitute(s string, vars map[string]string) string {
	names := make([]string, 0, len(vars))
	for n := range vars {
		if n != "" {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if len(names[i]) != len(names[j]) {
			return len(names[i]) > len(names[j])
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		s = strings.ReplaceAll(s, "${"+n+"}", vars[n])
		s = strings.ReplaceAll(s, n, vars[n])
	}
	return s
}

func within(path, dir string) bool {
	path = filepath.Clean(path)
	return path == dir || strings.HasPrefix(path, dir+"/")
}
