// Command netprobe tries the network from inside a container, for the
// networking tests of cmd/ulxc (net_test.go). Each mode prints one line
// that says what worked, or fails with a message. It is built static
// (CGO_ENABLED=0), so it resolves names with Go's own resolver, from the
// container's /etc/resolv.conf.
//
//	netprobe connect ADDR:PORT [SECONDS]   TCP: print what the server sends
//	netprobe udp ADDR:PORT       UDP: send a datagram, print the reply
//	netprobe resolve NAME        DNS: print NAME's addresses
//	netprobe ping ADDR [UID]     ICMP echo through a ping socket (as UID)
//	netprobe serve PORT          TCP: greet every connection, forever
//	netprobe sink ADDR:PORT      TCP: read each connection to its end and
//	                             answer with the count, forever
//	netprobe send ADDR:PORT N    TCP: send N bytes to a sink, print MB/s
//
// sink and send are bench/net.sh's bulk transfer.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const timeout = 10 * time.Second

func main() {
	if len(os.Args) < 3 {
		fail("usage: netprobe connect|udp|resolve|ping|serve ARG")
	}
	arg := os.Args[2]
	switch os.Args[1] {
	case "connect":
		limit := timeout
		if len(os.Args) > 3 {
			s, _ := strconv.Atoi(os.Args[3])
			limit = time.Duration(s) * time.Second
		}
		c, err := net.DialTimeout("tcp", arg, limit)
		if err != nil {
			fail("connect: %v", err)
		}
		c.SetDeadline(time.Now().Add(timeout))
		b, err := io.ReadAll(io.LimitReader(c, 4096))
		if err != nil {
			fail("connect: read: %v", err)
		}
		fmt.Printf("tcp %s: %s\n", arg, strings.TrimSpace(string(b)))
	case "udp":
		c, err := net.DialTimeout("udp", arg, timeout)
		if err != nil {
			fail("udp: %v", err)
		}
		c.SetDeadline(time.Now().Add(timeout))
		if _, err := c.Write([]byte("udp from the container")); err != nil {
			fail("udp: send: %v", err)
		}
		b := make([]byte, 512)
		n, err := c.Read(b)
		if err != nil {
			fail("udp: receive: %v", err)
		}
		fmt.Printf("udp %s: %s\n", arg, b[:n])
	case "resolve":
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupHost(ctx, arg)
		if err != nil {
			fail("resolve: %v", err)
		}
		fmt.Printf("resolve %s: %s\n", arg, strings.Join(addrs, " "))
	case "ping":
		uid := -1
		if len(os.Args) > 3 {
			uid, _ = strconv.Atoi(os.Args[3])
		}
		ping(arg, uid)
	case "serve":
		l, err := net.Listen("tcp", ":"+arg)
		if err != nil {
			fail("serve: %v", err)
		}
		for {
			c, err := l.Accept()
			if err != nil {
				fail("serve: %v", err)
			}
			fmt.Fprintf(c, "hello from the container, port %s\n", arg)
			c.Close()
		}
	case "sink":
		l, err := net.Listen("tcp", arg)
		if err != nil {
			fail("sink: %v", err)
		}
		fmt.Println("listening")
		for {
			c, err := l.Accept()
			if err != nil {
				fail("sink: %v", err)
			}
			go func() {
				defer c.Close()
				n, _ := io.Copy(io.Discard, c)
				fmt.Fprintf(c, "%d\n", n)
			}()
		}
	case "send":
		if len(os.Args) < 4 {
			fail("usage: netprobe send ADDR:PORT BYTES")
		}
		n, err := strconv.ParseInt(os.Args[3], 10, 64)
		if err != nil || n <= 0 {
			fail("send: %q is not a byte count", os.Args[3])
		}
		send(arg, n)
	default:
		fail("unknown mode %q", os.Args[1])
	}
}

// send writes n bytes to a sink at addr and prints the rate, from the
// connect to the sink's count of what it read.
func send(addr string, n int64) {
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		fail("send: %v", err)
	}
	buf := make([]byte, 256<<10)
	for left := n; left > 0; {
		k, err := c.Write(buf[:min(int64(len(buf)), left)])
		if err != nil {
			fail("send: %v", err)
		}
		left -= int64(k)
	}
	c.(*net.TCPConn).CloseWrite()
	// The count's line, not EOF: Debian 12's pasta never passes on the
	// sink's FIN once the container has sent its own.
	c.SetReadDeadline(time.Now().Add(timeout))
	b, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		fail("send: the sink's count: %v", err)
	}
	if got := strings.TrimSpace(b); got != strconv.FormatInt(n, 10) {
		fail("send: the sink read %q bytes of %d", got, n)
	}
	d := time.Since(start)
	fmt.Printf("send %s: %d bytes in %.3fs: %.1f MB/s\n", addr, n, d.Seconds(), float64(n)/d.Seconds()/1e6)
}

// ping sends one echo request to addr through a ping socket (what ping
// uses without privilege: allowed by net.ipv4.ping_group_range), as uid
// when it is not -1, and waits for the reply.
func ping(addr string, uid int) {
	if uid >= 0 {
		if err := syscall.Setgroups(nil); err != nil {
			fail("ping: setgroups: %v", err)
		}
		if err := syscall.Setgid(uid); err != nil {
			fail("ping: setgid: %v", err)
		}
		if err := syscall.Setuid(uid); err != nil {
			fail("ping: setuid: %v", err)
		}
	}
	dst, err := netip.ParseAddr(addr)
	if err != nil || !dst.Is4() {
		fail("ping: %q is not an IPv4 address", addr)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, syscall.IPPROTO_ICMP)
	if err != nil {
		fail("ping: ping socket as uid %d gid %d: %v", os.Getuid(), os.Getgid(), err)
	}
	defer syscall.Close(fd)
	tv := syscall.NsecToTimeval(int64(timeout))
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		fail("ping: %v", err)
	}
	// Echo request: type 8, code 0, checksum, identifier (the kernel
	// sets it), sequence 1, payload.
	msg := append([]byte{8, 0, 0, 0, 0, 0, 0, 1}, "ulxc netprobe"...)
	binary.BigEndian.PutUint16(msg[2:], checksum(msg))
	if err := syscall.Sendto(fd, msg, 0, &syscall.SockaddrInet4{Addr: dst.As4()}); err != nil {
		fail("ping: send: %v", err)
	}
	buf := make([]byte, 1500)
	n, from, err := syscall.Recvfrom(fd, buf, 0)
	if err != nil {
		fail("ping: no reply: %v", err)
	}
	src, _ := from.(*syscall.SockaddrInet4)
	if n < 8 || buf[0] != 0 || src == nil || netip.AddrFrom4(src.Addr) != dst {
		fail("ping: unexpected reply %x from %v", buf[:n], from)
	}
	fmt.Printf("ping %s: echo reply as uid %d\n", addr, os.Getuid())
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "netprobe: "+format+"\n", a...)
	os.Exit(1)
}
