package ocispec

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Annotation keys; doc.go describes each.
const (
	AnnotationName          = "ulxc.name"
	AnnotationSignalHalt    = "ulxc.signal.halt"
	AnnotationSignalStop    = "ulxc.signal.stop"
	AnnotationSignalReboot  = "ulxc.signal.reboot"
	AnnotationTTYMax        = "ulxc.tty.max"
	AnnotationTTYDir        = "ulxc.tty.dir"
	AnnotationPtyMax        = "ulxc.pty.max"
	AnnotationConsolePath   = "ulxc.console.path"
	AnnotationConsoleLog    = "ulxc.console.logfile"
	AnnotationStartAuto     = "ulxc.start.auto"
	AnnotationStartDelay    = "ulxc.start.delay"
	AnnotationStartOrder    = "ulxc.start.order"
	AnnotationLogFile       = "ulxc.log.file"
	AnnotationLogLevel      = "ulxc.log.level"
	AnnotationEphemeral     = "ulxc.ephemeral"
	AnnotationApparmor      = "ulxc.apparmor.profile"
	AnnotationMountAuto     = "ulxc.mount.auto"
	AnnotationUnapplied     = "ulxc.unapplied"
	annotationConsoleSize   = "ulxc.console.size"
	annotationConsoleBuffer = "ulxc.console.buffer.size"
	annotationConsoleRotate = "ulxc.console.rotate"
)

// MountCreateKey returns the annotation key that holds create=dir|file for
// Spec.Mounts[i]: ulxc.mount.I.create.
func MountCreateKey(i int) string { return "ulxc.mount." + strconv.Itoa(i) + ".create" }

// MountOptionalKey returns the annotation key that marks Spec.Mounts[i]
// optional: ulxc.mount.I.optional.
func MountOptionalKey(i int) string { return "ulxc.mount." + strconv.Itoa(i) + ".optional" }

// NetKey returns the annotation key of lxc.net.N.SUB: ulxc.net.N.SUB.
func NetKey(n int, sub string) string { return "ulxc.net." + strconv.Itoa(n) + "." + sub }

// Unapplied returns the config keys that s records as asked for but not
// enforced (the ulxc.unapplied annotation).
func Unapplied(s *specs.Spec) []string {
	v := s.Annotations[AnnotationUnapplied]
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// copied are config keys carried verbatim into annotations. The lookup
// tables of this package are slices and switches, not maps: a package map
// is built when the program starts, by every ulxc command, attach included,
// whether or not it converts a config.
var copied = [...]struct{ key, ann string }{
	{"lxc.tty.dir", AnnotationTTYDir},
	{"lxc.console.path", AnnotationConsolePath},
	{"lxc.console.logfile", AnnotationConsoleLog},
	{"lxc.console.size", annotationConsoleSize},
	{"lxc.console.buffer.size", annotationConsoleBuffer},
	{"lxc.console.rotate", annotationConsoleRotate},
	{"lxc.start.auto", AnnotationStartAuto},
	{"lxc.start.delay", AnnotationStartDelay},
	{"lxc.start.order", AnnotationStartOrder},
	{"lxc.log.file", AnnotationLogFile},
	{"lxc.log.level", AnnotationLogLevel},
	{"lxc.ephemeral", AnnotationEphemeral},
	{"lxc.apparmor.profile", AnnotationApparmor},
}

// isCopied reports whether key is one of copied.
func isCopied(key string) bool {
	for _, c := range copied {
		if c.key == key {
			return true
		}
	}
	return false
}

// annotations sets the annotations that come straight from one key.
func (c *converter) annotations() error {
	c.ann[AnnotationName] = c.opts.Name
	for _, s := range []struct{ key, ann, def string }{
		{"lxc.signal.halt", AnnotationSignalHalt, "SIGPWR"},
		{"lxc.signal.stop", AnnotationSignalStop, "SIGKILL"},
		{"lxc.signal.reboot", AnnotationSignalReboot, "SIGINT"},
	} {
		v, ok := c.get(s.key)
		if !ok {
			c.ann[s.ann] = s.def
			continue
		}
		sig, err := ParseSignal(v)
		if err != nil {
			return &KeyError{Key: s.key, Value: v, Err: err}
		}
		c.ann[s.ann] = SignalName(sig)
	}
	c.ann[AnnotationTTYMax] = "0"
	if v, ok := c.get("lxc.tty.max"); ok {
		if _, err := strconv.ParseUint(v, 10, 16); err != nil {
			return keyErr("lxc.tty.max", v, ErrInvalidValue, "not a number")
		}
		c.ann[AnnotationTTYMax] = v
	}
	for _, cp := range copied {
		if v, ok := c.get(cp.key); ok {
			c.ann[cp.ann] = v
		}
	}
	if v, ok := c.get("lxc.apparmor.profile"); ok && v != "unconfined" {
		c.unapplied["lxc.apparmor.profile"] = true
	}
	return nil
}

// handled are the keys Convert applies or records; ignoredKeys change
// nothing a runtime does (doc.go lists them).
var (
	handled = []string{
		"lxc.rootfs.path", "lxc.rootfs.options", "lxc.init.cmd", "lxc.init.cwd", "lxc.init.uid",
		"lxc.init.gid", "lxc.init.groups", "lxc.environment", "lxc.environment.hooks", "lxc.no_new_privs",
		"lxc.cap.drop", "lxc.cap.keep", "lxc.idmap", "lxc.namespace.keep", "lxc.uts.name",
		"lxc.mount.auto", "lxc.mount.entry", "lxc.mount.fstab", "lxc.pty.max", "lxc.tty.max", "lxc.arch",
		"lxc.hook.version", "lxc.signal.halt", "lxc.signal.stop", "lxc.signal.reboot",
		"lxc.prlimit.*", "lxc.net.*", "lxc.cgroup2.*", "lxc.cgroup.*", "lxc.sysctl.*", "lxc.proc.*",
		"lxc.hook.*", "lxc.namespace.share.*", "lxc.seccomp.profile",
	}
	ignoredKeys = []string{
		"lxc.include", "lxc.autodev", "lxc.autodev.tmpfs.size", "lxc.rootfs.mount", "lxc.rootfs.managed",
		"lxc.apparmor.allow_incomplete", "lxc.apparmor.allow_nesting", "lxc.seccomp.allow_nesting",
		"lxc.monitor.*", "lxc.group", "lxc.execute.cmd", "lxc.environment.runtime", "lxc.keyring.session",
		"lxc.sched.core", "lxc.namespace.clone", "lxc.log.syslog",
	}
)

func matchKey(patterns []string, key string) bool {
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(key, prefix) || p == key {
			return true
		}
	}
	return false
}

// leftovers marks every other key set in the config as unapplied: seccomp
// and SELinux settings, time offsets, LXC keys ulxc has no use for.
func (c *converter) leftovers() error {
	for _, key := range c.cfg.Keys("lxc.") {
		if isCopied(key) || matchKey(handled, key) || matchKey(ignoredKeys, key) {
			continue
		}
		if strings.TrimSpace(strings.Join(c.cfg.Values(key), "")) == "" {
			if v, _ := c.cfg.Get(key); strings.TrimSpace(v) == "" {
				continue
			}
		}
		c.unapplied[key] = true
	}
	return nil
}

// ParseSignal parses a signal as lxc.signal.* writes it: a name with or
// without SIG (any case), SIGRTMIN+N, SIGRTMAX-N, or a number.
func ParseSignal(s string) (unix.Signal, error) {
	bad := fmt.Errorf("%w: %q is not a signal", ErrInvalidValue, s)
	name := strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(name); err == nil {
		if n < 1 || n > sigRTMax {
			return 0, bad
		}
		return unix.Signal(n), nil
	}
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	for _, rt := range []struct {
		prefix string
		base   int
		sign   int
	}{{"SIGRTMIN+", sigRTMin, 1}, {"SIGRTMAX-", sigRTMax, -1}} {
		if rest, ok := strings.CutPrefix(name, rt.prefix); ok {
			n, err := strconv.Atoi(rest)
			sig := rt.base + rt.sign*n
			if err != nil || n < 0 || sig < sigRTMin || sig > sigRTMax {
				return 0, bad
			}
			return unix.Signal(sig), nil
		}
	}
	switch name {
	case "SIGRTMIN":
		return unix.Signal(sigRTMin), nil
	case "SIGRTMAX":
		return unix.Signal(sigRTMax), nil
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, bad
}

// The real-time signal range of glibc and musl programs (the kernel's 32
// and 33 are reserved by the C libraries).
const (
	sigRTMin = 34
	sigRTMax = 64
)

// SignalName returns the name ParseSignal reads back: SIGPWR, SIGRTMIN+3.
func SignalName(sig unix.Signal) string {
	if int(sig) >= sigRTMin && int(sig) <= sigRTMax {
		return "SIGRTMIN+" + strconv.Itoa(int(sig)-sigRTMin)
	}
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return strconv.Itoa(int(sig))
}
