package hostcheck

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ulxc/ulxc/cgroup"
)

// limitControllers are the controllers lxc.cgroup2.* limits need most; what
// systemd delegates by default.
var limitControllers = []string{"memory", "pids"}

// Cgroups are never mandatory: without them containers run without limits
// and without freeze.
func checkCgroup(opts Options) []Result {
	s := cgroup.Probe(cgroup.Options{ProcRoot: opts.ProcRoot, User: opts.User, UID: opts.UID})
	v2 := Result{Group: "cgroup", Name: "cgroup v2", Status: OK, Detail: s.Mountpoint}
	if s.Mountpoint == "" {
		v2.Status, v2.Detail, v2.Fix = Warn, explain(s), s.Fix
		return []Result{v2}
	}
	del := Result{Group: "cgroup", Name: "delegation"}
	switch {
	case s.Err == nil:
		del.Status = OK
		del.Detail = fmt.Sprintf("%s is %s's; controllers: %s; enabled for children: %s",
			s.Path, opts.User, listOrNone(s.Delegated.Controllers), listOrNone(s.Delegated.SubtreeControl))
	default:
		del.Status = Warn
		del.Detail = explain(s) + "; freeze and limits are unavailable"
		del.Fix = s.Fix
		if del.Fix == "" {
			del.Fix = "run ulxc from a cgroup delegated to " + opts.User + ": systemd-run --user --scope -p Delegate=yes ulxc ..."
		}
		return []Result{v2, del}
	}
	out := []Result{v2, del}
	var lacking []string
	for _, c := range limitControllers {
		if !slices.Contains(s.Delegated.Controllers, c) {
			lacking = append(lacking, c)
		}
	}
	if len(lacking) > 0 {
		out = append(out, Result{Group: "cgroup", Name: "controllers", Status: Warn,
			Detail: "not delegated: " + strings.Join(lacking, ", ") + ": lxc.cgroup2 limits on them will fail",
			Fix:    "as root: put [Service] Delegate=cpu cpuset io memory pids in /etc/systemd/system/user@.service.d/delegate.conf and log in again"})
	}
	return out
}

// explain is the reason a probe gives, or its error.
func explain(s cgroup.Status) string {
	switch {
	case s.Reason != "":
		return s.Reason
	case s.Err != nil:
		return s.Err.Error()
	default:
		return ""
	}
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, " ")
}
