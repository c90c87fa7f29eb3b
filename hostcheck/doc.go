// Package hostcheck checks a machine for rootless containers: a
// rootless-aware lxc-checkconfig.
//
// Run collects one Result per item: the kernel (version, namespaces, config),
// the user namespace sysctls and AppArmor's restriction, newuidmap and
// newgidmap, the caller's subordinate ids and LXC default.conf maps, a real
// overlayfs mount inside a user namespace and its fallback (fuse-overlayfs,
// and a /dev/fuse container root may open, read from its mode: the user's
// own open would say nothing of a subordinate id's), cgroup v2 delegation, the
// veth helper (ulxc-netshim with its file capability and group, the
// user's quota in /etc/ulxc/usernet, and whether each bridge of the quota
// exists), and user-mode networking: pasta and slirp4netns, a
// /dev/net/tun the user may open (tried, not read from its mode) and a
// net.ipv4.ping_group_range that lets the helpers forward ping. Each
// non-OK Result carries a one-line Fix.
//
// Where it can, hostcheck tries instead of guessing: the overlay item mounts
// overlayfs with userxattr in a fresh user and mount namespace (the child
// side is ProbeOverlayChild, run by a re-executed ulxc), so the verdict is
// the kernel's own answer, including what AppArmor or a nested namespace
// forbid. Reading files, it trusts nothing it reads to be well formed, but
// it does not defend against a hostile /proc or /etc: those belong to root.
//
// Run never fails as a whole: a check that cannot be made is a Warn or a
// Missing row saying why, and Report.OK says whether every mandatory item
// is present.
package hostcheck
