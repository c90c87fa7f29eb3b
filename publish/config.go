package publish

import (
	"fmt"
	"strings"

	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/lxcconf"
)

// templateConfig is the placeholder images write for LXC's configuration
// directory, image.LXCConfigDir.
const templateConfig = "LXC_TEMPLATE_CONFIG"

// DistributionConfig returns meta.tar.xz's config (for LXC's privileged
// containers) and config-user (for unprivileged ones) for an image of
// arch (a Debian name, which LXC's lxc.arch accepts).
//
// containerConfig is the config of the container being packed, or "".
// Of it, only the lines an image may set (image.FilterConfig: LXC's
// shared includes, lxc.init.*, lxc.signal.*) are kept, with includes
// written back as LXC_TEMPLATE_CONFIG/...; the rest of a container's
// config (its id map, rootfs, network, the user's own settings) is the
// container's, not the image's. Without includes of its own the image
// includes LXC's common.conf, and userns.conf in config-user, as
// distrobuilder's images do; config never includes a userns file.
func DistributionConfig(containerConfig, arch string) (config, configUser string) {
	kept, _ := image.FilterConfig(containerConfig)
	var includes, other []string
	for _, line := range kept {
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		key, _ := lxcconf.Canonical(strings.TrimSpace(k))
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch key {
		case "lxc.arch":
		case "lxc.include":
			includes = append(includes, templateConfig+strings.TrimPrefix(v, image.LXCConfigDir))
		default:
			other = append(other, fmt.Sprintf("%s = %s", key, v))
		}
	}
	if len(includes) == 0 {
		includes = []string{templateConfig + "/common.conf", templateConfig + "/userns.conf"}
	}
	var sys, user strings.Builder
	for _, inc := range includes {
		fmt.Fprintf(&user, "lxc.include = %s\n", inc)
		if !strings.Contains(inc[strings.LastIndexByte(inc, '/')+1:], "userns") {
			fmt.Fprintf(&sys, "lxc.include = %s\n", inc)
		}
	}
	for _, b := range []*strings.Builder{&sys, &user} {
		for _, l := range other {
			b.WriteString(l + "\n")
		}
		fmt.Fprintf(b, "lxc.arch = %s\n", arch)
	}
	return sys.String(), user.String()
}
