package nsenter

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"github.com/ulxc/ulxc/internal/rawproc"
	"golang.org/x/sys/unix"
)

// Socket returns a socket(domain, typ, proto) made inside the network
// namespace netns, whose owning user namespace is userns. A socket keeps
// the namespace it was made in, whichever thread or process uses it
// afterwards; for a netlink socket, the kernel checks a request against
// the capabilities of the socket's opener and of the sender in the
// namespace's owner, both of which hold when the sender owns the user
// namespace. So the supervisor of a container, a host process that cannot
// join the namespace (setns into a network namespace needs CAP_SYS_ADMIN
// in one's own user namespace too, and a Go program cannot join a user
// namespace at all), configures the container's network through it.
//
// The socket is made by a fork of the caller (socketChild) that makes
// itself non-dumpable, joins userns and then netns (the owner of a user
// namespace holds CAP_SYS_ADMIN in it, which both joins need), calls
// socket(2), sends the descriptor back over a socket pair and exits. It
// execs nothing and opens nothing else.
func Socket(userns, netns *os.File, domain, typ, proto int) (*os.File, error) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("nsenter: socket pair: %w", err)
	}
	parent, child := os.NewFile(uintptr(pair[0]), "socket-parent"), os.NewFile(uintptr(pair[1]), "socket-child")
	defer parent.Close()
	defer child.Close()
	j := &rawproc.SocketJob{Userns: userns.Fd(), Netns: netns.Fd(), Domain: uintptr(domain),
		Type: uintptr(typ) | unix.SOCK_CLOEXEC, Proto: uintptr(proto), Sock: child.Fd(), All: ^uint64(0)}
	j.Rights.Hdr.Level = unix.SOL_SOCKET
	j.Rights.Hdr.Type = unix.SCM_RIGHTS
	j.Rights.Hdr.SetLen(unix.CmsgLen(4))
	j.Iov = unix.Iovec{Base: (*byte)(unsafe.Pointer(&j.Rec))}
	j.Iov.SetLen(int(unsafe.Sizeof(j.Rec)))
	j.Msg = unix.Msghdr{Iov: &j.Iov, Control: (*byte)(unsafe.Pointer(&j.Rights))}
	j.Msg.Iovlen = 1
	j.Msg.SetControllen(int(unsafe.Sizeof(j.Rights)))
	j.FailMsg = unix.Msghdr{Iov: &j.Iov}
	j.FailMsg.Iovlen = 1

	pid, err := forkSocket(j)
	runtime.KeepAlive(userns)
	runtime.KeepAlive(netns)
	child.Close()
	if err != nil {
		return nil, fmt.Errorf("nsenter: fork: %w", err)
	}
	var ws unix.WaitStatus
	for {
		_, werr := unix.Wait4(pid, &ws, 0, nil)
		if werr != unix.EINTR {
			break
		}
	}
	runtime.KeepAlive(j)
	return receiveSocket(parent)
}

var sockSteps = [...]string{rawproc.SockDumpable: "make the process non-dumpable", rawproc.SockUserns: "join the user namespace",
	rawproc.SockNetns: "join the network namespace", rawproc.SockSocket: "socket"}

// receiveSocket reads the child's one message: a socket, or the step that
// failed and its errno.
func receiveSocket(sock *os.File) (*os.File, error) {
	var rec [16]byte
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), rec[:], oob, unix.MSG_CMSG_CLOEXEC|unix.MSG_DONTWAIT)
	if err != nil || n != len(rec) {
		return nil, errors.New("nsenter: the forked process ended without a word")
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) == 1 {
		fds, _ = unix.ParseUnixRights(&msgs[0])
	}
	step := *(*uint64)(unsafe.Pointer(&rec[0]))
	errno := *(*uint64)(unsafe.Pointer(&rec[8]))
	if step != rawproc.SockOK || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		if step > 0 && step < uint64(len(sockSteps)) {
			return nil, &JoinError{Step: sockSteps[step], Errno: syscall.Errno(errno)}
		}
		return nil, fmt.Errorf("nsenter: malformed report %x", rec)
	}
	return os.NewFile(uintptr(fds[0]), "socket"), nil
}

// fork forks socketChild with every signal blocked (no Go handler may run
// in a child without a Go runtime) and returns its pid.
func forkSocket(j *rawproc.SocketJob) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	if _, _, e := syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
		uintptr(unsafe.Pointer(&j.All)), uintptr(unsafe.Pointer(&j.Old)), 8, 0, 0); e != 0 {
		return 0, e
	}
	pid, e := rawproc.ForkSocket(j)
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&j.Old)), 0, 8, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(pid), nil
}
