package lifecycle

import (
	"errors"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/store"
)

// Source is where a container's config is read from: its own config
// file, or LXC's -f (--rcfile) in its place, with LXC's -s (--define)
// settings on top.
type Source struct {
	// RCFile replaces the container's config file for this start (an
	// absolute path); default the container's config.
	RCFile string
	// Defines are KEY=VAL settings applied on top, in order, as
	// lxc-start -s does: a later value of a single-valued key wins, a
	// list key gets one more. The caller has checked them. Default none.
	Defines []string
}

// Path is the config file src reads for c.
func (src Source) Path(c *store.Container) string {
	if src.RCFile != "" {
		return src.RCFile
	}
	return c.ConfigPath()
}

// Load reads the config of c from src; warn, when set, gets the parser's
// warnings.
func (src Source) Load(c *store.Container, warn func(lxcconf.Warning)) (*lxcconf.Config, error) {
	cfg, err := lxcconf.Load(src.Path(c), lxcconf.Options{Warn: warn})
	if err != nil {
		return nil, err
	}
	for _, d := range src.Defines {
		k, v, _ := strings.Cut(d, "=")
		cfg.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return cfg, nil
}

// Options say which spec to make of a container.
type Options struct {
	// Source is where the config comes from; default the container's.
	Source Source
	// Command replaces the config's init command; default the config's.
	Command []string
	// Execute makes lxc-execute's spec: Command, or lxc.execute.cmd of
	// the config without one (ErrNoCommand without either), is pid 1, and
	// lxc.signal.halt defaults to SIGTERM, since pid 1 ignores the
	// system containers' SIGPWR. Default off.
	Execute bool
	// Publish forwards ports of the host for this run, in
	// ocispec.ParseForward's form ([tcp:|udp:][ADDR:]HOSTPORT:CTPORT); a
	// forward that cannot be added is a *PublishError. Default none.
	Publish []string
	// ConfigWarn receives the config parser's warnings; default none.
	ConfigWarn func(lxcconf.Warning)
	// Config is the config as Source.Load returns it, when the caller
	// holds it already (the copy start-ephemeral has just written);
	// default: Source.Load reads it.
	Config *lxcconf.Config
}

// ErrNoCommand reports an Execute spec with no Command and no
// lxc.execute.cmd in the config (a *NoCommandError).
var ErrNoCommand = errors.New("no command")

// NoCommandError is ErrNoCommand with the config file that lacks
// lxc.execute.cmd.
type NoCommandError struct{ ConfigPath string }

func (e *NoCommandError) Error() string {
	return ErrNoCommand.Error() + ": " + e.ConfigPath + " sets no lxc.execute.cmd"
}

// Unwrap returns ErrNoCommand.
func (e *NoCommandError) Unwrap() error { return ErrNoCommand }

// PublishError is a forward of Options.Publish that could not be added to
// the spec; Err is ocispec.AddForwards' (ocispec.ErrInvalidValue for a
// malformed one, ocispec.ErrNoUserNet without user-mode networking).
type PublishError struct{ Err error }

func (e *PublishError) Error() string { return "publish: " + e.Err.Error() }

// Unwrap returns Err.
func (e *PublishError) Unwrap() error { return e.Err }

// Spec finds the container name in s and returns the spec that a start of
// it with opts runs. The container is nil when it was not found.
func Spec(s *store.Store, name string, opts Options) (*store.Container, *specs.Spec, error) {
	c, err := s.Get(name)
	if err != nil {
		return nil, nil, err
	}
	spec, err := SpecOf(c, opts)
	return c, spec, err
}

// SpecOf is Spec of a container already found.
func SpecOf(c *store.Container, opts Options) (*specs.Spec, error) {
	src := opts.Source
	cfg := opts.Config
	if cfg == nil {
		var err error
		if cfg, err = src.Load(c, opts.ConfigWarn); err != nil {
			return nil, err
		}
	}
	cmd := opts.Command
	if opts.Execute {
		if opts.Config != nil {
			cfg = cfg.Clone() // the caller's is not edited
		}
		if len(cmd) == 0 {
			v, _ := cfg.Get("lxc.execute.cmd")
			var err error
			if cmd, err = ocispec.SplitCommand(v); err != nil || len(cmd) == 0 {
				return nil, &NoCommandError{ConfigPath: src.Path(c)}
			}
		}
		if _, ok := cfg.Get("lxc.signal.halt"); !ok {
			cfg.Add("lxc.signal.halt", "SIGTERM")
		}
	}
	spec, err := ocispec.Convert(cfg, ocispec.Options{Name: c.Name, Dir: c.Dir, ConfigFile: src.Path(c), Command: cmd})
	if err != nil {
		return nil, err
	}
	if err := ocispec.AddForwards(spec, opts.Publish); err != nil {
		return nil, &PublishError{Err: err}
	}
	return spec, nil
}
