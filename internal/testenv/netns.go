package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// RequireRoot skips the test unless it runs as root, which it needs to
// make network namespaces and install helpers; the reason says what for.
func RequireRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skipf(t, "needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN in the initial namespaces) to %s", what)
	}
}

// Netns is a network namespace the test made with `ip netns add`, with
// its loopback up. Nothing a test does in it reaches the host's network.
type Netns struct {
	Name string
	File *os.File // open on the namespace, for InNetns and setns
}

// NewNetns makes a network namespace, removed at the end of the test.
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	RequireRoot(t, "make a network namespace with ip netns add")
	var b [4]byte
	rand.Read(b[:])
	name := "ulxct-" + hex.EncodeToString(b[:])
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	f, err := os.Open(filepath.Join("/run/netns", name))
	if err != nil {
		exec.Command("ip", "netns", "del", name).Run()
		t.Fatal(err)
	}
	n := &Netns{Name: name, File: f}
	t.Cleanup(func() {
		f.Close()
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	n.IP(t, "link", "set", "lo", "up")
	return n
}

// IP runs `ip -n NAME ARGS...` and returns its output; it fails the test
// on an error.
func (n *Netns) IP(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", n.Name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", n.Name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Links lists the interface names in the namespace, sorted.
func (n *Netns) Links(t testing.TB) []string {
	t.Helper()
	return linkNames(t, n.IP(t, "-o", "link", "show"))
}

// LinksOf lists the interface names in the network namespace ns (any
// namespace the test holds a descriptor of), sorted.
func LinksOf(t testing.TB, ns *os.File) []string {
	t.Helper()
	var out []byte
	err := InNetns(ns, func() error {
		var err error
		out, err = exec.Command("ip", "-o", "link", "show").CombinedOutput()
		return err
	})
	if err != nil {
		t.Fatalf("ip link show: %v: %s", err, out)
	}
	return linkNames(t, string(out))
}

// linkNames takes the names out of `ip -o link show`: "3: ulxc1@if2: ...".
func linkNames(t testing.TB, out string) []string {
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		names = append(names, name)
	}
	return names
}

// InNetns runs fn on an OS thread that has joined the network namespace
// ns; sockets it makes and processes it starts live there. The thread
// goes back to its own namespace afterwards. (Leaving the thread locked to
// die with its goroutine is not enough: when that thread is the main one,
// the runtime keeps it, and with it a reference that keeps ns alive.)
func InNetns(ns *os.File, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer own.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		err = fn()
		if unix.Setns(int(own.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		} // else the thread stays locked and dies with this goroutine
		errc <- err
	}()
	return <-errc
}

// Sandbox is a process of a user's in a user and network namespace of its
// own, as a container's init is: the user's uid owns the user namespace.
type Sandbox struct {
	Cmd   *exec.Cmd
	Netns *os.File
	User  *os.File // its user namespace
	done  chan struct{}
}

// NewSandbox starts `unshare --user --map-root-user --net sleep` as u and
// returns it once the namespaces exist; it is killed at the end of the
// test (or by Kill).
func (u *User) NewSandbox(t testing.TB) *Sandbox {
	t.Helper()
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--net", "sleep", "3600")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if u.switchTo {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: []uint32{}}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("unshare: %v", err)
	}
	s := &Sandbox{Cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Kill)
	proc := "/proc/" + strconv.Itoa(cmd.Process.Pid)
	// sleep runs once unshare has made the namespaces and written the map.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if comm, _ := os.ReadFile(proc + "/comm"); string(comm) == "sleep\n" {
			break
		}
		exited := false
		select {
		case <-s.done:
			exited = true
		default:
		}
		if exited {
			Skipf(t, "unshare --user --net as %s failed (it needs unprivileged user namespaces): %s", u.Name, stderr.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("unshare --user --net as %s: no sleep after 10s", u.Name)
		}
	}
	var err error
	if s.Netns, err = os.Open(proc + "/ns/net"); err != nil {
		t.Fatal(err)
	}
	if s.User, err = os.Open(proc + "/ns/user"); err != nil {
		t.Fatal(err)
	}
	return s
}

// Kill ends the process and closes the descriptors, so that its
// namespaces go (when nothing else holds them).
func (s *Sandbox) Kill() {
	s.Cmd.Process.Kill()
	<-s.done
	if s.Netns != nil {
		s.Netns.Close()
	}
	if s.User != nil {
		s.User.Close()
	}
}
