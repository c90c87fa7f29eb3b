//go:build !ulxc_lean

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/store"
)

// imageTester runs image test's containers by running this ulxc's own
// verbs (create, start, attach, destroy) in a private LXCPATH, so that a
// test exercises exactly what users run and never touches their
// containers.
type imageTester struct {
	e       *env
	exe     string
	dir     string // the private LXCPATH
	flags   downloadFlags
	opts    download.Options
	timeout time.Duration
	cmd     []string
}

func newImageTester(e *env, flags downloadFlags, opts download.Options, timeout time.Duration, cmd []string) (*imageTester, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	// Beside the user's store, on the same filesystem: not /tmp, which
	// may be noexec or too small for a rootfs.
	base := filepath.Dir(store.DefaultPath())
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(base, "ulxc-image-test-")
	if err != nil {
		return nil, err
	}
	return &imageTester{e: e, exe: exe, dir: dir, flags: flags, opts: opts, timeout: timeout, cmd: cmd}, nil
}

// close removes the private LXCPATH; its containers are destroyed by then.
func (t *imageTester) close() {
	if err := os.Remove(t.dir); err != nil {
		t.e.warnf("image test: %v: remove it with 'ulxc -P %s destroy NAME'", err, t.dir)
	}
}

// ulxc runs this ulxc with args in the private LXCPATH and returns its
// stdout and, on failure, its last error line.
func (t *imageTester) ulxc(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	c := exec.CommandContext(ctx, t.exe, append([]string{"-P", t.dir, "-q"}, args...)...)
	c.Stdout, c.Stderr = &stdout, &limitedWriter{buf: &stderr, limit: 64 << 10}
	err := c.Run()
	if err == nil {
		return stdout.String(), nil
	}
	if ctx.Err() != nil {
		return stdout.String(), ctx.Err()
	}
	msg := ""
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if strings.HasPrefix(l, "ulxc: error: ") {
			msg = strings.TrimPrefix(l, "ulxc: error: ")
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(stderr.String())
	}
	if msg == "" {
		return stdout.String(), err
	}
	return stdout.String(), fmt.Errorf("%w: %s", err, msg)
}

type limitedWriter struct {
	buf   *bytes.Buffer
	limit int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if room := l.limit - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// testName is the container name for a variant: letters, digits and ._-.
func testName(variant string) string {
	b := []byte("test-" + variant)
	for i, c := range b {
		if !isNameByte(c) {
			b[i] = '_'
		}
	}
	return string(b[:min(len(b), 64)])
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

// run tests one variant: fetch (for its build and size), create, boot
// check or the command alone, destroy.
func (t *imageTester) run(ctx context.Context, v download.IndexEntry) (r variantResult) {
	r = variantResult{Variant: v.Variant, Build: v.Build, Result: "FAIL"}
	start := time.Now()
	defer func() { r.Seconds = time.Since(start).Seconds() }()
	fail := func(format string, a ...any) variantResult {
		r.Error = fmt.Sprintf(format, a...)
		return r
	}
	req := download.Request{Server: t.flags.server, Dist: v.Dist, Release: v.Release, Arch: v.Arch, Variant: v.Variant}
	img, err := download.Fetch(ctx, req, t.opts)
	if err != nil {
		return fail("download: %v", err)
	}
	r.Build = img.Build
	if st, err := os.Stat(img.Rootfs); err == nil {
		r.Size = st.Size()
	}
	name := testName(v.Variant)
	args := []string{"create", name, "-t", "download", "--", "-d", v.Dist, "-r", v.Release, "-a", v.Arch, "--variant", v.Variant}
	for _, f := range []struct{ flag, v string }{{"--server", t.flags.server}, {"--keyid", t.flags.keyID}, {"--keyring", absPath(t.flags.keyring)}, {"--keyserver", t.flags.keyserver}} {
		if f.v != "" {
			args = append(args, f.flag, f.v)
		}
	}
	if t.flags.noValidate {
		args = append(args, "--no-validate")
	}
	if _, err := t.ulxc(ctx, args...); err != nil {
		return fail("create: %v", err)
	}
	defer func() {
		// A fresh context: an interrupt must not leave the container.
		if _, err := t.ulxc(context.Background(), "destroy", "-f", name); err != nil {
			t.e.warnf("image test: destroy %s: %v", name, err)
		}
	}()
	if !t.hasInit(name) {
		cmd := t.cmd
		if len(cmd) == 0 {
			cmd = []string{"/bin/true"}
		}
		r.Check = "no init: " + strings.Join(cmd, " ")
		if _, err := t.ulxc(ctx, append([]string{"start", "-F", name, "--"}, cmd...)...); err != nil {
			return fail("%s: %v", strings.Join(cmd, " "), err)
		}
		r.Result = "PASS"
		return r
	}
	if _, err := t.ulxc(ctx, "start", name); err != nil {
		return fail("start: %v", err)
	}
	if r.Check, err = t.bootCheck(ctx, name); err != nil {
		return fail("boot check: %v", err)
	}
	if len(t.cmd) > 0 {
		if _, err := t.ulxc(ctx, append([]string{"attach", name, "--"}, t.cmd...)...); err != nil {
			return fail("%s: %v", strings.Join(t.cmd, " "), err)
		}
	}
	r.Result = "PASS"
	return r
}

// bootScript says whether init has reached a running state: with systemd,
// what is-system-running says once boot is over; otherwise that pid 1 is
// alive and the container answers.
const bootScript = `if [ -d /run/systemd/system ]; then
  state=$(systemctl is-system-running --wait 2>/dev/null); echo "systemd: $state"; [ "$state" = running ]
else
  kill -0 1 && echo "init: running"
fi`

// bootCheck attaches bootScript until it passes, or fails for good
// (systemd degraded), or the timeout ends.
func (t *imageTester) bootCheck(ctx context.Context, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	for {
		out, err := t.ulxc(ctx, "attach", name, "--", "/bin/sh", "-c", bootScript)
		state := strings.TrimSpace(out)
		if err == nil {
			return state, nil
		}
		if strings.HasPrefix(state, "systemd: ") && state != "systemd: starting" && state != "systemd: initializing" {
			return state, errors.New(state)
		}
		select {
		case <-ctx.Done():
			return state, fmt.Errorf("not running after %s: %v", t.timeout, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// hasInit says whether the container's init (lxc.init.cmd, default
// /sbin/init) exists in its rootfs, resolved inside it. When that cannot
// be told, it assumes an init.
func (t *imageTester) hasInit(name string) bool {
	dir := filepath.Join(t.dir, name)
	init := "/sbin/init"
	if cfg, err := lxcconf.Load(filepath.Join(dir, "config"), lxcconf.Options{}); err == nil {
		if es := cfg.Lookup("lxc.init.cmd"); len(es) > 0 {
			if f := strings.Fields(es[len(es)-1].Value); len(f) > 0 {
				init = f[0]
			}
		}
	}
	root, err := unix.Open(filepath.Join(dir, "rootfs"), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return true
	}
	defer unix.Close(root)
	fd, err := unix.Openat2(root, strings.TrimPrefix(init, "/"), &unix.OpenHow{
		Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err == nil {
		unix.Close(fd)
		return true
	}
	return !errors.Is(err, unix.ENOENT)
}
