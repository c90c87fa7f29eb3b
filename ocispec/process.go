package ocispec

import (
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultPath is the PATH of the init process and of hooks.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// process fills Spec.Process.
func (c *converter) process() error {
	p := c.spec.Process
	p.Cwd = "/"
	if v, ok := c.get("lxc.init.cwd"); ok {
		if !path.IsAbs(v) {
			return keyErr("lxc.init.cwd", v, ErrInvalidValue, "not an absolute path")
		}
		p.Cwd = path.Clean(v)
	}
	if err := c.args(); err != nil {
		return err
	}
	p.Env = c.env()
	if err := c.user(); err != nil {
		return err
	}
	if err := c.rlimits(); err != nil {
		return err
	}
	if err := c.capabilities(); err != nil {
		return err
	}
	if v, ok := c.get("lxc.no_new_privs"); ok {
		b, err := parseBool(v)
		if err != nil {
			return keyErr("lxc.no_new_privs", v, ErrInvalidValue, "want 0 or 1")
		}
		p.NoNewPrivileges = b
	}
	return nil
}

// args sets the init command.
func (c *converter) args() error {
	switch {
	case len(c.opts.Command) > 0:
		c.spec.Process.Args = append([]string(nil), c.opts.Command...)
	default:
		v, ok := c.get("lxc.init.cmd")
		if !ok {
			c.spec.Process.Args = []string{"/sbin/init"}
			return nil
		}
		args, err := SplitCommand(v)
		if err != nil {
			return &KeyError{Key: "lxc.init.cmd", Value: v, Err: err}
		}
		c.spec.Process.Args = args
	}
	return nil
}

// SplitCommand splits an lxc.init.cmd value into words as LXC does: blanks
// separate words, and '...' or "..." group blanks into a word (the quotes
// are removed; there is no backslash escape). An unterminated quote is
// ErrInvalidValue, where LXC would take the rest of the line.
func SplitCommand(s string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
		quote  rune
	)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("%w: unterminated %c quote", ErrInvalidValue, quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%w: empty command", ErrInvalidValue)
	}
	return words, nil
}

// env returns container=lxc, PATH and lxc.environment; a later KEY replaces
// an earlier one in place.
func (c *converter) env() []string {
	var (
		out []string
		idx = map[string]int{}
	)
	set := func(k, v string) {
		if i, ok := idx[k]; ok {
			out[i] = k + "=" + v
			return
		}
		idx[k] = len(out)
		out = append(out, k+"="+v)
	}
	set("container", "lxc")
	set("PATH", DefaultPath)
	for _, e := range c.cfg.Values("lxc.environment") {
		e = strings.TrimSpace(e)
		k, v, hasValue := strings.Cut(e, "=")
		if k == "" {
			continue
		}
		if !hasValue {
			var ok bool
			if v, ok = c.opts.LookupEnv(k); !ok {
				continue
			}
		}
		set(k, v)
	}
	return out
}

// user sets the init user from lxc.init.uid, lxc.init.gid, lxc.init.groups.
func (c *converter) user() error {
	u := &c.spec.Process.User
	for _, f := range []struct {
		key string
		dst *uint32
	}{{"lxc.init.uid", &u.UID}, {"lxc.init.gid", &u.GID}} {
		v, ok := c.get(f.key)
		if !ok {
			continue
		}
		n, err := parseID(v)
		if err != nil {
			return keyErr(f.key, v, ErrInvalidValue, "not an id from 0 to 4294967294")
		}
		*f.dst = n
	}
	for _, w := range c.words("lxc.init.groups") {
		for _, g := range strings.Split(w, ",") {
			if g == "" {
				continue
			}
			n, err := parseID(g)
			if err != nil {
				return keyErr("lxc.init.groups", w, ErrInvalidValue, "%q is not a group id", g)
			}
			u.AdditionalGids = append(u.AdditionalGids, n)
		}
	}
	return nil
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == math.MaxUint32 {
		return 0, fmt.Errorf("bad id %q", s)
	}
	return uint32(n), nil
}

func parseBool(s string) (bool, error) {
	switch s {
	case "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, fmt.Errorf("%q is not 0 or 1", s)
}

// rlimitName reports whether name is a NAME of lxc.prlimit.NAME, as in
// setrlimit(2).
func rlimitName(name string) bool {
	switch name {
	case "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
		"rss", "rtprio", "rttime", "sigpending", "stack":
		return true
	}
	return false
}

// rlimits sets process.rlimits from lxc.prlimit.NAME = SOFT[:HARD], where
// either may be "unlimited"; one number sets both.
func (c *converter) rlimits() error {
	keys := c.cfg.Keys("lxc.prlimit.")
	sort.Strings(keys)
	for _, key := range keys {
		name := strings.TrimPrefix(key, "lxc.prlimit.")
		v, ok := c.get(key)
		if !ok {
			continue
		}
		if !rlimitName(name) {
			return keyErr(key, v, ErrInvalidValue, "unknown resource %q", name)
		}
		soft, hard, err := ParseRlimit(v)
		if err != nil {
			return &KeyError{Key: key, Value: v, Err: err}
		}
		c.spec.Process.Rlimits = append(c.spec.Process.Rlimits, specs.POSIXRlimit{
			Type: "RLIMIT_" + strings.ToUpper(name), Soft: soft, Hard: hard,
		})
	}
	return nil
}

// Unlimited is RLIM_INFINITY.
const Unlimited = math.MaxUint64

// ParseRlimit parses an lxc.prlimit value: "SOFT:HARD" or one value for
// both, each a number or "unlimited" (Unlimited).
func ParseRlimit(s string) (soft, hard uint64, err error) {
	one := func(f string) (uint64, error) {
		if f == "unlimited" {
			return Unlimited, nil
		}
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %q is not a number or unlimited", ErrInvalidValue, f)
		}
		return n, nil
	}
	sf, hf, two := strings.Cut(s, ":")
	if soft, err = one(sf); err != nil {
		return 0, 0, err
	}
	hard = soft
	if two {
		if hard, err = one(hf); err != nil {
			return 0, 0, err
		}
	}
	if soft > hard {
		return 0, 0, fmt.Errorf("%w: soft limit above hard limit", ErrInvalidValue)
	}
	return soft, hard, nil
}
