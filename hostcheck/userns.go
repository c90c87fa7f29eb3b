package hostcheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ulxc/ulxc/userns"
)

// readSysctl reads an integer sysctl below PROCROOT/sys. The readers in
// package userns are fixed to /proc; these take the root so that tests can
// give fixtures.
func readSysctl(procRoot, name string) (n int, exists bool, err error) {
	s, err := readTrimmed(filepath.Join(procRoot, "sys", name))
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, true, err
	}
	n, err = strconv.Atoi(s)
	if err != nil {
		return 0, true, fmt.Errorf("%s: %w", name, err)
	}
	return n, true, nil
}

func checkUserns(opts Options) []Result {
	var out []Result

	r := Result{Group: "userns", Name: "user.max_user_namespaces", Mandatory: true}
	switch n, exists, err := readSysctl(opts.ProcRoot, "user/max_user_namespaces"); {
	case err != nil:
		r.Status, r.Detail = Warn, err.Error()
	case !exists:
		r.Status, r.Detail = Missing, "not present: the kernel has no user namespaces"
		r.Fix = "use a kernel built with CONFIG_USER_NS=y"
	case n == 0:
		r.Status, r.Detail = Missing, "is 0: user namespaces are disabled"
		r.Fix = "as root: sysctl -w user.max_user_namespaces=15000 (persist it in /etc/sysctl.d/)"
	default:
		r.Status, r.Detail = OK, strconv.Itoa(n)
	}
	out = append(out, r)

	r = Result{Group: "userns", Name: "kernel.unprivileged_userns_clone", Mandatory: true}
	switch n, exists, err := readSysctl(opts.ProcRoot, "kernel/unprivileged_userns_clone"); {
	case err != nil:
		r.Status, r.Detail = Warn, err.Error()
	case !exists:
		r.Status, r.Detail = OK, "not present (no Debian restriction patch)"
	case n != 1:
		r.Status, r.Detail = Missing, fmt.Sprintf("is %d: unprivileged users may not create user namespaces", n)
		r.Fix = "as root: sysctl -w kernel.unprivileged_userns_clone=1 (persist it in /etc/sysctl.d/)"
	default:
		r.Status, r.Detail = OK, "1"
	}
	out = append(out, r)

	out = append(out, checkAppArmor(opts))

	r = Result{Group: "userns", Name: "nesting", Status: OK, Detail: "not nested (initial user namespace)"}
	if b, err := os.ReadFile(filepath.Join(opts.ProcRoot, "self/uid_map")); err != nil {
		r.Status, r.Detail = Warn, err.Error()
	} else if m := strings.Join(strings.Fields(string(b)), " "); m != "0 0 4294967295" {
		r.Status, r.Detail = Warn, fmt.Sprintf("already inside a user namespace (uid_map %q)", m)
		r.Fix = "the subordinate ids must be mapped in the enclosing namespace: run ulxc on the host, or give the outer container a larger id map"
	}
	return append(out, r)
}

// checkAppArmor reports Ubuntu's kernel.apparmor_restrict_unprivileged_userns:
// when it is set, an unconfined process gets a user namespace without
// capabilities, so every map write fails with EPERM.
func checkAppArmor(opts Options) Result {
	r := Result{Group: "userns", Name: "kernel.apparmor_restrict_unprivileged_userns", Mandatory: true}
	n, exists, err := readSysctl(opts.ProcRoot, "kernel/apparmor_restrict_unprivileged_userns")
	switch {
	case err != nil:
		r.Status, r.Detail = Warn, err.Error()
		return r
	case !exists:
		r.Status, r.Detail = OK, "not present (no AppArmor userns restriction)"
		return r
	case n == 0:
		r.Status, r.Detail = OK, "0"
		return r
	}
	label := appArmorLabel(opts.ProcRoot)
	if label != "" && label != "unconfined" {
		r.Status = OK
		r.Detail = fmt.Sprintf("is %d, but ulxc runs under AppArmor profile %q (the namespace trial below tells whether it allows userns)", n, label)
		return r
	}
	exe, err := os.Executable()
	if err != nil {
		exe = "/usr/local/bin/ulxc"
	}
	r.Status = Missing
	r.Detail = fmt.Sprintf("is %d and ulxc has no AppArmor profile: user namespaces get no capabilities", n)
	r.Fix = fmt.Sprintf(`as root: printf 'abi <abi/4.0>,\ninclude <tunables/global>\nprofile ulxc %s flags=(unconfined) {\n  userns,\n}\n' > /etc/apparmor.d/ulxc && apparmor_parser -r /etc/apparmor.d/ulxc (or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)`, exe)
	return r
}

// appArmorLabel returns this process's AppArmor label without the mode
// ("unconfined", "ulxc"), or "" when it cannot be read.
func appArmorLabel(procRoot string) string {
	for _, name := range []string{"self/attr/apparmor/current", "self/attr/current"} {
		s, err := readTrimmed(filepath.Join(procRoot, name))
		if err == nil && s != "" {
			label, _, _ := strings.Cut(s, " (")
			return label
		}
	}
	return ""
}

func checkHelpers() []Result {
	var out []Result
	for _, name := range []string{"newuidmap", "newgidmap"} {
		r := Result{Group: "userns", Name: name, Mandatory: true}
		path, err := userns.CheckHelper(name)
		switch {
		case err == nil:
			r.Status, r.Detail = OK, path+" (setuid root or file capabilities)"
		case errors.Is(err, userns.ErrHelperMissing):
			r.Status, r.Detail = Missing, err.Error()
			r.Fix = "as root: apt-get install uidmap (Fedora, Arch: the shadow-utils or shadow package)"
		case errors.Is(err, userns.ErrHelperNotSetuid):
			r.Status, r.Detail = Missing, err.Error()
			r.Fix = "as root: reinstall the uidmap package, or chmod u+s " + helperPath(err, name)
		default:
			r.Status, r.Detail = Missing, err.Error()
		}
		out = append(out, r)
	}
	return out
}

// helperPath extracts the path CheckHelper names at the start of its error.
func helperPath(err error, name string) string {
	p, _, _ := strings.Cut(err.Error(), ":")
	if strings.HasPrefix(p, "/") {
		return p
	}
	return "/usr/bin/" + name
}
