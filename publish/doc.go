// Package publish is the image maintainer's side of the LXC download
// protocol (../shared/reference/lxc-image-protocol.md): it makes OpenPGP
// signing keys, packs a root filesystem into a build directory of a tree in
// the layout of images.linuxcontainers.org, writes the tree's meta/1.0
// index and serves the tree over HTTP(S) with an HKP endpoint for its
// keys. Package download is the client's side and verifies what this
// package writes; nothing here is needed to create containers.
//
// # Keys
//
// GenerateKey makes a signing key with go-crypto: a v4 Ed25519 (or RSA
// 4096) primary key that signs, no encryption subkey, a self-signature
// made with SHA-512 whose preferred hashes are SHA-512 and SHA-256. No
// SHA-1 is used anywhere but in the v4 fingerprint, which the format
// defines so. The secret key is written unencrypted, mode 0600: a build
// machine signs unattended, as lxc-ci does with its agent.
//
// # A tree
//
//	TREE/images/DIST/RELEASE/ARCH/VARIANT/BUILD/
//	    rootfs.tar.xz(.asc) meta.tar.xz(.asc) SHA256SUMS(.asc)
//	TREE/meta/1.0/index-system(.asc) index-user(.asc)
//	TREE/keys/FINGERPRINT.asc       the public keys that sign the tree
//
// A build directory is staged under a hidden name beside its final one
// and renamed into place once every file is written and fsynced, so a
// server never lists a half-written build; an existing build is never
// replaced. The index lists, per image, the greatest BUILD that has a
// SHA256SUMS, as lxc-ci's importer does.
//
// # What is hostile
//
// When a container is packed, its rootfs is the container's: every name,
// symlink and owner in it is chosen by the container's root. The walk
// (image.Pack) runs in a child inside the container's user namespace,
// as its root, so it can read nothing that root could not; it opens every
// component relative to its parent's descriptor with O_NOFOLLOW, never
// follows a symlink, never opens anything but directories and regular
// files, and records owners as the container sees them. Everything the
// tree's files are written to is named by the maintainer (the -o tree and
// the validated DIST, RELEASE, ARCH, VARIANT and BUILD), never by the
// rootfs. A container whose root is an overlay (a snapshot, or one made
// with create -B overlay) is packed as it sees itself: the child mounts
// its layers read-only, in a mount namespace of its own, on the
// container's rootfs mount point, and walks that; root is no exception
// there, and packs it in the container's user namespace too.
//
// The server (Handler) treats request paths as hostile: it resolves them
// inside the tree with os.Root, so neither ".." nor a symlink in the tree
// leads out of it, and serves regular files only, never hidden ones (a
// staged build, a key's secret part).
//
// # What is not defended
//
//   - The secret key is as safe as the file it is in (mode 0600, in the
//     user's configuration directory).
//   - A rootfs directory given by path (not a container) is the
//     maintainer's own and is read as it is; a tree that changes while it
//     is being packed yields whatever the walk saw.
package publish
