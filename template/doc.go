// Package template populates a new container with an LXC template, the
// `download` template (a verified image from an image server) or the
// `busybox` template (the host's static busybox, no network). It is the
// orchestration behind `ulxc create`: the verb only turns flags into
// Options. Removal, `ulxc destroy` included, is package destroy's.
//
// # Steps of Create
//
//  1. store.New makes NAME/ (mode 0700) and the container is locked; a
//     directory without `config` is a creation in progress.
//  2. The id maps are planned: -m maps, else lxc.idmap of default.conf, else
//     LXC's convention (container 0 is the first subordinate id, 65536 ids),
//     else, without subordinate ids, the single mapping of the caller's own
//     ids (only id 0 exists in the container then).
//  3. download only: download.Fetch verifies and caches the image;
//     meta.tar.xz is read here, in the parent.
//  4. A child re-executed in a new user namespace (ChildEntry) creates
//     NAME/rootfs.partial, unpacks the rootfs into it (or builds the busybox
//     system), substitutes the `templates` placeholders and locks a shipped
//     root password, as the namespace's root, and reports back as JSON. The
//     child reads a plain tar on fd 4 and never decompresses: when the cache
//     keeps the decompressed rootfs (download.Image.OpenTar), the parent
//     passes that file's descriptor and checks its SHA-256 while the child
//     reads it; on a mismatch the partial tree is removed and the create
//     starts over from rootfs.tar.xz. Otherwise the parent decompresses the
//     verified rootfs.tar.xz (xz-utils when installed, see
//     image.DecompressXZ) and writes the tar into a pipe to the child, the
//     two overlapping like `xz -dc | tar -x`, while download keeps a copy
//     for the next create (download.Image.Decompress). A decoder error fails
//     the create whatever the child made of the cut stream.
//  5. The parent renames rootfs.partial to rootfs, records the skipped
//     device nodes (store.DevicesFile) and excluded members (ExcludedFile),
//     and writes `config` last, atomically: that rename is the commit.
//
// Any failure before the commit removes NAME/ completely, from inside the
// namespace when it holds files of subordinate ids (destroy.InNamespace):
// one deferred cleanup
// guarded by the named error result. The image cache is download's and is
// only ever changed by a successful, verified Fetch.
//
// # Backend overlay: a shared layer
//
// With Backend store.BackendOverlay, step 4 makes no rootfs in NAME/. The unpack (or
// the busybox build) goes into a layer of package layer's cache, keyed by
// the exact build (the verified rootfs.tar.xz's SHA-256, key, excludes;
// the busybox binary's SHA-256) and the container's id map, and made only
// when the cache has none: without the container's name (no templates),
// with the root password locked and /dev/pts made, since those are the
// same for every container. The layer's own record keeps what the unpack
// reported (devices, excluded members, locked password) for later
// creates. The container is then recorded as a user of the layer, under
// the layer's lock, and a child in a user and mount namespace makes
// NAME/overlay/delta (owner and mode of the layer's root) and
// NAME/overlay/work, mounts the overlay on NAME/rootfs and applies the
// templates through it, so that the name lands in the upper layer. The
// config says lxc.rootfs.path = overlay:LAYER/rootfs:NAME/overlay/delta
// and lxc.rootfs.options = userxattr, as LXC's own snapshots do. A
// killed create leaves a staged layer that the next create of the same
// key removes, and a record of a directory without config and lock, which
// does not count. --flush-cache makes a new layer; the old one is kept
// for the containers that use it, with a warning.
//
// # The caller's own id inside the namespace
//
// With LXC's map (u 0 200000 65536) the caller's uid is not mapped, so the
// namespace's root could not even search the caller's 0700 container
// directory. As lxc-create does (lxc-usernsexec -m u:0:200000:65536 -m
// u:65536:UID:1), the child's namespace also maps the caller's own uid and
// gid, one id each, at the first namespace id after the container's ranges.
// The kernel then grants the namespace's root CAP_DAC_OVERRIDE over the
// caller's files, so it can work in NAME/; newuidmap allows this one-id map
// of one's own id without a subordinate range. The extra id is never written
// into the container's config, and Unpack is told the size of the
// container's own map (image.Options.IDMapSize), so that an archive member
// owned by that id is refused instead of becoming a file of the caller.
//
// # The container config
//
// The config is assembled as lxc-download does (lxc-image-protocol.md §5):
// the image's config-user under "Distribution configuration", then the
// effective lxc.* keys of default.conf (or -f FILE) with the idmap,
// lxc.rootfs.path (absolute, dir:) and lxc.uts.name, then default.conf's
// network keys. When neither default.conf nor the image names an interface
// (images may not: image.FilterConfig), a download container gets the
// best user-mode networking installed, written out with a comment so the
// user sees it and may change it: lxc.net.0.type = pasta, else
// slirp4netns, else empty with a warning naming the package to install
// (chooseNetwork; a /dev/net/tun the user may not open is warned about
// too). An explicit lxc.net setting is kept as written. The busybox
// template is the offline one: it gets lxc.net.0.type = empty, written
// out likewise. LXC_TEMPLATE_CONFIG is substituted with
// /usr/share/lxc/config and the include is kept: LXC can run the container
// too, and without LXC installed lxcconf skips its missing standard files
// with a warning while ulxc's own defaults cover what they set.
//
// # What is hostile
//
// The tarball's contents (see package image), and the image's config-user:
// a signature proves who built an image, not that its config is harmless,
// and a config runs things on the host. Only the lines image.FilterConfig
// allows are kept (an allowlist: lxc.include of LXC's shared
// configurations, lxc.arch, lxc.init.cmd, cwd, uid and gid, lxc.signal.*;
// image/doc.go says why each is safe); every other line is dropped with a
// warning naming its number and key. LXC trusts them all; real images only
// set lxc.include and lxc.arch.
//
// # Not defended against
//
// Another process of the same user, which may change NAME/ while Create
// runs; a compromised image signing key beyond the checks above.
package template
