package lxcconf

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ErrInvalidEdit is returned by WriteTo after Set or Add was given a key or a
// value that cannot be written as one config line (an empty key, a key with
// blanks or '=', a value with a line break or NUL). The edit is not applied.
var ErrInvalidEdit = errors.New("not representable as a config line")

// Set replaces the effective value of key in the top file: the line that
// holds it is rewritten in place (keeping its key spelling and layout) when it
// is in the top file, otherwise a line is appended, which overrides any
// include. For a list key this replaces the last value only; use Unset and Add
// to rewrite a list. An invalid key or value is reported by WriteTo.
func (c *Config) Set(key, value string) {
	if !c.checkEdit("set", key, value) {
		return
	}
	k, _ := canonical(key, 0)
	if c.tangled || slices.Contains(c.pending, k) {
		c.sync()
	}
	es := c.lookup(k)
	if n := len(es); n > 0 && es[n-1].File == c.file {
		i := es[n-1].Line - 1
		if i >= 0 && i < len(c.Entries) && c.Entries[i].Key == k {
			c.Entries[i].Raw = replaceValue(c.Entries[i].Raw, value)
			c.edited(key, value)
			return
		}
	}
	c.appendLine(key, value)
}

// Add appends `key = value` to the top file. A legacy key is written with its
// modern name, except unindexed lxc.network.* keys, whose meaning depends on
// the lines before them.
func (c *Config) Add(key, value string) {
	if !c.checkEdit("add", key, value) {
		return
	}
	c.appendLine(key, value)
}

// Unset removes every line of key from the top file. Values that come from
// included files stay in effect; Add(key, "") appends a line that clears
// them, for list keys.
func (c *Config) Unset(key string) {
	c.sync() // the keys of lines added since
	k, _ := canonical(key, 0)
	out := c.Entries[:0]
	for _, e := range c.Entries {
		if e.Key != k {
			out = append(out, e)
		}
	}
	c.Entries = out
	c.edited(key, "") // the lines after move up
}

// SetAt replaces the value of Entries[i], a key = value line of the top
// file, keeping its key spelling and layout: the edit of one value of a
// list key (one lxc.mount.entry of several). An index that is no such
// line, or an invalid value, is reported by WriteTo.
func (c *Config) SetAt(i int, value string) {
	if i >= 0 && i < len(c.Entries) && c.Entries[i].Key == "" {
		c.sync() // a line added since has no key yet
	}
	if i < 0 || i >= len(c.Entries) || c.Entries[i].Key == "" {
		if c.err == nil {
			c.err = fmt.Errorf("set line %d: %w: no key = value line there", i+1, ErrInvalidEdit)
		}
		return
	}
	if !c.checkEdit("set", c.Entries[i].Key, value) {
		return
	}
	c.Entries[i].Raw = replaceValue(c.Entries[i].Raw, value)
	c.edited(c.Entries[i].Key, value)
}

// Clone returns a copy of c whose edits c does not see, nor c's it. The
// files c includes are not read again for it.
func (c *Config) Clone() *Config {
	c.sync()
	d := *c
	d.pending = nil
	d.Entries = slices.Clone(c.Entries)
	d.Warnings = slices.Clone(c.Warnings)
	d.eff = slices.Clone(c.eff)
	return &d
}

// WriteTo writes the top file: every line as read, in order, byte for byte,
// with the edits of Set, Add and Unset. Includes are not inlined.
func (c *Config) WriteTo(w io.Writer) (int64, error) {
	c.sync()
	return c.writeTo(w)
}

// writeTo is WriteTo without the rebuild of a stale view, for Write,
// which parses what it writes.
func (c *Config) writeTo(w io.Writer) (int64, error) {
	if c.err != nil {
		return 0, c.err
	}
	var b strings.Builder
	for i, e := range c.Entries {
		b.WriteString(e.Raw)
		if i < len(c.Entries)-1 || !c.noEOL {
			b.WriteByte('\n')
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func (c *Config) appendLine(key, value string) {
	if m, class := canonical(key, -1); class == classLegacy {
		key = m
	}
	raw := key + " ="
	if v := quote(value); v != "" {
		raw += " " + v
	}
	c.Entries = append(c.Entries, Entry{Raw: raw})
	c.noEOL = false
	c.edited(key, value)
}

// edited marks the effective view stale after an edit of key to value,
// and records whether the edit leaves every other key's entries and
// every line's position as they were (Set relies on it).
func (c *Config) edited(key, value string) {
	c.stale = true
	if c.tangled {
		return
	}
	if k, ok := independent(key, value); ok {
		c.pending = append(c.pending, k)
	} else {
		c.tangled = true
	}
}

// independent reports whether setting key to value changes the effective
// entries of that key alone: a known modern key that includes nothing,
// opens no interface and clears nothing, with a value. It returns the
// key's canonical name.
func independent(key, value string) (string, bool) {
	k, class := canonical(key, -1)
	return k, value != "" && class == classModern && k != "lxc.include" && !strings.HasPrefix(k, "lxc.net") && !clearRoots()[k]
}

// sync rebuilds the effective view if an edit made it stale. Include
// errors become warnings: an edit cannot fail, and the file to include
// may not exist yet.
func (c *Config) sync() {
	if !c.stale {
		return
	}
	c.stale, c.pending, c.tangled = false, c.pending[:0], false
	if c.src == nil {
		c.src = newSources(osFiles{})
	}
	if err := c.rebuild(true); err != nil && c.err == nil {
		// Only a line put into Entries by hand can fail to parse.
		c.err = err
	}
}

func (c *Config) checkEdit(op, key, value string) bool {
	ok := key != "" && key[0] != '#' && !strings.ContainsAny(key, " \t\r\n=\x00") &&
		!strings.ContainsAny(value, "\r\n\x00")
	if !ok && c.err == nil {
		c.err = fmt.Errorf("%s %q = %q: %w", op, key, value, ErrInvalidEdit)
	}
	return ok
}

// replaceValue rewrites the value of a `key = value` line, keeping the text
// up to the value and a CRLF ending.
func replaceValue(raw, value string) string {
	cr := ""
	if strings.HasSuffix(raw, "\r") {
		raw, cr = raw[:len(raw)-1], "\r"
	}
	i := strings.IndexByte(raw, '=') + 1
	j := i
	for j < len(raw) && (raw[j] == ' ' || raw[j] == '\t') {
		j++
	}
	v := quote(value)
	prefix := raw[:j]
	switch {
	case v == "":
		prefix = raw[:i]
	case j == i && j == len(raw):
		prefix += " " // "key =" had no room for a value
	}
	return prefix + v + cr
}

// quote protects a value that LXC would otherwise change: surrounding blanks
// would be trimmed and one pair of surrounding quotes removed. LXC removes
// exactly one pair, so wrapping in double quotes always gives the value back.
func quote(v string) string {
	if strings.Trim(v, blank) != v || unquote(v) != v {
		return `"` + v + `"`
	}
	return v
}
