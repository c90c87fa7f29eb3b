package runtime

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/ulxc/ulxc/cgroup"
	"github.com/ulxc/ulxc/userns"
	"golang.org/x/sys/unix"
)

// prestarted is a container init started before the supervisor knew
// which container it would be: Prestart makes it at the supervisor's
// start-up, so that init's start-up (its exec and Go runtime) runs beside
// the supervisor's reading of the config instead of after it. It waits,
// unmapped, for the config on fd 4 and the go-ahead on fd 3.
type prestarted struct {
	pid   int
	flags uintptr // CLONE_NEW* namespaces it is in
	// The supervisor's ends of init's fd 3 to 6 (the layout of newInit).
	sync, config, errors, pty *os.File
	wait                      func() (*os.ProcessState, error)
	kill                      func() error
}

// early holds the prestarted init: ready is closed once Prestart's
// goroutine is done, p is nil if it failed.
var early struct {
	sync.Mutex
	ready chan struct{}
	p     *prestarted
}

// Prestart starts a container init in new user, mount and pid namespaces
// for the Start that this process is about to make: main calls it first
// thing for `ulxc start -F` and the monitor for a daemon. It returns at
// once; the spawn (a fork, which copies the page tables, and the child's
// exec, which the fork waits for) goes on in a goroutine while the caller
// reads its config. Start uses the child when the container fits (its
// namespaces and stdio) and kills it otherwise; a process that exits
// first takes it along (parent-death signal). Setting ULXC_NO_PRESTART in
// the environment turns it off.
func Prestart() {
	early.Lock()
	defer early.Unlock()
	if early.ready != nil || os.Getenv("ULXC_NO_PRESTART") != "" {
		return
	}
	ready := make(chan struct{})
	early.ready = ready
	go func() {
		defer close(ready)
		// On error Start takes the ordinary path, which reports it.
		if p, err := spawnEarly(); err == nil {
			early.Lock()
			early.p = p
			early.Unlock()
		}
	}()
}

// spawnEarly starts `ulxc __init` through userns.Spawn with the
// supervisor's stdio.
func spawnEarly() (*prestarted, error) {
	p, err := newInitPipes(true)
	if err != nil {
		return nil, err
	}
	flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID)
	cmd, sync, err := userns.Spawn(context.Background(), userns.Options{Cloneflags: flags, Entry: InitEntry,
		Env: initEnv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, ExtraFiles: p.child})
	p.closeChild()
	if err != nil {
		p.config.Close()
		p.errors.Close()
		p.pty.Close()
		return nil, err
	}
	return &prestarted{pid: cmd.Process.Pid, flags: unix.CLONE_NEWUSER | flags, sync: sync, config: p.config,
		errors: p.errors, pty: p.pty,
		wait: func() (*os.ProcessState, error) { err := cmd.Wait(); return cmd.ProcessState, err },
		kill: cmd.Process.Kill}, nil
}

// takePrestarted hands the prestarted init to one Start, once Prestart's
// spawn is done; nil if there is none.
func takePrestarted() *prestarted {
	early.Lock()
	ready := early.ready
	early.Unlock()
	if ready == nil {
		return nil
	}
	<-ready
	early.Lock()
	defer early.Unlock()
	p := early.p
	early.p = nil
	return p
}

// discard kills and reaps the child and closes the channels.
func (p *prestarted) discard() {
	for _, f := range []*os.File{p.sync, p.config, p.errors, p.pty} {
		f.Close()
	}
	_ = p.kill()
	_, _ = p.wait()
}

// unfitPrestart says why the prestarted child cannot be this container's
// init, or "" when it can: it must be in exactly the namespaces the clone
// would make, with the stdio init would get.
func (c *Container) unfitPrestart(ps *prestarted, flags uintptr) string {
	switch {
	case ps.flags != unix.CLONE_NEWUSER|flags:
		return fmt.Sprintf("namespaces %#x, want %#x", ps.flags, unix.CLONE_NEWUSER|flags)
	case c.opts.Stderr != io.Writer(os.Stderr):
		return "stderr is not the supervisor's"
	case !c.opts.Console && (c.opts.Stdin != io.Reader(os.Stdin) || c.opts.Stdout != io.Writer(os.Stdout)):
		return "stdio is not the supervisor's"
	}
	return ""
}

// adoptInit makes the prestarted child this container's init: it moves
// the child into the container's cgroup (where newInit's clone would
// start it; init makes its cgroup namespace only after reading the
// config), sends the config, then maps the child's ids and lets it go.
func (c *Container) adoptInit(ps *prestarted, plan userns.Plan, cfg *initConfig) (*initChannels, error) {
	if c.cgroup.fd() > 0 {
		if err := cgroup.Move(c.cgroup.dir, ps.pid); err != nil {
			ps.discard()
			return nil, fmt.Errorf("move init into %s: %w", c.cgroup.dir, err)
		}
	}
	sendWire(ps.config, cfg.encode())
	err := userns.Release(ps.pid, plan, ps.sync)
	ps.sync.Close()
	if err != nil {
		ps.discard()
		return nil, err
	}
	ch := &initChannels{errors: ps.errors, proc: &initProc{pid: ps.pid, wait: ps.wait}}
	if cfg.Console {
		ch.pty = ps.pty
	} else {
		ps.pty.Close()
	}
	return ch, nil
}
