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
// Names are validated before they touch the filesystem: a name is never a
// path. Container directories are created 0700 because a rootfs holds
// setuid files owned by subordinate ids, which other host users must not be
// able to reach.
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
