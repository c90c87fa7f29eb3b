// Package nsenter starts a process inside the namespaces of a running
// process: how `ulxc attach` joins a container.
//
// Joining a user namespace needs a single-threaded caller (setns fails
// with EINVAL otherwise), and so does joining a mount namespace while the
// thread shares its fs_struct: both are impossible for a Go program,
// whose runtime runs several threads before main. A forked child has one
// thread, though. Start does what package syscall's forkExec does, with
// one more step before the exec:
//
//  1. It blocks every signal on its locked thread and forks with a raw
//     clone. The child runs on a copy of the caller's stack with no Go
//     runtime behind it, so the code from here to the exec is nosplit and
//     makes raw system calls only, with everything prepared beforehand
//     (argv, envp, the descriptor list, clone3's arguments).
//  2. The child calls setns(pidfd, FLAGS) once: with a pidfd the kernel
//     joins every namespace in FLAGS atomically, the user namespace first,
//     so the others are joined with the capabilities the owner of the user
//     namespace holds in it (kernel 5.8 or later).
//  3. It forks again with CLONE_PARENT (clone3 with CLONE_INTO_CGROUP
//     when Options.CgroupFD is set), so that the pid namespace applies to
//     the new process and the new process is a child of the caller of
//     Start, which can wait for it. The intermediate process reports the
//     new pid on a close-on-exec pipe and exits.
//  4. The new process moves its descriptors into place (stdio, then
//     Options.ExtraFiles from FirstExtraFD), restores the signal mask and
//     execs this executable (execveat on a descriptor opened before the
//     fork, so no path inside the container is involved) with the entry
//     point as argv[1] and a marker in the environment.
//
// The executable must be static (ulxc is built with CGO_ENABLED=0): the
// kernel looks for a dynamic one's ELF interpreter inside the container,
// so Start refuses it up front (ErrDynamic).
//
// A failing step reports itself and its errno on the pipe (*JoinError);
// EOF after a pid means the exec worked. Main dispatches the entry point,
// which calls Joined to make sure it was really started this way.
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
// What it does not defend against: the new process is exec'd inside the
// container's user namespace, so the container's root may ptrace it (its
// memory belongs to that namespace, dumpable or not); it must therefore
// hold nothing the container's process would not get anyway. Package
// runtime passes it only the attach pipes, the pty socket and the stdio
// that the attached command receives (never the caller's terminal: with a
// tty the command gets a pty of the container's own devpts). That is the
// lesson of lxc-attach's CVE-2016-8649, where the attaching process held
// a descriptor of the host's /proc.
//
// ulxc used a cgo constructor for this step before (runc's nsenter
// pattern). Without cgo, ulxc is a static pure-Go binary whose processes
// start in about half the time, which every `ulxc start` pays for twice
// (runtime/doc.go, "Start-up cost").
package nsenter
