// Command ulxc-netshim gives an unprivileged user's container a veth pair
// on an administrator's bridge, within the quota /etc/ulxc/usernet grants.
// ulxc runs it; people do not:
//
//	ulxc-netshim create --bridge=BRIDGE [--name=eth0] [--mtu=N] [--hwaddr=MAC]  3<CONTAINER-NETNS
//
// It is installed set-group-id ulxcnet with the file capability
// cap_net_admin+ep (scripts/setup; README, "Security"), never setuid root.
// main makes the process non-dumpable and no_new_privs, clears the
// environment and hands the arguments and descriptor 3 to netshim.Serve,
// which checks everything and creates the pair in one netlink request; it
// prints "HOSTIF MAC" and exits. Package netshim's doc.go has the checks,
// the files it opens (none named by its caller) and the protocol.
//
// It imports netshim, the standard library and golang.org/x/sys only (a
// test holds it to that list) and is built static, without cgo: no
// dynamic loader, so LD_PRELOAD and friends have nothing to act on.
//
// What it does not defend against:
//
//   - The Go runtime parses GODEBUG, GOGC, GOMAXPROCS and GOMEMLIMIT
//     from the caller's environment before main runs. In secure mode
//     (AT_SECURE, which the file capability and set-group-id bit cause)
//     the runtime forces GOTRACEBACK=none and prints no registers or
//     stacks on a fatal signal; the other settings can only slow it or
//     write diagnostics to the caller's own stderr.
//   - Its caller may signal it: kill it (the state keeps an entry for an
//     interface that never came, culled by the next request) or stop it
//     while it holds the quota lock (others wait ten seconds, then fail).
//   - What container root does with its end of the pair: filtering the
//     bridge is the administrator's business.
//   - A compromise of the helper itself yields CAP_NET_ADMIN over the
//     host's network and the quota state, not root.
package main
