package image

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ulxc/ulxc/lxcconf"
)

// LXCConfigDir is LXC's directory of shared configurations, what the
// placeholder LXC_TEMPLATE_CONFIG stands for.
const LXCConfigDir = "/usr/share/lxc/config"

// configKeys are the keys an image's config may set in a new container's
// config; doc.go says why each is safe. lxc.include is allowed only for
// the files of lxcIncludes.
var configKeys = map[string]bool{
	"lxc.include":       true,
	"lxc.arch":          true,
	"lxc.init.cmd":      true,
	"lxc.init.cwd":      true,
	"lxc.init.uid":      true,
	"lxc.init.gid":      true,
	"lxc.signal.halt":   true,
	"lxc.signal.reboot": true,
	"lxc.signal.stop":   true,
}

// lxcIncludes are the names, in LXCConfigDir, of the configurations LXC
// ships for every container of a distribution (LXC 5's config/templates)
// and that real images include: common.conf and userns.conf, and each
// distribution's pair that includes them. LXC's other files there
// (nesting.conf, oci.common.conf, the .lucid and .moresecure variants,
// the .d directories) loosen or change confinement for a user who asks;
// an image does not get to ask.
var lxcIncludes = func() map[string]bool {
	m := map[string]bool{"common.conf": true, "userns.conf": true, "openwrt.common.conf": true}
	for _, d := range []string{"alpine", "archlinux", "centos", "debian", "devuan", "fedora", "gentoo", "kali",
		"opensuse", "oracle", "plamo", "sabayon", "slackware", "sparclinux", "ubuntu", "ubuntu-cloud", "voidlinux"} {
		m[d+".common.conf"], m[d+".userns.conf"] = true, true
	}
	return m
}()

// DroppedLine is a line of an image's config that FilterConfig left out.
type DroppedLine struct {
	Line int    // 1-based
	Key  string // as written; "" when the line has none
	Text string // the line, trimmed
	Why  string
}

// String is the warning for the user's terminal: the image's text only
// ever quoted, the key plain only when it is printable ASCII.
func (d DroppedLine) String() string {
	if d.Key == "" {
		return fmt.Sprintf("image config line %d dropped: %q: %s", d.Line, d.Text, d.Why)
	}
	key := d.Key
	if strings.IndexFunc(key, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		key = strconv.Quote(key)
	}
	return fmt.Sprintf("image config line %d dropped: %s: %s (the line was %q)", d.Line, key, d.Why, d.Text)
}

// FilterConfig returns the lines of text, an image's config-user with its
// placeholders substituted, that an image may set in a new container's
// config, trimmed, and the lines it dropped. Comments and blank lines are
// kept; a key is kept only when it is one of the allowlist that doc.go
// explains, an lxc.include only when it names one of LXC's shared
// configurations exactly. Anything else an image says is dropped: the
// user's own configuration decides what reaches outside the container.
func FilterConfig(text string) (kept []string, dropped []DroppedLine) {
	for i, raw := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		// Blanks and a CRLF's '\r' at either end are nothing to LXC.
		line := strings.Trim(raw, " \t\r")
		drop := func(key, why string) {
			dropped = append(dropped, DroppedLine{Line: i + 1, Key: key, Text: line, Why: why})
		}
		if hasControl(line) {
			// LXC also ends a line at '\r': a comment or value holding
			// one would hide a second line from this check.
			drop("", "control character in the line")
			continue
		}
		if line == "" || line[0] == '#' {
			kept = append(kept, line)
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			drop("", "not a key = value line")
			continue
		}
		key, value := strings.TrimRight(k, " \t"), unquote(strings.Trim(v, " \t"))
		if why := refusedKey(key, value); why != "" {
			drop(key, why)
			continue
		}
		kept = append(kept, line)
	}
	return kept, dropped
}

// refusedKey says why an image may not set key to value, or "".
func refusedKey(key, value string) string {
	k, _ := lxcconf.Canonical(key)
	switch {
	case !configKeys[k]:
		return "not a key an image may set"
	case k == "lxc.include":
		name, ok := strings.CutPrefix(value, LXCConfigDir+"/")
		if !ok || !lxcIncludes[name] {
			return "an image may include only LXC's shared configurations, such as " + LXCConfigDir + "/common.conf and userns.conf"
		}
	}
	return ""
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return true
		}
	}
	return false
}

// unquote removes one pair of matching surrounding quotes, as LXC (and
// package lxcconf) does.
func unquote(v string) string {
	if len(v) > 1 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}
