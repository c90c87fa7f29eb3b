package main

import (
	"errors"
	"fmt"
	"os/user"
	"strings"

	"github.com/ulxc/ulxc/subid"
	"github.com/ulxc/ulxc/userns"
)

// hints returns the `ulxc: hint:` lines for errors the CLI recognises. The
// libraries return sentinel and typed errors; only here do they become advice.
func hints(err error) []string {
	var out []string
	var oe *subid.OutsideError
	if errors.As(err, &oe) && len(oe.Allowed) > 0 {
		var rs []string
		for _, r := range oe.Allowed {
			rs = append(rs, r.String())
		}
		out = append(out, fmt.Sprintf("use host ids inside your allocation in %s (%s), e.g. -m b:0:%d:%d",
			oe.Path, strings.Join(rs, ", "), oe.Allowed[0].Start, min(oe.Allowed[0].Count, 65536)))
	}
	if errors.Is(err, subid.ErrNoRanges) {
		out = append(out, fmt.Sprintf("ask root for subordinate ids: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s", currentUser()))
	}
	if errors.Is(err, userns.ErrHelperMissing) {
		out = append(out, "install newuidmap and newgidmap (as root): apt-get install uidmap")
	}
	if errors.Is(err, userns.ErrHelperNotSetuid) {
		out = append(out, "make the id map helpers setuid root (as root): chmod u+s /usr/bin/newuidmap /usr/bin/newgidmap")
	}
	if errors.Is(err, userns.ErrUserNSDisabled) {
		out = append(out, "enable user namespaces (as root): sysctl -w user.max_user_namespaces=15000 (and kernel.unprivileged_userns_clone=1 where it exists); persist it in /etc/sysctl.d/")
	}
	if errors.Is(err, userns.ErrAppArmorRestricted) {
		out = append(out, "AppArmor blocks unprivileged user namespaces: install a profile for ulxc that allows `userns,` in /etc/apparmor.d/ (as root), or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0")
	}
	if errors.Is(err, userns.ErrNested) {
		out = append(out, "inside a container newuidmap can only map ids the outer namespace has: run ulxc on the host, or map only your own id with -m b:0:$(id -u):1")
	}
	return out
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "$USER"
}
