// Package cgroup finds the cgroup v2 hierarchy, this process's place in it,
// and whether that place is delegated to the caller.
//
// The runtime builds on it (a leaf per container, CLONE_INTO_CGROUP, freeze,
// limits); checkconfig uses Probe to explain what is missing.
//
// Two host facts shape the code. On hybrid hosts cgroup2 is mounted at
// /sys/fs/cgroup/unified, not at /sys/fs/cgroup, so the mount point always
// comes from /proc/self/mountinfo. And moving a process into a cgroup needs
// write access to cgroup.procs of the common ancestor of its old and new
// cgroups, so delegation only helps a process that already lives inside the
// delegated subtree: Probe therefore judges the caller's own cgroup, not
// some cgroup the caller happens to own elsewhere.
//
// Delegation is judged with access(2) for the real user, so it reflects
// ownership, modes, ACLs and read-only mounts alike. It is advice, not a
// guarantee: the kernel decides again on every write.
//
// The operations the runtime arranges a delegated subtree with (Enable,
// Disable, Move, Procs, Children, Lock) are thin and say what the kernel
// said, with one rule made explicit: a non-root cgroup that holds
// processes may not enable controllers for its children (EBUSY), so
// Enable reports *BusyError naming those processes, and a controller
// missing from cgroup.controllers, which only the parent's owner can add,
// is ErrNoController. The layout policy (who moves where) is the
// runtime's; see its package doc.
package cgroup
