package lxcconf

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
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

// FuzzEdits holds edits that rebuild the effective view only when it is
// next read (Config.sync) to edits that rebuild it after each: a run of
// Set, Add, Unset and SetAt drawn from ops, applied to two copies of a
// config, one of which is read after every edit, writes the same file
// and ends with the same effective view, entries and warnings.
func FuzzEdits(f *testing.F) {
	f.Add([]byte("lxc.uts.name = a\nlxc.include = /inc/a.conf\n"), []byte{0, 1, 2, 0, 3, 4, 5, 1, 6, 7})
	f.Add([]byte("lxc.network.type = veth\nlxc.network.link = br0\n"), []byte{8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte("lxc.cgroup2.devices.allow = a\nlxc.include = /inc/d/\n"), []byte{16, 17, 18, 19, 20, 21, 22, 23, 24, 25})
	keys := []string{"lxc.uts.name", "lxc.rootfs.path", "lxc.cap.drop", "lxc.include", "lxc.net.0.type",
		"lxc.network.type", "lxc.cgroup2", "lxc.cgroup2.devices.allow", "lxc.utsname", "lxc.hook.clone",
		"lxc.ephemeral", "lxc.network.link", "lxc.net", "lxc.bogus"}
	values := []string{"", "x", "/inc/a.conf", "veth", "a b", "/inc/d/"}
	f.Fuzz(func(t *testing.T, data, ops []byte) {
		lazy, err := parse(data, "", Options{}, fuzzFiles)
		if err != nil {
			return
		}
		eager := lazy.Clone()
		for i := 0; i+2 < len(ops) && i < 60; i += 3 {
			op, key, value := ops[i]%4, keys[int(ops[i+1])%len(keys)], values[int(ops[i+2])%len(values)]
			for _, c := range []*Config{lazy, eager} {
				switch op {
				case 0:
					c.Set(key, value)
				case 1:
					c.Add(key, value)
				case 2:
					c.Unset(key)
				case 3:
					c.SetAt(int(ops[i+2])%(len(c.Entries)+1), value)
				}
			}
			eager.Keys("") // a read: the view is rebuilt now
		}
		var lw, ew strings.Builder
		_, lerr := lazy.WriteTo(&lw)
		_, eerr := eager.WriteTo(&ew)
		if (lerr == nil) != (eerr == nil) || lw.String() != ew.String() {
			t.Fatalf("after %v on %q: lazy wrote %q (%v), eager %q (%v)", ops, data, lw.String(), lerr, ew.String(), eerr)
		}
		if lerr != nil {
			return // an edit made the config invalid: its view is the last valid one's, whichever that was
		}
		if !reflect.DeepEqual(lazy.Entries, eager.Entries) || !reflect.DeepEqual(lazy.Warnings, eager.Warnings) ||
			!reflect.DeepEqual(lazy.LookupPrefix(""), eager.LookupPrefix("")) {
			t.Fatalf("after %v on %q: lazy and eager views differ:\n%+v\n%+v", ops, data, lazy.LookupPrefix(""), eager.LookupPrefix(""))
		}
	})
}
