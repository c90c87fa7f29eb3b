package ocispec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ulxc/ulxc/lxcconf"
)

var (
	// ErrNoIDMap reports a config without lxc.idmap lines for both users and
	// groups: ulxc never runs a container unmapped.
	ErrNoIDMap = errors.New("no id map")
	// ErrUnsupported reports a setting that ulxc cannot honour rootless (a
	// storage backend, a network type, a shared namespace).
	ErrUnsupported = errors.New("not supported")
	// ErrInvalidValue reports a value that does not parse.
	ErrInvalidValue = errors.New("invalid value")
	// ErrUnsafePath reports a mount destination that leaves the rootfs.
	ErrUnsafePath = errors.New("path escapes the rootfs")
)

// KeyError is an error in the value of one config key.
type KeyError struct {
	Key   string
	Value string
	Err   error
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("%s = %q: %v", e.Key, e.Value, e.Err)
}

func (e *KeyError) Unwrap() error { return e.Err }

// keyErr returns a *KeyError wrapping sentinel with a detail message.
func keyErr(key, value string, sentinel error, format string, a ...any) error {
	err := sentinel
	if format != "" {
		err = fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, a...))
	}
	return &KeyError{Key: key, Value: value, Err: err}
}

// Version is the ociVersion of the specs Convert writes. Every field it sets
// exists in runtime-spec 1.1.0 (linux.resources.unified and the
// createRuntime/createContainer/startContainer hooks are the newest), and
// older runtimes such as Debian 12's crun 1.8 refuse any later version.
const Version = "1.1.0"

// Source is a parsed LXC config as LXC would apply it. *lxcconf.Config
// satisfies it.
type Source interface {
	// Get returns the value of a single-valued key.
	Get(key string) (string, bool)
	// Values returns every value of a list key, in order.
	Values(key string) []string
	// Path returns the value of a key that names a file, resolved against
	// the directory of the file that set it.
	Path(key string) (string, bool)
	// Keys returns the keys set under prefix.
	Keys(prefix string) []string
	// Lookup returns the entries of a key with the file that set each,
	// against which a relative hook command resolves.
	Lookup(key string) []lxcconf.Entry
}

// Options tunes Convert. The zero value converts a config with no name and no
// directory, which works if the config names its rootfs.
type Options struct {
	// Name is the container's name: the hostname when lxc.uts.name is unset,
	// and LXC_NAME for hooks. Default "".
	Name string
	// Dir is the container's directory; the rootfs defaults to Dir/rootfs.
	// Default "": then lxc.rootfs.path is required.
	Dir string
	// ConfigFile is the config's path, LXC_CONFIG_FILE for hooks. Default
	// Dir/config.
	ConfigFile string
	// Command replaces the init command (`ulxc start NAME -- CMD`). Default
	// nil: lxc.init.cmd, else /sbin/init.
	Command []string
	// LookupEnv gives the value of a bare KEY in lxc.environment. Default
	// os.LookupEnv.
	LookupEnv func(key string) (string, bool)
}

// Convert returns the runtime spec of the container that cfg describes.
func Convert(cfg Source, opts Options) (*specs.Spec, error) {
	if opts.ConfigFile == "" && opts.Dir != "" {
		opts.ConfigFile = filepath.Join(opts.Dir, "config")
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	c := &converter{cfg: cfg, opts: opts, ann: map[string]string{}, unapplied: map[string]bool{}}
	c.spec = &specs.Spec{
		Version:     Version,
		Process:     &specs.Process{},
		Linux:       &specs.Linux{},
		Annotations: c.ann,
	}
	steps := []func() error{
		c.root,
		c.idmaps,
		c.process,
		c.namespaces,
		c.mounts,
		c.hooks,
		c.cgroups,
		c.linuxMisc,
		c.seccomp,
		c.annotations,
		c.leftovers,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if len(c.unapplied) > 0 {
		c.ann[AnnotationUnapplied] = strings.Join(sortedKeys(c.unapplied), ",")
	}
	return c.spec, nil
}

// converter holds one conversion's state.
type converter struct {
	cfg       Source
	opts      Options
	spec      *specs.Spec
	ann       map[string]string
	unapplied map[string]bool
	hostNet   bool // the host network namespace is shared
	keepUTS   bool
}

// get returns a single-valued key, trimmed.
func (c *converter) get(key string) (string, bool) {
	v, ok := c.cfg.Get(key)
	return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
}

// words returns the blank-separated words of every value of a list key.
func (c *converter) words(key string) []string {
	var out []string
	for _, v := range c.cfg.Values(key) {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// root sets Spec.Root from lxc.rootfs.path and lxc.rootfs.options.
func (c *converter) root() error {
	const key = "lxc.rootfs.path"
	raw, ok := c.get(key)
	var path string
	overlay := false
	switch {
	case !ok && c.opts.Dir == "":
		return keyErr(key, "", ErrInvalidValue, "not set, and no container directory to default to")
	case !ok:
		path = filepath.Join(c.opts.Dir, "rootfs")
	default:
		// Path removes "dir:" and resolves against the file that set it.
		path, _ = c.cfg.Path(key)
		if o, ok, err := ParseOverlay(path); ok {
			if err != nil {
				return keyErr(key, raw, ErrInvalidValue, "%v", err)
			}
			if c.opts.Dir == "" {
				return keyErr(key, raw, ErrInvalidValue, "an overlay needs a container directory to mount it on")
			}
			c.setOverlay(o)
			overlay = true
			path = filepath.Join(c.opts.Dir, "rootfs")
			break
		}
		if backend, _, ok := strings.Cut(raw, ":"); ok && !strings.Contains(backend, "/") && backend != "dir" {
			return keyErr(key, raw, ErrUnsupported, "storage backend %q (ulxc runs plain directories and overlays)", backend)
		}
		if !filepath.IsAbs(path) {
			if c.opts.Dir == "" {
				return keyErr(key, raw, ErrInvalidValue, "relative path and no container directory to resolve it against")
			}
			path = filepath.Join(c.opts.Dir, path)
		}
		path = filepath.Clean(path)
	}
	c.spec.Root = &specs.Root{Path: path}
	if v, ok := c.get("lxc.rootfs.options"); ok {
		for _, o := range strings.Split(v, ",") {
			switch strings.TrimSpace(o) {
			case "ro":
				c.spec.Root.Readonly = true
			case "rw":
				c.spec.Root.Readonly = false
			case "userxattr":
				// What ulxc always mounts an overlay with; LXC needs it
				// said to mount one in a user namespace.
				if !overlay {
					return keyErr("lxc.rootfs.options", v, ErrUnsupported, "option %q applies only to an overlay rootfs", o)
				}
			case "":
			default:
				return keyErr("lxc.rootfs.options", v, ErrUnsupported, "option %q (ulxc applies only ro and rw to the rootfs, and userxattr to an overlay)", o)
			}
		}
	}
	return nil
}
