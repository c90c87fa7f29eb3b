package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/internal/rawproc"
	"github.com/ulxc/ulxc/userns"
	"golang.org/x/sys/unix"
)

// spawnInit clones init in new user, mount and pid namespaces (and the
// cgroup leaf, when there is one), maps its ids with userns.Release and
// lets it go. Init is a clone of this process that runs package rawproc,
// not an exec of ulxc: a second Go runtime's start-up was the largest single
// cost of a start (runtime/doc.go, "Start-up cost").
func (c *Container) spawnInit(plan userns.Plan, flags uintptr, p *initPlan) (*initChannels, error) {
	cfg := p.cfg
	// The supervisor's ends, handed over at the end, closed on failure.
	// Closing syncW without the go-ahead makes init give up; after it,
	// init checks that syncW is still open once its parent-death signal
	// is set, so it stays open until init has exec'd (spawn).
	var syncW, errR, ptyParent, netParent *os.File
	handedOver := false
	defer func() {
		if !handedOver {
			for _, f := range []*os.File{syncW, errR, ptyParent, netParent} {
				if f != nil {
					f.Close()
				}
			}
		}
	}()
	var closers []io.Closer // the child's ends, closed once it has them
	closeAll := func() {
		for _, f := range closers {
			f.Close()
		}
	}
	defer func() { closeAll() }()
	p.ConsoleFDs = c.consoleFDs()
	stdio, copiers, err := c.stdioFiles(p.ConsoleFDs, &closers)
	if err != nil {
		return nil, err
	}
	var syncR, errW *os.File
	syncR, syncW, err = os.Pipe()
	if err != nil {
		return nil, err
	}
	closers = append(closers, syncR)
	errR, errW, err = os.Pipe()
	if err != nil {
		return nil, err
	}
	closers = append(closers, errW)
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	closers = append(closers, devNull)
	state, pty, hookOut := devNull, devNull, devNull
	var hookR *os.File
	if p.runsHooks() {
		if state, err = hookState(cfg); err != nil {
			return nil, err
		}
		closers = append(closers, state)
		var hookW *os.File
		if hookR, hookW, err = os.Pipe(); err != nil {
			return nil, err
		}
		closers = append(closers, hookW)
		hookOut = hookW
	}
	if cfg.Console {
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			if hookR != nil {
				hookR.Close()
			}
			return nil, fmt.Errorf("pty socket: %w", err)
		}
		ptyParent, pty = os.NewFile(uintptr(pair[0]), "pty-parent"), os.NewFile(uintptr(pair[1]), "pty-child")
		closers = append(closers, pty)
	}
	files := append(stdio, syncR, state, errW, pty, hookOut)
	if cfg.NetPhase || len(p.StopNS.Paths) > 0 || p.fuse != nil || len(p.CloneNS.Paths) > 0 {
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			if hookR != nil {
				hookR.Close()
			}
			return nil, fmt.Errorf("network socket: %w", err)
		}
		netParent = os.NewFile(uintptr(pair[0]), "net-parent")
		netChild := os.NewFile(uintptr(pair[1]), "net-child")
		closers = append(closers, netChild)
		files = append(files, netChild)
	}
	hooks := newHookOutput(hookR, c.opts.Stderr)
	for _, f := range files {
		fd := int(f.Fd())
		p.FDs = append(p.FDs, fd)
		p.Base = max(p.Base, uintptr(fd)+1)
	}
	p.Base = max(p.Base, rawproc.InitFDs)

	// Init shares the supervisor's memory unless it sets an OOM score,
	// which the kernel would set for every process sharing the memory,
	// the supervisor included. Hooks that run beside it, as container
	// root, reach nothing of it: init is not dumpable from enter() on,
	// before any hook exists, and its memory belongs to the host's user
	// namespace, where container root holds no capability; so no hook may
	// ptrace it, open its /proc/PID/mem or take its descriptors, as
	// nsenter's forks, which share the memory of ulxc attach, are safe
	// from the running container (TestHostileHooks, both ways). A copy of
	// the supervisor's memory for init cost a start with hooks 0.7-1 ms
	// (Debian's config has lxcfs's mount hook, an ephemeral copy its
	// clone hook).
	share := rawproc.SharedMemoryFork && len(p.OOM) == 0
	pid, release, err := forkInit(&p.Plan, flags|unix.CLONE_NEWUSER, c.cgroup.fd(), share)
	goruntime.KeepAlive(files)
	if err != nil {
		hooks.done()
		return nil, fmt.Errorf("fork init: %w", err)
	}
	closeAll()
	closers = nil
	proc, err := os.FindProcess(pid)
	if err != nil {
		// Cannot happen for a child of ours; kill it by pid regardless.
		_ = unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, 0, nil)
		release()
		hooks.done()
		return nil, fmt.Errorf("init %d: %w", pid, err)
	}
	wait := func() (*os.ProcessState, error) {
		ps, err := proc.Wait()
		copiers.Wait()
		return ps, err
	}
	if err := userns.Release(pid, plan, syncW); err != nil {
		_ = proc.Kill()
		_, _ = wait()
		release()
		hooks.done()
		// An init that failed before the go-ahead says best why.
		if cerr := readChildError(errR, p); cerr != nil && !errors.Is(cerr, errInitVanished) {
			err = cerr
		}
		return nil, err
	}
	handedOver = true
	return &initChannels{errors: errR, pty: ptyParent, net: netParent, sync: syncW, plan: p, release: release, hooks: hooks,
		proc: &initProc{pid: pid, wait: wait}}, nil
}

// consoleFDs are the stdio descriptors of the container's process that
// its console replaces: all three for a daemon, a foreground start's
// terminals (and what it leaves unset) on a terminal, none without a
// console. A pipe or a file a foreground start was given stays as it is.
func (c *Container) consoleFDs() [3]bool {
	if !c.opts.Console {
		return [3]bool{}
	}
	if c.opts.Terminal == nil {
		return [3]bool{true, true, true}
	}
	var m [3]bool
	for i, v := range []any{c.opts.Stdin, c.opts.Stdout, c.opts.Stderr} {
		f, ok := v.(*os.File)
		m[i] = v == nil || ok && (f == nil || isTerminal(f))
	}
	return m
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// stdioFiles are init's stdin, stdout and stderr: the container's stdio
// as files, /dev/null for what is not set (and for the stdin and stdout
// that the console replaces), or a pipe that a goroutine copies, for a
// reader or writer that is not a file, and for a terminal: no descriptor
// of the caller's terminal ever reaches init, its hooks or the container
// (anything holding one could read it, and type into the caller's shell
// with TIOCSTI). copiers ends once the pipes are drained.
func (c *Container) stdioFiles(console [3]bool, closers *[]io.Closer) (files []*os.File, copiers *sync.WaitGroup, err error) {
	copiers = &sync.WaitGroup{}
	in, out, errOut := c.opts.Stdin, c.opts.Stdout, c.opts.Stderr
	if console[0] {
		in = nil
	}
	if console[1] {
		out = nil
	}
	devNull := func(flag int) (*os.File, error) {
		f, err := os.OpenFile(os.DevNull, flag, 0)
		if err == nil {
			*closers = append(*closers, f)
		}
		return f, err
	}
	if f, ok := in.(*os.File); ok && f != nil && !isTerminal(f) {
		files = append(files, f)
	} else if in == nil || ok && f == nil {
		f, err := devNull(os.O_RDONLY)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, f)
	} else {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, nil, err
		}
		*closers = append(*closers, r)
		go func() {
			_, _ = io.Copy(w, in)
			w.Close()
		}()
		files = append(files, r)
	}
	for _, wr := range []io.Writer{out, errOut} {
		f, ok := wr.(*os.File)
		if ok && f != nil && !isTerminal(f) {
			files = append(files, f)
			continue
		}
		if wr == nil || wr == io.Discard || ok && f == nil {
			f, err := devNull(os.O_WRONLY)
			if err != nil {
				return nil, nil, err
			}
			files = append(files, f)
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			return nil, nil, err
		}
		*closers = append(*closers, w)
		copiers.Add(1)
		go func() {
			defer copiers.Done()
			_, _ = io.Copy(wr, r)
			r.Close()
		}()
		files = append(files, w)
	}
	return files, copiers, nil
}

// runsHooks reports whether init runs hooks of any kind.
func (p *initPlan) runsHooks() bool {
	for _, h := range p.Hooks {
		if h.Run {
			return true
		}
	}
	return false
}

// hookState is what hooks that run inside read on stdin: the OCI state of
// the container being created (pid 1, its init, in its own namespace),
// in a memfd that is read-only for them.
func hookState(cfg *initConfig) (*os.File, error) {
	s := cfg.Spec
	b := appendOCIState(nil, specs.State{Version: specs.Version, ID: cfg.Name, Status: specs.StateCreating, Pid: 1,
		Annotations: s.Annotations})
	rw, err := memfdWith("ulxc-hook-state", b)
	if err != nil {
		return nil, err
	}
	defer rw.Close()
	f, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(rw.Fd())), os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("hook state: %w", err)
	}
	return f, nil
}

// hookOutput passes what hooks inside the container write on to the
// supervisor's stderr (the log, or the terminal of start -F), at most
// maxHookOutput of it, and drops the rest; see done.
type hookOutput struct {
	r      *os.File
	copied chan struct{}
}

func newHookOutput(r *os.File, w io.Writer) *hookOutput {
	h := &hookOutput{r: r, copied: make(chan struct{})}
	if r == nil {
		close(h.copied)
		return h
	}
	go func() {
		copyBounded(w, r, maxHookOutput)
		close(h.copied)
	}()
	return h
}

// done ends the copy once init has exec'd or died: what the hooks wrote
// is read (for hookOutputGrace more at most), and the pipe is closed, so
// a process a hook left behind writes to nothing from then on.
func (h *hookOutput) done() {
	if h == nil || h.r == nil {
		return
	}
	h.r.SetReadDeadline(time.Now().Add(hookOutputGrace))
	<-h.copied
	h.r.Close()
	h.r = nil
}

// memfdWith is a sealed-in-spirit memfd holding b, at offset 0.
func memfdWith(name string, b []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("memfd: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("memfd: %w", err)
	}
	return f, nil
}

// forkInit starts init with every signal blocked (so that no Go signal
// handler runs in a child without a Go runtime) and returns its pid. The
// thread is locked so that the mask is restored where it was set. Where
// cloneVM exists, init shares the supervisor's memory (CLONE_VM) on a
// stack of its own, as posix_spawn's child does, and release unmaps that
// stack: call it once init has exec'd or is dead, never before.
func forkInit(p *rawproc.Plan, flags uintptr, cgroupFD int, shareMemory bool) (pid int, release func(), err error) {
	args := rawproc.CloneArgs{Flags: uint64(flags), ExitSignal: uint64(unix.SIGCHLD)}
	if cgroupFD > 0 {
		args.Flags |= unix.CLONE_INTO_CGROUP
		args.Cgroup = uint64(cgroupFD)
	}
	release = func() {}
	if rawproc.OwnStack {
		// A stack of init's own, and a thread-local block of its own
		// whose g is nil (the Go runtime's g is at -8 from it on amd64,
		// and cloneVM also clears the g register): should init ever
		// enter the Go runtime, against package rawproc's rule, its first
		// use of g faults, and with every signal blocked the kernel
		// kills init rather than run a handler. It never runs on the
		// supervisor's g, heap or locks. The thread-local block sits in
		// the stack's lowest page, which init's few hundred bytes of
		// stack never reach.
		stack, err := unix.Mmap(-1, 0, childStackSize, unix.PROT_READ|unix.PROT_WRITE,
			unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_STACK)
		if err != nil {
			return 0, nil, fmt.Errorf("init's stack: %w", err)
		}
		var once sync.Once
		release = func() { once.Do(func() { _ = unix.Munmap(stack) }) }
		args.Stack = uint64(uintptr(unsafe.Pointer(&stack[0])))
		args.StackSize = uint64(len(stack))
		args.Flags |= unix.CLONE_SETTLS
		args.TLS = uint64(uintptr(unsafe.Pointer(&stack[initTLSOffset])))
		// The kernel gives init the default handlers at the clone
		// (CLONE_CLEAR_SIGHAND, Linux 5.5, with clone3): init and its
		// hooks then restore only the mask before an exec, where
		// RestoreSignals made 128 system calls, 0.045 ms (ftrace).
		args.Flags |= unix.CLONE_CLEAR_SIGHAND
		p.HandlersCleared = true
		if shareMemory {
			args.Flags |= unix.CLONE_VM
		}
		// Init's hooks share its memory until their exec, on a part of
		// this stack that init's own use never reaches, with the same
		// thread-local block (rawproc's forkHook).
		p.HookArgs = rawproc.CloneArgs{Flags: unix.CLONE_VM | unix.CLONE_VFORK | unix.CLONE_SETTLS,
			ExitSignal: uint64(unix.SIGCHLD), Stack: args.Stack + hookStackLow, StackSize: hookStackSize, TLS: args.TLS}
	}
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	if _, _, e := syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
		uintptr(unsafe.Pointer(&p.AllSignals)), uintptr(unsafe.Pointer(&p.OldMask)), 8, 0, 0); e != 0 {
		release()
		return 0, nil, e
	}
	r, e := rawproc.StartChild(p, &args)
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&p.OldMask)), 0, 8, 0, 0)
	if e != 0 {
		release()
		return 0, nil, e
	}
	return int(r), release, nil
}

// childStackSize is init's stack (rawproc.OwnStack); the nosplit code of
// rawproc needs less than a page of it. initTLSOffset is where its
// thread-local block points, in the lowest page.
const (
	childStackSize = 64 << 10
	initTLSOffset  = 2048
	// A hook's stack is [hookStackLow, hookStackLow+hookStackSize) of
	// init's: above the thread-local block, far below the top page init
	// runs in.
	hookStackLow  = 8 << 10
	hookStackSize = 24 << 10
)

// errInitVanished is init's pipe closing without a report and before the
// marker: init died on the way (a signal; nothing of ulxc's writes no
// report otherwise).
var errInitVanished = errors.New("init ended before it could exec the container's process")

// readChildError reads init's report: nil when the marker comes and then
// EOF, which means the exec worked; errInitVanished at EOF before the
// marker. A report is init's rawproc.Failure (describe); a hook whose
// exec failed wrote one before init added its own, and the first says
// best what happened.
func readChildError(r io.Reader, p *initPlan) error {
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return fmt.Errorf("read init's report: %w", err)
	}
	if len(b) == 0 {
		return errInitVanished
	}
	// Records are whole rawproc.Failures: the marker is the byte left
	// over, whatever a record's first byte is.
	size := int(unsafe.Sizeof(rawproc.Failure{}))
	if len(b)%size == 1 && b[0] == rawproc.ExecMarker {
		if b = b[1:]; len(b) == 0 {
			return nil
		}
	}
	f, ok := parseFailure(b)
	if !ok || len(b)%size != 0 || p == nil {
		return fmt.Errorf("init: malformed report %x", b)
	}
	return p.describe(f)
}
