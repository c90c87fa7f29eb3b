package ocispec

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookTypes are LXC's hook types in the order LXC runs them, with the OCI
// list each goes to ("" = an annotation).
var hookTypes = []struct {
	lxc string
	oci func(h *specs.Hooks) *[]specs.Hook
}{
	{"pre-start", func(h *specs.Hooks) *[]specs.Hook { return &h.CreateRuntime }},
	{"pre-mount", nil},
	{"mount", func(h *specs.Hooks) *[]specs.Hook { return &h.CreateContainer }},
	{"autodev", func(h *specs.Hooks) *[]specs.Hook { return &h.CreateContainer }},
	{"start-host", func(h *specs.Hooks) *[]specs.Hook { return &h.CreateRuntime }},
	{"start", func(h *specs.Hooks) *[]specs.Hook { return &h.StartContainer }},
	{"stop", nil},
	{"post-stop", func(h *specs.Hooks) *[]specs.Hook { return &h.Poststop }},
	{"clone", nil},
	{"destroy", nil},
}

// hooks sets Spec.Hooks and the ulxc.hook.* annotations.
func (c *converter) hooks() error {
	version := 0
	if v, ok := c.get("lxc.hook.version"); ok {
		switch v {
		case "0", "1":
			version = int(v[0] - '0')
		default:
			return keyErr("lxc.hook.version", v, ErrInvalidValue, "want 0 or 1")
		}
	}
	var hooks specs.Hooks
	found := false
	for _, t := range hookTypes {
		key := "lxc.hook." + t.lxc
		n := 0
		for _, e := range c.cfg.Lookup(key) {
			v := strings.TrimSpace(e.Value)
			if v == "" {
				continue
			}
			h := c.hook(t.lxc, v, version, e.Resolve)
			if t.oci == nil {
				c.ann[HookKey(t.lxc, n)] = string(appendHook(nil, h))
				n++
				continue
			}
			list := t.oci(&hooks)
			*list = append(*list, h)
			found = true
		}
	}
	if found {
		c.spec.Hooks = &hooks
	}
	return nil
}

// hook builds the OCI hook that runs one LXC hook command.
// resolve resolves a relative command against the file that named it.
func (c *converter) hook(typ, value string, version int, resolve func(string) string) specs.Hook {
	var h specs.Hook
	extra := []string{c.opts.Name, "lxc", typ}
	if version == 1 {
		extra = nil
	}
	f := strings.Fields(value)
	if strings.IndexFunc(value, isShellSpecial) < 0 && strings.Contains(f[0], "/") {
		f[0] = resolve(f[0])
		h.Path = f[0]
		h.Args = append(f, extra...)
	} else {
		// LXC runs every hook as `sh -c "exec VALUE NAME lxc TYPE"`; "$@"
		// passes the arguments without a second round of shell parsing.
		h.Path = "/bin/sh"
		h.Args = append([]string{"sh", "-c", "exec " + value + ` "$@"`, "sh"}, extra...)
	}
	h.Env = []string{
		"LXC_NAME=" + c.opts.Name,
		"LXC_ROOTFS_MOUNT=" + c.spec.Root.Path,
		"LXC_ROOTFS_PATH=" + c.spec.Root.Path,
		"LXC_CONFIG_FILE=" + c.opts.ConfigFile,
		"LXC_HOOK_TYPE=" + typ,
		"LXC_HOOK_SECTION=lxc",
		"LXC_HOOK_VERSION=" + strconv.Itoa(version),
		"PATH=" + DefaultPath,
	}
	for _, e := range c.cfg.Values("lxc.environment.hooks") {
		if e = strings.TrimSpace(e); strings.Contains(e, "=") {
			h.Env = append(h.Env, e)
		}
	}
	return h
}

// isShellSpecial reports runes that make a hook value shell syntax rather
// than a command and its words.
func isShellSpecial(r rune) bool {
	return strings.ContainsRune("|&;<>()$`\\\"'*?[]#~{}!", r)
}

// AnnotationCloneSource, set to the original's name on the spec of an
// ephemeral copy's start (never from a config key), has the runtime run
// the copy's clone hooks (ulxc.hook.clone.N) inside that start, once the
// copy's root is mounted, with LXC_SRC_NAME set to it.
const AnnotationCloneSource = "ulxc.clone.source"

// HookKey returns the annotation key of the n-th LXC hook of type typ
// that has no OCI equivalent: ulxc.hook.TYPE.N.
func HookKey(typ string, n int) string { return fmt.Sprintf("ulxc.hook.%s.%d", typ, n) }

// AnnotatedHooks decodes the hooks of an LXC type (pre-mount, stop, clone,
// destroy) that Convert recorded as annotations, in order.
func AnnotatedHooks(s *specs.Spec, typ string) ([]specs.Hook, error) {
	prefix := "ulxc.hook." + typ + "."
	idx := map[int]string{}
	for k, v := range s.Annotations {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("annotation %s: %w: bad index", k, ErrInvalidValue)
		}
		idx[n] = v
	}
	ns := make([]int, 0, len(idx))
	for n := range idx {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	out := make([]specs.Hook, 0, len(ns))
	for _, n := range ns {
		h, err := decodeHook(idx[n])
		if err != nil {
			return nil, fmt.Errorf("annotation %s: %w", HookKey(typ, n), err)
		}
		if h.Path == "" {
			return nil, fmt.Errorf("annotation %s: %w: no path", HookKey(typ, n), ErrInvalidValue)
		}
		out = append(out, h)
	}
	return out, nil
}
