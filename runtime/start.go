package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/userns"
	"golang.org/x/sys/unix"
)

// Options describe one start of a container.
type Options struct {
	Name       string      // the container's name (LXC_NAME); required
	Spec       *specs.Spec // what to run; required
	ConfigPath string      // the LXC config it came from (LXC_CONFIG_FILE); default ""
	// RuntimeDir holds the state file and control socket while the
	// container runs (store.Container.RuntimeDir). Required.
	RuntimeDir string
	// Console allocates /dev/console and the ttys (ulxc.tty.max) from the
	// container's devpts; the supervisor keeps the masters and logs the
	// console. Otherwise the container's stdio is Stdin, Stdout, Stderr.
	// Default off (foreground).
	Console bool
	// ConsoleLogPath is the file the console's output is appended to,
	// besides a ring buffer of recent output. Default none.
	ConsoleLogPath string
	// Terminal, with Console, is the caller's terminal in the foreground
	// (start -F with a terminal among stdio), as lxc-start -F has it: the
	// console replaces those of Stdin, Stdout and Stderr that are
	// terminals (consoleFDs) and is
	// sized like it, the console's output goes to it (before the log: a
	// slow terminal slows the container, it does not lose output) and
	// what is typed on Stdin goes to the console. The caller puts the
	// terminal in raw mode and keeps the size in step (ConsoleMaster).
	// Default none.
	Terminal *os.File
	// Stdin, Stdout and Stderr are the container's stdio without Console,
	// and with Console and Terminal those that are not terminals (a pipe,
	// a file); default /dev/null. A terminal is never handed to the
	// container: it is relayed through a pipe, or replaced by the
	// console. Hook output goes to Stderr.
	Stdin          io.Reader `json:"-"`
	Stdout, Stderr io.Writer `json:"-"`
	// Log receives the supervisor's messages. Default: discarded.
	Log *slog.Logger `json:"-"`
	// PidFile receives the supervisor's pid once the container runs
	// (lxc-start -p: the monitor's, or that of start -F), and is removed
	// when it stops. Default none.
	PidFile string

	// Overlay chooses what serves an overlay root filesystem (fuse.go).
	// Default: the spec's annotation that Daemon leaves for its monitor,
	// else OverlayAuto.
	Overlay OverlayDriver

	// input relays typed input from Stdin to the console of the current
	// run, so that one reader of Stdin survives reboots (Restart).
	input *consoleInput
}

// Container is a started container, supervised by this process.
type Container struct {
	opts     Options
	cmd      *initProc
	state    State
	haltSig  unix.Signal
	stopSig  unix.Signal
	ptys     map[string]*os.File
	console  *consoleLog
	listener net.Listener
	pidfd    int
	cgroup   *cgroupLeaf
	env      hookEnv
	// stopHooks are lxc.hook.stop's; env.NS then holds init's
	// namespaces for them.
	stopHooks []specs.Hook
	net       []netAttachment // what the network phase set up (network.go)
	// fuseBin is fuse-overlayfs, when it serves the overlay root, and
	// fuse the running daemon (fuse.go); stopped once init is gone.
	fuseBin string
	fuse    *fuseDaemon

	// consoleDone is closed once the console's output has been drained
	// (nil without a console).
	consoleDone chan struct{}
	// peer is the terminal of lxc.console.path the console is relayed
	// to (console.go); nil without one.
	peer *os.File
	// cloneNS is init's socket, in whose queue the mount namespaces of
	// the clone hooks wait (rawproc's sendCloneNS): Start closes it last,
	// in a goroutine, so that their teardown runs beside the container
	// and the caller's wait, not before the state is written.
	cloneNS *os.File

	waitOnce sync.Once
	exit     ExitStatus
	waitErr  error
}

// Start starts the container's init in new namespaces and returns once it
// has exec'd the spec's process, or with the error init reported. The
// calling process is the supervisor: it must call Wait.
func Start(ctx context.Context, opts Options) (c *Container, err error) {
	if err := checkSpec(opts.Spec); err != nil {
		return nil, err
	}
	// A missing network helper fails the start before init exists.
	if err := preflightNetwork(opts.Spec); err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	s := opts.Spec
	halt, _ := haltSignal(s)
	stopSig, _ := stopSignal(s)
	ttys, _ := ttyCount(s)
	flags, newNet, _ := namespaces(s)
	ifaces, _ := netInterfaces(s)
	driver, fuseBin, err := chooseOverlay(opts)
	if err != nil {
		return nil, err
	}
	ic := &initConfig{Spec: s, Name: opts.Name, ConfigPath: opts.ConfigPath,
		Console: opts.Console, TTYs: ttys, NewNet: newNet, Unshare: flags & lateNamespaces, NetPhase: len(ifaces) > 0,
		Fuse: fuseBin != ""}
	peer, err := openConsolePeer(opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && peer != nil {
			peer.Close()
		}
	}()
	c = &Container{opts: opts, haltSig: halt, stopSig: stopSig, pidfd: -1, peer: peer, fuseBin: fuseBin}
	if t := cmp.Or(opts.Terminal, peer); opts.Console && t != nil {
		if ws, err := unix.IoctlGetWinsize(int(t.Fd()), unix.TIOCGWINSZ); err == nil {
			ic.ConsoleRows, ic.ConsoleCols = ws.Row, ws.Col
		}
	}
	// Working out the id maps (the subordinate id files, the helpers)
	// and init's plan reads files and allocates, but neither needs the
	// cgroup: they run beside newCgroup, on the other CPU when there is
	// one.
	planned := make(chan error, 2)
	var plan userns.Plan
	go func() {
		var err error
		plan, err = userns.NewPlan(userns.PlanOptions{Config: specMaps(s), Purpose: userns.ForContainer})
		if err != nil {
			err = fmt.Errorf("id maps: %w", err)
		}
		planned <- err
	}()
	var ip *initPlan
	go func() {
		var err error
		ip, err = compileInit(ic, exposeCandidates(s))
		planned <- err
	}()
	waitPlans := func() error { return cmp.Or(<-planned, <-planned) }
	c.env = hookEnv{Name: opts.Name, ConfigPath: opts.ConfigPath, RootfsPath: s.Root.Path, RootfsMount: s.Root.Path,
		State: specs.State{Version: specs.Version, ID: opts.Name, Status: specs.StateCreating, Annotations: s.Annotations}}
	leaf, err := newCgroup(opts.Name, s)
	if perr := waitPlans(); perr != nil {
		if err == nil {
			leaf.remove()
		}
		return nil, perr
	}
	if err != nil {
		return nil, err
	}
	if plan.Warning != "" {
		opts.Log.Warn(plan.Warning)
	}
	c.cgroup = leaf
	defer func() {
		if err != nil {
			leaf.remove()
		}
	}()
	if s.Hooks != nil {
		//lint:ignore SA1019 specs written for older runtimes still use Prestart; it runs where CreateRuntime does
		hooks := append(append([]specs.Hook{}, s.Hooks.Prestart...), s.Hooks.CreateRuntime...)
		if err := runHooks(ctx, HookPreStart, hooks, c.env, hostEnv(), opts.Stderr); err != nil {
			return nil, err
		}
	}
	err = c.spawn(ctx, plan, flags, ip, ifaces)
	if fuseFallback(err, driver, ic.Fuse) {
		// The kernel refused overlayfs in the user namespace: once more,
		// with fuse-overlayfs, when there is one. (What the first try
		// set up, init and the network phase, is gone with its error.)
		if bin, lerr := lookFuseOverlayfs(); lerr == nil {
			opts.Log.Warn("the kernel refuses overlayfs here; fuse-overlayfs serves the root", "err", err)
			ic.Fuse, c.fuseBin = true, bin
			if ip, err = compileInit(ic, exposeCandidates(s)); err == nil {
				err = c.spawn(ctx, plan, flags, ip, ifaces)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		if c.cloneNS != nil {
			go c.cloneNS.Close()
			c.cloneNS = nil
		}
	}()
	if err := c.record(); err != nil {
		c.kill()
		c.Wait()
		return nil, err
	}
	if err := writePidFile(opts.PidFile); err != nil {
		c.kill()
		c.Wait()
		return nil, err
	}
	if s.Hooks != nil {
		c.env.State.Status, c.env.State.Pid = specs.StateRunning, c.state.Pid
		if err := runHooks(ctx, HookStartHost, s.Hooks.Poststart, c.env, hostEnv(), opts.Stderr); err != nil {
			c.kill()
			c.Wait()
			return nil, err
		}
	}
	opts.Log.Info("container started", "name", opts.Name, "pid", c.state.Pid)
	return c, nil
}

// initProc is the started init.
type initProc struct {
	pid  int
	wait func() (*os.ProcessState, error)
}

func specMaps(s *specs.Spec) []userns.Map {
	var maps []userns.Map
	for _, m := range s.Linux.UIDMappings {
		maps = append(maps, userns.Map{Kind: userns.UID, ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size})
	}
	for _, m := range s.Linux.GIDMappings {
		maps = append(maps, userns.Map{Kind: userns.GID, ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size})
	}
	return maps
}

// spawn starts init, runs the network phase for ifaces and waits until
// init has exec'd or failed.
func (c *Container) spawn(ctx context.Context, plan userns.Plan, flags uintptr, p *initPlan, ifaces []ocispec.Interface) (err error) {
	cfg := p.cfg
	ch, err := c.spawnInit(plan, flags&^cfg.Unshare, p)
	if err != nil {
		return err
	}
	// Last: by then init has exec'd or is dead (it no longer runs on
	// the stack), and the report has been read (the plan is no longer
	// used).
	defer func() {
		ch.release()
		goruntime.KeepAlive(ch.plan)
	}()
	defer ch.hooks.done()
	defer ch.errors.Close()
	defer ch.sync.Close()
	if ch.pty != nil {
		defer ch.pty.Close()
	}
	if ch.net != nil {
		defer func() {
			if len(p.CloneNS.Paths) > 0 && err == nil {
				// The clone hooks' mount namespaces wait in its queue,
				// never received: Start closes it last (cloneNS).
				c.cloneNS = ch.net
				return
			}
			ch.net.Close()
		}()
	}
	c.cmd = ch.proc
	fail := func(err error) error {
		// init's own report says best why it stopped.
		if cerr := readChildError(ch.errors, ch.plan); cerr != nil && !errors.Is(cerr, errInitVanished) {
			err = cerr
		}
		// A daemon that ended says better why init's requests failed.
		if c.fuse != nil {
			if derr := c.fuse.exited(100 * time.Millisecond); derr != nil {
				err = fmt.Errorf("%w; so: %w", derr, err)
			}
		}
		c.kill()
		ps, _ := c.cmd.wait()
		if errors.Is(err, errInitVanished) && ps != nil {
			err = fmt.Errorf("%w: %s", err, ps)
		}
		c.detachNetwork()
		c.fuse.stop()
		c.fuse = nil
		return fmt.Errorf("container init: %w", err)
	}
	// Init sends the stop hooks' namespaces first thing, before its
	// network namespace. Kept until init has exited (teardown).
	kept := false
	defer func() {
		if !kept {
			closeNamespaces(c.env.NS)
			c.env.NS = nil
		}
	}()
	if len(p.StopNS.Paths) > 0 {
		if c.env.NS, err = receiveStopNamespaces(ch.net, p.stopKinds); err != nil {
			return fail(err)
		}
	}
	if cfg.NetPhase {
		// Before the ptys: the helpers start while init sets up.
		if err := c.networkPhase(ctx, ch.net, ifaces); err != nil {
			if errors.Is(err, errNoNamespaces) {
				return fail(err)
			}
			// Ours is the error: init, waiting for the go-ahead, would
			// only say that none came.
			c.kill()
			c.cmd.wait()
			return err
		}
	}
	if p.fuse != nil {
		if err := c.startFuse(ch.net, p.fuse); err != nil {
			if errors.Is(err, errNoNamespaces) {
				return fail(err)
			}
			// Ours is the error: init, whose requests fail once the
			// connection is gone, would only say that.
			c.kill()
			c.cmd.wait()
			c.detachNetwork()
			return err
		}
	}
	if cfg.Console {
		if c.ptys, err = receivePtys(ch.pty); err != nil {
			return fail(err)
		}
	}
	if cerr := readChildError(ch.errors, ch.plan); cerr != nil {
		for _, f := range c.ptys {
			f.Close()
		}
		return fail(cerr)
	}
	if c.pidfd, err = unix.PidfdOpen(c.cmd.pid, 0); err != nil {
		c.pidfd = -1
	}
	// The stop hooks run once init is gone, with the namespaces init
	// sent (c.env.NS).
	if hs, err := ocispec.AnnotatedHooks(c.opts.Spec, string(HookStop)); err == nil && len(hs) > 0 {
		c.stopHooks = hs
	}
	kept = true
	return nil
}

// initChannels are a started init and the supervisor's ends of its error
// pipe and, with a console, of its pty socket.
type initChannels struct {
	proc   *initProc
	errors *os.File
	pty    *os.File
	net    *os.File  // the network phase's socket (network.go), or nil
	sync   *os.File  // init's sync pipe, held until it has exec'd
	plan   *initPlan // what init did, for its report
	// release frees init's stack (forkInit) once it has exec'd or died.
	release func()
	// hooks is the output of the hooks init runs.
	hooks *hookOutput
}

// record writes the state file, starts logging the console and serves the
// control socket.
func (c *Container) record() error {
	pid := c.cmd.pid
	start, err := startTime(pid)
	if err != nil {
		return fmt.Errorf("read init's start time: %w", err)
	}
	self, err := startTime(os.Getpid())
	if err != nil {
		return fmt.Errorf("read own start time: %w", err)
	}
	c.state = State{Name: c.opts.Name, Status: Running, Pid: pid, PidStart: start,
		Supervisor: os.Getpid(), SupervisorStart: self, Daemon: c.opts.Console && c.opts.Terminal == nil, HaltSignal: int(c.haltSig), StopSignal: int(c.stopSig),
		Cgroup: c.cgroup.path(), CgroupNote: c.cgroup.note, ConfigPath: c.opts.ConfigPath,
		Rootfs: c.opts.Spec.Root.Path, Started: time.Now().UTC(), Seccomp: c.opts.Spec.Linux.Seccomp,
		Network: c.networkState()}
	if sig, err := rebootSignal(c.opts.Spec); err == nil {
		c.state.RebootSignal = int(sig)
	}
	if ns, _, err := namespaces(c.opts.Spec); err == nil {
		c.state.Namespaces = uint64(ns | unix.CLONE_NEWUSER)
	}
	if p := c.opts.Spec.Process; p != nil {
		if mask, ok, err := boundingMask(p.Capabilities); err == nil && ok {
			c.state.Bounding = &mask
		}
	}
	if err := os.MkdirAll(c.opts.RuntimeDir, 0o700); err != nil {
		return fmt.Errorf("runtime dir: %w", err)
	}
	if err := writeJSON(c.opts.RuntimeDir, stateFile, c.state); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if con, ok := c.ptys["console"]; ok {
		c.console = &consoleLog{ring: newRingBuffer(consoleRing), path: c.opts.ConsoleLogPath, maxSize: consoleLogMax}
		var out io.Writer = c.console
		if t := c.opts.Terminal; t != nil {
			out = &terminalTee{term: t, log: c.console}
			if c.opts.Stdin != nil && c.consoleFDs()[0] {
				if c.opts.input == nil {
					c.opts.input = newConsoleInput(c.opts.Stdin)
				}
				c.opts.input.set(con)
			}
		} else if c.peer != nil {
			out = &terminalTee{term: c.peer, log: c.console}
			go io.Copy(con, c.peer) // ends when wait closes the peer
		}
		c.consoleDone = make(chan struct{})
		go func() {
			copyConsole(con, out)
			c.console.tee.close() // the console is gone: end the clients' streams
			close(c.consoleDone)
		}()
	}
	if c.opts.Console {
		l, err := listenControl(c.opts.RuntimeDir)
		if err != nil {
			return err
		}
		c.listener = l
		go c.serve(l)
	}
	return nil
}

// Sizes of the console's memory and file logs.
const (
	consoleRing   = 128 << 10
	consoleLogMax = 1 << 20
)

// ConsoleMaster returns the master of the container's /dev/console, for
// its window size; nil without a console.
func (c *Container) ConsoleMaster() *os.File { return c.ptys["console"] }

// terminalTee writes the console's output to the caller's terminal, then to
// the log; a terminal that went away no longer gets it.
type terminalTee struct {
	term   io.Writer
	log    io.Writer
	broken bool
}

func (t *terminalTee) Write(p []byte) (int, error) {
	if !t.broken {
		if _, err := t.term.Write(p); err != nil {
			t.broken = true
		}
	}
	return t.log.Write(p)
}

// Restart starts the container again with the options of c, which Wait
// reported Rebooted; the caller supervises the new run as it did c.
// Typed input on a terminal (Options.Terminal) goes on to the new
// console.
func (c *Container) Restart(ctx context.Context) (*Container, error) {
	return Start(ctx, c.opts)
}

// consoleInput copies typed input to the console of the current run.
type consoleInput struct {
	mu  sync.Mutex
	con *os.File
}

// newConsoleInput starts copying from in, until in ends or the process
// does.
func newConsoleInput(in io.Reader) *consoleInput {
	ci := &consoleInput{}
	go io.Copy(ci, in)
	return ci
}

func (ci *consoleInput) set(con *os.File) {
	ci.mu.Lock()
	ci.con = con
	ci.mu.Unlock()
}

// Write never fails: input typed between two runs is lost, as on a machine
// that reboots.
func (ci *consoleInput) Write(p []byte) (int, error) {
	ci.mu.Lock()
	con := ci.con
	ci.mu.Unlock()
	// Not under the lock: a console nobody reads blocks the write, and
	// the teardown's set(nil) must not wait for it (Close does not).
	if con != nil {
		con.Write(p)
	}
	return len(p), nil
}

// Pid returns the host pid of the container's init.
func (c *Container) Pid() int { return c.state.Pid }

// State returns the container's recorded state.
func (c *Container) State() State { return c.state }

// Signal sends sig to the container's init.
func (c *Container) Signal(sig syscall.Signal) error {
	if c.pidfd >= 0 {
		return unix.PidfdSendSignal(c.pidfd, sig, nil, 0)
	}
	return unix.Kill(c.cmd.pid, sig)
}

func (c *Container) kill() { _ = c.Signal(unix.SIGKILL) }

// Wait waits for the container's init to exit, tears the container down
// (control socket, state, cgroup) and runs the post-stop hooks. A failing
// post-stop hook is returned with the exit status.
func (c *Container) Wait() (ExitStatus, error) {
	c.waitOnce.Do(func() { c.exit, c.waitErr = c.wait() })
	return c.exit, c.waitErr
}

func (c *Container) wait() (ExitStatus, error) {
	ps, _ := c.cmd.wait()
	// Last: the stop hooks may still use the root in init's namespaces.
	defer func() {
		c.fuse.stop()
		c.fuse = nil
	}()
	// The helpers hold the network namespace alive: they go at once.
	c.detachNetwork()
	st := ExitStatus{Time: time.Now().UTC()}
	if ps != nil {
		ws := ps.Sys().(syscall.WaitStatus)
		switch {
		case ws.Signaled():
			st.Signal = int(ws.Signal())
			st.Code = 128 + st.Signal
		default:
			st.Code = ws.ExitStatus()
		}
	}
	if c.pidfd >= 0 {
		unix.Close(c.pidfd)
		c.pidfd = -1
	}
	if c.state.Pid == 0 {
		return st, nil // never recorded: Start failed
	}
	c.opts.Log.Info("container exited", "name", c.opts.Name, "code", st.Code, "signal", st.Signal)
	if c.listener != nil {
		c.listener.Close()
	}
	if c.consoleDone != nil {
		// The console's last output, still in the pty once init is gone.
		select {
		case <-c.consoleDone:
		case <-time.After(time.Second):
		}
	}
	if c.opts.input != nil {
		c.opts.input.set(nil) // typed while no console exists: dropped
	}
	for _, f := range c.ptys {
		f.Close()
	}
	if c.peer != nil {
		c.peer.Close()
	}
	dir := c.opts.RuntimeDir
	_ = os.Remove(filepath.Join(dir, controlFile))
	// Renaming over the old exit file would make ext4 (auto_da_alloc)
	// write the new one out first, a third of a millisecond here; while
	// the state file exists nobody reads the exit file.
	_ = os.Remove(filepath.Join(dir, exitFile))
	_ = writeJSON(dir, exitFile, st)
	var err error
	if len(c.stopHooks) > 0 {
		// As LXC: after init exited, before the cgroup goes, with
		// references to its namespaces that keep them.
		c.env.State.Status = specs.StateStopped
		err = runHooks(context.Background(), HookStop, c.stopHooks, c.env, hostEnv(), c.opts.Stderr)
		if err != nil {
			c.opts.Log.Error("stop hook failed", "err", err)
		}
	}
	closeNamespaces(c.env.NS)
	c.env.NS = nil
	c.cgroup.remove()
	if s := c.opts.Spec; s.Hooks != nil {
		c.env.State.Status = specs.StateStopped
		c.env.Target = "stop"
		if st.Rebooted() {
			c.env.Target = "reboot"
		}
		// A failed stop hook does not keep the post-stop hooks from
		// running, and its error is not lost behind theirs.
		if perr := runHooks(context.Background(), HookPostStop, s.Hooks.Poststop, c.env, hostEnv(), c.opts.Stderr); perr != nil {
			c.opts.Log.Error("post-stop hook failed", "err", perr)
			err = errors.Join(err, perr)
		}
	}
	if c.opts.PidFile != "" {
		_ = os.Remove(c.opts.PidFile)
	}
	// Last, after the hooks: until now the state (init gone, supervisor
	// alive) says STOPPING, and the run lock, released after this,
	// keeps a new start out.
	_ = os.Remove(filepath.Join(dir, stateFile))
	return st, err
}
