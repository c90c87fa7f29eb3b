// Package clone copies containers, as lxc-copy does: full copies (the
// "dir" backend), overlay snapshots whose lower layer is the original's
// root filesystem, and renames. It is the library behind `ulxc copy`,
// `ulxc rename` and `ulxc start-ephemeral`; the verbs only turn flags into
// Options.
//
// # How a copy is made
//
//  1. store.New makes NEW/ (0700, locked); a directory without `config` is
//     a copy in progress, removed (destroy.InNamespace) on any failure.
//  2. A child re-executed in a user namespace (ChildEntry) with the
//     original's id map plus the caller's own ids (destroy.PlanMaps), and
//     a mount namespace of its own, does the work as the namespace's root:
//     a full copy walks the original's tree by descriptors (tree.go), so
//     owners, modes, setuid bits, xattrs (user.*, POSIX ACLs, file
//     capabilities, overlayfs's user.overlay.*), hardlinks, FIFOs,
//     overlay whiteouts and times survive; a snapshot makes overlay/delta (the upper layer,
//     with the owner and mode of the original's root) and overlay/work
//     beside it, the layout of LXC 4 and 5. An original that is itself an
//     overlay is read through a read-only overlay of its layers, mounted
//     in the child's namespace, for a full copy; for a snapshot its upper
//     layer is copied into the new one over the same lower layers, as
//     LXC does.
//  3. Unless KeepName, the copy gets its name in /etc/hostname and in the
//     host names of /etc/hosts, written by the child through the new root
//     (an overlay is mounted for it, so the change lands in the upper
//     layer). Files that are not regular files are left alone.
//  4. The config is the original's top file with lxc.rootfs.path,
//     lxc.uts.name (unless KeepName), a new lxc.net.N.hwaddr for each
//     interface that has one (unless KeepMAC), lxc.ephemeral and the -m
//     mount entries, and every other value that named the original's
//     directory pointing at the new one; it is written last, atomically:
//     that rename is the commit.
//  5. A snapshot is recorded as LXC records one: NEW/lxc_rdepends names
//     the original, ORIG/lxc_snapshots lists its snapshots (store.Origin,
//     store.Snapshots), and `destroy` refuses an original that has some.
//     A copy that fails after that (a clone hook) is taken out of the
//     list again with its directory.
//  6. Options.AfterCopy runs the copy's lxc.hook.clone hooks for `ulxc
//     copy` (runtime.CloneHooks, in a user namespace of their own). An
//     ephemeral copy gets none: its clone hooks run inside its start, by
//     the container's init (runtime's doc.go), which saves that user
//     namespace, and start-ephemeral destroys the copy if one fails. A snapshot whose lower layers include
//     a shared layer of `create -B overlay` records its use there too
//     (package layer), before its config is written, so the layer
//     outlives its original; Rename records the new directory before it
//     renames the old one.
//
// # What is hostile
//
// The original's tree: a running original (AllowRunning) may change it
// while it is copied. The walk never follows a symlink (every open is
// O_NOFOLLOW, relative to its parent's descriptor), opens nothing but
// directories and regular files (a FIFO is made, never opened), checks
// that what it opened is what it examined, and writes only into the new
// directory, which nothing of the container's can reach. The files the
// identity edits read and write are resolved inside the new root
// (RESOLVE_IN_ROOT). The child maps the caller's own ids, so it could
// read the caller's files: what keeps a planted symlink from exposing
// them is the rule above, never a path string.
//
// # Not defended against
//
// Another process of the same user changing the directories while a copy
// runs; a copy of a running original is consistent only file by file,
// as cp -a's would be.
package clone
