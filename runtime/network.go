package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/userns"
	"golang.org/x/sys/unix"
)

// The network phase gives the container the interfaces its spec asks for
// beyond loopback (ulxc.net.N.type, ocispec.Interfaces), in the network
// namespace that init makes itself (lateNamespaces):
//
//  1. init, once it has unshared, opens /proc/self/ns/net and
//     /proc/self/ns/user and sends them on its network socket
//     (initNetFD, sendNamespaces), then goes on setting the container up;
//  2. the supervisor receives them (receiveNamespaces) and sets each
//     interface up in turn with its type's attach (netTypeOf), while init
//     works: a user-mode helper started on the namespace, say;
//  3. it writes the go-ahead, and init, which waits for it before the
//     start hooks and the exec (awaitNetwork), runs the container's
//     process on a network that is ready.
//
// A failure in 2 kills init and undoes what was attached: the start fails
// before the container's process runs, with nothing left behind. What was
// attached is detached when init exits (Container.wait). A spec without
// such interfaces has no phase: init gets no socket and makes no extra
// system call.
//
// A new kind of interface is one more case in netTypeOf.

// netType is how the supervisor sets up one kind of interface.
type netType struct {
	// check reports what is wrong with an interface's settings (checkSpec),
	// before any process is made.
	check func(iface ocispec.Interface) error
	// preflight reports, before Daemon starts a monitor and before Start
	// makes init, what would keep attach from working on this machine (a
	// helper not installed, or without its capability), so that the
	// caller gets the error itself, sentinel and all; nil for none.
	preflight func(iface ocispec.Interface) error
	// attach sets the interface up in ns and returns once it is ready for
	// the container's process. On error it leaves nothing behind.
	attach func(ctx context.Context, ns *netNamespace, iface ocispec.Interface) (netAttachment, error)
}

// netTypeOf gives the interface types with a network phase. The others need
// none: empty has loopback only, which init brings up; none shares the
// host's network namespace.
func netTypeOf(typ string) (netType, bool) {
	switch typ {
	case ocispec.NetPasta:
		return netType{check: checkUserModeNet, preflight: preflightUserModeNet, attach: attachPasta}, true
	case ocispec.NetSlirp4netns:
		return netType{check: checkUserModeNet, preflight: preflightUserModeNet, attach: attachSlirp4netns}, true
	case ocispec.NetVeth:
		return netType{check: checkVeth, preflight: preflightVeth, attach: attachVeth}, true
	}
	return netType{}, false
}

// netTypeFor is netTypeOf of a type known to have a network phase.
func netTypeFor(typ string) netType {
	t, _ := netTypeOf(typ)
	return t
}

// netNamespace is the container's network namespace as the network phase
// holds it.
type netNamespace struct {
	// Net and User are init's network namespace and the user namespace
	// that owns it, as init sent them: a helper joins both (joining a
	// network namespace takes CAP_SYS_ADMIN in one's own user namespace
	// too, which only the container's gives an unprivileged helper).
	Net, User *os.File
	// RuntimeDir is the container's runtime directory, for sockets.
	RuntimeDir string
	// Log receives what helpers say, line by line (the container's log
	// for a daemon); the end of it is also in the error of a helper that
	// fails.
	Log *slog.Logger
}

// netAttachment is an interface the network phase set up.
type netAttachment interface {
	// String says what it is, for State.Network: "eth0: pasta, pid 1234".
	String() string
	// detach undoes it (stops its helper); called once.
	detach()
}

// netInterfaces returns the spec's interfaces that have a network phase,
// named (nameInterfaces) and their settings checked.
func netInterfaces(s *specs.Spec) ([]ocispec.Interface, error) {
	all, err := ocispec.Interfaces(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	var out []ocispec.Interface
	for _, iface := range all {
		if _, ok := netTypeOf(iface.Type); !ok {
			continue
		}
		out = append(out, iface)
	}
	if err := nameInterfaces(out); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	for _, iface := range out {
		if err := netTypeFor(iface.Type).check(iface); err != nil {
			return nil, fmt.Errorf("%w: lxc.net.%d (%s): %w", ErrInvalidSpec, iface.Index, iface.Type, err)
		}
	}
	return out, nil
}

// nameInterfaces gives each interface without lxc.net.N.name the first
// free name eth0, eth1... in the order of N, whatever its type, as the
// kernel's "eth%d" would (a pasta interface and a veth, neither named,
// are eth0 and eth1), and refuses a name given twice.
func nameInterfaces(ifaces []ocispec.Interface) error {
	taken := map[string]int{}
	for _, iface := range ifaces {
		name, ok := iface.Keys["name"]
		if !ok {
			continue
		}
		if n, dup := taken[name]; dup {
			return fmt.Errorf("lxc.net.%d.name = %q: lxc.net.%d has that name too", iface.Index, name, n)
		}
		taken[name] = iface.Index
	}
	k := 0
	for _, iface := range ifaces {
		if _, ok := iface.Keys["name"]; ok {
			continue
		}
		for ; ; k++ {
			if _, ok := taken["eth"+strconv.Itoa(k)]; !ok {
				break
			}
		}
		name := "eth" + strconv.Itoa(k)
		iface.Keys["name"] = name
		taken[name] = iface.Index
	}
	return nil
}

// preflightNetwork runs the preflight of each interface of s.
func preflightNetwork(s *specs.Spec) error {
	ifaces, err := netInterfaces(s)
	if err != nil {
		return err
	}
	for _, iface := range ifaces {
		if pf := netTypeFor(iface.Type).preflight; pf != nil {
			if err := pf(iface); err != nil {
				return fmt.Errorf("network: lxc.net.%d (%s): %w", iface.Index, iface.Type, err)
			}
		}
	}
	return nil
}

// errNoNamespaces reports an init that exited before it sent its
// namespaces: its own report says why.
var errNoNamespaces = errors.New("init exited before it made its network namespace")

// networkPhase runs step 2 and 3 above on init's network socket sock.
func (c *Container) networkPhase(ctx context.Context, sock *os.File, ifaces []ocispec.Interface) (err error) {
	ns, err := receiveNamespaces(sock)
	if err != nil {
		return err
	}
	defer ns.Net.Close()
	defer ns.User.Close()
	ns.RuntimeDir, ns.Log = c.opts.RuntimeDir, c.opts.Log
	defer func() {
		if err != nil {
			c.detachNetwork()
		}
	}()
	for _, iface := range ifaces {
		a, err := netTypeFor(iface.Type).attach(ctx, ns, iface)
		if err != nil {
			return fmt.Errorf("network: lxc.net.%d (%s): %w", iface.Index, iface.Type, err)
		}
		c.net = append(c.net, a)
		c.opts.Log.Info("network attached", "interface", a.String())
	}
	if _, err := sock.Write([]byte{userns.GoAhead}); err != nil {
		return fmt.Errorf("network: go-ahead to init: %w", err)
	}
	return nil
}

// receiveNamespaces reads init's namespaces from its network socket, and
// checks that they are what they should be.
func receiveNamespaces(sock *os.File) (*netNamespace, error) {
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4*2))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("network: receive init's namespaces: %w", err)
	}
	if n == 0 && oobn == 0 {
		return nil, errNoNamespaces
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if f, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, f...)
			}
		}
	}
	want := []int{unix.CLONE_NEWNET, unix.CLONE_NEWUSER}
	ok := string(buf[:n]) == "ns" && len(fds) == len(want)
	for i := 0; ok && i < len(want); i++ {
		t, err := unix.IoctlRetInt(fds[i], unix.NS_GET_NSTYPE)
		ok = err == nil && t == want[i]
	}
	if !ok {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("network: malformed namespaces message from init")
	}
	return &netNamespace{Net: os.NewFile(uintptr(fds[0]), "netns"), User: os.NewFile(uintptr(fds[1]), "userns")}, nil
}

// detachNetwork undoes the network phase: last attached first.
func (c *Container) detachNetwork() {
	for i := len(c.net) - 1; i >= 0; i-- {
		c.net[i].detach()
	}
	c.net = nil
}

// networkState is what State.Network records.
func (c *Container) networkState() []string {
	var out []string
	for _, a := range c.net {
		out = append(out, a.String())
	}
	return out
}

// helperProc is a program the supervisor runs beside the container for as
// long as it runs (a user-mode network helper), which must never outlive
// the supervisor: it gets SIGKILL as its parent-death signal. The kernel
// sends that signal when the thread that forked the helper exits, not the
// process, and Go ends threads of its own accord (a goroutine that exits
// while locked to its thread takes the thread along), so the helper is
// forked from a goroutine locked to its thread that waits for the helper
// and exits only after it: that thread lives as long as the helper, or
// until the supervisor dies, SIGKILL included.
type helperProc struct {
	name string
	pid  int
	done chan struct{} // closed once it has exited and been reaped
	err  error         // how it exited, once done
	// stderr keeps the end of what it wrote, for the error that names
	// why it failed.
	stderr *tailWriter
}

// startHelper starts path with args, extra as descriptors 3 and up, in a
// session of its own (a ^C on the terminal of start -F is the
// container's, not the helper's), its stderr kept by a tailWriter and
// logged line by line to log.
func startHelper(path string, args []string, extra []*os.File, log *slog.Logger) (*helperProc, error) {
	h := &helperProc{name: path, done: make(chan struct{}),
		stderr: &tailWriter{max: 4 << 10, w: &lineLogger{log: log, helper: filepath.Base(path)}}}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devNull.Close()
	attr := &os.ProcAttr{
		Files: append([]*os.File{devNull, devNull, nil}, extra...),
		Sys:   &syscall.SysProcAttr{Setsid: true, Pdeathsig: unix.SIGKILL},
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	attr.Files[2] = w
	started := make(chan error, 1)
	go func() {
		// Never unlocked: this thread is the helper's parent, and ends
		// with this goroutine, after the helper.
		goruntime.LockOSThread()
		p, err := os.StartProcess(path, append([]string{path}, args...), attr)
		w.Close()
		if err != nil {
			r.Close()
			started <- err
			return
		}
		h.pid = p.Pid
		started <- nil
		copied := make(chan struct{})
		go func() {
			_, _ = io.Copy(h.stderr, r)
			r.Close()
			close(copied)
		}()
		ps, err := p.Wait()
		if err == nil && !ps.Success() {
			err = errors.New(ps.String())
		}
		// What it wrote last says best why it exited; a process it left
		// holding its stderr does not hold this up for long.
		select {
		case <-copied:
		case <-time.After(time.Second):
			r.SetReadDeadline(time.Now())
		}
		h.err = err
		close(h.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return h, nil
}

// exited is the error of a helper that exited before it was ready, with
// what it said last.
func (h *helperProc) exited() error {
	<-h.done
	var lines []string
	for _, l := range strings.Split(h.stderr.String(), "\n") {
		// pasta's word for a missing /dev/log, before each message.
		if l = strings.TrimSpace(l); l != "" && !syslogNoise().MatchString(l) {
			lines = append(lines, l)
		}
	}
	msg := strings.Join(lines, "; ")
	err := h.err
	if err == nil {
		err = errors.New("exited")
	}
	if msg != "" {
		return fmt.Errorf("%w: %s", err, msg)
	}
	return err
}

var syslogNoise = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^Failed to send \d+ bytes to syslog$`) })

// stop ends the helper: SIGTERM, then SIGKILL if it still runs after
// helperStopGrace. It returns once it is reaped.
func (h *helperProc) stop() {
	select {
	case <-h.done:
		return
	default:
	}
	// Signalled by pid: it is our child and not yet reaped (done is
	// closed after the wait), so the pid is still its own.
	_ = unix.Kill(h.pid, unix.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(helperStopGrace):
		_ = unix.Kill(h.pid, unix.SIGKILL)
		<-h.done
	}
}

// helperStopGrace is how long a helper has to exit on SIGTERM.
const helperStopGrace = 2 * time.Second

// helperReadyTimeout bounds how long a helper may take to be ready.
const helperReadyTimeout = 10 * time.Second

// tailWriter passes writes on to w (when not nil) and keeps the last max
// bytes written.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
	w   io.Writer
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	w := t.w
	t.mu.Unlock()
	if w != nil {
		_, _ = w.Write(p)
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// lineLogger logs each line written to it as a message of helper.
type lineLogger struct {
	log    *slog.Logger
	helper string
	part   []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.part = append(l.part, p...)
	for {
		line, rest, ok := bytes.Cut(l.part, []byte{'\n'})
		if !ok {
			break
		}
		if len(bytes.TrimSpace(line)) > 0 {
			l.log.Info("network helper: "+string(bytes.TrimSpace(line)), "helper", l.helper)
		}
		l.part = append(l.part[:0], rest...)
	}
	if len(l.part) > 4<<10 {
		l.part = l.part[:0]
	}
	return len(p), nil
}
