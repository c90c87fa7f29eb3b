// Package image turns a verified LXC image into a root filesystem: it unpacks
// rootfs.tar.xz safely and without privilege, reads meta.tar.xz, substitutes
// the template placeholders, locks a shipped root password, and builds the
// offline busybox system.
//
// # How it is meant to run
//
// Unpack runs inside the container's user namespace, as its mapped root, in a
// re-executed child that receives the verified tarball as an open file and
// the empty rootfs directory (rootfs.partial) as its target. The caller
// removes the partial tree when Unpack fails (files owned by subordinate ids
// can only be removed from inside the namespace) and renames it on success.
// Ownership in the archive is applied as namespace ids, so the host sees the
// subordinate ids; the container directory must stay mode 0700 because the
// rootfs holds setuid files owned by those ids.
//
// # What is hostile
//
// Every tar member name, link target, type, mode, owner and xattr is
// attacker-controlled, even in a signed image: a signature proves who built
// the tarball, not that its builder cannot be tricked. Unpack guarantees that,
// whatever the archive holds, it creates, changes or removes nothing outside
// root:
//   - names are refused (ErrInsecurePath) when absolute, empty, holding NUL
//     or a ".." component, or when filepath.IsLocal rejects them;
//   - the entry "." may only be a directory (umoci CVE-2021-29136);
//   - parents are resolved inside root by filepath-securejoin (root.go:
//     openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS), then a check that the
//     result is on root's mount, as RESOLVE_NO_XDEV did, where statx
//     reports mount ids, Linux 5.8+), so symlinks planted by earlier
//     entries, absolute ones included, resolve chroot-style inside root;
//   - final components are created, changed and removed with *at syscalls
//     that never follow a symlink (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW);
//   - hard links must name an existing regular file, symlink or fifo inside
//     root;
//   - device nodes are never created but reported (Report.Devices, see
//     store.WriteDevices), and a reported node is never bound from the
//     host at start either (ocispec.LeftOutDevices): an image that ships
//     /dev/kvm or /dev/net/tun does not get the host's; overlay whiteouts
//     and unknown types are skipped with a warning;
//   - only user.*, POSIX ACL and security.capability xattrs are kept, and
//     file capabilities are written as v2 so that the kernel stores them for
//     the namespace (never for the host);
//   - Limits bound the number of entries and the bytes written.
//
// # What an image's config may set
//
// An image's config-user (or config) becomes the first lines of the new
// container's config, and a config decides what runs on the host, what of
// it the container reaches and how confined it is. FilterConfig keeps only
// an allowlist of keys and drops every other line with a DroppedLine that
// names its number and key (lxc.start.auto, lxc.mount.*, lxc.cgroup*,
// lxc.sysctl.*, lxc.hook.*, lxc.environment, lxc.prlimit.*, lxc.cap.*,
// lxc.apparmor.*, lxc.seccomp.*, lxc.net.*, lxc.idmap... and keys not yet
// invented alike). Real images set lxc.include and lxc.arch only; the busybox
// template sets lxc.init.cmd and two signals. Each allowed key, and why it
// is safe:
//   - lxc.include: only one of LXC's shared configurations, by its exact
//     path in LXCConfigDir (common.conf, userns.conf, and the
//     DISTRO.common.conf and DISTRO.userns.conf pairs that LXC 5 ships and
//     that include them): files root installed for every container, which
//     the user would get from any LXC image; not nesting.conf,
//     oci.common.conf, the .lucid and .moresecure variants or the .d
//     directories, which change confinement when a user asks for them.
//   - lxc.arch: the personality of the container's processes (linux32 or
//     not), which only they see.
//   - lxc.init.cmd, lxc.init.cwd: a program and directory inside the
//     rootfs, which the image provides anyway.
//   - lxc.init.uid, lxc.init.gid: ids inside the container's user
//     namespace, mapped to the user's subordinate ids like all the others.
//   - lxc.signal.halt, lxc.signal.reboot, lxc.signal.stop: which signal
//     `ulxc stop` sends the container's init; the worst a wrong one does is
//     a stop that ends in SIGKILL.
//
// Values are not checked beyond includes: a bad one makes the container
// fail to start, which the image could do with its own init. A line with a
// control character is dropped whole, since LXC also ends a line at '\r'.
// The user's default.conf and ulxc's own keys follow the image's lines, so
// they win where both set a key.
//
// ReadMeta bounds every member it reads. ApplyTemplates and LockRootPassword
// resolve their paths inside the rootfs the same way and replace files by
// writing a temporary file next to them and renaming it.
//
// # Decompression
//
// NewXZReader decodes xz in pure Go (ulikunitz/xz), one goroutine per block
// of multi-block files. It is about 1.9 times slower than xz-utils on one
// core (liblzma's decoder is hand-tuned C), which made decompression the
// largest CPU cost of creating a container. DecompressXZ therefore runs
// xz-utils' `xz -dc -T0 -q` when an xz is in PATH (XZAuto): fed a private
// descriptor of the file on stdin, its output read from a 1 MiB pipe, with
// XZ_OPT and XZ_DEFAULTS removed from its environment, and its exit status
// awaited before the reader returns io.EOF, because xz checks the last
// block, the index and the footer only at the end. -T0 makes xz 5.4+ decode
// the blocks of multi-block files on every core. xz reads only the
// verified file and writes plain bytes that are then treated as hostile
// like any archive, so running it adds no trust. Without xz, or with
// XZGo, the pure-Go decoder runs; both verify every check and fail on
// corrupt or truncated input alike (TestDecompressXZ).
//
// # Packing
//
// Pack is Unpack's inverse, for image maintainers (package publish): it
// writes a tree as an image's rootfs.tar. The tree may be a container's,
// so it is as hostile as an archive: Pack opens every component relative
// to its parent's descriptor with O_NOFOLLOW, records symlinks as links
// and never follows them, opens nothing but directories and regular files
// (O_NONBLOCK, so a FIFO swapped in cannot block it) and checks with
// fstat that what it opened is what it listed; it stays on the root's
// filesystem. It keeps the xattrs Unpack keeps and nothing of the host's
// policy. Run inside the container's user namespace, it records owners as
// the container sees them.
//
// CompressXZ writes xz in blocks whose headers carry their sizes, so that
// xz-utils 5.4 and NewXZReader decode them on every core. It prefers
// xz-utils (`xz -T0 -6 --block-size`): on a Debian minbase (193 MiB, two
// cores, bench/pack.sh) level 1 matches the size of the pure-Go encoder
// (77.7 MiB) in 60% of its time, and level 6, the default and
// distrobuilder's, is 13% smaller (67.9 MiB, as `tar | xz -T0`). The
// pure-Go encoder (parallel blocks, a 1 MiB dictionary) is the fallback,
// 2.8 times faster than level 6.
//
// # What is not defended
//
//   - Concurrent modification of the rootfs while Unpack runs: the rootfs is
//     private to the creating process, so the short windows between resolving
//     a parent and acting on a name in it are not guarded against another
//     writer.
//   - Memory used by xz decompression: it follows the dictionary size that
//     the (signature-verified) file declares, at most a few hundred MiB per
//     decoding goroutine or xz thread, and NewXZReader holds a few decoded
//     blocks at once.
//   - An xz in PATH that is not xz-utils: it runs as the user, like
//     anything else in the user's PATH.
//   - Disk exhaustion below Limits.MaxBytes, and inode exhaustion below
//     Limits.MaxEntries.
//   - Running Unpack as real root outside a user namespace is safe for the
//     host's files but creates setuid files owned by whatever ids the archive
//     says: only do it in tests.
package image
