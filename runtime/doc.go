// Package runtime executes a runtime-spec container (specs.Spec) as an
// unprivileged user: it creates the namespaces, sets up the root filesystem
// inside them, runs the hooks, supervises the container's init and keeps
// the state that start, stop, ls and info read, and measures a root
// filesystem for info.
//
// # Processes
//
// A running container is three kinds of process:
//
//   - the supervisor: `ulxc start -F` itself, or, for a daemonized start, a
//     `ulxc [monitor] NAME` process (setsid, stdio to the container log) that
//     `ulxc start` leaves behind. It runs pre-start, stop and post-stop
//     hooks (stop hooks, as LXC's, once init exited and before the cgroup
//     goes, with descriptors of init's namespaces: init sends them to
//     the supervisor itself before its exec, as it sends its network
//     namespace for the network phase, so a container process that exits
//     at once leaves them all),
//     holds the pty masters of /dev/console and the ttys, writes the state
//     file and serves the control socket in the container's runtime
//     directory, waits for init and records its exit status. In the
//     foreground on a terminal (Options.Terminal) it relays the terminal
//     to the console; without one the container's stdio is its own and
//     there is no console or tty. When init ends by reboot(2) (killed by
//     SIGHUP: ExitStatus.Rebooted) the supervisor tears the run down, runs
//     the post-stop hooks with LXC_TARGET=reboot and starts the container
//     again (Container.Restart) while it keeps the run lock, as LXC does;
//     poweroff and halt (killed by SIGINT) stop it.
//   - init: a clone of the supervisor (spawnInit) in new user, mount and
//     pid namespaces (and the container's cgroup), which is not a Go
//     program of its own: it runs package rawproc's init.go on the
//     supervisor's memory (shared with CLONE_VM on amd64, a copy
//     elsewhere), making raw system calls from the rawproc.Plan that
//     compileInit worked out before the clone. It waits for the go-ahead
//     (the supervisor runs newuidmap and newgidmap on it, userns.Release),
//     becomes root of the namespace, sets up the root filesystem and
//     execs the spec's process as pid 1 of the new pid namespace. It
//     reports a failure as a record on a close-on-exec pipe (the step's
//     number, what it was doing, an errno: rawproc.Failure), which the
//     supervisor turns into "mount proc on /proc: permission denied" with
//     the message compileInit made for that step (initmsg.go), and
//     its exec closes the pipe. Hooks that run in the container's
//     namespaces (pre-mount, an ephemeral copy's clone hooks, mount,
//     start) are forks of init that exec the hook's program directly
//     (forkHooks; on amd64 they share init's memory until their exec, on
//     a stack of their own in init's), with the OCI state on stdin
//     (a read-only memfd) and their output in a pipe that the supervisor
//     reads, at most 1 MiB of it, and closes once init has exec'd.
//   - network helpers (network.go, usermode.go): for a spec with
//     interfaces beyond loopback (pasta, slirp4netns), the supervisor's
//     network phase starts one helper per interface, as the user, on the
//     network and user namespaces that init sends it on a socket right
//     after it made them, and lets init exec the container's process once
//     each helper says it is ready. A helper gets SIGKILL as its
//     parent-death signal, from a thread that lives as long as it does,
//     and slirp4netns also exits when its exit pipe from the supervisor
//     closes: none outlives its supervisor, even one killed with SIGKILL.
//     The supervisor stops them when init exits. A helper that fails to
//     start fails the start before the container's process runs.
//     A veth interface (veth.go) runs no helper beside the container:
//     package veth runs ulxc-netshim once per interface, which puts the
//     pair's container end straight into that network namespace, and
//     configures the end (addresses, up, default routes) through a
//     netlink socket made inside the namespace. The supervisor keeps
//     that socket and, when init exits, deletes the container's ends
//     through it, so the host ends (and the quota they count against)
//     go with the container rather than whenever the kernel destroys the
//     namespace. A refusal of the helper (no quota, quota used up, no
//     such bridge, helper missing or without its capability) fails the
//     start before the container's process runs, and a daemon's caller
//     gets it as a *netshim.HelperError, fix included. Interfaces
//     without lxc.net.N.name are eth0, eth1... in the order of N,
//     whatever their type.
//   - the clients: stop, ls, info, which read the state file and CHECK it
//     against the kernel (the init's pid and its start time in
//     /proc/PID/stat; signals go through a pidfd), so a supervisor killed
//     with SIGKILL never leaves a container that looks running. Which
//     runtime directory to read is the container directory's to say, not
//     the client's environment: the supervisor holds the container's run
//     lock for its whole life (package store's doc.go; Daemon hands it to
//     the monitor as DaemonOptions.RunLock), and a client that finds it
//     held uses CheckHeld, for which the container is never STOPPED. So
//     that the state says STOPPING until the lock goes, the supervisor
//     removes the state file after the post-stop hooks, last.
//   - the size walk (rootfsusage.go): `ulxc info` measures the root
//     filesystem from `ulxc __du` (DiskUsageMain), started by package
//     userns in a new user namespace with the container's maps plus the
//     caller's own ids, as destroy's removal is, so that directories only
//     container ids may read (a 0700 /root) are counted: walked with the
//     user's own ids, info said "some directories are unreadable" of
//     every real container. It gets the root as an O_PATH descriptor and
//     prints four counts.
//   - the clone hooks: after `ulxc copy` (clonehook.go), CloneHooks starts
//     `ulxc __clonehook` (CloneHookMain) through userns.RunJob in a new
//     user namespace with the copy's maps plus the caller's own ids and a
//     mount namespace of its own, as LXC's clone_update_rootfs runs under
//     userns_exec_full. As root of that namespace it mounts the copy's
//     root on a private temporary directory (the snapshot's overlay, or a
//     recursive bind of a plain root) and runs each lxc.hook.clone hook
//     there with LXC's variables, LXC_ROOTFS_MOUNT naming the mount. The
//     mount goes with the child's mount namespace; nothing of it is ever
//     seen on the host. An ephemeral copy (start-ephemeral, copy -e) is
//     made only to be started at once, and its clone hooks run inside
//     that start instead (ocispec.AnnotationCloneSource): init runs them
//     as it runs the mount hooks, once the copy's root is mounted (the
//     overlay, on its tmpfs upper layer if it has one), with the same
//     arguments, LXC variables and time limit, LXC_ROOTFS_MOUNT being
//     /proc/self/fd/3, the mounted root. Each runs in the container's
//     user and pid namespaces, in a mount namespace of its own that the
//     clone copies from init's before init mounts anything in the root:
//     it sees the copy's root as lxc-copy's hooks see it, with nothing
//     mounted in it, and may mount there without touching the container.
//     They run in order, and the last (the only one in LXC's configs,
//     clonehostname) runs beside init's mounts: init waits for it before
//     the mount hooks, the start hooks and the exec, and then writes the
//     copy's name in (through the root, or when one of init's mounts
//     covers the file, through a copy of the root's mount alone), as LXC
//     writes it after its hooks.
//     Its time limit counts from that wait. A hook that removes or
//     replaces a directory that the config mounts on races init's
//     mounts; with LXC it would run first. As for the other hooks inside, their environment
//     is not the caller's (what they leave running is container root's
//     to read) but PATH, lxc.environment.hooks and LXC's variables; their
//     output shares the 1 MiB bound of init's hooks and goes where theirs
//     goes (a daemon's log), and the state on their stdin says
//     "creating". A user namespace of their own cost a
//     second newuidmap round trip and Go start-up, about 8 ms, as much as
//     a whole busybox start (Start-up cost). What they write lands in the
//     copy, a tmpfs upper layer included. Their failure is ErrCloneHook,
//     and the caller destroys the copy. They run after the pre-start and
//     pre-mount hooks, where LXC runs them before: those come before the
//     root is mounted.
//   - attached processes (attach.go): package nsenter forks `ulxc
//     attach`, joins every namespace of the checked init (through a
//     pidfd) and its cgroup, and sets the process up by raw system calls
//     (session, stdio, signals, bounding set, seccomp, ids, a pty of the
//     container's devpts, directory) before it execs the command: no
//     program of the host's runs inside the container. What it needs of
//     the container (the user's shell and home in /etc/passwd) is read by
//     the attaching process, through init's root (RESOLVE_IN_ROOT), from a
//     regular file only. Console clients get the console's output from
//     the supervisor over the control socket (console-stream), so they
//     never compete with the console log.
//   - device binds (device.go): `ulxc device add` binds a host node the
//     user may open into the running container through package nsenter's
//     Device, and records it in the runtime directory under init's start
//     time; `device del` takes away only what that record names, never
//     the container's own /dev/null or the like.
//
// Usage figures come from the container's cgroup (info.go); where it
// accounts nothing, or no memory and I/O (a hybrid host's cgroup v2),
// ProcUsage (procusage.go) sums /proc of the processes in init's pid
// namespace, which the user may read as the owner of their user
// namespace: an estimate, for top.
//
// # Cgroups
//
// When the supervisor's cgroup PARENT is delegated to the user, each
// container gets a cgroup of its own, PARENT/ulxc-NAME (State.Cgroup),
// which init is cloned into (CLONE_INTO_CGROUP); otherwise the container
// runs without one and State.CgroupNote says why (cgroup.go).
//
// Limits (linux.resources.unified, from lxc.cgroup2.*) need their
// controllers enabled in PARENT's cgroup.subtree_control, and the kernel
// allows that only in a cgroup that holds no process (the cgroup v2 "no
// internal processes" rule), while PARENT holds at least the supervisor
// and often `ulxc start` itself. So for a container with limits:
//
//	PARENT/                 controllers enabled here; no processes left
//	├── ulxc.supervisors/   every supervisor (and starting client) that left PARENT
//	└── ulxc-NAME/          the container's cgroup, limits written here
//
// `ulxc start` (Daemon) moves itself into PARENT/ulxc.supervisors before
// it spawns the monitor, so both leave PARENT (the monitor is born in the
// leaf); `ulxc start -F` moves itself. Moving oneself is allowed: the
// user owns PARENT's cgroup.procs. Then the limits' controllers are
// enabled in PARENT, checked against its cgroup.controllers first (a
// controller systemd does not delegate is named). Processes in PARENT
// that are not ulxc's to move, the user's shell above all, make it fail
// with the fix: `systemd-run --user --scope -p Delegate=yes ulxc start
// NAME` gives ulxc a fresh delegated scope of its own. A container
// without limits keeps the plain leaf beside the supervisor and never
// moves anyone, so nothing changes for users without limits.
//
// Going back: the supervisor removes ulxc-NAME when init is gone; the last
// supervisor in ulxc.supervisors, when PARENT has no other child, disables
// the controllers (PARENT had none enabled while it held processes, so
// all were ulxc's), moves itself back into PARENT and removes the leaf,
// leaving PARENT as it was found. A failed start undoes the same way.
// These steps hold an flock on PARENT's directory, so concurrent starts
// and stops in one PARENT do not interleave; a supervisor killed with
// SIGKILL leaves empty cgroups that the next start reuses and the next
// last supervisor removes. Known narrow race: a start that takes the lock
// just after the last supervisor moved back into PARENT and before that
// supervisor has exited sees PARENT busy and fails with the error above.
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
// An overlay root filesystem (ocispec's ulxc.rootfs.overlay.*) is mounted
// by init inside the container's user namespace, in place of the bind,
// with userxattr (overlay.go): its layers are opened like the root
// filesystem, before the id change, placed at fixed descriptors and given
// to overlayfs as /proc/self/fd/N; the overlay is made with fsopen and
// fsmount and attached on the mount point (Root.Path). The lower layers
// are never written: overlayfs copies a file up into the upper layer
// before the first write. A tmpfs upper layer is made by init as
// container root and goes with the mount namespace. Where the kernel
// refuses overlayfs in a user namespace fuse-overlayfs serves the root
// instead, when it is installed (below); otherwise the start fails with
// ErrOverlay, which names both (never a silent copy). An ephemeral copy's
// /etc/hostname is written by init through the overlay (as LXC's
// lxc-copy -e -t does in a pre-mount script), when it is a regular file.
//
// The size walk of `ulxc info` (diskusage.go) runs while the container
// does, so its tree changes under it. It goes by descriptors only: each
// directory is opened relative to its parent's descriptor with
// O_DIRECTORY|O_NOFOLLOW|O_NONBLOCK, entries are read with getdents and
// measured with fstatat(AT_SYMLINK_NOFOLLOW), so no symlink is followed
// out of the tree and nothing but a directory is opened (not a FIFO, whose
// open would block, nor a device); an entry that turns into a symlink or
// a non-directory between fstatat and openat is skipped, and a directory
// is measured and entered as openat found it. It stays on the root's
// filesystem (du -x), counts each inode once and enters each directory
// once (renames cannot make it go round), and holds at most 256
// directories open (deeper ones are reported, not entered), with an 8 KB
// buffer each. The walking child runs as container root's host id, but
// in the host's pid namespace, where no process of the container can name
// it, and non-dumpable. A container can still make the walk slow by
// growing its tree as fast as it is read: that costs `info` time, nothing
// else.
//
// The clone hooks of `ulxc copy` (clonehook.go) are the user's programs,
// run as the copy's root with the user's own ids mapped too (LXC maps
// them, so that a hook in the user's 0700 home can run): they may write
// the copy's files as container root writes them, and the user's own.
// (An ephemeral copy's run inside its start, as the mount hooks do: as
// container root without the user's ids, so they reach the user's files
// only where anyone may, and a hook in a 0700 home fails to exec, which
// fails the start naming it. They run in the caller's working directory,
// entered by its path in their own mount namespace, or in / when
// container root may not enter it.) The child
// places the root without walking anything inside it: it opens each layer
// (paths of the copy's config, under the user's container directory)
// once, O_PATH|O_DIRECTORY, in its own mount namespace (a descriptor the
// parent opened would name a mount of the host's namespace, which this
// namespace may neither bind nor stack), gives overlayfs those
// descriptors as /proc/self/fd/N, and attaches the mount with move_mount
// onto a descriptor of the mount point, a fresh 0700 directory of the
// caller's under TMPDIR (O_NOFOLLOW). Its working directory is /, its
// environment the caller's plus LXC's variables, and it passes on no
// descriptor but stdin, stdout and stderr (userns.ServeJob marks the rest
// close-on-exec). What a hook does inside $LXC_ROOTFS_MOUNT, whose
// symlinks are the container's, is the hook's own: it runs with the
// user's ids, so a hook that follows them can be led to the user's
// files, as under LXC; resolve paths inside the root (chroot, or
// openat2 RESOLVE_IN_ROOT) there.
//
// Re-mounting an inherited bind mount inside a user namespace cannot clear
// its locked flags (ro, nosuid, nodev, noexec, atime): remounts re-apply
// the flags statfs reports.
//
// Container root (and so every hook and attached process, and any process
// they leave behind) is the adversary of the user who runs ulxc. What
// keeps it from the user's account, each tried by an attack in
// cmd/ulxc/security_test.go (testdata/hostile):
//
//   - Nothing of the host's that holds the user's descriptors or memory is
//     ever dumpable inside the container's user namespace. Init and
//     nsenter's forks are copies (or, for init, a CLONE_VM sharer) of a
//     host process, whose memory belongs to the host's user namespace:
//     non-dumpable, they cannot be ptraced, their /proc/PID/mem opened or
//     their descriptors taken (pidfd_getfd) by container root. Init ends
//     its entry into the namespace non-dumpable (the id change makes it
//     so, and PR_SET_DUMPABLE 0 says it again); nsenter's first fork makes
//     itself non-dumpable before it joins anything. No host program is
//     exec'd inside the container: an exec'd binary's memory would belong
//     to the container's user namespace, where container root may trace
//     it, dumpable or not.
//   - Init shares the supervisor's memory (CLONE_VM) unless it sets an
//     OOM score (which the kernel applies to every process sharing the
//     memory): then it is a plain fork. Hooks that run beside it, as
//     container root, are held off by its being non-dumpable, as the
//     running container is from nsenter's forks (TestHostileHooks tries
//     both ways). Until its exec a hook shares that memory too, equally
//     non-dumpable; a clone hook left running beside init (below) is
//     killed with init's pid namespace before the supervisor sees init
//     end and unmaps the stack the hook started on.
//   - No terminal of the caller's reaches the container: init and every
//     attached process call setsid first (so /dev/tty inside is never the
//     caller's terminal and TIOCSTI cannot type into the caller's shell),
//     and a terminal among stdio is replaced by a pty of the container's
//     own devpts (start -F: the console; attach: a new pty), or relayed
//     through a pipe. Pipes and files stay what they are.
//   - Hooks that run inside get stdin, stdout, stderr and (pre-mount,
//     clone, mount) the rootfs descriptor, nothing else (stop hooks, on the
//     host, get the container's namespace descriptors); their output is bounded,
//     and a process they leave behind can hold nothing the supervisor
//     waits for.
//
// The network helpers (pasta, slirp4netns) run as the user on the host
// and read every packet the container sends: they are its attack surface
// on the user's account. They live in the host's pid namespace, where no
// process of the container can name them to trace them or take their
// descriptors. pasta confines itself once set up (a seccomp filter,
// no_new_privs, an empty mount namespace of its own: seen in
// /proc/PID/status here); slirp4netns cannot, as ulxc runs it: its
// --enable-sandbox needs the user's ids mapped in the container's user
// namespace, which LXC's map never has. That is one reason pasta is the
// default (package template). Neither reaches the host's loopback for
// the container (pasta --no-map-gw -T none -U none, slirp4netns
// --disable-host-loopback): a service that listens on 127.0.0.1 stays
// out of the container's reach; one on the host's other addresses does
// not, as on a LAN.
//
// # The fuse-overlayfs fallback
//
// Options.Overlay (ULXC_OVERLAY in cmd/ulxc) chooses what serves an
// overlay root: auto (the default) is the kernel's overlayfs, and where
// the kernel refuses it (init's mount fails with EPERM, EINVAL, ENODEV or
// EOPNOTSUPP: ErrOverlay) the start is made once more with fuse-overlayfs
// when it is in $PATH (fuseFallback); fuse is fuse-overlayfs only, and
// fails before anything starts without it (ErrNoFuseOverlayfs); kernel
// never uses it. There is no probe before init: the kernel's own mount
// costs nothing when it works, a probe (a user namespace and a mount)
// would cost every start, and the retry costs a second init only where
// the kernel refuses. Clone hooks (clonehook.go) follow the same
// driver: their child mounts the FUSE connection as init does and sends
// it back on a socket, and the daemon serves it until the child is done.
//
// The kernel takes a FUSE mount only from a /dev/fuse opened in the
// mounter's user namespace (fs/fuse/inode.c: f_cred->user_ns ==
// s_user_ns), so init opens it as container root, mounts it where the
// overlay would go (rawproc's mountFuse: allow_other, so that every id
// of the container may use it, and only processes of its user namespace
// can; default_permissions, so that the kernel checks modes and owners
// as it does for overlayfs, the daemon having every capability over the
// layers), sends the descriptor to the supervisor and closes its own:
// the connection ends with the daemon, never hangs. The supervisor
// starts fuse-overlayfs on /dev/fd/4, which libfuse takes for a mounted
// connection, and kills and reaps it once init has exited and the stop
// hooks ran (also on a failed start); the mount exists only in the
// container's mount namespace, so nothing is left mounted.
//
// fuse-overlayfs run as the container's root in the container's user
// namespace could be traced by container root (its exec leaves it
// dumpable) and would resolve paths in the host's mount namespace,
// where a symlink the container planted in the upper layer could steer
// it to the user's files. So the daemon (FuseMain) runs
//
//   - in a user namespace of its own, made with newuidmap and newgidmap,
//     whose root is the user's own uid (newuidmap lets a user map it,
//     count 1) and whose ids 1..N are the container's host ids
//     (daemonMaps), translated back by fuse-overlayfs' uidmapping and
//     gidmapping: files keep the container's owners on the host, and no
//     id of the container is the daemon's uid. The kernel lets a
//     process trace one of another user namespace only with
//     CAP_SYS_PTRACE in that namespace (commoncap's
//     cap_ptrace_access_check), and the daemon's is a sibling of the
//     container's, not below it: PTRACE_ATTACH and an open of
//     /proc/PID/mem by a process with container root's credentials
//     fail (cmd/ulxc's TestFuseOverlayDaemon). That alone would stop
//     container root (tried: a daemon whose root was container root's
//     host id, in a namespace of its own, was refused too); the other
//     uid is a second wall, against a process of the user's that the
//     container could reach;
//   - in a mount namespace whose root is a private tmpfs that holds only
//     the lower layers (/layers/N), the directory that holds the upper
//     layer and the workdir (/rw: fuse-overlayfs renames from one to the
//     other, which must be one mount) or, for a tmpfs upper layer, the
//     tmpfs itself, /usr read-only (its program and libraries), and a
//     proc of its own pid namespace; it pivots into it and detaches the
//     host's tree, so no path it is made to resolve reaches the host
//     (the test reads its mountinfo: nothing shows the user's home);
//   - in new pid, network, IPC and UTS namespaces, with an empty
//     environment and SIGKILL as its parent-death signal, forked from a
//     thread that lives as long as it does (as the network helpers).
//
// A user without subordinate ids has a single-id map: container root is
// the user's own uid, and so is the daemon's (its namespace maps that
// uid alone, uidmapping 0:0:1). Container root could then trace the
// daemon if it could name it (the container's pid namespace does not
// show it); that gains it nothing: the daemon holds the user's uid,
// which container root already is, and sees less than the user. The
// same holds for the container id that start-ephemeral -u maps to the
// host user, which is the daemon's root.
//
// What fuse-overlayfs writes differs from the kernel's overlayfs in one
// way: an opaque directory (one removed and made again) is marked with
// user.fuseoverlayfs.opaque, which the kernel's overlayfs does not
// read; whiteouts are the same (character devices 0/0).
//
// # What it does not defend against
//
// What the user asks for with attach's lxc-attach options: -e keeps the
// whole bounding set (what lxc.cap.drop took is back, for a process that
// container root may trace once it runs), and -s without MOUNT runs a
// host program on the host's filesystem as container root (a subordinate
// id): container root, if that process is in its pid namespace, may
// trace it and read or write what that id may on the host (world-readable
// and world-writable files). Both are off by default and documented at
// the flags, as LXC documents them.
//
// A bug in pasta or slirp4netns that the container's packets can reach
// runs as the user (see above). So does a bug in fuse-overlayfs that the
// container's file system requests can reach, confined as above: it sees
// the container's layers and the host's /usr, read-only, and nothing
// else of the user's.
//
// A veth's container end belongs to container root once the container
// runs: it may rename it, change its addresses, MAC and MTU, delete it
// or move it to a network namespace of its own (which then keeps the
// pair until that namespace goes: the supervisor deletes the ends it
// still finds, by interface index). The bridge is the administrator's
// to filter, as with LXC's lxc-user-nic.
//
// The container's root is the user's subordinate id: it can do to the
// user's subordinate-id-owned files what the user can. It shares the host
// kernel; lxc.cap.drop and lxc.cap.keep shrink the bounding set of init
// and of attached processes (caps.go), and lxc.seccomp.profile filters
// their syscalls (package seccomp; a container without a profile has no
// filter), but there is no AppArmor or SELinux confinement and no device
// cgroup (the BPF device controller needs real root): the device policy is
// that a user namespace cannot mknod and only the listed host nodes are
// bound in (package ocispec lists none of an image's own: see
// ocispec.LeftOutDevices).
//
// # Start-up cost
//
// `ulxc start -F` is one Go process (the supervisor), its clone (init),
// two setuid helpers and the container's process; bench/start.sh
// measures it. On our 2-core VM the machine is CPU-bound from the first
// instruction to the container's exec, so what counts is the CPU every
// step costs and what can run beside what. What is done about it,
// measured with perf, temporary trace marks and interleaved hyperfine
// rounds in shuffled order:
//
//   - Init is a clone that makes raw system calls, not an exec of ulxc: a
//     Go program's start-up (the runtime's alone is 1.1 ms here, cpuid
//     trapping in a VM and page faults) was the largest single cost of a
//     start, paid while the helpers ran. DESIGN.md section 3 re-execs
//     /proc/self/exe for every entry into a user namespace; usernsexec,
//     create and destroy still do (userns.Start), start no longer does.
//     6.54 ms against 7.57 ms for the re-exec, floor 4.05 ms.
//   - On amd64 the clone shares the supervisor's memory (CLONE_VM) on a
//     stack of its own, as posix_spawn's child does: no page tables to
//     copy and no copy-on-write faults in the supervisor while init runs
//     (6.82 against 7.46 ms).
//   - The id maps and init's plan are worked out beside the container's
//     cgroup, and signal.Notify runs beside the start; start reads no
//     exit file (CheckStatus). About 0.3 ms together.
//   - ulxc is a static pure-Go binary (CGO_ENABLED=0). With cgo each ulxc
//     process spent twice the CPU before main (pthread stacks, glibc
//     start-up). Attach's namespace join needs no C (package nsenter), and
//     attach starts one Go program, not two.
//   - The installed ulxc is built without the image verbs (-tags
//     ulxc_lean; README, "Binaries"): no go-crypto, circl, net/http or xz
//     to initialise. `ulxc --version` takes 1.4 ms, a Go program that does
//     nothing 1.1 ms.
//   - The spec reaches the monitor in a hand-written
//     binary encoding (wire.go), not JSON of specs.Spec, whose first use
//     walks some hundred types: that was 0.7 ms of CPU on each side.
//   - Init is cloned with CLONE_CLEAR_SIGHAND: the kernel gives it the
//     default handlers, so it and its hooks restore only the signal mask
//     before an exec, not each of the Go supervisor's 64 handlers (124
//     rt_sigaction calls on the way to the exec, about 0.045 ms).
//   - Init makes the network, IPC, UTS and cgroup namespaces itself
//     (lateNamespaces), while the helpers run.
//   - A container without networking beyond loopback has no network
//     phase: no socket, descriptor or system call is added to its start.
//     With one, the network helper starts while init mounts, and init
//     waits for it only before the exec; bench/net.sh measures what it
//     costs.
//   - newuidmap and newgidmap run at once.
//   - An ephemeral copy's clone hooks run inside its start, by init
//     (Processes, above), not in a user namespace of their own before
//     it: with Debian's config (common.conf's clonehostname) an
//     ephemeral start took 1.65-2.0x a plain one, and takes 1.33-1.35x
//     (bench/copies.sh; the hook's shell was 1.1-1.5 ms of it, about 0.14
//     ms now, below). lxcfs's mount hook, in both, is 3-6 ms.
//   - Hooks inside share init's memory until their exec (CLONE_VM and
//     CLONE_VFORK, on a stack of their own), and init shares the
//     supervisor's with hooks too: a plain fork of init, a copy of the
//     supervisor's page tables and then a fault on every page either
//     wrote, cost each start with a hook 0.7-1 ms, and each hook some
//     0.5 ms more. The last clone hook runs beside init's mounts (ftrace:
//     init's mounts to pivot_root 1.97 ms with the hook waited for, 1.0
//     ms beside it). What init did for it after the hook ended went
//     beside it too, or away: the copy's /etc/hostname is copied up
//     while the hook runs and written through the root (no copy of the
//     root's mount to remove, an RCU grace period), and the hook's mount
//     namespace waits in init's socket until the supervisor's state is
//     written (rawproc's sendCloneNS), so that its teardown, 0.12-0.18
//     ms, is not between the hook's exit and the exec. The hook enters
//     the caller's directory in its own namespace, where dash's getcwd
//     finds it (from init's, it walked up with getdents). Its JSON (the
//     hook's annotation, the state on its stdin) is written and read by
//     package jsonscan, not encoding/json, whose first use of a type is
//     0.05 ms. With all of it, Debian's ephemeral start takes 0.78-0.93
//     ms more than busybox's (bench/copies.sh, two runs; 1.65-2.17 ms
//     before), 0.64 ms with the hook cleared in the same run. On this two-CPU VM the kernel runs
//     the hook on init's CPU in a quarter of the starts; moving it off
//     (sched_setaffinity in the hook before its exec) was no faster
//     (ftrace, 60 interleaved starts each).
//   - LXC's rootfs mount points are found by reading /usr/lib once
//     (globOneStar), not with filepath.Glob, which read every directory
//     under /usr/lib: 1.3 ms of every start with a mount hook (lxcfs's,
//     in Debian's config), 0.1 ms now.
//   - The supervisor removes the previous exit file before it writes the
//     new one: a rename over an existing file makes ext4 (auto_da_alloc)
//     write the new file's data out first, 0.3 ms at the end of every run.
//     Readers never miss it: the state file, removed after, still exists.
//
// What an ephemeral start adds to a start, beyond its hooks (ftrace and
// tmark, /bin/true): about 1.5 ms before init is cloned (the copy's
// directory, locks, the origin's snapshot record, its config edited,
// checked and written; the config is parsed once more than for a start,
// where it was five times: Debian's with its includes is 0.2-0.3 ms a
// parse) and 1 ms after the exit (its removal).
//
// Where the rest goes (perf, 100 starts): the two helpers are the largest
// part (dynamic setuid binaries: ld.so, cpuid, four libraries), then the
// supervisor's Go runtime, then init's network namespace and mounts, the
// container's exec and the teardown of its namespaces.
//
// Tried and dropped, as no faster: a C constructor that cloned init
// before the Go runtime started (with cgo's start-up cost it gained
// nothing), starting a Go init in a goroutine before the supervisor read
// its config (the fastest way with a Go init; the clone made it moot),
// GODEBUG containermaxprocs=0, unsharing the late namespaces after the
// go-ahead, the helpers' stderr in a memfd, a stripped binary (-s -w).
// Writing the state file while init sets up the container gained 0.1 ms,
// too little for a state that says RUNNING before the container's
// process exists. Cloning init first thing in Start (it waited for its
// plan on a pipe) so that the helpers ran beside the cgroup and plan work
// gained nothing measurable: the machine is CPU-bound there, and moving
// work around does not shrink it. A whole start
// allocates about 300 KB: allocation is not where the time goes.
//
// The spec comes from package ocispec, whose doc.go is the contract: the
// runtime reads its annotations ulxc.net.N.* (the network phase),
// ulxc.signal.halt, ulxc.signal.reboot
// (recorded in the state for stop -r), ulxc.console.path (a terminal of
// the user's that the supervisor relays the console to, both ways,
// consolepeer.go), ulxc.tty.max,
// ulxc.hook.pre-mount.N, ulxc.hook.clone.N with ulxc.clone.source (an
// ephemeral copy's start), ulxc.mount.N.create (dir or file: the type of a
// missing destination; by default a bind gets its source's type and every
// other mount a directory) and ulxc.mount.N.optional (a mount that may
// fail). The mounts are applied exactly in the spec's order; once a tmpfs is
// on /dev, the runtime adds the default device nodes the spec does not bind
// itself, the spec's linux.devices that the host has, /dev/ptmx -> pts/ptmx
// and /dev/fd, stdin, stdout, stderr.
package runtime
