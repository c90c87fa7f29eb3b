// Package nsenter starts a process inside the namespaces of a running
// process: how `ulxc attach` joins a container.
//
// Joining a user namespace needs a single-threaded caller (setns fails
// with EINVAL otherwise), and so does joining a mount namespace while the
// thread shares its fs_struct: both are impossible once the Go runtime has
// started its threads. So the join happens in C, in a constructor that runs
// before the Go runtime (the pattern of runc's libcontainer/nsenter, in far
// less code: nsenter.c). Start re-executes /proc/self/exe with a marker in
// the environment (_ULXC_NSENTER=PIDFD,SYNCFD,FLAGS); the constructor sees
// it, and only then:
//
//  1. marks itself non-dumpable, so that nothing in the container can
//     ptrace it or open its /proc/PID/fd while it still holds the
//     caller's descriptors (the lesson of lxc-attach's CVE-2016-8649);
//  2. calls setns(pidfd, FLAGS) once: with a pidfd the kernel joins every
//     namespace in FLAGS atomically, the user namespace first, so the
//     others are joined with the capabilities the owner of the user
//     namespace holds in it (kernel 5.8 or later);
//  3. forks with CLONE_PARENT, so that the pid namespace applies to the
//     new process and that process is a child of the caller of Start,
//     which can wait for it and read its exit status. The intermediate
//     process writes the new pid on SYNCFD and exits.
//
// The child then returns from the constructor and the Go runtime starts
// inside the namespaces; main dispatches the entry point named by Start,
// which calls Joined to make sure it was really started this way. Without
// the marker the constructor returns at once and ulxc runs unaffected.
//
// Joining a mount namespace makes its root the process's root and current
// directory (the kernel's mntns_install follows the mounts stacked on the
// namespace's root), so after a pivot_root in the container the joined
// process sees the container's root; no chroot is needed.
//
// A pidfd rather than a pid names the target, so a pid reused between the
// caller's check and the join cannot redirect it into another process's
// namespaces. The caller still has to check that the pidfd refers to the
// process it means (package runtime compares start times).
//
// What it does not defend against: the joined process is as trusted as
// the namespaces it joins; descriptors the caller passes on (stdio,
// ExtraFiles) are reachable by it and so, once it execs, by the container.
// Built without cgo (CGO_ENABLED=0), Start returns ErrNoCgo.
package nsenter
