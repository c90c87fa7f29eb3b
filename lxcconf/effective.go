package lxcconf

import (
	"path/filepath"
	"strings"
)

// rebuild recomputes the keys of Entries, the effective view and the
// warnings from the top file's lines. lenient turns include errors into
// warnings, for edits, which cannot return errors.
func (c *Config) rebuild(lenient bool) error {
	top := make([]item, len(c.Entries))
	for i, e := range c.Entries {
		k, v, kv, err := parseLine(e.Raw, c.file, i+1)
		if err != nil {
			return err
		}
		top[i] = item{file: c.file, line: i + 1, raw: e.Raw, key: k, value: v, kv: kv, top: i}
	}
	var stack []fileID
	if c.file != "" {
		if c.id == (fileID{}) {
			// Once: an edit rebuilds. Not through c.src, whose
			// answers for the top file would outlive its writing.
			_, id, err := c.src.fsys.stat(c.file)
			if err != nil {
				id = fileID{name: c.file} // Parse of a reader whose name is not a file
			}
			c.id = id
		}
		stack = []fileID{c.id}
	}
	var stream []item
	if err := c.expand(top, stack, &stream, lenient); err != nil {
		return err
	}
	return c.evaluate(stream)
}

// Lookup returns the effective entries of key (legacy names accepted), with
// the file and line of each: one at most for a single-valued key, every value
// in order for a list.
func (c *Config) Lookup(key string) []Entry {
	c.sync()
	k, _ := canonical(key, 0)
	return c.lookup(k)
}

// lookup is Lookup of a canonical key in the view as it is.
func (c *Config) lookup(k string) []Entry {
	var out []Entry
	for _, e := range c.eff {
		if e.Key == k {
			out = append(out, e)
		}
	}
	return out
}

// LookupPrefix returns the effective entries whose key starts with prefix, in
// the order LXC applies them; for example "lxc.cgroup2.devices." gives the
// device rules with deny and allow interleaved as written.
func (c *Config) LookupPrefix(prefix string) []Entry {
	c.sync()
	var out []Entry
	for _, e := range c.eff {
		if strings.HasPrefix(e.Key, prefix) {
			out = append(out, e)
		}
	}
	return out
}

// Get returns the effective value of a single-valued key (legacy names
// accepted as input too), or the last value of a list. It reports false
// when the key is not set or an empty value cleared it.
func (c *Config) Get(key string) (string, bool) {
	es := c.Lookup(key)
	if len(es) == 0 {
		return "", false
	}
	return es[len(es)-1].Value, true
}

// Values returns all effective values of a list key, in order, after empty
// values cleared what came before them; for a single-valued key it returns
// the effective value alone. Values are as written: lxc.cap.drop = "a b"
// is one value.
func (c *Config) Values(key string) []string {
	es := c.Lookup(key)
	if len(es) == 0 {
		return nil
	}
	vs := make([]string, len(es))
	for i, e := range es {
		vs[i] = e.Value
	}
	return vs
}

// Path is Get with the value resolved against the directory of the file
// that held it (see Entry.Path).
func (c *Config) Path(key string) (string, bool) {
	es := c.Lookup(key)
	if len(es) == 0 {
		return "", false
	}
	return es[len(es)-1].Path(), true
}

// Keys returns the distinct effective keys that start with prefix, in the
// order they first take effect, e.g. "lxc.net.", "lxc.cgroup2.", "lxc.prlimit.".
func (c *Config) Keys(prefix string) []string {
	c.sync()
	var keys []string
	seen := map[string]bool{}
	for _, e := range c.eff {
		if strings.HasPrefix(e.Key, prefix) && !seen[e.Key] {
			seen[e.Key] = true
			keys = append(keys, e.Key)
		}
	}
	return keys
}

// File returns the absolute path of the top file, "" for a config read from
// an unnamed reader.
func (c *Config) File() string { return c.file }

// Path returns the entry's value as a path, resolved against the directory
// of the file that holds it; an entry read without a file name stays
// relative. For lxc.rootfs.path, the "dir:" storage prefix is removed,
// "overlay:", "overlayfs:", "btrfs:" and "loop:" keep their prefix with
// their paths resolved, and other storage types (zfs, lvm, rbd, nbd), whose
// values name no local path, are returned as written. A hook's value is a
// command line: resolve its first word with Entry.Resolve instead.
func (e Entry) Path() string {
	if e.Key != "lxc.rootfs.path" {
		return e.Resolve(e.Value)
	}
	kind, rest, ok := strings.Cut(e.Value, ":")
	if !ok {
		return e.Resolve(e.Value)
	}
	switch kind {
	case "dir":
		return e.Resolve(rest)
	case "overlay", "overlayfs":
		parts := strings.Split(rest, ":")
		for i, p := range parts {
			parts[i] = e.Resolve(p)
		}
		return kind + ":" + strings.Join(parts, ":")
	case "btrfs", "loop":
		return kind + ":" + e.Resolve(rest)
	case "zfs", "lvm", "rbd", "nbd":
		return e.Value
	default:
		return e.Resolve(e.Value)
	}
}

// Resolve resolves a path found in the entry against the directory of the
// file that holds it, never the current directory. Absolute and empty paths
// are returned unchanged, and so is everything from an unnamed reader.
func (e Entry) Resolve(path string) string {
	if path == "" || filepath.IsAbs(path) || e.File == "" {
		return path
	}
	return filepath.Join(filepath.Dir(e.File), path)
}
