package main

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/ulxc/ulxc/clone"
	"github.com/ulxc/ulxc/lifecycle"
	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/store"
)

const copyUsage = `Usage: ulxc copy [-n] ORIG [-N] NEW [-s] [-B dir|overlay] [-p NEWPATH] [-K] [-M] [-m bind=SRC[:DEST][:ro]]... [-a]
       ulxc copy -n ORIG -N NEW -R
       ulxc copy -n ORIG -e [-N NEW] [-d|-F] [-D] [-t] [-m ...] [-- CMD...]

Copy a container, as lxc-copy does. A full copy (-B dir, the default)
copies the root filesystem inside your user namespace, so owners, modes,
setuid bits, xattrs, file capabilities and hardlinks survive. A snapshot
(-s, or -B overlay) takes no time and no space: its root is an overlay whose
lower layer is ORIG's root filesystem, written as LXC writes it
(lxc.rootfs.path = overlay:LOWER:UPPER), so LXC can run it too; ORIG then
refuses destroy until its snapshots are gone (destroy -s takes them along).
The copy gets its own name in its config, /etc/hostname and /etc/hosts, and
new MAC addresses. -e starts an ephemeral copy (see 'ulxc start-ephemeral').

Examples:
  ulxc copy web web2
  ulxc copy -n web -N web-snap -s
  ulxc copy -n web -N web2 -R
`

type copyFlags struct {
	name, newName, newPath, backend string
	rename, snapshot, allowRunning  bool
	keepName, keepMAC               bool
	mounts                          []string
	ephemeral, foreground, daemon   bool
	keepData, tmpfs                 bool
	fsSize                          string
}

func cmdCopy(e *env, args []string) error {
	fs := e.newFlagSet("copy")
	var f copyFlags
	fs.StringVarP(&f.name, "name", "n", "", "the original container `NAME`")
	fs.StringVarP(&f.newName, "newname", "N", "", "the copy's `NAME`")
	fs.StringVarP(&f.newPath, "newpath", "p", "", "the store (lxcpath) of the copy; default ORIG's")
	fs.BoolVarP(&f.rename, "rename", "R", false, "rename ORIG to NEW instead")
	fs.BoolVarP(&f.snapshot, "snapshot", "s", false, "an overlay snapshot instead of a full copy")
	fs.StringVarP(&f.backend, "backingstorage", "B", "", "`dir` (full copy) or overlay (snapshot)")
	fs.BoolVarP(&f.allowRunning, "allowrunning", "a", false, "copy ORIG even while it runs")
	fs.BoolVarP(&f.keepName, "keepname", "K", false, "keep ORIG's host name")
	fs.BoolVarP(&f.keepMAC, "keepmac", "M", false, "keep ORIG's MAC addresses")
	stringsVarP(fs, &f.mounts, "mount", "m", "bind mount `bind=SRC[:DEST][:ro]` in the copy (repeatable)")
	fs.BoolVarP(&f.ephemeral, "ephemeral", "e", false, "start an ephemeral copy, removed when it stops")
	fs.BoolVarP(&f.foreground, "foreground", "F", false, "with -e: run in the foreground")
	fs.BoolVarP(&f.daemon, "daemon", "d", false, "with -e: run in the background (lxc-copy's default)")
	fs.BoolVarP(&f.keepData, "keepdata", "D", false, "with -e: keep the copy after it stops")
	fs.BoolVarP(&f.tmpfs, "tmpfs", "t", false, "with -e: the upper layer on a tmpfs")
	fs.StringVarP(&f.fsSize, "fssize", "L", "", "size of a block-device backend (none here: refused)")
	if err := e.parse(fs, copyUsage, args); err != nil {
		return err
	}
	pos, cmd := fs.Args(), []string(nil)
	if at := fs.ArgsLenAtDash(); at >= 0 {
		pos, cmd = fs.Args()[:at], fs.Args()[at:]
	}
	for _, p := range pos {
		switch {
		case f.name == "":
			f.name = p
		case f.newName == "":
			f.newName = p
		default:
			return usagef("copy: unexpected argument %q (see 'ulxc copy --help')", p)
		}
	}
	if f.name == "" {
		return usagef("copy: no original container (-n ORIG)")
	}
	if f.ephemeral {
		return e.copyEphemeral(f, cmd)
	}
	if err := f.checkCopy(len(cmd) > 0); err != nil {
		return err
	}
	s, err := e.openStore()
	if err != nil {
		return err
	}
	orig, err := s.Get(f.name)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	unlock, err := orig.Lock(false)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	defer unlock()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if f.rename {
		if err := e.mustBeStopped(orig, "rename"); err != nil {
			return err
		}
		c, err := clone.Rename(ctx, s, orig, f.newName)
		if err != nil {
			return err
		}
		e.infof("Renamed %s to %s", f.name, c.Name)
		return nil
	}
	if !f.allowRunning {
		if err := e.mustBeStopped(orig, "copy"); err != nil {
			return err
		}
	}
	opts, err := f.options(e)
	if err != nil {
		return err
	}
	dst := s
	if f.newPath != "" {
		if dst, err = storeAt(e, f.newPath); err != nil {
			return err
		}
	}
	src, err := clone.Open(orig)
	if err != nil {
		return fmt.Errorf("copy %s: %w", f.name, err)
	}
	c, err := clone.Copy(ctx, src, dst, f.newName, opts)
	if err != nil {
		return err
	}
	what := "copy"
	if opts.Snapshot {
		what = "snapshot"
	}
	e.infof("Created %s %s of %s in %s", what, c.Name, f.name, c.Dir)
	return nil
}

// checkCopy rejects what a plain copy or rename does not take.
func (f *copyFlags) checkCopy(hasCmd bool) error {
	switch {
	case f.newName == "":
		return usagef("copy: no name for the copy (-N NEW)")
	case hasCmd:
		return usagef("copy: a command after -- needs -e")
	case f.foreground || f.daemon || f.keepData || f.tmpfs:
		return usagef("copy: -F, -d, -D and -t go with -e")
	case f.fsSize != "":
		return usagef("copy: -L: dir and overlay copies have no size")
	case f.rename && (f.snapshot || f.backend != "" || f.newPath != "" || len(f.mounts) > 0 || f.keepName || f.keepMAC || f.allowRunning):
		return usagef("copy: -R renames in place and takes no other option")
	}
	return nil
}

func (f *copyFlags) options(e *env) (clone.Options, error) {
	opts := clone.Options{Snapshot: f.snapshot, KeepName: f.keepName, KeepMAC: f.keepMAC, Warn: func(s string) { e.warnf("%s", s) },
		AfterCopy: e.cloneHooks(f.name)}
	if f.backend != "" {
		b, err := store.ParseBackend(f.backend)
		if err != nil {
			return opts, usagef("copy: -B: %v", err)
		}
		opts.Backend = b
		if f.snapshot && b == store.BackendDir {
			return opts, usagef("copy: -s makes an overlay snapshot: -s and -B dir conflict")
		}
	}
	for _, m := range f.mounts {
		bm, err := clone.ParseMount(m)
		if err != nil {
			return opts, usagef("copy: %v", err)
		}
		opts.Mounts = append(opts.Mounts, bm)
	}
	return opts, nil
}

// cloneHooks returns the clone.Options.AfterCopy that runs the copy's
// lxc.hook.clone hooks, as lxc-copy does, for a copy of srcName. (An
// ephemeral copy's run inside its start instead: ephemeral.)
func (e *env) cloneHooks(srcName string) func(*store.Container) error {
	return func(c *store.Container) error {
		spec, err := lifecycle.SpecOf(c, lifecycle.Options{})
		if err != nil {
			return err
		}
		overlay, err := overlayDriver()
		if err != nil {
			return err
		}
		return runtime.CloneHooks(context.Background(), spec, c.Name, c.ConfigPath(), srcName, overlay, e.stderr)
	}
}

// storeAt opens the store at path (-p NEWPATH).
func storeAt(e *env, path string) (*store.Store, error) {
	s, err := store.Open(path)
	if err != nil {
		return nil, err
	}
	s.Warn = func(msg string) { e.warnf("%s", msg) }
	return s, nil
}

// mustBeStopped refuses a container that runs, for verb.
func (e *env) mustBeStopped(c *store.Container, verb string) error {
	_, st, err := lifecycle.Check(c)
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, c.Name, err)
	}
	if st.Status != runtime.Stopped {
		// What to do is the hint's (hints.go: stop it first), said
		// once; the error adds only what this verb offers instead.
		if verb == "copy" {
			return fmt.Errorf("%s %s: %w; -a copies it running", verb, c.Name, lifecycle.RunningError(st))
		}
		return fmt.Errorf("%s %s: %w", verb, c.Name, lifecycle.RunningError(st))
	}
	return nil
}

// cloneChild is clone.ChildEntry: copies and snapshots inside the user
// namespace.
var cloneChild = clone.ChildMain

// cloneHookChild is runtime.CloneHookEntry: lxc.hook.clone with the copy's
// root mounted, inside its user namespace.
var cloneHookChild = runtime.CloneHookMain

// fuseChild is runtime.FuseEntry: the fuse-overlayfs daemon of an overlay
// root, in namespaces of its own.
var fuseChild = runtime.FuseMain
