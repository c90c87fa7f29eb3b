package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os/user"
	"strings"
	"syscall"

	"github.com/ulxc/ulxc/cgroup"
	"github.com/ulxc/ulxc/hostcheck"
	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/netshim"
	"github.com/ulxc/ulxc/nsenter"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/store"
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
		out = append(out, "ask root for subordinate ids: "+usermodFix())
	}
	if errors.Is(err, userns.ErrHelperMissing) {
		out = append(out, "install newuidmap and newgidmap (as root): apt-get install uidmap")
	}
	if errors.Is(err, runtime.ErrHelperMissing) {
		out = append(out, "install user-mode networking (as root): apt-get install passt slirp4netns; or give the container loopback only: lxc.net.0.type = empty in its config")
	}
	if errors.Is(err, runtime.ErrTunUnusable) {
		out = append(out, "pasta and slirp4netns need /dev/net/tun, which stock Debian makes mode 0666 (as root): chmod 0666 /dev/net/tun; or give the container loopback only: lxc.net.0.type = empty in its config")
	}
	if errors.Is(err, ocispec.ErrNoUserNet) {
		out = append(out, "--publish forwards through user-mode networking: set lxc.net.0.type = pasta (or slirp4netns) in the container's config")
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
	if errors.Is(err, store.ErrHasSnapshots) {
		out = append(out, "destroy the snapshots first, or with it: ulxc destroy -s NAME")
	}
	if errors.Is(err, store.ErrExist) {
		out = append(out, "choose another name, or remove the old one first: ulxc destroy NAME")
	}
	var be *store.BusyError
	switch {
	case errors.As(err, &be) && be.Command != "":
		out = append(out, fmt.Sprintf("pid %d holds its lock: %s; wait for it to finish, then try again", be.Pid, be.Command))
	case errors.Is(err, store.ErrBusy):
		out = append(out, "another ulxc command (create, start, copy or destroy) works on it: wait for it to finish, then try again")
	}
	switch {
	case errors.Is(err, store.ErrUnreachable):
		out = append(out, "its runtime directory was removed under it (systemd removes /run/user/UID when your last session ends, unless 'loginctl enable-linger'): ulxc cannot reach it; kill its monitor (ps -u $USER -o pid,args | grep 'ulxc \\[monitor\\] NAME') to stop it")
	case errors.Is(err, store.ErrRunning):
		out = append(out, "stop it first: ulxc stop NAME")
	}
	switch {
	case errors.Is(err, cgroup.ErrBusy):
		// The error itself names the processes and the systemd-run fix.
		out = append(out, "without systemd, start ulxc from an empty cgroup of its own: mkdir CG/run && sh -c 'echo $$ > CG/run/cgroup.procs && exec ulxc start NAME'")
	case errors.Is(err, cgroup.ErrNoController):
		out = append(out, "ask root to delegate the controller: systemctl edit user@.service, add [Service] Delegate=cpu cpuset io memory pids, then log in again")
	case errors.Is(err, runtime.ErrCgroupLimits):
		out = append(out, "run it inside a delegated cgroup (systemd-run --user --scope -p Delegate=yes ulxc start NAME), or remove the lxc.cgroup2.* limits")
	}
	if errors.Is(err, runtime.ErrNoCgroup) {
		out = append(out, "stop the container and start it from a delegated cgroup: systemd-run --user --scope -p Delegate=yes ulxc start NAME (or have an admin chown a cgroup v2 directory to you and run ulxc from inside it)")
	}
	if errors.Is(err, runtime.ErrNoTTY) {
		out = append(out, "give the container ttys: lxc.tty.max = N in its config, then restart it (ulxc stop NAME; ulxc start NAME); -t 0 is its console")
	}
	if errors.Is(err, runtime.ErrFrozen) {
		out = append(out, "thaw it first: ulxc unfreeze NAME")
	}
	var ce *runtime.ChildError
	if errors.As(err, &ce) && ce.Hook != "" && ce.Errno == syscall.EACCES {
		out = append(out, "this hook runs inside the container, as its root, which may not enter your private directories "+
			"(a home of mode 0700): keep the hook where anyone may read it, e.g. /usr/local/share/lxc/hooks")
	}
	var je *nsenter.JoinError
	if errors.As(err, &je) && je.Step == "setns" && je.Errno == syscall.EPERM {
		out = append(out, "attach as the user who started the container (the owner of its user namespace)")
	}
	var he *netshim.HelperError
	if errors.As(err, &he) && he.Fix() != "" {
		out = append(out, he.Fix())
	}
	out = append(out, imageHints(err)...)
	out = append(out, configHints(err)...)
	if errors.Is(err, hostcheck.ErrMissing) {
		out = append(out, "apply the fix: line printed under each MISSING item (as root where it says so), then run 'ulxc checkconfig' again")
	}
	return out
}

func configHints(err error) []string {
	var out []string
	if errors.Is(err, ocispec.ErrNoIDMap) {
		out = append(out, "add 'lxc.idmap = u 0 FIRST 65536' and 'lxc.idmap = g 0 FIRST 65536' to the container's config, FIRST being your first subordinate id in /etc/subuid and /etc/subgid")
	}
	if errors.Is(err, ocispec.ErrUnsafePath) {
		out = append(out, "write lxc.mount.entry destinations relative to the rootfs, e.g. 'mnt/data', without '..'")
	}
	var ie *lxcconf.IncludeError
	if errors.As(err, &ie) && errors.Is(err, fs.ErrNotExist) {
		out = append(out, "fix or remove the lxc.include line named above")
	}
	var ke *lxcconf.KeyError
	if errors.As(err, &ke) {
		fix := "fix its spelling"
		if ke.Suggest != "" {
			fix = "write " + ke.Suggest
		}
		out = append(out, fmt.Sprintf("%s at %s:%d, or remove the line: LXC refuses unknown keys too", fix, ke.File, ke.Line))
	}
	if errors.Is(err, lxcconf.ErrIncludeCycle) {
		out = append(out, "an included file includes the file that includes it")
	}
	return out
}

// usermodFix is the command that gives the user 65536 subordinate ids
// that nobody has yet.
func usermodFix() string {
	free := subid.Unallocated("", "", 65536).String()
	return fmt.Sprintf("usermod --add-subuids %s --add-subgids %s %s", free, free, currentUser())
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "$USER"
}
