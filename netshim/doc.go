// Package netshim is the protocol between ulxc and ulxc-netshim, the one
// privileged program ulxc ships, and the helper's side of it: it gives an
// unprivileged user's container a veth pair on a bridge the administrator
// made, within a quota the administrator granted. It is lxc-user-nic's
// job, redone with that program's CVEs as the checklist.
//
// # The protocol
//
// ulxc runs the helper with the container's network namespace as
// descriptor 3 (NetnsFD), never as a pid or a path, and the arguments of
// Request.Args:
//
//	ulxc-netshim create --bridge=BRIDGE [--name=NAME] [--mtu=N] [--hwaddr=MAC]
//
// On success the helper prints Reply: the host end's name and the
// container end's MAC address ("ulxc1f2e3d4c 02:16:3e:aa:bb:cc\n"). On a
// refusal it prints one line on stderr and exits with the refusal's own
// status (ExitCode, ErrorForExit): ErrUsage, ErrNamespace, ErrNoQuota,
// ErrQuotaUsed, ErrBridge, ErrPolicy, ErrInstall. HelperError carries one
// back to ulxc, with the fix to offer (HelperError.Fix).
//
// # What the helper checks (Serve), in order
//
//  1. The arguments: one verb, four known flags, each at most once,
//     bounded (an interface name is 1 to 15 of [A-Za-z0-9_.-] and not "."
//     or ".."; an MTU from 68 to 65535; a unicast MAC). Anything else is
//     ErrUsage.
//  2. The namespace (CheckNetns): fstatfs says nsfs before any ioctl
//     touches the descriptor (a device the caller opened must not see the
//     helper's ioctls); NS_GET_NSTYPE says network; NS_GET_USERNS and
//     NS_GET_OWNER_UID say its owning user namespace was made by the
//     caller's real uid; and it is not the helper's own. This is
//     CVE-2017-5985's missing check, made by the kernel's notion of
//     ownership rather than by trying an operation. It comes before the
//     helper opens any file, which could otherwise take descriptor 3
//     when the caller passed none.
//  3. Where and how it runs: not as root, in the initial user namespace,
//     with CAP_NET_ADMIN in effect. Run from inside a user namespace, the
//     file capability would give it power over the caller's own
//     namespaces only, and its quota would count in a network namespace
//     the caller controls.
//  4. The policy (PolicyFile, ParsePolicy): root's, not writable by group
//     or others, in a directory likewise; a malformed line refuses the
//     whole file. The caller's name and groups come from /etc/passwd and
//     /etc/group read directly (LookupIdentity): a static binary has no
//     NSS, and a user only LDAP knows gets no quota.
//  5. The bridge: it exists in the helper's network namespace and its
//     link kind is "bridge"; a requested MTU is not above the bridge's.
//  6. The quota, under an exclusive flock of StateDir/nics: entries of
//     this network namespace whose host interface is gone are culled
//     (the container's namespace went, and its pair with it), then the
//     caller's entries on the bridge are counted against the sum of the
//     policy lines that match the user and the user's groups. Twenty
//     concurrent requests at the boundary get exactly the remaining
//     count.
//
// Then one RTM_NEWLINK creates the pair: the peer directly inside the
// target namespace (VETH_INFO_PEER with IFLA_NET_NS_FD, named as asked,
// with the requested or the bridge's MTU and the requested or a random
// MAC), the host end named by the helper ("ulxc" and eight random hex
// digits), with the bridge's MTU (a smaller one would lower the bridge's
// own), a MAC starting fe: (so the bridge keeps its address), attached to
// the bridge and up. The kernel does all of it or none. No setns, no
// rename inside the container's namespace (LXC's lxc_secure_rename_in_ns
// was needed only because it made the peer on the host), no delete verb:
// the pair dies with the namespace.
//
// The state entry is written before the pair is made and removed if the
// kernel refuses: a helper killed in between leaves an entry the next
// request culls, never an interface the quota does not count.
//
// # Installation and the files it trusts
//
// The helper is installed set-group-id Group ("ulxcnet") with the file
// capability cap_net_admin+ep, never as root: a compromise of it gives
// CAP_NET_ADMIN and the quota state, not uid 0. The state directory
// StateDir is root:ulxcnet mode 0770 and its file root:ulxcnet mode 0660,
// both made by the installation (and tmpfiles.d at boot); the helper
// checks owner, group and mode of both, never creates them (a file it
// created would belong to its caller, who could then rewrite its own
// quota), refuses a caller who is a member of the group, and rewrites the
// file in place. The files it opens are PolicyFile, /etc/passwd,
// /etc/group, /proc/self/uid_map, /proc/self/ns/net and the state: none is
// named by its caller (the lesson of CVE-2018-6556 and CVE-2022-47952,
// whose existence oracle needed a caller-named path).
//
// # What ulxc does with it
//
// The helper leaves the container's end down and unaddressed: ulxc
// configures it (Conn's SetUp, AddAddr, AddRoute) through a netlink socket
// made inside the container's namespace, as the owner of its user
// namespace; see package veth.
//
// # What it does not defend against
//
//   - Its caller may kill or stop it at any time (the caller's real uid is
//     its own). Killed, it leaves at most a state entry for a missing
//     interface, culled later. Stopped while it holds the state lock, it
//     delays every other user's request, which gives up after ten seconds
//     with an error: a local denial of service, bounded per request.
//   - The Go runtime reads GODEBUG, GOGC, GOMAXPROCS and GOMEMLIMIT from
//     the caller's environment before main clears it. It runs in secure
//     mode (AT_SECURE: GOTRACEBACK is forced to none, fatal signals print
//     no registers or stacks), and none of these settings changes what
//     the helper decides: the worst is diagnostic output on the caller's
//     own stderr or a slower helper.
//   - Container root owns the container's end and may change its MAC and
//     MTU or send anything on it: the bridge is the administrator's to
//     filter (ebtables, VLANs), as with lxc-user-nic.
//   - A user who loses a group or a policy line keeps the veths made
//     before; the quota applies to new requests.
//   - Entries of network namespaces other than the one the helper runs in
//     (only root can run it elsewhere, as tests do) are kept, never culled.
package netshim
