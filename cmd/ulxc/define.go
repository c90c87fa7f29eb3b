package main

import (
	"path/filepath"
	"strings"

	"github.com/ulxc/ulxc/lifecycle"
	"github.com/ulxc/ulxc/lxcconf"
)

// source is lifecycle.Source as the verbs that start a container take it
// from their flags: LXC's -f (--rcfile), which replaces the container's
// own config file for this command, and -s KEY=VAL (--define), applied on
// top as lxc-start does.
type source struct{ lifecycle.Source }

// check refuses what cannot be applied, before anything runs; verb names
// the command in the error.
func (src *source) check(verb string) error {
	if src.RCFile != "" {
		abs, err := filepath.Abs(src.RCFile)
		if err != nil {
			return usagef("%s: -f %s: %v", verb, src.RCFile, err)
		}
		src.RCFile = abs
	}
	for _, d := range src.Defines {
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
