package hostcheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrBadVersion means a kernel release string does not start with
// MAJOR.MINOR.
var ErrBadVersion = errors.New("not a kernel version")

// Version is a kernel release: "6.18.44-fc-v669" is {6, 18, 44, "-fc-v669"}.
type Version struct {
	Major, Minor, Patch int
	Extra               string // whatever follows the numbers, verbatim
}

// ParseVersion parses a kernel release as uname -r prints it. It needs
// MAJOR.MINOR; the patch level is optional and anything after the numbers
// ("-28-amd64", "-rc1", "+", ".el7.x86_64") is kept in Extra, so that no
// distribution's suffix can break it (LXC's shell script once did).
func ParseVersion(s string) (Version, error) {
	var v Version
	rest := strings.TrimSpace(s)
	var ok bool
	if v.Major, rest, ok = leadingInt(rest); !ok {
		return Version{}, fmt.Errorf("%q: %w", s, ErrBadVersion)
	}
	if rest, ok = strings.CutPrefix(rest, "."); !ok {
		return Version{}, fmt.Errorf("%q: %w", s, ErrBadVersion)
	}
	if v.Minor, rest, ok = leadingInt(rest); !ok {
		return Version{}, fmt.Errorf("%q: %w", s, ErrBadVersion)
	}
	if after, found := strings.CutPrefix(rest, "."); found {
		if p, r, ok := leadingInt(after); ok {
			v.Patch, rest = p, r
		}
	}
	v.Extra = rest
	return v, nil
}

// leadingInt splits off the decimal number s starts with; ok is false when
// there is none or it does not fit 31 bits.
func leadingInt(s string) (n int, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 9 {
		return 0, s, false
	}
	n, err := strconv.Atoi(s[:i])
	return n, s[i:], err == nil
}

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d%s", v.Major, v.Minor, v.Patch, v.Extra)
}

// Config is a kernel build configuration: "CONFIG_USER_NS" -> "y", "m", a
// number or a quoted string; "n" for "# CONFIG_X is not set".
type Config map[string]string

// maxConfig bounds a kernel config, decompressed: Debian's is 0.3 MB.
const maxConfig = 64 << 20

// ParseConfig parses a kernel config, plain or gzip-compressed (as
// /proc/config.gz is); it tells them apart by content, not by name.
func ParseConfig(r io.Reader) (Config, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		text, err := gunzip(br)
		if err != nil {
			return nil, fmt.Errorf("gunzip: %w", err)
		}
		br = bufio.NewReader(bytes.NewReader(text))
	}
	c := Config{}
	sc := bufio.NewScanner(io.LimitReader(br, maxConfig))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, ok := strings.CutPrefix(line, "# "); ok {
			if name, ok = strings.CutSuffix(name, " is not set"); ok && strings.HasPrefix(name, "CONFIG_") {
				c[name] = "n"
			}
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if ok && strings.HasPrefix(name, "CONFIG_") {
			c[name] = val
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read kernel config: %w", err)
	}
	return c, nil
}

// gunzip decompresses r with gzip(1), which every system ulxc runs on has
// (Debian: Essential). compress/gzip would put its package initialisation
// (compress/flate's and hash/crc32's tables) in every ulxc process, attach
// and start included, for checkconfig's one read of /proc/config.gz: 0.03
// ms and eight fresh memory pages before main.
func gunzip(r io.Reader) ([]byte, error) {
	path, err := exec.LookPath("gzip")
	if err != nil {
		return nil, fmt.Errorf("%w (install gzip)", err)
	}
	out := &cappedBuffer{max: maxConfig}
	var stderr bytes.Buffer
	cmd := exec.Command(path, "-dc")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, out, &stderr
	if err := cmd.Run(); err != nil {
		if out.over {
			return nil, fmt.Errorf("over %d bytes decompressed", maxConfig)
		}
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("%s: %w: %s", path, err, msg)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out.buf.Bytes(), nil
}

// cappedBuffer keeps what is written to it up to max bytes, and refuses
// more. The buffer is a field, not embedded: an embedded bytes.Buffer's
// ReadFrom would let io.Copy around Write.
type cappedBuffer struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.buf.Len()+len(p) > b.max {
		b.over = true
		return 0, errors.New("too much output")
	}
	return b.buf.Write(p)
}

// loadConfig reads the first readable kernel config of candidates and
// returns it with the path it came from.
func loadConfig(candidates []string) (Config, string, error) {
	var errs []error
	for _, name := range candidates {
		f, err := os.Open(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c, err := ParseConfig(f)
		f.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		return c, name, nil
	}
	return nil, "", errors.Join(errs...)
}

// namespaces are the entries of /proc/self/ns a container needs; time is
// the one it can do without.
var namespaces = []struct {
	name, config string
	mandatory    bool
}{
	{"user", "CONFIG_USER_NS", true},
	{"mnt", "CONFIG_NAMESPACES", true},
	{"pid", "CONFIG_PID_NS", true},
	{"uts", "CONFIG_UTS_NS", true},
	{"ipc", "CONFIG_IPC_NS", true},
	{"net", "CONFIG_NET_NS", true},
	{"cgroup", "CONFIG_CGROUPS", true},
	{"time", "CONFIG_TIME_NS", false},
}

// configItems are the kernel options checked when the config is readable.
var configItems = []struct {
	name      string
	mandatory bool
	what      string
}{
	{"CONFIG_NAMESPACES", true, "namespaces"},
	{"CONFIG_USER_NS", true, "user namespaces"},
	{"CONFIG_PID_NS", true, "pid namespaces"},
	{"CONFIG_UTS_NS", true, "uts namespaces"},
	{"CONFIG_IPC_NS", true, "ipc namespaces"},
	{"CONFIG_NET_NS", true, "network namespaces"},
	{"CONFIG_CGROUPS", true, "cgroups and cgroup namespaces"},
	{"CONFIG_DEVPTS_MULTIPLE_INSTANCES", true, "a private /dev/pts"},
	{"CONFIG_OVERLAY_FS", false, "ephemeral containers (start-ephemeral, copy -s)"},
	{"CONFIG_VETH", false, "veth networking"},
	{"CONFIG_BRIDGE", false, "veth networking"},
	{"CONFIG_MEMCG", false, "memory limits"},
	{"CONFIG_CGROUP_PIDS", false, "pids limits"},
	{"CONFIG_SECCOMP_FILTER", false, "lxc.seccomp.profile (LXC's common.conf sets one)"},
}

func checkKernel(opts Options) []Result {
	var out []Result
	release, err := readTrimmed(filepath.Join(opts.ProcRoot, "sys/kernel/osrelease"))
	var v *Version
	switch {
	case err != nil:
		out = append(out, Result{Group: "kernel", Name: "version", Status: Warn, Detail: err.Error()})
	default:
		parsed, err := ParseVersion(release)
		switch {
		case err != nil:
			out = append(out, Result{Group: "kernel", Name: "version", Status: Warn, Detail: err.Error()})
		case !parsed.AtLeast(5, 11):
			v = &parsed
			out = append(out, Result{Group: "kernel", Name: "version", Status: Warn,
				Detail: release + ": overlayfs in a user namespace needs 5.11 or newer",
				Fix:    "upgrade the kernel to 5.11 or newer for ephemeral containers"})
		default:
			v = &parsed
			out = append(out, Result{Group: "kernel", Name: "version", Status: OK, Detail: release})
		}
	}
	for _, ns := range namespaces {
		r := Result{Group: "kernel", Name: "namespace " + ns.name, Mandatory: ns.mandatory, Status: OK}
		if _, err := os.Lstat(filepath.Join(opts.ProcRoot, "self/ns", ns.name)); err != nil {
			r.Status, r.Detail = Missing, err.Error()
			r.Fix = "use a kernel built with " + ns.config + "=y"
			if !ns.mandatory {
				r.Status = Warn
			}
		}
		out = append(out, r)
	}
	return append(out, checkConfig(opts, release, v)...)
}

func checkConfig(opts Options, release string, v *Version) []Result {
	candidates := []string{opts.KernelConfig}
	if opts.KernelConfig == "" {
		candidates = []string{filepath.Join(opts.ProcRoot, "config.gz")}
		if release != "" {
			candidates = append(candidates, "/boot/config-"+release)
		}
	}
	cfg, from, err := loadConfig(candidates)
	if err != nil {
		return []Result{{Group: "kernel", Name: "config", Status: Warn,
			Detail: "not readable, options not checked: " + err.Error(),
			Fix:    "as root: modprobe configs (for /proc/config.gz), or install the kernel's config in /boot"}}
	}
	out := []Result{{Group: "kernel", Name: "config", Status: OK, Detail: from}}
	for _, item := range configItems {
		r := Result{Group: "kernel", Name: item.name, Mandatory: item.mandatory}
		val, set := cfg[item.name]
		switch {
		case item.name == "CONFIG_DEVPTS_MULTIPLE_INSTANCES" && (v == nil || v.AtLeast(4, 7)) && !set:
			// Removed in 4.7: every devpts mount is a new instance.
			r.Status, r.Detail = OK, "always on since Linux 4.7"
		case val == "y":
			r.Status, r.Detail = OK, "built in"
		case val == "m":
			r.Status, r.Detail = OK, "module"
		default:
			r.Status, r.Detail = Missing, "not set: needed for "+item.what
			r.Fix = "use a kernel built with " + item.name + "=y"
			if !item.mandatory {
				r.Status = Warn
			}
		}
		out = append(out, r)
	}
	return out
}

// readTrimmed reads a small file such as a sysctl.
func readTrimmed(name string) (string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
