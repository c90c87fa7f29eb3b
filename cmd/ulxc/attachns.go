package main

import (
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/runtime"
)

// lxcNamespaces are lxc-attach -s's names, and the /proc/PID/ns names it
// also takes, of each namespace.
var lxcNamespaces = []struct {
	names []string
	flag  uintptr
}{
	{[]string{"MOUNT", "MNT"}, unix.CLONE_NEWNS},
	{[]string{"PID"}, unix.CLONE_NEWPID},
	{[]string{"UTSNAME", "UTS"}, unix.CLONE_NEWUTS},
	{[]string{"IPC"}, unix.CLONE_NEWIPC},
	{[]string{"USER"}, unix.CLONE_NEWUSER},
	{[]string{"NETWORK", "NET"}, unix.CLONE_NEWNET},
	{[]string{"CGROUP"}, unix.CLONE_NEWCGROUP},
}

// parseNamespaces reads -s: names separated by '|', any case.
func parseNamespaces(list string) (uintptr, error) {
	var flags uintptr
	for _, name := range strings.Split(list, "|") {
		name = strings.ToUpper(strings.TrimSpace(name))
		found := false
		for _, ns := range lxcNamespaces {
			for _, n := range ns.names {
				if n == name {
					flags |= ns.flag
					found = true
				}
			}
		}
		if !found {
			return 0, usagef("attach: -s %q: unknown namespace %q (known: MOUNT, PID, UTSNAME, IPC, USER, NETWORK, CGROUP, separated by |)", list, name)
		}
	}
	return flags, nil
}

// attachPrivileges applies -e and -s to opts: -s implies -e, all of it,
// as in lxc-attach.
func attachPrivileges(opts *runtime.AttachOptions, elevated, namespaces string, elevatedSet bool) error {
	if namespaces != "" {
		flags, err := parseNamespaces(namespaces)
		if err != nil {
			return err
		}
		opts.Namespaces = flags
		if !elevatedSet {
			elevated = "CAP|CGROUP|LSM"
		}
	}
	if opts.Remount && opts.Namespaces == 0 {
		return usagef("attach: -R needs -s without MOUNT (joining every namespace, /proc and /sys are the container's already)")
	}
	if elevated == "" {
		return nil
	}
	for _, p := range strings.Split(elevated, "|") {
		switch strings.ToUpper(strings.TrimSpace(p)) {
		case "CAP":
			opts.KeepCaps = true
		case "CGROUP":
			opts.NoCgroup = true
		case "LSM":
			// ulxc applies no LSM profile to attached processes
		default:
			return usagef("attach: -e %q: unknown privilege %q (known: CAP, CGROUP, LSM, separated by |)", elevated, p)
		}
	}
	return nil
}

// optionalArgs rewrites -cVALUE, the short flag c with its optional
// argument glued on as getopt takes it (lxc-attach -eCAP), into
// --long=VALUE, which pflag understands; pflag would read the letters of
// VALUE as more flags. Arguments after -- are left alone.
func optionalArgs(args []string, c byte, long string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] == c && a[2] != '=' {
			a = "--" + long + "=" + a[2:]
		}
		out = append(out, a)
	}
	return out
}
