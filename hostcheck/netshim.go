package hostcheck

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/netshim"
	"github.com/ulxc/ulxc/veth"
)

// checkNetshim reports what lxc.net.N.type = veth needs: ulxc-netshim
// installed with its file capability and group, a quota for the user in
// the policy, and the bridges the quota names. Never mandatory: without
// it containers have other network types.
func checkNetshim(opts Options) []Result {
	out := []Result{checkHelper(opts)}
	quota, quotas := checkQuota(opts)
	out = append(out, quota)
	for _, q := range quotas {
		out = append(out, checkBridge(q))
	}
	return out
}

const setupFix = "as root: scripts/setup (or scripts/install-netshim), which installs /usr/local/bin/ulxc-netshim set-group-id " +
	netshim.Group + " with cap_net_admin+ep"

func checkHelper(opts Options) Result {
	r := Result{Group: "network", Name: netshim.HelperName, Status: Warn}
	path := opts.Netshim
	if path == "" {
		var err error
		if path, err = veth.FindHelper(); err != nil {
			r.Detail = "not installed: lxc.net.N.type = veth is unavailable (" + err.Error() + ")"
			r.Fix = setupFix
			return r
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		r.Detail, r.Fix = path+": "+err.Error(), setupFix
		return r
	}
	group := strconv.FormatUint(uint64(st.Gid), 10)
	if g, err := user.LookupGroupId(group); err == nil {
		group = g.Name
	}
	hasCap, err := veth.NetAdminCap(path)
	var problems []string
	if err != nil {
		problems = append(problems, err.Error())
	} else if !hasCap {
		problems = append(problems, "no cap_net_admin+ep file capability")
	}
	if st.Mode&unix.S_ISGID == 0 {
		problems = append(problems, "not set-group-id")
	}
	if st.Uid != 0 {
		problems = append(problems, "not owned by root")
	}
	if len(problems) > 0 {
		r.Detail = path + ": " + strings.Join(problems, ", ") + ": it will refuse every request"
		r.Fix = "as root: chown root:" + netshim.Group + " " + path + " && chmod 2755 " + path + " && setcap cap_net_admin+ep " + path + " (scripts/setup does this)"
		return r
	}
	r.Status, r.Detail = OK, path+": cap_net_admin+ep, set-group-id "+group
	return r
}

// checkQuota reports the user's veth quotas in the policy.
func checkQuota(opts Options) (Result, []netshim.Quota) {
	r := Result{Group: "network", Name: "veth quota", Status: Warn}
	policy := opts.NetshimPolicy
	if policy == "" {
		policy = netshim.PolicyFile
	}
	grant := fmt.Sprintf("ask the administrator for a line `%s veth BRIDGE COUNT` in %s", opts.User, policy)
	data, err := os.ReadFile(policy)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.Detail, r.Fix = policy+" does not exist: nobody has a veth quota", setupFix+"; then "+grant
		return r, nil
	case errors.Is(err, fs.ErrPermission):
		r.Detail = policy + " is not readable by " + opts.User + ": the quota cannot be shown"
		r.Fix = "ask the administrator what your quota is, or to make " + policy + " readable (chmod 0644 " + policy + ")"
		return r, nil
	case err != nil:
		r.Detail, r.Fix = err.Error(), "the administrator must make "+policy+" a readable file"
		return r, nil
	}
	rules, err := netshim.ParsePolicy(data)
	if err != nil {
		r.Detail = policy + ": " + err.Error() + ": ulxc-netshim refuses every request"
		r.Fix = "the administrator must fix it: lines are `USER veth BRIDGE COUNT` or `@GROUP veth BRIDGE COUNT`"
		return r, nil
	}
	passwd, _ := os.ReadFile("/etc/passwd")
	group, _ := os.ReadFile("/etc/group")
	id := netshim.LookupIdentity(passwd, group, opts.UID)
	quotas := netshim.Quotas(rules, id)
	if len(quotas) == 0 {
		r.Detail = "no veth quota for " + opts.User + " in " + policy
		if id.Name == "" {
			r.Detail += " (uid " + strconv.FormatUint(uint64(opts.UID), 10) + " is not in /etc/passwd, which is all ulxc-netshim reads)"
		}
		r.Fix = grant
		return r, nil
	}
	var parts []string
	for _, q := range quotas {
		parts = append(parts, fmt.Sprintf("%s: %d", q.Bridge, q.Count))
	}
	r.Status, r.Detail = OK, strings.Join(parts, ", ")
	return r, quotas
}

// checkBridge reports whether a bridge of the user's quota exists, in
// this network namespace, where the helper runs.
func checkBridge(q netshim.Quota) Result {
	r := Result{Group: "network", Name: "bridge " + q.Bridge, Status: Warn}
	fix := fmt.Sprintf("ask the administrator to create it (ip link add %s type bridge && ip link set %s up), or use another bridge", q.Bridge, q.Bridge)
	c, err := netshim.Dial()
	if err != nil {
		r.Detail, r.Fix = err.Error(), "run checkconfig where netlink sockets are allowed"
		return r
	}
	defer c.Close()
	l, err := c.LinkByName(q.Bridge)
	switch {
	case errors.Is(err, syscall.ENODEV):
		r.Detail, r.Fix = fmt.Sprintf("your quota of %d is on %s, which does not exist", q.Count, q.Bridge), fix
	case err != nil:
		r.Detail, r.Fix = err.Error(), fix
	case l.Kind != "bridge":
		r.Detail, r.Fix = fmt.Sprintf("%s is not a bridge", q.Bridge), fix
	default:
		r.Status, r.Detail = OK, fmt.Sprintf("quota %d", q.Count)
	}
	return r
}
