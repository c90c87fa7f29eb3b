package runtime

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// loopbackIndex is lo's interface index: the kernel creates lo first in
// every network namespace.
const loopbackIndex = 1

// loopbackUp brings lo up in the current network namespace with one
// RTM_NEWLINK request (IFF_UP), as `ip link set lo up` does, and waits for
// the kernel's acknowledgement.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("bring up lo: netlink socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("bring up lo: bind netlink: %w", err)
	}
	msg := newLinkUp(loopbackIndex, 1)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("bring up lo: send: %w", err)
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return fmt.Errorf("bring up lo: receive: %w", err)
	}
	if err := parseAck(buf[:n], 1); err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	return nil
}

// newLinkUp builds an RTM_NEWLINK request setting IFF_UP on the link.
func newLinkUp(index int32, seq uint32) []byte {
	const size = unix.SizeofNlMsghdr + unix.SizeofIfInfomsg
	b := make([]byte, size)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], size)
	ne.PutUint16(b[4:], unix.RTM_NEWLINK)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	ne.PutUint32(b[8:], seq)
	// struct ifinfomsg: family, pad, type, index, flags, change.
	ifi := b[unix.SizeofNlMsghdr:]
	ifi[0] = unix.AF_UNSPEC
	ne.PutUint32(ifi[4:], uint32(index))
	ne.PutUint32(ifi[8:], unix.IFF_UP)
	ne.PutUint32(ifi[12:], unix.IFF_UP)
	return b
}

// parseAck reads the NLMSG_ERROR answer to request seq: error 0 is the
// acknowledgement.
func parseAck(b []byte, seq uint32) error {
	ne := binary.NativeEndian
	for len(b) >= unix.SizeofNlMsghdr {
		l := ne.Uint32(b[0:])
		if l < unix.SizeofNlMsghdr || int(l) > len(b) {
			return fmt.Errorf("malformed netlink answer")
		}
		typ, s := ne.Uint16(b[4:]), ne.Uint32(b[8:])
		if typ == unix.NLMSG_ERROR && s == seq {
			if l < unix.SizeofNlMsghdr+4 {
				return fmt.Errorf("malformed netlink error")
			}
			if code := int32(ne.Uint32(b[unix.SizeofNlMsghdr:])); code != 0 {
				return unix.Errno(-code)
			}
			return nil
		}
		b = b[(l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1):]
	}
	return fmt.Errorf("no netlink acknowledgement")
}
