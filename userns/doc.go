// Package userns plans id maps and starts processes in a new, mapped user
// namespace without root and without cgo.
//
// NewPlan picks the maps (explicit -m maps, then a config's lxc.idmap, then
// a default for the purpose) and checks them against /etc/subuid and
// /etc/subgid, so a map the user may not use fails with a precise
// *subid.OutsideError before any helper runs. Without subordinate ids or a
// working newuidmap/newgidmap it falls back to mapping only the caller's own
// ids, and says what breaks in Plan.Warning.
//
// Start re-executes /proc/self/exe into a hidden entry point with
// CLONE_NEWUSER (and any other namespaces) in one clone, holding the child
// on a pipe at fd 3 until newuidmap and newgidmap have written its maps and
// the parent has read them back from /proc/PID/uid_map and gid_map. The
// child is exec'd while still unmapped, so it is given every capability as
// ambient; Enter, the child's first call, becomes root of the namespace and
// clears the ambient and inheritable sets again. That is what lets LXC's
// own map (u 0 100000 65536, the caller's uid not mapped at all) work.
//
// RunJob and ServeJob are the usual shape of such a child: a job as JSON
// on its stdin, a JSON reply (or an error, a *JobError) on a pipe at fd
// 4 of its own, so that its stdout and stderr stay free for what it
// runs, and nothing it execs inherits the pipe or the extra files.
//
// Guarantees: the child runs nothing of its own before its maps are in
// place and verified; if the parent fails or dies first, the child gets EOF
// (or SIGKILL through the parent-death signal) and exits; no capability
// set that survives an exec as a non-root user is left behind by Enter; a
// failed Start leaves no child behind and explains itself with Diagnose.
//
// Hostile input: map values from flags and config files (parsed strictly,
// every range bounded by 2^32, overlaps and an unmapped root refused). The
// subordinate id files are root's and trusted, but parsed strictly too.
// newuidmap and newgidmap are run with a fixed environment and their stderr
// is kept in *HelperError.
//
// Not defended against: a hostile newuidmap binary or kernel, another
// process of the same user (which owns the namespace and may ptrace or
// enter it), and what the command run inside does with the namespace's
// capabilities over files the mapped ids own; the allocation itself is
// enforced by newuidmap, our checks only give better messages.
package userns
