// Package nsenter runs a command inside the namespaces of a running
// process: how `ulxc attach` joins a container. Socket, its smaller
// sibling, makes a socket inside a network namespace (given with its user
// namespace as descriptors) and hands it back: how ulxc configures a
// container's network from the host (package veth).
//
// Joining a user namespace needs a single-threaded caller (setns fails
// with EINVAL otherwise), and so does joining a mount namespace while the
// thread shares its fs_struct: both are impossible for a Go program,
// whose runtime runs several threads before main. A forked child has one
// thread, though. Start does what package syscall's forkExec does, with
// the whole set-up of the command's process between the fork and the
// exec:
//
//  1. It blocks every signal on its locked thread and forks with a raw
//     clone. On amd64 the child shares the caller's memory
//     (CLONE_VM|CLONE_VFORK: the caller's thread waits) on a stack and a
//     thread-local block of its own whose g is nil; elsewhere it runs on
//     a copy of the caller's memory and stack. Either way there is no Go
//     runtime behind it, so the code from here to the exec (package
//     rawproc's join.go) is nosplit and makes raw system calls only, with
//     everything prepared beforehand (argv, envp, candidate paths, the
//     seccomp program, the pty message, clone3's arguments).
//  2. The child makes itself non-dumpable, then calls setns(pidfd, FLAGS)
//     once: with a pidfd the kernel joins every namespace in FLAGS
//     atomically, the user namespace first, so the others are joined with
//     the capabilities the owner of the user namespace holds in it
//     (kernel 5.8 or later).
//  3. It forks again with CLONE_PARENT (clone3, with CLONE_INTO_CGROUP
//     when Options.CgroupFD is set; on amd64 sharing the memory again),
//     so that the pid namespace applies to the new process and the new
//     process is a child of the caller of Start, which can wait for it.
//     The intermediate process reports the new pid on a close-on-exec
//     pipe and exits; Process.Wait reaps it.
//  4. The new process calls setsid, puts its stdio in place, resets the
//     signals, with Options.Remount unshares a mount namespace and mounts
//     a new proc (and sysfs) over the caller's, drops the bounding set, installs the seccomp filter (before
//     the id change for a user other than root, after it for root),
//     becomes the command's user, allocates a pty from the container's
//     devpts when asked (sending the master to Start over a socket),
//     changes directory, marks every other descriptor close-on-exec and
//     execs the command, trying each candidate path as execvp would.
//     From the bounding set on, these are the steps and the order of a
//     container's init (rawproc.Exec, which both run).
//
// A failing step reports itself, its errno and an index (the capability,
// the candidate path) on the pipe (*JoinError); EOF after a pid means the
// exec worked.
//
// Joining a mount namespace makes its root the process's root and current
// directory (the kernel's mntns_install follows the mounts stacked on the
// namespace's root), so after a pivot_root in the container the joined
// process sees the container's root; no chroot is needed.
//
// # What is hostile
//
// The target's root user (a container's root) is the adversary. Until the
// exec, the processes are the caller's: their memory is the caller's (or
// a copy of it) and belongs to the host's user namespace. Made non-dumpable
// before setns, they cannot be ptraced, have their memory opened or their
// descriptors taken (pidfd_getfd) by anything in the target's namespaces,
// root included, which would otherwise hold every capability over them
// once they have joined. (An exec'd program's memory would belong to the
// joined user namespace, where root may trace it, dumpable or not: that is
// why no helper program is exec'd inside; lxc-attach's CVE-2016-8649 and
// runc's CVE-2019-5736 are the lessons.) The new process opens nothing in
// the target's filesystem before its id change, and then only
// /dev/pts/ptmx, without following symlinks or magic links, non-blocking,
// checked to be a pty master by Start. setsid comes first, so the caller's
// terminal is never the process's controlling terminal; the caller must
// not pass a terminal as stdio (package runtime never does).
//
// A pidfd rather than a pid names the target, so a pid reused between the
// caller's check and the join cannot redirect it into another process's
// namespaces. The caller still has to check that the pidfd refers to the
// process it means (package runtime compares start times).
//
// What it does not defend against: once the command runs, it is the
// target's, and root there may trace it like any process of its own.
// Without the target's mount namespace in Namespaces, the command is a
// program of the caller's filesystem run as the target's user, with the
// caller's root and working directory: root of the target's user
// namespace, if it can name the process (it joined the pid namespace),
// may trace it and so use what that user may on the caller's files.
// Signals: root there may kill the forked process before its exec, which
// fails the start.
//
// Socket's fork does less: non-dumpable first, then setns into the user
// namespace and into the network namespace (the owner of a user namespace
// holds CAP_SYS_ADMIN in it, which both joins need), socket(2), the
// descriptor sent back over a socket pair, exit. It execs nothing and
// opens nothing in the container. The code of all three forks (Start's,
// Socket's and Device's) is in package rawproc, whose TestInitRuntimeCalls
// reads it in the compiled binary: it fails on any call into the Go
// runtime.
//
// ulxc used a cgo constructor for the join before (runc's nsenter
// pattern), then an exec of ulxc itself inside the namespaces. Without cgo
// ulxc is a static pure-Go binary whose processes start in about half the
// time, and without the exec attach starts one Go program, not two.
//
// # What attach costs
//
// bench/attach.sh compares `ulxc attach NAME -- /bin/true` with util-linux
// nsenter into the same namespaces. On our two-CPU VM (nested, where a
// fresh anonymous page costs 2 µs and MADV_POPULATE_WRITE saves nothing
// on that) ulxc took 1.84-2.09 ms against nsenter's 1.28-1.45 ms in
// December 2026: 1.42-1.49x in six runs of bench/attach.sh (medians of
// 400 each), where the build before this section's work took 1.54-1.59x.
// The VM's noise moves the ratio by up to 0.1 from run to run, and the
// times by a third. Where the time goes (ftrace and in-process marks,
// medians of 200):
//
//   - a Go program that does nothing takes about 1.0 ms from exec to main
//     (the runtime's cpuid traps, its cgroup and mountinfo reads, some 180
//     fresh pages); ulxc's packages' initialisation adds 0.2-0.3 ms, most
//     of it the standard library's (net for pflag, unicode's tables for
//     regexp, crypto/sha256's FIPS packages, godebug). ulxc's own
//     packages build no maps before main (switches and fixed arrays), and
//     compress/gzip is not linked (hostcheck pipes /proc/config.gz
//     through gzip(1));
//   - attach's own work before the fork is about 0.25 ms: options (two
//     FlagSets' worth of allocations; none built when nothing comes
//     before the verb), the run record (store.FindRun, a bare
//     descriptor), the state (a scanner of its own, not encoding/json:
//     0.012 ms against 0.055), init's pidfd and /proc/PID/stat (the pid
//     reuse check), /etc/passwd through init's root, /proc/PID/setgroups.
//     Init's bounding set comes from the state (State.Bounding), not
//     /proc/PID/status;
//   - the join itself (two clones, setns, the set-up, the exec) is
//     0.25-0.35 ms, the command as long as under nsenter, and the end (the
//     wake-up, the reaping, the exit of a Go process's four threads) 0.1
//     ms more than nsenter's.
//
// A minimal Go program that makes the same join with the same package
// (nothing else linked) measured 1.10-1.22x nsenter; that is the floor of
// this design here. Tried and dropped: pinning the intermediate to the
// caller's CPU (it saved the wake-up of an idle CPU, about 60 µs, but
// the caller then waited behind the command on that CPU), populating the
// heap's next pages at once (slower: the cost is per page), and checking
// init by its pidfs inode instead of its start time (pidfs inode numbers
// follow pid numbers from boot to boot, and a state file in a /tmp that
// survives a reboot could then match an unrelated process).
//
// # Device nodes
//
// Device (device.go) is `ulxc device add|del`: nothing can make a device
// node in a user namespace, so the host's node is bound, and a bind needs
// a mount namespace that both sees the host's /dev and belongs to the
// container's user namespace. A fork joins the container's user namespace
// alone, unshares a mount namespace (a copy of the caller's, which the
// container's user namespace now owns), clones the node's mount
// (open_tree), joins the container's mount namespace, becomes root there
// and moves the clone onto an empty file it creates at the target,
// resolving each directory on the way by descriptor without following a
// symlink. The clone carries the host mount's flags, locked, so a nodev
// /dev on the host gives a node nobody can use. Removal unmounts by name
// from the target's directory, only what sits on a device node.
package nsenter
