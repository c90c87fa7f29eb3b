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
	"path"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/nsenter"
	"github.com/ulxc/ulxc/seccomp"
	"github.com/ulxc/ulxc/userns"
	"golang.org/x/sys/unix"
)

// AttachEntry is the hidden verb of a process attached to a container.
const AttachEntry = "__attach"

// The descriptors of the attached process, after nsenter's.
const (
	attachConfigFD = nsenter.FirstExtraFD     // read: the attachConfig, JSON
	attachErrorFD  = nsenter.FirstExtraFD + 1 // write: a ChildError, or EOF when the exec worked
	attachPtyFD    = nsenter.FirstExtraFD + 2 // unix socket: the pty master (only with TTY)
)

// DefaultPath is the PATH an attached process gets when it has none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

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
	// master is Process.Pty. Default: the process gets Stdin, Stdout and
	// Stderr.
	TTY bool
	// Rows and Cols are the pty's initial window size, set before the
	// process runs so that it never sees 0x0; default: left 0x0.
	Rows, Cols uint16
	// Stdin, Stdout and Stderr are the process's stdio without TTY;
	// default /dev/null.
	Stdin, Stdout, Stderr *os.File
}

// attachConfig is what the host side tells the attached process.
type attachConfig struct {
	Args       []string
	UID, GID   uint32
	Env        []string
	ClearEnv   bool
	Cwd        string
	TTY        bool
	Rows, Cols uint16
	// Bounding is init's bounding set, which the attached process gets
	// too (lxc-attach drops the container's capabilities likewise).
	Bounding uint64
	// Seccomp is the container's syscall policy, likewise.
	Seccomp *specs.LinuxSeccomp
}

// Process is a process attached to a running container, a child of the
// caller.
type Process struct {
	// Pty is the master of the process's terminal (AttachOptions.TTY),
	// for the caller to relay; nil without TTY.
	Pty *os.File
	// CgroupNote says why the process is not in the container's cgroup
	// (see State.CgroupNote); "" when it is.
	CgroupNote string
	proc       *os.Process
}

// Signal sends sig to the attached process.
func (p *Process) Signal(sig os.Signal) error { return p.proc.Signal(sig) }

// Wait waits for the process to exit and returns how it ended.
func (p *Process) Wait() (ExitStatus, error) {
	ps, err := p.proc.Wait()
	if err != nil {
		return ExitStatus{}, fmt.Errorf("wait for attached process: %w", err)
	}
	return exitStatusOf(ps), nil
}

func exitStatusOf(ps *os.ProcessState) ExitStatus {
	ws := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return ExitStatus{Code: 128 + int(ws.Signal()), Signal: int(ws.Signal())}
	}
	return ExitStatus{Code: ws.ExitStatus()}
}

// Attach runs a process inside every namespace of the running container
// whose runtime directory is dir, and in its cgroup when the caller may
// move processes there. The container's init is checked (pid and start
// time, then held through a pidfd), so a recycled pid cannot redirect the
// join. It returns once the process has exec'd its command, or with the
// error that kept it from doing so.
func Attach(dir string, opts AttachOptions) (_ *Process, err error) {
	st, err := Check(dir)
	if err != nil {
		return nil, err
	}
	if st.Status == Frozen {
		return nil, ErrFrozen
	}
	if st.Status != Running {
		return nil, fmt.Errorf("%w (%s)", ErrNotRunning, st.Status)
	}
	pidfd, err := pidfdOf(st.Pid, st.PidStart)
	if err != nil {
		return nil, err
	}
	defer unix.Close(pidfd)
	flags, err := nsenter.Differing(st.Pid)
	if err != nil {
		return nil, err
	}
	if !alive(st.Pid, st.PidStart) {
		return nil, ErrNotRunning // gone while we looked at its namespaces
	}
	if flags&unix.CLONE_NEWUSER == 0 {
		return nil, fmt.Errorf("init (pid %d) is not in a user namespace of its own", st.Pid)
	}
	bounding, err := processBounding(st.Pid)
	if err != nil {
		return nil, fmt.Errorf("bounding set of init: %w", err)
	}
	cfg := attachConfig{Args: opts.Args, UID: opts.UID, GID: opts.GID, ClearEnv: opts.ClearEnv, Cwd: opts.Cwd, TTY: opts.TTY,
		Rows: opts.Rows, Cols: opts.Cols, Env: attachEnv(opts), Bounding: bounding, Seccomp: st.Seccomp}

	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer cfgR.Close()
	go func() {
		json.NewEncoder(cfgW).Encode(cfg)
		cfgW.Close()
	}()
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer errR.Close()
	files := []*os.File{cfgR, errW}
	var ptyParent *os.File
	if opts.TTY {
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			errW.Close()
			return nil, fmt.Errorf("pty socket: %w", err)
		}
		ptyParent = os.NewFile(uintptr(pair[0]), "pty-parent")
		ptyChild := os.NewFile(uintptr(pair[1]), "pty-child")
		defer ptyParent.Close()
		defer ptyChild.Close()
		files = append(files, ptyChild)
	}
	no := nsenter.Options{Pidfd: pidfd, Namespaces: flags, Entry: AttachEntry, Env: []string{},
		ExtraFiles: files}
	if !opts.TTY {
		no.Stdin, no.Stdout, no.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	}
	p := &Process{}
	proc, cgNote, err := startJoined(no, st)
	errW.Close()
	if err != nil {
		return nil, fmt.Errorf("join container: %w", err)
	}
	p.proc, p.CgroupNote = proc, cgNote
	defer func() {
		if err != nil {
			proc.Kill()
			proc.Wait()
			if p.Pty != nil {
				p.Pty.Close()
			}
		}
	}()
	if opts.TTY {
		// Only the child holds its end from now on, so a child that
		// fails before sending closes the socket.
		files[len(files)-1].Close()
		p.Pty, err = receivePty(ptyParent)
		if err != nil {
			if cerr := readChildError(errR, nil); cerr != nil {
				err = cerr
			}
			return nil, err
		}
	}
	if err := readChildError(errR, nil); err != nil {
		return nil, err
	}
	return p, nil
}

// startJoined starts the joined process in the container's cgroup, or,
// when the caller may not move a process there (it does not live in the
// delegated subtree), outside it with a note saying why.
func startJoined(no nsenter.Options, st State) (*os.Process, string, error) {
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
		no.CgroupFD = 0
		return startNoCgroup(no, fmt.Sprintf("cannot move a process into %s: %v", st.Cgroup, err))
	}
	return p, "", err
}

func startNoCgroup(no nsenter.Options, note string) (*os.Process, string, error) {
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

// receivePty receives the pty master the attached process sends, and
// checks that it is one: the container chose what it opened.
func receivePty(sock *os.File) (*os.File, error) {
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receive pty: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("receive pty: no descriptor")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("receive pty: no descriptor")
	}
	if _, err := unix.IoctlGetInt(fds[0], unix.TIOCGPTN); err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("receive pty: not a pty master: %w", err)
	}
	// Non-blocking, so the caller's reads can have deadlines.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("receive pty: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "/dev/ptmx"), nil
}

// AttachMain is the body of `ulxc __attach`, which package nsenter starts
// inside the container's namespaces: it becomes the requested user, gets
// its terminal and environment, and execs the command. It returns only on
// failure, after reporting it to Attach.
func AttachMain(args []string) int {
	errPipe := os.NewFile(attachErrorFD, "attach-errors")
	err := nsenter.Joined()
	if err == nil {
		err = attachChild()
	}
	report(errPipe, err)
	return 1
}

func attachChild() error {
	f := os.NewFile(attachConfigFD, "attach-config")
	var cfg attachConfig
	err := json.NewDecoder(f).Decode(&cfg)
	f.Close()
	if err != nil {
		return fmt.Errorf("read attach options: %w", err)
	}
	unix.CloseOnExec(attachErrorFD)
	// The container's /etc/passwd: we are in its mount namespace, whose
	// root is the container's.
	pw, _ := lookupPasswd("/etc/passwd", cfg.UID)
	// The bounding set belongs to a thread and the exec below keeps the
	// calling one's: lock this goroutine to its thread for good.
	goruntime.LockOSThread()
	if err := dropBounding(cfg.Bounding); err != nil {
		return err
	}
	filter, err := seccomp.Compile(cfg.Seccomp)
	if err != nil {
		return fmt.Errorf("the container's seccomp policy: %w", err)
	}
	// As for init (execProcess): last, but while still root.
	if cfg.UID != 0 {
		if err := filter.Install(); err != nil {
			return err
		}
	}
	if setgroupsAllowed() {
		if err := syscall.Setgroups([]int{}); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
	}
	// Always, even for 0: until now we are the caller's host uid, which
	// the container does not map.
	if err := syscall.Setresgid(int(cfg.GID), int(cfg.GID), int(cfg.GID)); err != nil {
		return fmt.Errorf("setgid %d: %w", cfg.GID, err)
	}
	if err := syscall.Setresuid(int(cfg.UID), int(cfg.UID), int(cfg.UID)); err != nil {
		return fmt.Errorf("setuid %d: %w", cfg.UID, err)
	}
	if cfg.TTY {
		// After the id change, so the pty slave belongs to the user.
		if err := attachTerminal(cfg.Rows, cfg.Cols); err != nil {
			return err
		}
	}
	env := cfg.Env
	if cfg.ClearEnv {
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
	cwd := cfg.Cwd
	if cwd == "" {
		cwd = "/"
		if pw.Home != "" && unix.Access(pw.Home, unix.X_OK) == nil {
			cwd = pw.Home
		}
	}
	if err := unix.Chdir(cwd); err != nil {
		return fmt.Errorf("chdir %s: %w", cwd, err)
	}
	argv := cfg.Args
	if len(argv) == 0 {
		sh := "/bin/sh"
		if pw.Shell != "" {
			sh = pw.Shell
		}
		argv = []string{sh}
	}
	argv0, err := lookPath(argv[0], env)
	if err != nil {
		return err
	}
	// nsenter started us with every capability ambient.
	if err := userns.ClearCaps(); err != nil {
		return err
	}
	closeExtraFDs()
	if cfg.UID == 0 {
		if err := filter.Install(); err != nil {
			return err
		}
	}
	if err := unix.Exec(argv0, argv, env); err != nil {
		return fmt.Errorf("exec %s: %w", argv[0], err)
	}
	return nil
}

// attachTerminal opens a pty from the container's devpts, sized rows x
// cols, sends its master to Attach and makes the slave this process's
// controlling terminal and stdio.
func attachTerminal(rows, cols uint16) error {
	sock := attachPtyFD
	unix.CloseOnExec(sock)
	master, err := unix.Open("/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("allocate a pty in the container: %w", err)
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlock pty: %w", err)
	}
	// The caller's size now, not once the caller has the master: the
	// command may ask for it (stty size) before the caller gets to it.
	if rows > 0 && cols > 0 {
		if err := unix.IoctlSetWinsize(master, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
			return fmt.Errorf("set pty window size: %w", err)
		}
	}
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		return fmt.Errorf("open pty peer: %w", errno)
	}
	slave := int(r)
	defer unix.Close(slave)
	if err := unix.Sendmsg(sock, []byte("pty"), unix.UnixRights(master), nil, 0); err != nil {
		return fmt.Errorf("send pty master: %w", err)
	}
	unix.Close(sock)
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	if err := unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("set controlling terminal: %w", err)
	}
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("terminal stdio: %w", err)
		}
	}
	return nil
}

func setgroupsAllowed() bool {
	b, err := os.ReadFile("/proc/self/setgroups")
	return err != nil || !strings.HasPrefix(string(b), "deny")
}

// passwdEntry is the part of an /etc/passwd line attach uses.
type passwdEntry struct {
	Name, Home, Shell string
}

// lookupPasswd finds uid in the passwd file name (the container's: its
// content is hostile, only ever read).
func lookupPasswd(name string, uid uint32) (passwdEntry, bool) {
	f, err := os.Open(name)
	if err != nil {
		return passwdEntry{}, false
	}
	defer f.Close()
	return parsePasswd(io.LimitReader(f, 4<<20), uid)
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

// lookPath finds file in the container's PATH (its own, from env).
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	dirs := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			dirs = v
		}
	}
	for _, d := range strings.Split(dirs, ":") {
		if d == "" {
			d = "."
		}
		p := path.Join(d, file)
		var st unix.Stat_t
		if unix.Stat(p, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && unix.Access(p, unix.X_OK) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec %s: %w in $PATH", file, unix.ENOENT)
}

// closeExtraFDs marks every descriptor above 2 close-on-exec.
func closeExtraFDs() {
	_ = unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
}
