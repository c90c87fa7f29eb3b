package lxcconf

import (
	"strconv"
	"strings"
)

// evaluate applies the lines in LXC's order: legacy names translated,
// single-valued keys replaced, lists appended, empty values clearing.
func (c *Config) evaluate(stream []item) error {
	v := newView()
	var warns []Warning
	seen := map[Warning]bool{}
	warn := func(it item, msg string) {
		w := Warning{File: it.file, Line: it.line, Msg: msg}
		if !seen[w] {
			seen[w] = true
			warns = append(warns, w)
		}
	}
	legacyNet := -1 // the interface opened by the last lxc.network.type
	for i := range c.Entries {
		c.Entries[i] = Entry{Raw: c.Entries[i].Raw, File: c.file, Line: i + 1}
	}
	for _, it := range stream {
		if it.warn != "" {
			warn(it, it.warn)
			continue
		}
		if !it.kv {
			continue
		}
		var key string
		var class keyClass
		switch {
		case it.key == "lxc.network.type" && it.value == "":
			// Legacy LXC: an empty type removes every interface.
			key, class = "lxc.net", classLegacy
		case it.key == "lxc.network.type":
			// Legacy LXC: each type opens the next interface.
			legacyNet = max(legacyNet, v.maxNet) + 1
			fallthrough
		default:
			key, class = canonical(it.key, legacyNet)
		}
		if it.top >= 0 {
			c.Entries[it.top].Key, c.Entries[it.top].Value = key, it.value
		}
		switch class {
		case classLegacy:
			warn(it, it.key+": deprecated, use "+key)
		case classObsolete:
			warn(it, it.key+": obsolete since LXC 3.0, ignored")
			continue
		case classUnknown:
			// LXC refuses a config with a key it does not know; a
			// misspelled lxc.cap.drop would otherwise drop nothing.
			return &KeyError{File: it.file, Line: it.line, Key: it.key, Suggest: nearestKey(it.key)}
		case classNoNet:
			warn(it, it.key+": no lxc.network.type before it, ignored")
			continue
		case classClearOnly:
			if it.value != "" {
				warn(it, it.key+": only an empty value (clearing "+key+".*) is allowed, ignored")
				continue
			}
		}
		if it.value == "" {
			v.clear(key)
			if key == "lxc.net" {
				legacyNet = -1
			}
			continue
		}
		v.add(Entry{Key: key, Value: it.value, Raw: it.raw, File: it.file, Line: it.line})
	}
	c.eff, c.Warnings = v.live(), warns
	return nil
}

// view is the effective configuration being built, indexed so that even a
// hostile config of a million lines is evaluated in linear time.
type view struct {
	entries []Entry
	dead    []bool
	byKey   map[string][]int           // live positions of each key
	byRoot  map[string]map[string]bool // keys that an empty value of a family root clears
	maxNet  int                        // highest lxc.net index set since lxc.net was cleared
}

func newView() *view {
	return &view{byKey: map[string][]int{}, byRoot: map[string]map[string]bool{}, maxNet: -1}
}

func (v *view) add(e Entry) {
	if !isList(e.Key) {
		v.removeKey(e.Key)
	}
	v.byKey[e.Key] = append(v.byKey[e.Key], len(v.entries))
	v.entries = append(v.entries, e)
	v.dead = append(v.dead, false)
	for _, r := range roots(e.Key) {
		if v.byRoot[r] == nil {
			v.byRoot[r] = map[string]bool{}
		}
		v.byRoot[r][e.Key] = true
	}
	if n, _, ok := netIndex(e.Key); ok {
		v.maxNet = max(v.maxNet, n)
	}
}

// clear applies an empty value of key: the key's values and, for a family
// root, those of every key of the family are removed.
func (v *view) clear(key string) {
	v.removeKey(key)
	for k := range v.byRoot[key] {
		v.removeKey(k)
	}
	delete(v.byRoot, key)
	if key == "lxc.net" {
		v.maxNet = -1
	}
}

func (v *view) removeKey(key string) {
	for _, i := range v.byKey[key] {
		v.dead[i] = true
	}
	delete(v.byKey, key)
}

func (v *view) live() []Entry {
	var out []Entry
	for i, e := range v.entries {
		if !v.dead[i] {
			out = append(out, e)
		}
	}
	return out
}

// roots returns the family roots whose empty value clears key. Every
// root of clearRoots is "lxc.X", so the only candidate is the key's own
// first two components: looking at every root for every line was a
// third of a rebuild, and a rebuild follows every edit (TestRoots).
func roots(key string) []string {
	var rs []string
	if i := strings.IndexByte(key, '.'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '.'); j >= 0 {
			if r := key[:i+1+j]; clearRoots()[r] && clears(r, key) {
				rs = append(rs, r)
			}
		}
	}
	if n, sub, ok := netIndex(key); ok && sub != "" {
		rs = append(rs, "lxc.net."+strconv.Itoa(n))
	}
	return rs
}
