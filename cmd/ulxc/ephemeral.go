package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ulxc/ulxc/clone"
	"github.com/ulxc/ulxc/destroy"
	"github.com/ulxc/ulxc/lifecycle"
	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/store"
)

const startEphemeralUsage = `Usage: ulxc start-ephemeral -o ORIG [-n NAME] [-d] [-b DIR]... [-u USER] [-S KEYFILE] [-k] [-s tmpfs|dir] [-U overlayfs] [-- CMD...]

Start a throwaway copy of ORIG, as lxc-start-ephemeral does: an overlay
whose lower layer is ORIG's root filesystem (ORIG is never written and may
be running) and whose upper layer is a tmpfs (-s tmpfs, the default) or a
directory (-s dir). It starts at once whatever the size of ORIG. The copy is
named ORIG-XXXXXXXX unless -n, runs in the foreground unless -d, and is
removed with everything it wrote when it stops (also after 'ulxc stop' of a
-d one) unless -k, which keeps it as a snapshot (needs -s dir). A copy that
fails to start is removed, -k or not, as lxc-copy does.

With -- CMD the command replaces the container's init and its output and
exit status are ulxc's. -u USER runs CMD (or USER's shell) as that user of
the container; -b DIR binds the host directory DIR at the same path, and
with -u the user's ids inside are your own on the host (the id map is split
around them, as podman's keep-id does), so files keep their owner both ways.
-S KEYFILE appends the SSH public key in KEYFILE to ~USER/.ssh/authorized_keys.

Examples:
  ulxc start-ephemeral -o web -- make -C /src test
  ulxc start-ephemeral -o web -u dev -b "$HOME/work" -- sh -c 'cd ~/work && make'
  ulxc start-ephemeral -o web -d -n web-try -s dir -k
`

// ephemeralRequest is one start-ephemeral (or copy -e).
type ephemeralRequest struct {
	orig, name        string
	daemon, keep      bool
	tmpfs             bool
	binds             []string
	user, keyFile     string
	keepName, keepMAC bool
	mounts            []clone.Mount
	cmd               []string
}

func cmdStartEphemeral(e *env, args []string) error {
	fs := e.newFlagSet("start-ephemeral", "o") // -o is the original, as lxc-start-ephemeral has it
	var r ephemeralRequest
	fs.StringVarP(&r.orig, "orig", "o", "", "the original container `NAME`")
	fs.StringVarP(&r.name, "name", "n", "", "the copy's `NAME`; default ORIG-XXXXXXXX")
	fs.BoolVarP(&r.daemon, "daemon", "d", false, "run in the background")
	stringsVarP(fs, &r.binds, "bdir", "b", "bind the host `DIR` at the same path (repeatable)")
	fs.StringVarP(&r.user, "user", "u", "", "run CMD or the shell as this `USER` of the container")
	fs.StringVarP(&r.keyFile, "ssh-key", "S", "", "install the SSH public key in `KEYFILE` for USER")
	fs.BoolVarP(&r.keep, "keep-data", "k", false, "keep the copy after it stops (needs -s dir)")
	storage := fs.StringP("storage-type", "s", "tmpfs", "the upper layer: tmpfs or dir")
	union := fs.StringP("union-type", "U", "overlayfs", "the union filesystem: overlayfs")
	if err := e.parse(fs, startEphemeralUsage, args); err != nil {
		return err
	}
	pos := fs.Args()
	if at := fs.ArgsLenAtDash(); at >= 0 {
		pos, r.cmd = fs.Args()[:at], fs.Args()[at:]
	}
	switch {
	case len(pos) > 0:
		return usagef("start-ephemeral: unexpected argument %q (the original is -o ORIG; a command goes after --)", pos[0])
	case r.orig == "":
		return usagef("start-ephemeral: no original container (-o ORIG)")
	case *union != "overlayfs" && *union != "overlay":
		return usagef("start-ephemeral: -U %s: ulxc's union filesystem is overlayfs (aufs is gone from Linux)", *union)
	case *storage != "tmpfs" && *storage != "dir":
		return usagef("start-ephemeral: -s %s: want tmpfs or dir", *storage)
	case r.keep && *storage != "dir":
		return usagef("start-ephemeral: -k keeps the copy on disk: it needs -s dir")
	}
	r.tmpfs = *storage == "tmpfs"
	return e.ephemeral(r)
}

// copyEphemeral is copy -e: lxc-copy's spelling of an ephemeral copy.
// Its upper layer is a directory unless -t, it runs in the background
// unless -F or a command is given, and -D keeps it.
func (e *env) copyEphemeral(f copyFlags, cmd []string) error {
	switch {
	case f.rename || f.snapshot || f.newPath != "" || f.allowRunning || f.fsSize != "":
		return usagef("copy -e: -R, -s, -p, -a and -L do not go with -e")
	case f.backend != "" && f.backend != "overlay" && f.backend != "overlayfs":
		return usagef("copy -e: an ephemeral copy is an overlay: -B %s", f.backend)
	case f.foreground && f.daemon:
		return usagef("copy -e: -F and -d conflict")
	case f.tmpfs && f.keepData:
		return usagef("copy -e: -t and -D conflict: a tmpfs is not kept")
	}
	r := ephemeralRequest{orig: f.name, name: f.newName, keep: f.keepData, tmpfs: f.tmpfs, keepName: f.keepName,
		keepMAC: f.keepMAC, cmd: cmd, daemon: !f.foreground && len(cmd) == 0}
	for _, m := range f.mounts {
		bm, err := clone.ParseMount(m)
		if err != nil {
			return usagef("copy: %v", err)
		}
		r.mounts = append(r.mounts, bm)
	}
	return e.ephemeral(r)
}

// ephemeral makes the copy under its run lock, starts it, and removes it
// once it stops (the monitor does, for a daemon: afterMonitor).
func (e *env) ephemeral(r ephemeralRequest) (err error) {
	overlay, err := overlayDriver()
	if err != nil {
		return err
	}
	s, err := e.openStore()
	if err != nil {
		return err
	}
	orig, err := s.Get(r.orig)
	if err != nil {
		return fmt.Errorf("start-ephemeral: %w", err)
	}
	src, err := clone.Open(orig)
	if err != nil {
		return fmt.Errorf("start-ephemeral: %w", err)
	}
	// No AfterCopy: the copy's clone hooks run inside its start
	// (ocispec.AnnotationCloneSource, below).
	opts := clone.Options{Snapshot: true, Tmpfs: r.tmpfs, Ephemeral: !r.keep, KeepName: r.keepName, KeepMAC: r.keepMAC,
		Mounts: r.mounts, Warn: func(s string) { e.warnf("%s", s) }}
	var user *clone.User
	if r.user != "" {
		u, err := src.LookupUser(r.user)
		if err != nil {
			return fmt.Errorf("start-ephemeral: -u: %w", err)
		}
		user = &u
	}
	for _, b := range r.binds {
		abs, err := filepath.Abs(b)
		if err != nil {
			return usagef("start-ephemeral: -b %s: %v", b, err)
		}
		m, err := clone.ParseMount("bind=" + abs)
		if err != nil {
			return usagef("start-ephemeral: -b %s: %v", b, err)
		}
		opts.Mounts = append(opts.Mounts, m)
	}
	if user != nil && len(r.binds) > 0 {
		k := user.WithHost(uint32(os.Getuid()), uint32(os.Getgid()))
		opts.KeepID = &k
	}
	if r.keyFile != "" {
		key, err := readKey(r.keyFile)
		if err != nil {
			return usagef("start-ephemeral: -S: %v", err)
		}
		opts.AuthorizedKey = &clone.Key{User: "root", Key: key}
		if user != nil {
			opts.AuthorizedKey.User = user.Name
		}
	}
	if r.name == "" {
		r.name = r.orig + "-" + randomSuffix()
	}
	unlockOrig, err := orig.Lock(true)
	if err != nil {
		return fmt.Errorf("start-ephemeral: %w", err)
	}
	c, unlock, err := e.newOrReclaim(s, r.name)
	if err != nil {
		unlockOrig()
		return fmt.Errorf("start-ephemeral: %w", err)
	}
	defer unlock()
	// The run lock comes first: a copy whose lock is free and that is
	// marked ephemeral is no container (store.EphemeralFile).
	runLock, dir, err := lifecycle.LockRun(c)
	if err == nil && !r.keep {
		upper := store.EphemeralDir
		if r.tmpfs {
			upper = store.EphemeralTmpfs
		}
		err = c.MarkEphemeral(upper)
	}
	ctx, stop := interruptible()
	var cfg *lxcconf.Config // the copy's config, as written
	if err == nil {
		cfg, err = clone.Into(ctx, src, c, opts)
	} else {
		_ = os.RemoveAll(c.Dir)
	}
	stop()
	unlockOrig()
	if err != nil {
		if runLock != nil {
			runLock.Close()
		}
		return fmt.Errorf("start-ephemeral: %w", err)
	}
	defer runLock.Close()
	started := false // the container's process ran
	defer func() {
		// The copy goes once it stopped, unless -k; a kept one goes too
		// if it never started (its clone hooks may not have run), as
		// lxc-copy destroys a -D copy it could not start.
		if c == nil || r.keep && (err == nil || started) {
			return
		}
		unlock() // removeEphemeral takes the lock anew
		if rerr := e.removeEphemeral(c, cfg); rerr != nil {
			e.warnf("%v", rerr)
		}
	}()
	spec, err := lifecycle.SpecOf(c, lifecycle.Options{Command: r.cmd, Config: cfg})
	if err != nil {
		return fmt.Errorf("start-ephemeral %s: %w", c.Name, err)
	}
	if r.tmpfs {
		spec.Annotations[ocispec.AnnotationOverlayTmpfs] = "true"
	}
	// Init runs the clone hooks once the copy's root is mounted, before
	// the container's process exists: a user namespace of their own
	// before the start cost about as much as the start (runtime/doc.go).
	spec.Annotations[ocispec.AnnotationCloneSource] = r.orig
	if user != nil {
		asUser(spec, *user, len(r.cmd) == 0)
	}
	ropts := runtime.Options{Name: c.Name, Spec: spec, ConfigPath: c.ConfigPath(), RuntimeDir: dir, Overlay: overlay,
		ConsoleLogPath: spec.Annotations[ocispec.AnnotationConsoleLog]}
	if !r.daemon {
		err = e.foreground(c.Name, ropts, func(o runtime.Options) (*runtime.Container, error) {
			ct, err := runtime.Start(context.Background(), o)
			if err != nil {
				return nil, fmt.Errorf("start %s: %w", c.Name, err)
			}
			started = true
			unlock() // the state file says it runs now
			return ct, nil
		})
	} else if _, err = runtime.Daemon(context.Background(), runtime.DaemonOptions{Options: ropts, LogPath: c.LogPath(),
		ExtraLogPath: e.logFile, LogLevel: logLevel(e.logPriority), RunLock: runLock}); err == nil {
		c = nil // the monitor removes it when it stops (afterMonitor)
		fmt.Fprintln(e.stdout, r.name)
		return nil
	} else {
		err = fmt.Errorf("start-ephemeral %s: %w", c.Name, err)
	}
	if errors.Is(err, runtime.ErrCloneHook) {
		// The copy never became whole: it goes as a copy whose clone
		// hook failed goes (clone.Copy), without its destroy hooks.
		if rerr := destroy.Container(context.Background(), c, destroy.Options{Warn: func(s string) { e.warnf("%s", s) }}); rerr != nil {
			e.warnf("%v", rerr)
		}
		c = nil
	}
	return err
}

// interruptible is signal.NotifyContext for SIGINT, SIGTERM and SIGHUP,
// set up beside the caller, as foreground sets up its signals: the first
// signal.Notify starts the runtime's signal-watching goroutine and a
// thread for it, 0.27 ms before every ephemeral copy (tmark), whose copy
// is mostly a directory and a config file. A signal that comes before it
// is in place has its default effect, as one before the copy.
func interruptible() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		defer signal.Stop(sigs)
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		cancel()
		<-watched
	}
}

// newOrReclaim makes the directory of name, first removing the remains
// of an ephemeral container of that name whose ulxc was killed.
func (e *env) newOrReclaim(s *store.Store, name string) (*store.Container, func(), error) {
	c, unlock, err := s.New(name)
	if !errors.Is(err, store.ErrAbandoned) {
		return c, unlock, err
	}
	old, oldUnlock, err := s.Abandoned(name)
	if err != nil {
		return nil, nil, err
	}
	err = destroy.Container(context.Background(), old, destroy.Options{Warn: func(s string) { e.warnf("%s", s) }})
	oldUnlock()
	if err != nil {
		return nil, nil, err
	}
	return s.New(name)
}

// asUser makes the container's process run as u: its ids, home, and, with
// no command, its shell.
func asUser(s *specs.Spec, u clone.User, shell bool) {
	s.Process.User = specs.User{UID: u.UID, GID: u.GID}
	s.Process.Cwd = u.Home
	env := []string{"HOME=" + u.Home, "USER=" + u.Name, "LOGNAME=" + u.Name}
	for _, kv := range s.Process.Env {
		k, _, _ := strings.Cut(kv, "=")
		if k != "HOME" && k != "USER" && k != "LOGNAME" {
			env = append(env, kv)
		}
	}
	s.Process.Env = env
	if shell {
		sh := u.Shell
		if sh == "" {
			sh = "/bin/sh"
		}
		s.Process.Args = []string{sh}
	}
}

// removeEphemeral destroys the ephemeral container c once it stopped;
// cfg is its config when the caller holds it (nil: it is loaded).
func (e *env) removeEphemeral(c *store.Container, cfg *lxcconf.Config) error {
	if c == nil {
		return nil
	}
	unlock, err := c.Lock(true)
	if err != nil {
		return err
	}
	defer unlock()
	// LXC's ephemeral removal runs the destroy hooks too; a failing one
	// is a warning here, since an ephemeral container never outlives its
	// run. The config is loaded once for both (nil if it fails: each
	// then says why in its own way).
	if cfg == nil {
		cfg, _ = lxcconf.Load(c.ConfigPath(), lxcconf.Options{})
	}
	warn := func(s string) { e.warnf("%s", s) }
	if err := lifecycle.DestroyHooks(context.Background(), c, lifecycle.DestroyOptions{HookOutput: e.stderr,
		Warn: warn, Config: cfg}); err != nil {
		e.warnf("remove ephemeral %s: %v (removed all the same)", c.Name, err)
	}
	return destroy.Container(context.Background(), c, destroy.Options{Warn: warn, Config: cfg})
}

// afterMonitor is what the monitor of a daemonized container does once it
// stopped: an lxc.ephemeral container is removed, as LXC does.
func afterMonitor(o runtime.Options) {
	dumpSpec("monitor", o.Spec)
	if o.Spec == nil || o.Spec.Annotations[ocispec.AnnotationEphemeral] != "1" || o.ConfigPath == "" {
		return
	}
	dir := filepath.Dir(o.ConfigPath)
	s, err := store.Open(filepath.Dir(dir))
	if err != nil {
		fmt.Fprintf(os.Stderr, "ulxc: remove ephemeral %s: %v\n", o.Name, err)
		return
	}
	c, err := s.Get(filepath.Base(dir))
	if err == nil {
		err = (&env{stderr: os.Stderr}).removeEphemeral(c, nil)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ulxc: remove ephemeral %s: %v\n", o.Name, err)
	}
}

// readKey reads one SSH public key line from file.
func readKey(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	key := strings.TrimSpace(string(b))
	if key == "" || strings.ContainsAny(key, "\n\x00") || !strings.Contains(key, " ") {
		return "", fmt.Errorf("%s: want one SSH public key line (ssh-ed25519 AAAA... comment)", file)
	}
	return key, nil
}

// randomSuffix is 8 random letters and digits, as LXC's mkdtemp names.
func randomSuffix() string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [8]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b[:])
}
