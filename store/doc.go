// Package store keeps containers on disk: their names, directories, locks
// and the per-user runtime directory where running containers keep their
// sockets and state.
//
// A store is a directory (LXC's "lxcpath"); each container is a
// subdirectory NAME holding at least a `config` file, usually a `rootfs/`,
// and whatever else its lifecycle needs (logs, recorded devices). The layout
// is LXC's, so a store may be a directory that LXC itself populated
// (~/.local/share/lxc); the files ulxc adds are named .ulxc.* or ulxc-*.
//
// Overlay snapshots are recorded as LXC records them (snapshots.go):
// ORIG/lxc_snapshots lists the snapshots of ORIG, NEW/lxc_rdepends names
// NEW's origin, so that LXC and ulxc refuse the same destroys. An
// ephemeral container (ephemeral.go) exists only while a supervisor holds
// its run lock.
//
// Names are validated before they touch the filesystem: a name is never a
// path. Container directories are created 0700 because a rootfs holds
// setuid files owned by subordinate ids, which other host users must not be
// able to reach.
//
// Container.Lock serialises the commands that change a container (create,
// start, copy, destroy) with a flock on NAME/.ulxc.lock; a command that
// finds it taken gets a *BusyError naming the holder from /proc/locks, so
// that "busy" says by what.
//
// # Whether a container runs
//
// The container's own directory says whether it runs, whatever the
// environment of the command that asks. The supervisor of a run (the
// monitor of a daemonized start, or `ulxc start -F` itself) holds a lock
// on NAME/.ulxc.run for the run's whole life: it is taken before init is
// spawned (LockRun) and goes with the supervisor's last descriptor, after
// the teardown and the post-stop hooks, or when the supervisor is killed.
// The same file records the run's runtime directory, so that a command
// whose XDG_RUNTIME_DIR differs from the starter's (ssh, then cron or su)
// finds the control socket and the state (FindRun). A held lock means a
// supervisor lives: start refuses, destroy refuses without -f, and a
// command that cannot use the recorded directory says so instead of
// taking the container for stopped.
//
// The runtime directory ($XDG_RUNTIME_DIR/ulxc/HASH/NAME, HASH naming the
// store) was the only truth before; it depends on the environment, and two
// sessions of one user saw two different answers: a second init started on
// the same rootfs, and destroy removed the rootfs under the first. LXC
// keys its command socket on lxcpath and name for the same reason.
//
// The lock is an open file description lock (fcntl F_OFD_SETLK), and
// readers test it with F_OFD_GETLK, which takes nothing: with flock, a
// reader's brief shared lock would make a concurrent start fail as if
// the container ran. The description is shared by the processes that
// inherit it (ulxc start hands it to the monitor it spawns) and released
// when the last of them closes it or dies; it is close-on-exec, so no
// hook or container process keeps a container "running".
//
// The recorded path sits in a directory only the user can write, yet it is
// checked before use: an absolute, clean path ending in HASH/NAME (HASH
// may be another store path's: a store reached through a symlink), whose
// last three components are directories (not symlinks) that the user owns
// and nobody else may enter. A record that fails the check while the lock
// is held is an error that wraps ErrRunning and ErrUnreachable; when the
// lock is free the record tells where the last run left its exit status,
// and a bad one is ignored. An init that outlived its supervisor (it
// should not: it has a parent-death signal), or one started by a ulxc
// that took no run lock, is still found by the state in the recorded
// directory, checked against the kernel, and start refuses it too.
//
// Known limit: a run whose runtime directory is removed under it (systemd
// removes /run/user/UID when the user's last session ends, unless
// lingering) keeps running, and ulxc can then neither reach nor stop it;
// it says so, and the user kills its monitor. Keeping the control socket
// out of the runtime directory (an abstract socket, as LXC's, checked
// with SO_PEERCRED) would lift that.
//
// # The runtime directory
//
// RuntimeBase is $XDG_RUNTIME_DIR/ulxc when XDG_RUNTIME_DIR names a
// directory the user owns and may write. Otherwise (unset, as under su,
// sudo and cron, or stale: a session's that ended, another user's kept
// by su) it is the private $TMPDIR/ulxc-UID, created 0700 and refused if
// another user planted it; a set XDG_RUNTIME_DIR that is passed over is
// reported through Store.Warn, once.
package store
