package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ulxc/ulxc/destroy"
	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/store"
)

// DestroyOptions configure Destroy.
type DestroyOptions struct {
	// Force kills a running container first, as lxc-destroy -f does (it
	// is about to be deleted anyway); default: a running container is
	// refused with store.ErrRunning.
	Force bool
	// HookOutput receives the output of the lxc.hook.destroy hooks;
	// default discarded.
	HookOutput io.Writer
	// Warn receives what is worth telling but stops nothing; default
	// none.
	Warn func(string)
	// Config, when set, is c's config as the caller already loaded it
	// (lxcconf.Load of c.ConfigPath()); default: DestroyHooks loads it.
	Config *lxcconf.Config
}

// Destroy removes the container c completely (destroy.Container) once it
// is stopped, and its runtime directories, after its lxc.hook.destroy
// hooks ran, as lxc-destroy does. The container's directory says whether
// it runs and where: a run that cannot be reached is never destroyed
// under its supervisor. The caller holds no lock on c.
func Destroy(ctx context.Context, c *store.Container, opts DestroyOptions) error {
	unlock, err := c.Lock(false)
	if err != nil {
		return fmt.Errorf("destroy: %w", err)
	}
	defer unlock()
	run, st, err := Check(c)
	if err != nil {
		return fmt.Errorf("destroy %s: %w", c.Name, err)
	}
	if st.Status != runtime.Stopped {
		if !opts.Force {
			return fmt.Errorf("destroy %s: %w", c.Name, RunningError(st))
		}
		if _, err := runtime.Stop(ctx, run.Dir, runtime.StopOptions{Kill: true}); err != nil && !errors.Is(err, runtime.ErrNotRunning) {
			return fmt.Errorf("destroy %s: stop: %w", c.Name, err)
		}
		if run, st, err = Check(c); err != nil || st.Status != runtime.Stopped {
			return fmt.Errorf("destroy %s: %w after stopping it: %v", c.Name, RunningError(st), err)
		}
	}
	if err := DestroyHooks(ctx, c, opts); err != nil {
		return fmt.Errorf("destroy %s: %w (the container is kept)", c.Name, err)
	}
	if err := destroy.Container(ctx, c, destroy.Options{Warn: opts.Warn}); err != nil {
		return err
	}
	_ = os.RemoveAll(run.Dir)
	if here, err := c.RuntimeDir(); err == nil && here != run.Dir {
		_ = os.RemoveAll(here)
	}
	return nil
}

// DestroyHooks runs c's lxc.hook.destroy hooks, as Destroy does before it
// removes anything (opts.Force unused). A config ulxc cannot read is no
// reason to keep a container: only one that names destroy hooks must
// convert.
func DestroyHooks(ctx context.Context, c *store.Container, opts DestroyOptions) error {
	cfg, err := opts.Config, error(nil)
	if cfg == nil {
		cfg, err = lxcconf.Load(c.ConfigPath(), lxcconf.Options{})
	}
	if err != nil {
		if opts.Warn != nil {
			opts.Warn(fmt.Sprintf("destroy %s: no destroy hooks run: %v", c.Name, err))
		}
		return nil
	}
	if len(cfg.Values("lxc.hook.destroy")) == 0 {
		return nil
	}
	spec, err := SpecOf(c, Options{})
	if err != nil {
		return fmt.Errorf("lxc.hook.destroy: %w: fix %s or remove its lxc.hook.destroy lines", err, c.ConfigPath())
	}
	out := opts.HookOutput
	if out == nil {
		out = io.Discard
	}
	return runtime.DestroyHooks(ctx, spec, c.Name, c.ConfigPath(), out)
}
