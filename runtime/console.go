package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// receivePtys receives the masters that consoles sent, by name.
func receivePtys(sock *os.File) (map[string]*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*(maxTTYs+1)))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receive pty masters: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("receive pty masters: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		f, err := unix.ParseUnixRights(&m)
		if err != nil {
			return nil, fmt.Errorf("receive pty masters: %w", err)
		}
		fds = append(fds, f...)
	}
	names := strings.Split(string(buf[:n]), ",")
	if n == 0 || len(names) != len(fds) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("receive pty masters: malformed message")
	}
	out := make(map[string]*os.File, len(fds))
	for i, fd := range fds {
		out[names[i]] = os.NewFile(uintptr(fd), "/dev/"+names[i])
	}
	return out, nil
}

// ringBuffer keeps the last len(buf) bytes written to it.
type ringBuffer struct {
	mu   sync.Mutex
	buf  []byte
	next int
	full bool
}

func newRingBuffer(size int) *ringBuffer { return &ringBuffer{buf: make([]byte, size)} }

func (r *ringBuffer) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	if len(p) >= len(r.buf) {
		copy(r.buf, p[len(p)-len(r.buf):])
		r.next, r.full = 0, true
		return n, nil
	}
	c := copy(r.buf[r.next:], p)
	if c < len(p) {
		copy(r.buf, p[c:])
		r.full = true
	}
	r.next = (r.next + len(p)) % len(r.buf)
	if r.next == 0 && len(p) > 0 {
		r.full = true
	}
	return n, nil
}

// Bytes returns the buffered bytes, oldest first.
func (r *ringBuffer) Bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]byte(nil), r.buf[:r.next]...)
	}
	return append(append([]byte(nil), r.buf[r.next:]...), r.buf[:r.next]...)
}

// consoleLog is the console's output kept by the supervisor: a ring buffer
// of recent output, and a file rotated once (to FILE.1) at maxSize.
type consoleLog struct {
	tee     fanout // clients attached with console-stream (attach.go)
	ring    *ringBuffer
	path    string
	maxSize int64
	f       *os.File
	size    int64
}

func (l *consoleLog) Write(p []byte) (int, error) {
	l.ring.Write(p)
	l.tee.write(p)
	if l.path == "" {
		return len(p), nil
	}
	if l.f == nil || l.size+int64(len(p)) > l.maxSize {
		if l.f != nil {
			l.f.Close()
			_ = os.Rename(l.path, l.path+".1")
		}
		f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|unix.O_NOFOLLOW|os.O_TRUNC, 0o600)
		if err != nil {
			l.path = "" // keep the ring buffer going; the file is best effort
			return len(p), nil
		}
		l.f, l.size = f, 0
	}
	n, _ := l.f.Write(p)
	l.size += int64(n)
	return len(p), nil
}

// copyConsole drains the console master into log until the pty closes
// (EIO once no slave is open), so the container never blocks on a full
// console.
func copyConsole(master *os.File, log io.Writer) {
	buf := make([]byte, 4<<10)
	for {
		n, err := master.Read(buf)
		if n > 0 {
			log.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}
