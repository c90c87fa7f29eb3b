package template

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/userns"
)

// configInput is what the container's config is assembled from.
type configInput struct {
	Name   string
	Rootfs rootfsConfig
	// Distribution is the image's config-user (or the busybox lines).
	Distribution string
	Default      *lxcconf.Config
	Maps         []userns.Map
	Comment      []string
	Vars         map[string]string // placeholders substituted in Distribution
	Warn         func(string)
	// Network is written when neither Default nor Distribution
	// configures an interface.
	Network defaultNetwork
}

// rootfsConfig is the container's lxc.rootfs.path and
// lxc.rootfs.options values.
type rootfsConfig struct{ Path, Options string }

// buildConfig assembles the config as lxc-download does: the distribution
// configuration, then the container's own keys (default.conf's, the id map,
// the rootfs, the name), then default.conf's network, or, when it has none
// (nor the distribution configuration), in.Network.
func buildConfig(in configInput) ([]byte, error) {
	var b bytes.Buffer
	for _, c := range in.Comment {
		fmt.Fprintf(&b, "# %s\n", c)
	}
	b.WriteString("# For additional config options, please look at lxc.container.conf(5)\n")

	b.WriteString("\n# Distribution configuration\n")
	distNet := false
	for _, line := range distributionLines(in.Distribution, in.Vars, in.Warn) {
		b.WriteString(line + "\n")
		if k, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			k, _ := lxcconf.Canonical(strings.TrimSpace(k))
			distNet = distNet || strings.HasPrefix(k, "lxc.net.") || k == "lxc.net"
		}
	}

	var network []string
	var defaultOptions string
	b.WriteString("\n# Container specific configuration\n")
	if in.Default != nil {
		for _, e := range in.Default.LookupPrefix("lxc.") {
			switch {
			case e.Key == "lxc.idmap" || e.Key == "lxc.rootfs.path" || e.Key == "lxc.uts.name" || e.Key == "lxc.include":
			case e.Key == "lxc.rootfs.options" && in.Rootfs.Options != "":
				// Written with the rootfs, the backend's options added.
				defaultOptions = e.Value
			case strings.HasPrefix(e.Key, "lxc.net."):
				network = append(network, configLine(e.Key, e.Value))
			case pathKeys[e.Key]:
				// Relative paths resolve against the file that holds them,
				// which is about to change.
				b.WriteString(configLine(e.Key, e.Path()) + "\n")
			default:
				b.WriteString(configLine(e.Key, e.Value) + "\n")
			}
		}
	}
	for _, m := range in.Maps {
		b.WriteString(configLine("lxc.idmap", userns.FormatLXC(m)) + "\n")
	}
	b.WriteString(configLine("lxc.rootfs.path", in.Rootfs.Path) + "\n")
	if in.Rootfs.Options != "" {
		b.WriteString(configLine("lxc.rootfs.options", joinOptions(defaultOptions, in.Rootfs.Options)) + "\n")
	}
	b.WriteString(configLine("lxc.uts.name", in.Name) + "\n")
	switch {
	case len(network) > 0:
		b.WriteString("\n# Network configuration\n")
		for _, l := range network {
			b.WriteString(l + "\n")
		}
	case !distNet && in.Network.Type != "":
		b.WriteString("\n# Network configuration\n")
		if in.Network.Comment != "" {
			b.WriteString("# " + in.Network.Comment + "\n")
		}
		b.WriteString(configLine("lxc.net.0.type", in.Network.Type) + "\n")
		if in.Network.Warning != "" && in.Warn != nil {
			in.Warn(in.Network.Warning)
		}
	}
	return b.Bytes(), nil
}

// joinOptions is the mount options of have with those of add that it
// lacks.
func joinOptions(have, add string) string {
	var out []string
	for _, o := range strings.Split(have+","+add, ",") {
		if o = strings.TrimSpace(o); o != "" && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return strings.Join(out, ",")
}

// pathKeys hold a path to a file of the host.
var pathKeys = map[string]bool{
	"lxc.mount.fstab": true, "lxc.log.file": true, "lxc.console.logfile": true,
	"lxc.console.buffer.logfile": true, "lxc.seccomp.profile": true,
}

// configLine writes key = value so that LXC reads the value back: it trims
// blanks and removes one pair of surrounding quotes.
func configLine(key, value string) string {
	if value == "" {
		return key + " ="
	}
	if strings.Trim(value, " \t\r") != value || (len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0]) {
		value = `"` + value + `"`
	}
	return key + " = " + value
}

// distributionLines substitutes the placeholders in an image's config and
// keeps the lines an image may set (image.FilterConfig); each dropped line
// is a warning.
func distributionLines(text string, vars map[string]string, warn func(string)) []string {
	kept, dropped := image.FilterConfig(placeholders(vars).Replace(text))
	if warn != nil {
		for _, d := range dropped {
			warn(d.String())
		}
	}
	return kept
}

// placeholders replaces longer names first, so that a name that prefixes
// another cannot eat it.
func placeholders(vars map[string]string) *strings.Replacer {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		if k != "" {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		return len(keys[i]) > len(keys[j]) || len(keys[i]) == len(keys[j]) && keys[i] < keys[j]
	})
	var pairs []string
	for _, k := range keys {
		pairs = append(pairs, k, vars[k])
	}
	return strings.NewReplacer(pairs...)
}
