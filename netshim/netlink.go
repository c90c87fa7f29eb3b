package netshim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// This file is a small rtnetlink client, written by hand on x/sys rather
// than taken from a netlink library: the helper needs five requests, and
// every line it links is a line to audit.

// Conn is a NETLINK_ROUTE socket. Requests go to the network namespace the
// socket was made in, whatever the namespace of the thread that sends them,
// so a socket made inside a container's namespace (package nsenter's
// Socket) configures that namespace from the host.
type Conn struct {
	fd  int
	f   *os.File // keeps fd alive when the socket came as a file
	seq uint32
	buf []byte
}

// Dial opens a NETLINK_ROUTE socket in the caller's network namespace.
func Dial() (*Conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	c := &Conn{fd: fd}
	if err := c.init(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return c, nil
}

// NewConn uses f, a NETLINK_ROUTE socket, and takes it over: Close closes
// it.
func NewConn(f *os.File) (*Conn, error) {
	c := &Conn{fd: int(f.Fd()), f: f}
	if err := c.init(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Conn) init() error {
	// Extended acks carry the kernel's reason ("Master is not a bridge");
	// capped acks do not echo the request back.
	for _, opt := range []int{unix.NETLINK_EXT_ACK, unix.NETLINK_CAP_ACK} {
		if err := unix.SetsockoptInt(c.fd, unix.SOL_NETLINK, opt, 1); err != nil {
			return fmt.Errorf("netlink socket: setsockopt %d: %w", opt, err)
		}
	}
	if err := unix.Bind(c.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink socket: bind: %w", err)
	}
	c.buf = make([]byte, 64<<10)
	return nil
}

// Close closes the socket.
func (c *Conn) Close() error {
	if c.f != nil {
		return c.f.Close()
	}
	return unix.Close(c.fd)
}

// NetnsCookie is the kernel's 64-bit identity of the socket's network
// namespace, never reused while the system runs.
func (c *Conn) NetnsCookie() (uint64, error) {
	v, err := unix.GetsockoptUint64(c.fd, unix.SOL_SOCKET, unix.SO_NETNS_COOKIE)
	if err != nil {
		return 0, fmt.Errorf("netns cookie: %w", err)
	}
	return v, nil
}

// NetlinkError is the kernel's refusal of a request, with its extended
// message when it gave one.
type NetlinkError struct {
	Op    string
	Errno unix.Errno
	Msg   string
}

func (e *NetlinkError) Error() string {
	if e.Msg != "" {
		return fmt.Sprintf("%s: %v (%s)", e.Op, e.Errno, e.Msg)
	}
	return fmt.Sprintf("%s: %v", e.Op, e.Errno)
}

func (e *NetlinkError) Unwrap() error { return e.Errno }

// request sends one message and returns the payloads of the replies of
// type want; it ends at the ack (or NLMSG_DONE for a dump).
func (c *Conn) request(op string, typ, flags uint16, body []byte, want uint16) ([][]byte, error) {
	c.seq++
	seq := c.seq
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	msg = append(msg, body...)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], typ)
	ne.PutUint16(msg[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	ne.PutUint32(msg[8:], seq)
	if err := unix.Sendto(c.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, &NetlinkError{Op: op, Errno: errnoOf(err)}
	}
	var out [][]byte
	for {
		n, from, err := unix.Recvfrom(c.fd, c.buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: receive: %w", op, err)
		}
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue // only the kernel answers
		}
		for b := c.buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(ne.Uint32(b[0:]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return nil, fmt.Errorf("%s: malformed reply", op)
			}
			mtyp, mseq, payload := ne.Uint16(b[4:]), ne.Uint32(b[8:]), b[unix.NLMSG_HDRLEN:l]
			b = b[min(nlAlign(l), len(b)):]
			if mseq != seq {
				continue
			}
			switch mtyp {
			case unix.NLMSG_ERROR:
				if len(payload) < 4 {
					return nil, fmt.Errorf("%s: malformed error reply", op)
				}
				errno := -int32(ne.Uint32(payload))
				if errno == 0 {
					return out, nil
				}
				return nil, &NetlinkError{Op: op, Errno: unix.Errno(errno), Msg: extAckMsg(payload)}
			case unix.NLMSG_DONE:
				return out, nil
			case want:
				out = append(out, append([]byte(nil), payload...))
			}
		}
	}
}

func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EIO
}

// extAckMsg is NLMSGERR_ATTR_MSG of an error reply to a capped ack: after
// the error code, the request's header, then attributes.
func extAckMsg(payload []byte) string {
	const capped = 4 + unix.NLMSG_HDRLEN
	if len(payload) <= capped {
		return ""
	}
	for typ, val := range attrs(payload[capped:]) {
		if typ == unix.NLMSGERR_ATTR_MSG {
			return strings.TrimRight(string(val), "\x00")
		}
	}
	return ""
}

func nlAlign(n int) int { return (n + 3) &^ 3 }

// attrs iterates over the route attributes in b, nesting flags masked off.
func attrs(b []byte) func(func(uint16, []byte) bool) {
	return func(yield func(uint16, []byte) bool) {
		for len(b) >= 4 {
			l := int(binary.NativeEndian.Uint16(b[0:]))
			typ := binary.NativeEndian.Uint16(b[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
			if l < 4 || l > len(b) {
				return
			}
			if !yield(typ, b[4:l]) {
				return
			}
			b = b[min(nlAlign(l), len(b)):]
		}
	}
}

// builder appends route attributes to a message body.
type builder struct{ b []byte }

func (m *builder) raw(v ...byte) { m.b = append(m.b, v...) }

func (m *builder) attr(typ uint16, val []byte) {
	var h [4]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(4+len(val)))
	binary.NativeEndian.PutUint16(h[2:], typ)
	m.b = append(m.b, h[:]...)
	m.b = append(m.b, val...)
	m.pad()
}

func (m *builder) pad() {
	for len(m.b)%4 != 0 {
		m.b = append(m.b, 0)
	}
}

func (m *builder) u32(typ uint16, v uint32) {
	m.attr(typ, binary.NativeEndian.AppendUint32(nil, v))
}

func (m *builder) str(typ uint16, s string) { m.attr(typ, append([]byte(s), 0)) }

// nest writes an attribute whose value is what f appends.
func (m *builder) nest(typ uint16, f func()) {
	start := len(m.b)
	m.attr(typ|unix.NLA_F_NESTED, nil)
	f()
	binary.NativeEndian.PutUint16(m.b[start:], uint16(len(m.b)-start))
}

// ifinfomsg appends struct ifinfomsg.
func (m *builder) ifinfomsg(index int32, flags, change uint32) {
	var h [unix.SizeofIfInfomsg]byte
	h[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(h[4:], uint32(index))
	binary.NativeEndian.PutUint32(h[8:], flags)
	binary.NativeEndian.PutUint32(h[12:], change)
	m.raw(h[:]...)
}
