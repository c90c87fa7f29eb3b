// Package ocispec converts an LXC container configuration into an OCI
// runtime-spec (github.com/opencontainers/runtime-spec/specs-go) Spec: the
// one in-memory model of a container. Package runtime only ever reads the
// Spec that Convert returns, and `ulxc spec NAME` prints it as a config.json
// that crun or runc can run as the same unprivileged user.
//
// The Spec's ociVersion is Version (1.1.0), the newest that Debian 12's crun
// accepts; it uses no field younger than that.
//
// Convert reads the config through the Source interface, which
// *lxcconf.Config satisfies; it never touches the filesystem except to read
// the file named by lxc.mount.fstab.
//
// # What the Spec holds
//
//   - root: lxc.rootfs.path (a plain directory, "dir:" prefix allowed; or
//     LXC's overlay:LOWER:UPPER, see below; other storage backends are
//     refused with ErrUnsupported), default DIR/rootfs. lxc.rootfs.options
//     may only say ro or rw, and userxattr for an overlay (LXC needs it
//     to mount one in a user namespace; ulxc always mounts with it).
//     An overlay root is ParseOverlay's reading of LXC's syntax: the
//     upper layer is what follows the last ":/", the lower layers (top
//     first) are the ":"-separated rest, and the workdir is "work"
//     beside the upper layer, where LXC 4 and 5 put it (storage/overlay.c).
//     Root.Path is then DIR/rootfs, the mount point, and the layers are
//     in the ulxc.rootfs.overlay.* annotations: no OCI runtime mounts an
//     overlay root from a spec, so `ulxc spec` of such a container shows
//     an empty root to other runtimes.
//   - process: the init command (Options.Command, else lxc.init.cmd split on
//     blanks with '...' and "..." grouping as LXC does, else /sbin/init), env
//     container=lxc, a default PATH, then lxc.environment (KEY=VALUE; a bare
//     KEY takes the caller's value, as LXC does, and is dropped if the caller
//     has none), cwd lxc.init.cwd (default /), user lxc.init.uid/gid and
//     lxc.init.groups (default 0), rlimits from lxc.prlimit.*,
//     noNewPrivileges from lxc.no_new_privs, oomScoreAdj from
//     lxc.proc.oom_score_adj, and capabilities: every capability minus
//     lxc.cap.drop, or exactly lxc.cap.keep ("none" keeps nothing), in the
//     bounding, effective and permitted sets. terminal is false: the runtime
//     decides.
//   - hostname: lxc.uts.name, default Options.Name.
//   - linux.seccomp: the policy file lxc.seccomp.profile names, in LXC's
//     format version 2 (seccomp.go says what of it converts); the runtime
//     compiles it for the machine's own and compat architectures.
//   - namespaces: user, mount, pid, uts, ipc, net and cgroup, always. The
//     network namespace is left out (the host's is shared) only for
//     lxc.net.0.type = none or lxc.namespace.keep naming net; keep may also
//     name ipc, uts (then no hostname is set) and cgroup. Keeping user, mnt
//     or pid, and every lxc.namespace.share.*, is ErrUnsupported.
//   - uidMappings, gidMappings: lxc.idmap, required (ErrNoIDMap): ulxc never
//     runs a container unmapped.
//   - mounts, in the order they must be applied: /proc (proc), /sys (sysfs,
//     or a read-only rbind of the host's /sys when the host network namespace
//     is shared, since sysfs belongs to a network namespace), /dev (tmpfs
//     mode=755), the host's null zero full random urandom tty bind-mounted
//     onto /dev/NAME (a user namespace cannot mknod), /dev/pts (devpts
//     newinstance,ptmxmode=0666,mode=0620, gid=5 only when gid 5 is mapped,
//     max=N: lxc.pty.max plus lxc.tty.max plus one for /dev/console, which
//     come from the same instance, as LXC counts them), /dev/shm (tmpfs),
//     /dev/mqueue (mqueue),
//     /sys/fs/cgroup (type cgroup2, for the cgroup modes of lxc.mount.auto),
//     then every line of the lxc.mount.fstab file, then every
//     lxc.mount.entry, in LXC's order. /dev/ptmx (a link to pts/ptmx) and
//     /dev/fd, stdin, stdout, stderr are the runtime's job, as the OCI
//     runtime spec says.
//   - linux.readonlyPaths: /proc/sys and /proc/sysrq-trigger for proc:mixed.
//   - linux.devices: none. The device nodes an image ships (recorded when
//     its rootfs was unpacked) never become binds of the host's nodes: a
//     signed image is not the user's decision to give a container
//     /dev/kvm, /dev/net/tun or /dev/dri/*. The container has LXC's
//     standard six, the nodes the runtime makes from its own devpts, and
//     what the user binds with LXC's own syntax, an lxc.mount.entry such
//     as DeviceMountEntry writes. LeftOutDevices lists the recorded nodes
//     a spec leaves out, for the caller to tell the user (`ulxc start`
//     prints them with that line).
//   - linux.resources.unified: every lxc.cgroup2.KEY = VALUE, exactly, except
//     the devices.* keys (see below). linux.cgroupsPath stays empty: a
//     rootless runtime picks its own delegated cgroup.
//   - linux.sysctl from lxc.sysctl.*, linux.personality LINUX32 for the 32-bit
//     x86 values of lxc.arch.
//   - hooks: pre-start and start-host become createRuntime (host namespaces;
//     pre-start first), mount and autodev createContainer, start
//     startContainer, post-stop poststop. pre-start runs later than in LXC
//     (after the namespaces exist, which OCI cannot avoid) but still in the
//     host's namespaces. A hook value that is a path and words without shell
//     syntax runs directly, a relative path resolved against the directory
//     of the file that set it; any other value (a bare command name, shell
//     syntax) runs as `/bin/sh -c 'exec VALUE "$@"'`, as LXC itself does. With
//     lxc.hook.version 0 (the default) the arguments NAME lxc TYPE follow, as
//     in LXC. Every hook gets LXC_NAME, LXC_ROOTFS_MOUNT, LXC_ROOTFS_PATH (both
//     the rootfs directory), LXC_CONFIG_FILE, LXC_HOOK_TYPE,
//     LXC_HOOK_SECTION=lxc, LXC_HOOK_VERSION, a PATH and lxc.environment.hooks.
//
// # Annotations: the contract with the runtime
//
// What the runtime spec cannot say travels in Spec.Annotations. Every key
// this package writes:
//
//   - ulxc.name: Options.Name.
//   - ulxc.signal.halt, ulxc.signal.stop, ulxc.signal.reboot: the signals
//     that halt, stop and reboot init (lxc.signal.*; LXC's defaults SIGPWR,
//     SIGKILL, SIGINT), always present, normalised to names such as SIGPWR or
//     SIGRTMIN+3 that ParseSignal reads back.
//   - ulxc.tty.max: how many /dev/ttyN consoles to allocate (lxc.tty.max,
//     LXC's default 0), always present. ulxc.tty.dir: lxc.tty.dir, if set.
//   - ulxc.pty.max: lxc.pty.max, if set (devpts gets max=N+ttys+1).
//   - ulxc.console.path, ulxc.console.logfile, ulxc.console.size,
//     ulxc.console.buffer.size, ulxc.console.rotate: lxc.console.*, if set;
//     console.path "none" means no console.
//   - ulxc.start.auto, ulxc.start.delay, ulxc.start.order: lxc.start.*, if set.
//   - ulxc.log.file, ulxc.log.level: lxc.log.*, if set.
//   - ulxc.ephemeral: lxc.ephemeral, if set.
//   - ulxc.rootfs.overlay.lower, .upper, .work: an overlay root's layers
//     (lower top first, joined with ":"). ulxc.rootfs.overlay.tmpfs =
//     true is never written from a config: a caller sets it to have the
//     runtime put the upper layer on a fresh tmpfs (start-ephemeral).
//   - ulxc.apparmor.profile: lxc.apparmor.profile, if set; informational,
//     never applied (see ulxc.unapplied).
//   - ulxc.mount.auto: the lxc.mount.auto modes in force, normalised
//     ("proc:mixed sys:mixed cgroup:mixed"). The Spec holds the stricter
//     reading of the mixed modes: /proc/sys and /sys read-only as a whole. LXC
//     leaves /proc/sys/net and /sys/devices/virtual/net writable under
//     proc:mixed and sys:mixed; a runtime that reads this annotation may do
//     the same.
//   - ulxc.mount.N.create = dir|file: Mounts[N] came from lxc.mount.entry or
//     the fstab with create=; the runtime creates a missing destination of
//     that kind (inside the root) before mounting. The option is removed from
//     Mounts[N].Options, so other runtimes, which create destinations
//     themselves, are not confused by it.
//   - ulxc.mount.N.optional = true: a failure to mount Mounts[N] (a missing
//     source, typically) is ignored, as LXC's "optional" option does; removed
//     from the options likewise. Other runtimes fail instead.
//   - ulxc.hook.TYPE.N: the N-th LXC hook of a TYPE that has no OCI
//     equivalent (pre-mount, stop, clone, destroy), as a JSON specs.Hook with
//     its env; AnnotatedHooks decodes them. ulxc.clone.source = ORIG is
//     never written from a config: start-ephemeral sets it on the spec of
//     an ephemeral copy of ORIG, to have the runtime run the copy's clone
//     hooks inside that start, with LXC_SRC_NAME=ORIG.
//   - ulxc.net.N.KEY: every lxc.net.N.KEY of a veth interface N (type, link,
//     name, hwaddr, ipv4.address, ...), list values joined with ",": the
//     request for ulxc-netshim, recorded as written. The runtime checks
//     the keys (package veth: link, name, hwaddr, mtu, flags,
//     ipv4/ipv6.address and .gateway) and makes the interface on the
//     bridge; veth.pair is recorded too, and listed in ulxc.unapplied:
//     the helper names the host end itself.
//   - ulxc.net.N.type = pasta|slirp4netns, and ulxc.net.N.name, mtu,
//     hwaddr, forward: a user-mode interface N, which the runtime's
//     supervisor makes with the pasta (Debian package passt) or
//     slirp4netns helper on the container's network namespace; these two
//     types are ulxc's extensions of lxc.net.N.type. name is the interface
//     inside (checked as the kernel checks names; the runtime's default is
//     the first free of eth0, eth1...), mtu 68 to 65520, hwaddr a unicast MAC in LXC's form (an "x" is
//     a random hex digit), all as written. forward is ulxc's own key, a
//     list: each lxc.net.N.forward = [tcp:|udp:][ADDR:]HOSTPORT:CTPORT
//     forwards the host's HOSTPORT on ADDR (default 127.0.0.1, this host
//     only; an IPv6 ADDR goes in brackets) to the container's CTPORT; the
//     annotation holds them fully written (tcp:127.0.0.1:8080:80) and joined
//     with ",". ParseForward reads one and AddForwards adds `ulxc start -p`
//     ones to the first user-mode interface. flags may only say up (the
//     helper brings the interface up); the addresses, routes, link and
//     scripts of such an interface are the helper's to choose and are
//     listed in ulxc.unapplied. Interfaces reads every ulxc.net.N back.
//   - ulxc.cgroup.KEY: every legacy cgroup v1 lxc.cgroup.KEY (and the
//     placement keys lxc.cgroup.dir*, lxc.cgroup.relative), not applied:
//     rootless cgroup v1 does not exist.
//   - ulxc.cgroup2.devices.allow, ulxc.cgroup2.devices.deny: those lists,
//     joined with ";", not applied: the cgroup2 device controller is eBPF
//     and needs real root. A rootless container reaches only the device
//     nodes that are bound into it, whatever the lists say.
//   - ulxc.unapplied: the config keys, comma-separated and sorted, that ask
//     for something that is not enforced (lxc.seccomp.* other than the
//     profile, AppArmor other than "unconfined", SELinux, cgroup v1 and
//     device lists, lxc.proc.* other than oom_score_adj, time namespace
//     offsets, a veth's veth.pair, the addresses and links of user-mode
//     interfaces; keys LXC does not know never get here: lxcconf refuses
//     them). Unapplied returns them; the CLI warns once, when the
//     container starts.
//
// Keys ignored without a trace because they change nothing a runtime does:
// lxc.include (expanded by lxcconf), lxc.autodev and lxc.autodev.tmpfs.size
// (/dev is always a tmpfs), lxc.rootfs.mount, lxc.rootfs.managed,
// lxc.apparmor.allow_incomplete, lxc.apparmor.allow_nesting,
// lxc.seccomp.allow_nesting, lxc.monitor.*, lxc.group, lxc.execute.cmd,
// lxc.environment.runtime, lxc.hook.version (used for the hooks),
// lxc.keyring.session, lxc.sched.core, lxc.namespace.clone (every namespace
// is cloned anyway).
//
// # Errors
//
// Errors name the key and value they come from (*KeyError) and wrap one of
// ErrNoIDMap, ErrUnsupported, ErrInvalidValue or ErrUnsafePath.
package ocispec
