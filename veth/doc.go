// Package veth gives a container's network namespace its veth interfaces
// on an administrator's bridge: lxc.net.N.type = veth, through
// ulxc-netshim (package netshim), the one privileged program ulxc ships.
//
// FromAnnotations reads the interfaces from the spec's ulxc.net.N.KEY
// annotations (package ocispec records every lxc.net.N.KEY of a veth
// there): link, name (default the first free ethK), hwaddr with LXC's
// "xx" randomisation, mtu, flags = up, ipv4.address and ipv6.address
// (lists; "ADDR/LEN", an IPv4 one with an optional broadcast address),
// ipv4.gateway and ipv6.gateway (an address, "auto" for the bridge's own,
// or "dev"). veth.pair is read and ignored (the helper names the host
// end); any other key is refused with its name.
//
// Setup then makes them, for the supervisor, once the container's init
// has made its network namespace and before the container's process runs:
//
//  1. a netlink socket inside the container's network namespace
//     (nsenter.Socket, given the namespace's descriptor and, through
//     NS_GET_USERNS, its owning user namespace's);
//  2. for each interface in turn, ulxc-netshim with the namespace as its
//     descriptor 3 and an empty environment; it checks ownership and
//     quota and makes the pair, the container's end named as asked;
//  3. for each, through the socket: addresses, up (flags = up), default
//     routes (a gateway outside the subnets first gets a link route, as
//     LXC does; "auto" reads the bridge's address in the supervisor's own
//     namespace, where the helper put the host end).
//
// Why a socket and not a process inside: the supervisor is a host process.
// It cannot setns into the container's network namespace (that needs
// CAP_SYS_ADMIN in its own user namespace as well as in the namespace's
// owner), a Go program cannot join a user namespace at all (it is
// multithreaded), and exec'ing a configuring program inside would put a
// process of ours where container root may trace it. A netlink socket
// keeps the namespace it was made in, and rtnetlink checks a request
// against the socket opener's capabilities and the sender's in the
// namespace's owning user namespace: the forked child that made the
// socket was root there, and the supervisor, as that user namespace's
// owner, holds every capability in it. So one short non-dumpable fork
// makes the socket and the supervisor does the rest with plain netlink.
//
// FindHelper finds the installed helper and CheckHelper reads from its
// file whether it has the capability it needs, for an error before any
// process starts (ulxc checkconfig reports the same).
//
// Errors name the interface (lxc.net.N) and wrap netshim's refusals as
// *netshim.HelperError, whose Fix says what to do: the helper missing
// (netshim.ErrNotInstalled) or without its capability or group
// (ErrInstall): the install command; no quota (ErrNoQuota): the
// /etc/ulxc/usernet line to add; quota used up (ErrQuotaUsed); no such
// bridge (ErrBridge). A refused or failed Setup deletes the pairs it made
// (deleting the container's end deletes the host's, and the helper's next
// request culls the quota entry), so nothing is left.
//
// Setup leaves the pairs to die with the namespace, which the kernel
// destroys asynchronously once nothing holds it: a host end, and the
// quota it counts against, may outlive the container by a while. Attach
// is Setup that keeps its netlink socket (Pairs); the runtime's
// supervisor calls Pairs.Remove when the container's init exits, which
// deletes the container's ends by interface index (container root may
// have renamed them) and with them the host ends, at once. The socket
// holds the namespace alive until then.
//
// What it does not defend against: container root owns its ends once the
// container runs and may reconfigure or delete them (a deleted pair frees
// quota; that is the user's business). Setup trusts its caller's
// descriptor to be the container's network namespace: the helper checks
// that the caller owns it, not that it is a particular container's.
package veth
