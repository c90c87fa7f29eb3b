package runtime

import (
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

func ack(seq uint32, code int32) []byte {
	b := make([]byte, unix.SizeofNlMsghdr+4)
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], unix.NLMSG_ERROR)
	binary.NativeEndian.PutUint32(b[8:], seq)
	binary.NativeEndian.PutUint32(b[unix.SizeofNlMsghdr:], uint32(code))
	return b
}

func TestParseAck(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"ack", ack(1, 0), nil},
		{"eperm", ack(1, -int32(unix.EPERM)), unix.EPERM},
	} {
		if err := parseAck(tc.b, 1); !errors.Is(err, tc.want) {
			t.Errorf("parseAck(%s) = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := parseAck(ack(2, 0), 1); err == nil {
		t.Errorf("parseAck(other seq) = nil, want an error")
	}
	if err := parseAck([]byte{1, 2, 3}, 1); err == nil {
		t.Errorf("parseAck(short) = nil, want an error")
	}
}

func TestNewLinkUp(t *testing.T) {
	b := newLinkUp(loopbackIndex, 7)
	ne := binary.NativeEndian
	if int(ne.Uint32(b)) != len(b) || ne.Uint16(b[4:]) != unix.RTM_NEWLINK || ne.Uint32(b[8:]) != 7 {
		t.Fatalf("newLinkUp header = %x", b[:unix.SizeofNlMsghdr])
	}
	ifi := b[unix.SizeofNlMsghdr:]
	if ne.Uint32(ifi[4:]) != loopbackIndex || ne.Uint32(ifi[8:])&unix.IFF_UP == 0 || ne.Uint32(ifi[12:])&unix.IFF_UP == 0 {
		t.Errorf("newLinkUp ifinfomsg = %x, want index 1 with IFF_UP set and changed", ifi)
	}
}
