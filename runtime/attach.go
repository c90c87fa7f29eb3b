package runtime

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ulxc/ulxc/nsenter"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/seccomp"
	"golang.org/x/sys/unix"
)

// DefaultPath is the PATH an attached process gets when it has none.
const DefaultPath = ocispec.DefaultPath

// AttachOptions configure Attach.
type AttachOptions struct {
	// Args is the command to run; default: the login shell of UID in the
	// container's /etc/passwd, else /bin/sh.
	Args []string
	// UID and GID are the ids inside the container; default 0 (root).
	UID, GID uint32
	// ClearEnv starts from a clean environment: container=lxc, PATH,
	// TERM (the caller's), HOME, USER and LOGNAME (the container's
	// /etc/passwd). Default: HostEnv plus container=lxc, as lxc-attach
	// --keep-env, its default.
	ClearEnv bool
	// HostEnv is the environment kept without ClearEnv; default
	// os.Environ().
	HostEnv []string
	// Env holds VAR=VALUE entries set last, over the others.
	Env []string
	// Cwd is the working directory inside; default the user's home
	// directory when it exists, else /.
	Cwd string
	// TTY gives the process a pty allocated from the container's own
	// devpts (its /dev/pts/ptmx), so `tty` inside names /dev/pts/N; the
	// master is Process.Pty. The pty's slave is the process's controlling
	// terminal and each of Stdin, Stdout and Stderr that is nil. Default:
	// no terminal, and nil stdio is /dev/null.
	TTY bool
	// Rows and Cols are the pty's initial window size, set before the
	// process runs so that it never sees 0x0; default: left 0x0.
	Rows, Cols uint16
	// Stdin, Stdout and Stderr are the process's stdio. Never pass a
	// terminal: anything the container runs could read it, and push
	// input into the caller's shell with TIOCSTI where it is that
	// shell's terminal; use TTY instead. Default: /dev/null, or the pty
	// with TTY.
	Stdin, Stdout, Stderr *os.File
	// Namespaces are the CLONE_NEW* flags of the namespaces to join
	// (lxc-attach -s), of those the container does not share with the
	// caller. The user namespace is always joined: a rootless caller has
	// rights in the others only through it. Without CLONE_NEWNS the
	// process runs on the caller's filesystem, in the caller's working
	// directory, and its command is a program of the host's (doc.go,
	// "What it does not defend against"). Default 0: all of them.
	Namespaces uintptr
	// Remount mounts a new proc and sysfs over the caller's in a mount
	// namespace of the process's own, so that they show the joined
	// namespaces (lxc-attach -R); only without CLONE_NEWNS in
	// Namespaces, else ignored. Default off.
	Remount bool
	// KeepCaps keeps every capability in the bounding set, where init's
	// bounding set (lxc.cap.drop, lxc.cap.keep) is the default
	// (lxc-attach -e CAP).
	KeepCaps bool
	// NoCgroup leaves the process in the caller's cgroup (lxc-attach -e
	// CGROUP). Default: the container's, when the caller may move it.
	NoCgroup bool
	// Spec, when set, gives the process its bounding set and seccomp
	// policy in place of those init runs under (lxc-attach -f, another
	// config). Default nil.
	Spec *specs.Spec
}

// Process is a process attached to a running container, a child of the
// caller.
type Process struct {
	// CgroupNote says why the process is not in the container's cgroup
	// (see State.CgroupNote); "" when it is.
	CgroupNote string
	proc       *nsenter.Process
}

// Signal sends sig to the attached process.
func (p *Process) Signal(sig os.Signal) error { return p.proc.Signal(sig) }

// Pty is the master of the process's terminal (AttachOptions.TTY), for
// the caller to relay; nil without TTY.
func (p *Process) Pty() *os.File { return p.proc.Pty }

// Wait waits for the process to exit and returns how it ended.
func (p *Process) Wait() (ExitStatus, error) {
	ws, err := p.proc.Wait()
	if err != nil {
		return ExitStatus{}, fmt.Errorf("wait for attached process: %w", err)
	}
	return exitStatusOf(ws), nil
}

// WaitForwarding is Wait, and meanwhile the caller's SIGINT, SIGTERM,
// SIGHUP and SIGQUIT go to the process instead, as they would have
// reached it in the foreground (nsenter.Process.WaitForwarding).
func (p *Process) WaitForwarding() (ExitStatus, error) {
	ws, err := p.proc.WaitForwarding(unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	if err != nil {
		return ExitStatus{}, fmt.Errorf("wait for attached process: %w", err)
	}
	return exitStatusOf(ws), nil
}

func exitStatusOf(ws unix.WaitStatus) ExitStatus {
	if ws.Signaled() {
		return ExitStatus{Code: 128 + int(ws.Signal()), Signal: int(ws.Signal())}
	}
	return ExitStatus{Code: ws.ExitStatus()}
}

// Attach runs a process inside every namespace of the running container
// whose runtime directory is dir, and in its cgroup when the caller may
// move processes there. The container's init is checked (pid and start
// time, then held through a pidfd), so a recycled pid cannot redirect the
// join. The process is set up by package nsenter's raw system calls in a
// non-dumpable fork of this one and execs the command directly: nothing
// of the host runs inside the container, and nothing in the container
// can trace the process before it is the container's own (doc.go). Attach
// returns once the command runs, or with the error that kept it from
// doing so.
func Attach(dir string, opts AttachOptions) (_ *Process, err error) {
	st, pidfd, err := runningInit(dir, false)
	if err != nil {
		return nil, err
	}
	defer unix.Close(pidfd)
	flags, err := nsenter.DifferingBeyond(st.Pid, uintptr(st.Namespaces))
	if err != nil {
		return nil, err
	}
	// A pidfd polls readable once its process has exited: init was
	// alive after its namespaces were looked at, so they were init's.
	if pidfdExited(pidfd) {
		return nil, ErrNotRunning // gone while we looked at its namespaces
	}
	if flags&unix.CLONE_NEWUSER == 0 {
		return nil, fmt.Errorf("init (pid %d) is not in a user namespace of its own", st.Pid)
	}
	if opts.Namespaces != 0 {
		flags &= opts.Namespaces | unix.CLONE_NEWUSER
	}
	if opts.NoCgroup {
		st.Cgroup = ""
	}
	no, err := attachPlan(st, opts, flags&unix.CLONE_NEWNS != 0)
	if err != nil {
		return nil, err
	}
	no.Pidfd, no.Namespaces = pidfd, flags
	p := &Process{}
	p.proc, p.CgroupNote, err = startJoined(no, st)
	if err != nil {
		return nil, fmt.Errorf("join container: %w", err)
	}
	return p, nil
}

// attachPlan works out, on the host side, everything the attached process
// does: the command and its candidate paths, environment, ids, directory,
// bounding set and seccomp filter. mountNS says whether it joins the
// container's mount namespace.
func attachPlan(st State, opts AttachOptions, mountNS bool) (nsenter.Options, error) {
	bounding, policy, err := attachLimits(st, opts)
	if err != nil {
		return nsenter.Options{}, err
	}
	filter, err := seccomp.Compile(policy)
	if err != nil {
		return nsenter.Options{}, fmt.Errorf("the container's seccomp policy: %w", err)
	}
	// The container's /etc/passwd, read from the host through init's
	// root, never followed outside it, never blocking; without the
	// mount namespace the process sees the caller's files instead.
	var pw passwdEntry
	if mountNS {
		pw, _ = containerPasswd(st.Pid, opts.UID)
	}
	env := attachEnv(opts)
	if opts.ClearEnv {
		if pw.Home != "" && !hasEnv(env, "HOME") {
			env = append(env, "HOME="+pw.Home)
		}
		if pw.Name != "" && !hasEnv(env, "USER") {
			env = append(env, "USER="+pw.Name, "LOGNAME="+pw.Name)
		}
	}
	if !hasEnv(env, "PATH") {
		env = append(env, "PATH="+DefaultPath)
	}
	argv := opts.Args
	if len(argv) == 0 {
		sh := "/bin/sh"
		if pw.Shell != "" {
			sh = pw.Shell
		}
		argv = []string{sh}
	}
	no := nsenter.Options{Argv: argv, Env: env, Paths: execCandidates(argv[0], env), UID: opts.UID, GID: opts.GID,
		ClearGroups: setgroupsAllowed(st.Pid), Bounding: bounding, Seccomp: filter, Dir: opts.Cwd,
		Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, Terminal: opts.TTY, Rows: opts.Rows, Cols: opts.Cols}
	if no.Dir == "" && !mountNS {
		no.Dir, no.DirElse = "/", ""
		if wd, err := os.Getwd(); err == nil {
			no.Dir, no.DirElse = wd, "/"
		}
	}
	if no.Dir == "" {
		no.Dir, no.DirElse = "/", ""
		if pw.Home != "" {
			no.Dir, no.DirElse = pw.Home, "/"
		}
	}
	no.Remount = opts.Remount && !mountNS
	return no, nil
}

// attachLimits are the bounding set and seccomp policy of the attached
// process: init's, another config's (opts.Spec), and every capability
// with opts.KeepCaps.
func attachLimits(st State, opts AttachOptions) (uint64, *specs.LinuxSeccomp, error) {
	policy := st.Seccomp
	var bounding uint64
	var err error
	switch {
	case opts.Spec != nil:
		if opts.Spec.Linux != nil {
			policy = opts.Spec.Linux.Seccomp
		}
		var caps *specs.LinuxCapabilities
		if opts.Spec.Process != nil {
			caps = opts.Spec.Process.Capabilities
		}
		mask, ok, merr := boundingMask(caps)
		if merr != nil {
			return 0, nil, merr
		}
		bounding = mask
		if !ok {
			bounding = ^uint64(0)
		}
	case st.Bounding != nil:
		// What init was given, recorded at its start: reading it back
		// from /proc/PID/status took a tenth of attach's own time.
		bounding = *st.Bounding
	default:
		if bounding, err = processBounding(st.Pid); err != nil {
			return 0, nil, fmt.Errorf("bounding set of init: %w", err)
		}
	}
	if opts.KeepCaps {
		bounding = ^uint64(0)
	}
	return bounding, policy, nil
}

// startJoined starts the joined process in the container's cgroup, or,
// when the caller may not move a process there (it does not live in the
// delegated subtree), outside it with a note saying why.
func startJoined(no nsenter.Options, st State) (*nsenter.Process, string, error) {
	if st.Cgroup == "" {
		return startNoCgroup(no, "") // nothing to join
	}
	cg, err := os.OpenFile(st.Cgroup, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return startNoCgroup(no, err.Error())
	}
	defer cg.Close()
	no.CgroupFD = int(cg.Fd())
	p, err := nsenter.Start(no)
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY) {
		var je *nsenter.JoinError
		if errors.As(err, &je) && je.Step == "clone" {
			no.CgroupFD = 0
			return startNoCgroup(no, fmt.Sprintf("cannot move a process into %s: %v", st.Cgroup, err))
		}
	}
	if p != nil {
		return p, "", err
	}
	return nil, "", err
}

func startNoCgroup(no nsenter.Options, note string) (*nsenter.Process, string, error) {
	p, err := nsenter.Start(no)
	return p, note, err
}

// attachEnv is the environment the host side decides: the caller's (minus
// nsenter's marker) or a clean one, then container=lxc and opts.Env. The
// attached process adds HOME, USER and LOGNAME to a clean one.
func attachEnv(opts AttachOptions) []string {
	var env []string
	if opts.ClearEnv {
		env = []string{"PATH=" + DefaultPath}
		for _, kv := range callerEnv(opts) {
			if strings.HasPrefix(kv, "TERM=") {
				env = append(env, kv)
			}
		}
	} else {
		for _, kv := range callerEnv(opts) {
			if !strings.HasPrefix(kv, "_ULXC_") {
				env = append(env, kv)
			}
		}
	}
	env = setEnv(env, "container=lxc")
	for _, kv := range opts.Env {
		env = setEnv(env, kv)
	}
	return env
}

func callerEnv(opts AttachOptions) []string {
	if opts.HostEnv != nil {
		return opts.HostEnv
	}
	return os.Environ()
}

// setEnv sets kv ("K=V") in env, replacing an earlier K.
func setEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	out := env[:0:0]
	for _, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek != k {
			out = append(out, e)
		}
	}
	return append(out, kv)
}

func hasEnv(env []string, k string) bool {
	for _, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek == k {
			return true
		}
	}
	return false
}

// setgroupsAllowed reports whether the user namespace of pid allows
// setgroups (a single-id map denies it).
func setgroupsAllowed(pid int) bool {
	b, err := readSmall("/proc/"+strconv.Itoa(pid)+"/setgroups", 64)
	return err != nil || !strings.HasPrefix(string(b), "deny")
}

// passwdEntry is the part of an /etc/passwd line attach uses.
type passwdEntry struct {
	Name, Home, Shell string
}

// containerPasswd finds uid in the /etc/passwd of the container whose
// init is pid. The container's root chose what is there: the path is
// resolved inside init's root (RESOLVE_IN_ROOT, no magic links), only a
// regular file is read (a FIFO would block, a device would be opened),
// and its content is only parsed.
func containerPasswd(pid int, uid uint32) (passwdEntry, bool) {
	root, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return passwdEntry{}, false
	}
	defer unix.Close(root)
	fd, err := unix.Openat2(root, "etc/passwd", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return passwdEntry{}, false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return passwdEntry{}, false
	}
	// Reopening the O_PATH descriptor opens the very file checked; read
	// by plain system calls (a regular file needs nothing of Go's poller).
	rfd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return passwdEntry{}, false
	}
	defer unix.Close(rfd)
	b, err := readAllFD(rfd, 4<<20)
	if err != nil {
		return passwdEntry{}, false
	}
	return parsePasswd(bytes.NewReader(b), uid)
}

// parsePasswd returns the first entry of uid in the text of a passwd(5)
// file: name:password:uid:gid:gecos:home:shell.
func parsePasswd(r io.Reader, uid uint32) (passwdEntry, bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	want := strconv.FormatUint(uint64(uid), 10)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) != 7 || f[2] != want || f[0] == "" {
			continue
		}
		e := passwdEntry{Name: f[0]}
		if strings.HasPrefix(f[5], "/") {
			e.Home = f[5]
		}
		if strings.HasPrefix(f[6], "/") {
			e.Shell = f[6]
		}
		return e, true
	}
	return passwdEntry{}, false
}

// ConsoleConn is a connection to a running container's console or tty:
// reads return its output, writes are its input.
type ConsoleConn struct {
	// Master is the pty master, for its window size (TIOCSWINSZ).
	Master *os.File
	r      io.Reader
	w      io.Writer
	closer func() error
}

func (c *ConsoleConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *ConsoleConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// Close ends the connection; the console itself stays with the supervisor.
func (c *ConsoleConn) Close() error { return c.closer() }

// AttachConsole connects to /dev/console (tty 0) or /dev/ttyN of the
// running container of dir, through its supervisor.
func AttachConsole(dir string, tty int) (*ConsoleConn, error) {
	st, err := Check(dir)
	if err != nil {
		return nil, err
	}
	if st.Status != Running && st.Status != Frozen {
		return nil, fmt.Errorf("%w (%s)", ErrNotRunning, st.Status)
	}
	if tty == 0 {
		return streamConsoleConn(dir)
	}
	// A tty has no other reader than its client.
	f, err := Console(dir, tty)
	if err != nil {
		return nil, err
	}
	return &ConsoleConn{Master: f, r: f, w: f, closer: f.Close}, nil
}

// fanout passes the console's output on to the clients attached to it
// (console-stream requests). A client that does not keep up loses output
// rather than stalling the console, and so the container.
type fanout struct {
	mu     sync.Mutex
	subs   map[chan []byte]struct{}
	closed bool
}

func (f *fanout) write(p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subs) == 0 {
		return
	}
	b := append([]byte(nil), p...)
	for ch := range f.subs {
		select {
		case ch <- b:
		default:
		}
	}
}

func (f *fanout) add() chan []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	if f.subs == nil {
		f.subs = map[chan []byte]struct{}{}
	}
	ch := make(chan []byte, 256)
	f.subs[ch] = struct{}{}
	return ch
}

func (f *fanout) remove(ch chan []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[ch]; ok {
		delete(f.subs, ch)
		close(ch)
	}
}

// close ends every client's stream: the console is gone.
func (f *fanout) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for ch := range f.subs {
		close(ch)
	}
	f.subs = nil
}

// streamResponse answers a console-stream request, as one JSON line; the
// console's pty master rides along (SCM_RIGHTS) for its window size.
type streamResponse struct {
	Error string `json:"error,omitempty"`
}

// streamConsole serves a console-stream request: after the response line
// the connection carries the console's output one way and the client's
// input the other, until either side closes. Unlike handing out the
// master, this does not compete with the console log for output.
func (c *Container) streamConsole(conn *net.UnixConn) {
	conn.SetDeadline(time.Time{})
	master := c.ptys["console"]
	var ch chan []byte
	if master != nil && c.console != nil {
		ch = c.console.tee.add()
	}
	if ch == nil {
		b, _ := json.Marshal(streamResponse{Error: "no /dev/console"})
		conn.Write(append(b, '\n'))
		return
	}
	defer c.console.tee.remove(ch)
	b, _ := json.Marshal(streamResponse{})
	if _, _, err := conn.WriteMsgUnix(append(b, '\n'), unix.UnixRights(int(master.Fd())), nil); err != nil {
		return
	}
	go func() {
		for b := range ch {
			if _, err := conn.Write(b); err != nil {
				break
			}
		}
		conn.CloseWrite()
	}()
	io.Copy(master, conn)
}

// streamConsoleConn asks the supervisor of dir for a console stream.
func streamConsoleConn(dir string) (*ConsoleConn, error) {
	addr, done, err := socketAddr(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoControl, err)
	}
	defer done()
	nc, err := net.DialTimeout("unix", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoControl, err)
	}
	conn := nc.(*net.UnixConn)
	ok := false
	defer func() {
		if !ok {
			conn.Close()
		}
	}()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	req, _ := json.Marshal(request{Op: "console-stream"})
	if _, err := conn.Write(req); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	var data []byte
	var master *os.File
	for !bytes.Contains(data, []byte("\n")) {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if oobn > 0 && master == nil {
			if msgs, perr := unix.ParseSocketControlMessage(oob[:oobn]); perr == nil && len(msgs) == 1 {
				if fds, perr := unix.ParseUnixRights(&msgs[0]); perr == nil && len(fds) == 1 {
					master = os.NewFile(uintptr(fds[0]), "/dev/console")
				}
			}
		}
		data = append(data, buf[:n]...)
		if err != nil {
			return nil, fmt.Errorf("control socket: %w", err)
		}
	}
	line, rest, _ := bytes.Cut(data, []byte("\n"))
	var resp streamResponse
	if err := json.Unmarshal(line, &resp); err != nil || resp.Error != "" || master == nil {
		if master != nil {
			master.Close()
		}
		if err == nil && resp.Error != "" {
			err = errors.New(resp.Error)
		} else if err == nil {
			err = errors.New("no console descriptor received")
		}
		return nil, fmt.Errorf("console: %w", err)
	}
	conn.SetDeadline(time.Time{})
	ok = true
	return &ConsoleConn{Master: master, r: io.MultiReader(bytes.NewReader(rest), conn), w: conn,
		closer: func() error { master.Close(); return conn.Close() }}, nil
}
