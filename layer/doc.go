// Package layer keeps the shared, read-only root filesystems that
// `ulxc create -B overlay` makes containers from: an image is unpacked
// once per build and id map into a layer of the cache, and each container
// is an overlay (LXC's lxc.rootfs.path = overlay:LAYER:NAME/overlay/delta)
// whose upper layer holds everything of its own.
//
// # Layout
//
//	${XDG_CACHE_HOME:-~/.cache}/ulxc/layers/KEY/
//	  .lock            flock: one process at a time changes KEY/
//	  key.json         what KEY is made from, id map included
//	  current          symlink to the layer new containers get
//	  layer.XXXXXXXX/  a committed layer, mode 0555
//	    layer.json     what it was made from (Info), and the builder's record
//	    rootfs/        the lower layer, files of the container's ids
//	  users/           one symlink per container that uses a layer
//	  .partial-XXXXXXXX/  a layer being made; stale once the lock is free
//
// KEY is the SHA-256 of Info.Source (the exact build: the verified
// image's digest, or the busybox binary's) and of the id map, so that a
// layer is never shared between maps that would give its files other
// owners. A layer is made under .partial-*, then renamed into place and
// pointed at by `current`: the renames are the commit, so a killed create
// leaves only a partial directory, which the next Open of KEY removes.
//
// # Users
//
// A layer is removed only when no container uses it. Use records a user
// as users/HASH, a symlink to the container's directory (HASH names the
// directory), under KEY's lock; the callers are create,
// copy (a snapshot or an ephemeral copy of a container over a layer shares
// its lower layers) and rename. A record counts only while it is true,
// whatever happened to the container since: its directory has a config
// whose lxc.rootfs.path is an overlay with the layer among its lower
// layers, or it has no config yet and its lock (store's NAME/.ulxc.lock)
// is held, as during a create or copy. A container directory deleted by
// hand, a config edited to another rootfs, or a create killed mid-way
// leave records that do not count, and are removed when seen. destroy
// drops its record (Release), which the rule would ignore anyway.
//
// A committed layer directory is mode 0555 and owned by the user: root of
// a container's user namespace, which does not map the user's ids, can
// neither rename nor replace the rootfs in it. The rootfs's own files
// belong to the container's ids; overlayfs never writes a lower layer,
// and no ulxc mounts a layer any other way.
//
// # Not defended against
//
// Other processes of the same user, which can change anything here; LXC
// itself copying or snapshotting a container over a layer (it records
// nothing here, so such a copy does not keep the layer alive); a cache
// removed by hand (`rm -rf ~/.cache`), which breaks the containers over
// its layers: the README says so where it explains why -B dir stays the
// default.
package layer
