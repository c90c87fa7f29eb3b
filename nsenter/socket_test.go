package nsenter

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/netshim"
)

// sandbox starts `unshare --user --map-root-user --net sleep` as the
// test's own user and returns its user and network namespaces.
func sandbox(t *testing.T) (userns, netns *os.File) {
	t.Helper()
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--net", "sleep", "60")
	if err := cmd.Start(); err != nil {
		testenv.Skipf(t, "unshare: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	proc := "/proc/" + strconv.Itoa(cmd.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if comm, _ := os.ReadFile(proc + "/comm"); string(comm) == "sleep\n" {
			break
		}
		if time.Now().After(deadline) {
			testenv.Skipf(t, "unshare --user --net made no sandbox (unprivileged user namespaces are needed)")
		}
	}
	var err error
	if userns, err = os.Open(proc + "/ns/user"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { userns.Close() })
	if netns, err = os.Open(proc + "/ns/net"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netns.Close() })
	return userns, netns
}

// TestSocket: a netlink socket made by Socket lives in the sandbox's
// network namespace, and the caller, who is not in it, configures that
// namespace through it.
func TestSocket(t *testing.T) {
	userns, netns := sandbox(t)
	sock, err := Socket(userns, netns, unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	if flags, err := unix.FcntlInt(sock.Fd(), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("socket flags %#x, %v; want close-on-exec", flags, err)
	}
	c, err := netshim.NewConn(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	host, err := netshim.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	theirs, err1 := c.NetnsCookie()
	ours, err2 := host.NetnsCookie()
	if err1 != nil || err2 != nil || theirs == ours {
		t.Fatalf("netns cookies: socket %d (%v), ours %d (%v): want two namespaces", theirs, err1, ours, err2)
	}
	// A fresh namespace's loopback is down; the caller sets it up.
	lo, err := c.LinkByName("lo")
	if err != nil || lo.Up {
		t.Fatalf("lo in the sandbox: %+v, %v; want it down", lo, err)
	}
	if err := c.SetUp(lo.Index); err != nil {
		t.Fatalf("set the sandbox's lo up from outside: %v", err)
	}
	if lo, err = c.LinkByName("lo"); err != nil || !lo.Up {
		t.Errorf("lo in the sandbox after SetUp: %+v, %v; want it up", lo, err)
	}
}

func TestSocketRefused(t *testing.T) {
	_, netns := sandbox(t)
	_, err := Socket(netns, netns, unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE)
	var je *JoinError
	if !errors.As(err, &je) || je.Step != "join the user namespace" || je.Errno != syscall.EINVAL {
		t.Errorf("Socket(a network namespace as the user namespace) = %v, want join the user namespace: EINVAL", err)
	}
}
