package lxcconf

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// mapFiles is an in-memory file system for includes, so that the fuzzer
// never reads the host's files.
type mapFiles map[string]string

func (m mapFiles) readFile(path string) ([]byte, error) {
	if s, ok := m[path]; ok {
		return []byte(s), nil
	}
	return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
}

func (m mapFiles) readDir(path string) ([]string, error) {
	if ok, _, err := m.stat(path); err != nil || !ok {
		return nil, &fs.PathError{Op: "readdir", Path: path, Err: fs.ErrNotExist}
	}
	var names []string
	for p := range m {
		if rest, ok := strings.CutPrefix(p, strings.TrimSuffix(path, "/")+"/"); ok && !strings.Contains(rest, "/") {
			names = append(names, rest)
		}
	}
	sort.Strings(names)
	return names, nil
}

func (m mapFiles) stat(path string) (bool, fileID, error) {
	path = filepath.Clean(path)
	if _, ok := m[path]; ok {
		return false, fileID{name: path}, nil
	}
	for p := range m {
		if strings.HasPrefix(p, path+"/") {
			return true, fileID{name: path}, nil
		}
	}
	return false, fileID{}, &fs.PathError{Op: "stat", Path: path, Err: fs.ErrNotExist}
}

var fuzzFiles = mapFiles{
	"/inc/a.conf":        "lxc.idmap = u 0 1 1\nlxc.include = /inc/d/\n",
	"/inc/d/1.conf":      "lxc.net.0.type = veth\nlxc.cgroup2.devices.allow =\n",
	"/inc/d/2.conf":      "lxc.network.type = empty\n",
	"/inc/d/README":      "not included\n",
	"/inc/loop.conf":     "lxc.include = /inc/loop.conf\n",
	"/inc/bad.conf":      "broken\n",
	"/inc/legacy.conf":   "lxc.rootfs = ./r\nlxc.network.link = x\n",
	"/inc/quoted.conf":   "lxc.environment = \" x \"\n",
	"/inc/crlf.conf":     "lxc.tty.max = 1\r\n",
	"/inc/noeol.conf":    "lxc.tty.max = 2",
	"/inc/empty.conf":    "",
	"/inc/comment.conf":  "# only a comment\n",
	"/inc/clears.conf":   "lxc.hook =\nlxc.net =\nlxc.cgroup2 =\n",
	"/inc/unknown.conf":  "lxc.bogus = 1\n",
	"/inc/obsolete.conf": "lxc.pivotdir = x\n",
}

func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.conf")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range fuzzFiles {
		f.Add([]byte(s))
	}
	f.Add([]byte("lxc.include = /inc/a.conf\nlxc.include = /inc/loop.conf\n"))
	// The corpus in testdata/fuzz/FuzzParse holds the inputs that once failed.
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse(data, "", Options{}, fuzzFiles)
		if err != nil {
			return
		}
		if got := written(t, c); got != string(data) {
			t.Fatalf("WriteTo after Parse(%q) = %q, want the input", data, got)
		}
		for i, e := range c.Entries {
			if e.Line != i+1 {
				t.Fatalf("Parse(%q): Entries[%d].Line = %d", data, i, e.Line)
			}
		}
		for _, k := range c.Keys("") {
			c.Values(k)
			c.Path(k)
		}
		c.Networks()

		// An edit reads back as made.
		const v = " edited \"value\" "
		c.Set("lxc.uts.name", v)
		out := written(t, c)
		c2, err := parse([]byte(out), "", Options{}, fuzzFiles)
		if err != nil {
			t.Fatalf("Parse(%q) after Set = %v", out, err)
		}
		if got, _ := c2.Get("lxc.uts.name"); got != v {
			t.Fatalf("Get(lxc.uts.name) after Set and reparse of %q = %q, want %q", out, got, v)
		}
	})
}
