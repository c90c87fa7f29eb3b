package main

import (
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/store"
)

// configSource is where a verb reads a container's config from: LXC's -f
// (--rcfile), which replaces the container's own config file for this
// command, and -s KEY=VAL (--define), applied on top as lxc-start does:
// a later value of a single-valued key wins, a list key gets one more.
type configSource struct {
	rcfile  string   // default: the container's config
	defines []string // KEY=VAL
}

// path is the config file the source reads for c.
func (src configSource) path(c *store.Container) string {
	if src.rcfile != "" {
		return src.rcfile
	}
	return c.ConfigPath()
}

// check refuses what cannot be applied, before anything runs; verb names
// the command in the error.
func (src *configSource) check(verb string) error {
	if src.rcfile != "" {
		abs, err := filepath.Abs(src.rcfile)
		if err != nil {
			return usagef("%s: -f %s: %v", verb, src.rcfile, err)
		}
		src.rcfile = abs
	}
	for _, d := range src.defines {
		k, v, ok := strings.Cut(d, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok || k == "":
			return usagef("%s: -s %q: want KEY=VALUE", verb, d)
		case strings.ContainsAny(v, "\r\n\x00"):
			return usagef("%s: -s %s: the value must be one line", verb, k)
		}
		if _, known := lxcconf.Canonical(k); !known {
			return usagef("%s: -s %s: not a config key (see lxc.container.conf(5))", verb, k)
		}
	}
	return nil
}

// load reads the config of c from src.
func (src configSource) load(c *store.Container) (*lxcconf.Config, error) {
	cfg, err := lxcconf.Load(src.path(c), lxcconf.Options{})
	if err != nil {
		return nil, err
	}
	for _, d := range src.defines {
		k, v, _ := strings.Cut(d, "=")
		cfg.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return cfg, nil
}

// specFrom converts the config of c that src names into the spec to run;
// cmd, when given, replaces its init command. Keys that cannot be
// enforced are warned about.
func (e *env) specFrom(c *store.Container, src configSource, cmd []string) (*specs.Spec, error) {
	cfg, err := src.load(c)
	if err != nil {
		return nil, err
	}
	// What ulxc knows but does not enforce is said once, by start
	// (warnUnapplied), not by every verb that converts the config.
	return ocispec.Convert(cfg, ocispec.Options{Name: c.Name, Dir: c.Dir, ConfigFile: src.path(c), Command: cmd})
}
