// Package runtime executes a runtime-spec container (specs.Spec) as an
// unprivileged user: it creates the namespaces, sets up the root filesystem
// inside them, runs the hooks, supervises the container's init and keeps
// the state that start, stop, ls and info read.
//
// # Processes
//
// A running container is three kinds of process:
//
//   - the supervisor: `ulxc start -F` itself, or, for a daemonized start, a
//     `ulxc __monitor` process (setsid, stdio to the container log) that
//     `ulxc start` leaves behind. It runs pre-start and post-stop hooks,
//     holds the pty masters of /dev/console and the ttys, writes the state
//     file and serves the control socket in the container's runtime
//     directory, waits for init and records its exit status.
//   - init: `ulxc __init`, re-executed by the supervisor through
//     userns.Start with every namespace at once, which becomes the mapped
//     root of the new user namespace (userns.Enter), sets up the root
//     filesystem (init.go, rootfs.go, devices.go, console.go), and execs the
//     spec's process as pid 1 of the new pid namespace. It reports any
//     error through a close-on-exec pipe, so that "mount proc: permission
//     denied" reaches the user, and its exec closes the pipe.
//   - the clients: stop, ls, info, which read the state file and CHECK it
//     against the kernel (the init's pid and its start time in
//     /proc/PID/stat; signals go through a pidfd), so a supervisor killed
//     with SIGKILL never leaves a container that looks running.
//   - attached processes (attach.go): `ulxc __attach`, started by package
//     nsenter inside every namespace of the checked init (through a pidfd)
//     and in its cgroup, a child of `ulxc attach`; it takes its ids, its
//     pty (from the container's devpts, the master sent back to the
//     caller) and its environment, and execs. Console clients get the
//     console's output from the supervisor over the control socket
//     (console-stream), so they never compete with the console log.
//
// Freezing (freeze.go) writes cgroup.freeze in the container's own cgroup
// and waits for cgroup.events; without a cgroup it fails (ErrNoCgroup),
// never falling back to SIGSTOP.
//
// Init is started with a parent-death signal (SIGKILL): when its supervisor
// dies, the container dies with it (as with LXC), and the kernel tears down
// its pid namespace and mount namespace, so no mount outlives it.
//
// # What is hostile
//
// Everything inside the root filesystem is controlled by the container (a
// previous run of it may have planted symlinks anywhere). Mount targets are
// therefore resolved with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS)
// relative to a file descriptor of the root, missing components are created
// one at a time without following symlinks, and mounts are made onto the
// resulting descriptor (/proc/self/fd/N), never onto a path string that the
// container controls (runc CVE-2025-31133 is the recent lesson). Bind
// sources, hooks and the spec itself are the user's and trusted as the
// user's.
//
// The root filesystem and the bind sources are opened by init before it
// becomes root in the namespace, while it still has the user's own host
// credentials: container root (a subordinate id) may not search the user's
// 0700 container directory, and it never needs to.
//
// Re-mounting an inherited bind mount inside a user namespace cannot clear
// its locked flags (ro, nosuid, nodev, noexec, atime): remounts re-apply
// the flags statfs reports.
//
// # What it does not defend against
//
// The container's root is the user's subordinate id: it can do to the
// user's subordinate-id-owned files what the user can. It shares the host
// kernel; there is no seccomp filter and no capability bounding beyond what
// the user namespace implies, and no device cgroup (the BPF device
// controller needs real root): the device policy is that a user namespace
// cannot mknod and only the listed host nodes are bound in.
//
// The spec comes from package ocispec, whose doc.go is the contract: the
// runtime reads its annotations ulxc.signal.halt, ulxc.tty.max,
// ulxc.hook.pre-mount.N, ulxc.mount.N.create (dir or file: the type of a
// missing destination; by default a bind gets its source's type and every
// other mount a directory) and ulxc.mount.N.optional (a mount that may
// fail). The mounts are applied exactly in the spec's order; once a tmpfs is
// on /dev, the runtime adds the default device nodes the spec does not bind
// itself, the spec's linux.devices that the host has, /dev/ptmx -> pts/ptmx
// and /dev/fd, stdin, stdout, stderr.
package runtime
