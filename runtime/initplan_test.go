package runtime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/ulxc/ulxc/ocispec"
	"strings"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func planSpec() *specs.Spec {
	return &specs.Spec{
		Root:    &specs.Root{Path: "/rootfs"},
		Process: &specs.Process{Args: []string{"sh"}, Env: []string{"PATH=/bin:/usr/bin"}},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"newinstance", "gid=5"}},
			{Destination: "/data/in/here", Type: "bind", Source: "/srv", Options: []string{"rbind", "ro"}},
		},
		Linux: &specs.Linux{Sysctl: map[string]string{"net.ipv4.ip_forward": "1"}, MaskedPaths: []string{"/proc/kcore"}},
	}
}

// TestCompileInit: what compileInit prepares for init's system calls.
func TestCompileInit(t *testing.T) {
	p, err := compileInit(&initConfig{Spec: planSpec(), Console: true, TTYs: 2, NewNet: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The spec's 4 mounts, then one bind per default device, each only
	// once the tmpfs on /dev (mount 1) is there.
	if p.devTmp != 1 || len(p.mounts) != 4+len(defaultDevices) || len(p.mounted) != len(p.mounts) || len(p.links) != len(devLinks) {
		t.Errorf("devTmp %d, %d mounts, %d links; want 1, %d, %d", p.devTmp, len(p.mounts), len(p.links), 4+len(defaultDevices), len(devLinks))
	}
	for _, d := range p.mounts[4:] {
		if !d.bind || d.create != kindFile || d.requires != 1 || d.unless != -1 {
			t.Errorf("device %s: bind %v, create %d, requires %d, unless %d", d.name, d.bind, d.create, d.requires, d.unless)
		}
	}
	bind := p.mounts[3]
	if !bind.bind || bind.flags&unix.MS_REC == 0 || bind.remount != unix.MS_RDONLY {
		t.Errorf("rbind,ro mount: bind %v flags %#x remount %#x", bind.bind, bind.flags, bind.remount)
	}
	if got := bind.dest.text; strings.Join(got, " ") != "/data /data/in /data/in/here" {
		t.Errorf("destination prefixes %q", got)
	}
	if p.mounts[2].altData == nil {
		t.Errorf("devpts with gid= has no retry without it")
	}
	if p.mounts[0].flags&(unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC) != unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC {
		t.Errorf("proc flags %#x, want nosuid,nodev,noexec", p.mounts[0].flags)
	}
	if len(p.ttys) != 3 || string(p.ptyText) != "console,tty1,tty2" || len(p.masters) != 3 {
		t.Errorf("console: %d ttys, names %q, %d masters", len(p.ttys), p.ptyText, len(p.masters))
	}
	// The masters are the SCM_RIGHTS payload that init fills in.
	p.masters[1] = 42
	if got := *(*int32)(unsafe.Pointer(&p.ptyCmsg[unix.CmsgLen(0)+4])); got != 42 {
		t.Errorf("masters do not write into the control message (%d)", got)
	}
	if len(p.candidates) != 2 || len(p.sysctls) != 1 || string(p.ifr[:2]) != "lo" {
		t.Errorf("%d exec candidates, %d sysctls, ifr %q", len(p.candidates), len(p.sysctls), p.ifr[:2])
	}
}

func TestCompileInitErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(s *specs.Spec)
		want   string
	}{
		{"relative destination", func(s *specs.Spec) { s.Mounts[0].Destination = "proc" }, "destination is not absolute"},
		{"NUL in a path", func(s *specs.Spec) { s.Linux.MaskedPaths = []string{"/a\x00b"} }, "NUL"},
		{"unknown rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_BOGUS"}}
		}, `unknown rlimit "RLIMIT_BOGUS"`},
		{"bad sysctl", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"../x": "1"} }, "sysctl"},
		{"no process", func(s *specs.Spec) { s.Process.Args = nil }, "no process"},
		{"bad create marker", func(s *specs.Spec) {
			s.Annotations = map[string]string{"ulxc.mount.0.create": "socket"}
		}, "want dir or file"},
	} {
		s := planSpec()
		tc.modify(s)
		_, err := compileInit(&initConfig{Spec: s}, nil)
		if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: compileInit = %v, want ErrInvalidSpec naming %q", tc.name, err, tc.want)
		}
	}
}

func TestExecCandidates(t *testing.T) {
	if got := execCandidates("/sbin/init", nil); strings.Join(got, " ") != "/sbin/init" {
		t.Errorf("absolute: %q", got)
	}
	if got := execCandidates("sh", []string{"PATH=/a::/b/"}); strings.Join(got, " ") != "/a/sh sh /b/sh" {
		t.Errorf("PATH=/a::/b/: %q", got)
	}
	if got := execCandidates("sh", nil); len(got) != 6 || got[5] != "/bin/sh" {
		t.Errorf("default PATH: %q", got)
	}
}

func TestFdPath(t *testing.T) {
	var buf [32]byte
	for fd, want := range map[int]string{0: "/proc/self/fd/0", 7: "/proc/self/fd/7", 1234567: "/proc/self/fd/1234567", -1: "/proc/self/fd/999999999"} {
		p := fdPath(&buf, fd)
		if got := unix.BytePtrToString(p); got != want {
			t.Errorf("fdPath(%d) = %q, want %q", fd, got, want)
		}
	}
}

func record(step, index, sub, comp int, errno unix.Errno, extra uint64) initReport {
	return initReport{0, uint64(step), uint64(int64(index)), uint64(sub), uint64(int64(comp)), uint64(errno), extra}
}

// TestDescribe: init's records become the messages users see.
func TestDescribe(t *testing.T) {
	s := planSpec()
	oom := -500
	s.Process.OOMScoreAdj = &oom
	p, err := compileInit(&initConfig{Spec: s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rec   initReport
		want  string
		errno error
	}{
		{record(stMount, 3, subMkdir, 1, unix.EROFS, 0), "mount /srv on /data/in/here: mkdir /data/in: read-only file system", unix.EROFS},
		{record(stMount, 0, subMount, -1, unix.EPERM, 0), "mount proc on /proc: operation not permitted", unix.EPERM},
		{record(stMount, 3, subRemount, -1, unix.EPERM, unix.MS_RDONLY|unix.MS_NOSUID), "mount /srv on /data/in/here: remount ro,nosuid: operation not permitted", unix.EPERM},
		{record(stMount, 3, subMissing, -1, unix.ENOENT, 0), "mount /srv on /data/in/here: source /srv: no such file or directory", unix.ENOENT},
		{record(stSysctl, 0, subOpen, -1, unix.EACCES, 0), "lxc.sysctl.net.ipv4.ip_forward = 1: permission denied", ErrSysctl},
		{record(stOOM, 0, subWrite, -1, unix.EACCES, 0), "lxc.proc.oom_score_adj = -500: lowering the score needs root on the host", unix.EACCES},
		{record(stExec, 0, 0, -1, unix.ENOENT, 0), "exec sh: no such file or directory in $PATH", unix.ENOENT},
		{record(stExec, 0, 0, -1, unix.EACCES, 0), "exec sh: permission denied", unix.EACCES},
		{record(stMask, 0, subMount, -1, unix.EPERM, 0), "mask /proc/kcore: operation not permitted", unix.EPERM},
		{record(stMount, 4, subMount, -1, unix.EPERM, 0), "bind device /dev/null: operation not permitted", unix.EPERM},
		{record(stMount, 5, subCreate, 1, unix.EROFS, 0), "device /dev/zero: create /dev/zero: read-only file system", unix.EROFS},
		{record(stEnter, 0, subGoAhead, -1, 0, 0), "enter user namespace: no go-ahead from the parent", nil},
		{record(99, 0, 0, -1, 0, 0), "unknown report", nil},
	} {
		err := p.describe(tc.rec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("describe(%v) = %v, want %q", tc.rec, err, tc.want)
			continue
		}
		if tc.errno != nil && !errors.Is(err, tc.errno) {
			t.Errorf("describe(%v) = %v, not %v", tc.rec, err, tc.errno)
		}
	}
}

// TestDescribeOverlay: a refused overlay names the kernel and the
// missing fuse-overlayfs fallback, and keeps the errno.
func TestDescribeOverlay(t *testing.T) {
	s := planSpec()
	s.Annotations = map[string]string{ocispec.AnnotationOverlayLower: "/s/a/rootfs", ocispec.AnnotationOverlayUpper: "/s/b/delta0",
		ocispec.AnnotationOverlayWork: "/s/b/work"}
	p, err := compileInit(&initConfig{Spec: s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rec   initReport
		want  string
		errno error
	}{
		{record(stOverlay, 0, ovlCreate, -1, unix.EPERM, 0), "mount overlay of /s/a/rootfs (upper /s/b/delta0) with userxattr: operation not permitted: this kernel refuses overlayfs in a user namespace", ErrOverlay},
		{record(stOverlay, 0, ovlCreate, -1, unix.EINVAL, 0), "fuse-overlayfs", unix.EINVAL},
		{record(stOverlay, 2, ovlOpen, -1, unix.ENOENT, 0), "open overlay layer /s/b/work: no such file or directory", unix.ENOENT},
		{record(stOverlay, 3, ovlOpen, -1, unix.ENOENT, 0), "malformed", nil},
	} {
		err := p.describe(tc.rec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("describe(%v) = %v, want %q", tc.rec, err, tc.want)
			continue
		}
		if tc.errno != nil && !errors.Is(err, tc.errno) {
			t.Errorf("describe(%v) = %v, not %v", tc.rec, err, tc.errno)
		}
	}
}

// TestReadChildError: EOF is success, a hook's own record comes before
// init's, hooks are named by kind and index, and anything else is named
// as malformed.
func TestReadChildError(t *testing.T) {
	s := planSpec()
	five := 5
	s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/h"}},
		StartContainer: []specs.Hook{{Path: "/s1"}, {Path: "/s2", Timeout: &five}}}
	p, err := compileInit(&initConfig{Spec: s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(r initReport) []byte {
		b := make([]byte, 0, len(r)*8)
		for _, w := range r {
			b = binary.NativeEndian.AppendUint64(b, w)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"exec worked", []byte{execMarker}, ""},
		{"init died on the way", nil, errInitVanished.Error()},
		{"init's record", rec(record(stChdir, 0, 0, -1, unix.ENOENT, 0)), "chdir /: no such file or directory"},
		{"exec failed", append([]byte{execMarker}, rec(record(stExec, 0, 0, -1, unix.ENOENT, 0))...), "no such file or directory"},
		{"hook exit", rec(record(stHook, hookMount, subWait, -1, 0, 3<<8)), "mount hook /h: exit status 3"},
		{"second start hook killed", rec(record(stHook, hookStart+hookKinds, subWait, -1, 0, 9)), "start hook /s2: signal: killed"},
		{"hook's exec first", append(rec(record(stHook, hookStart, subExec, -1, unix.ENOENT, 0)),
			rec(record(stHook, hookStart, subWait, -1, 0, 127<<8))...), "start hook /s1: exec: no such file or directory"},
		{"time limit", rec(record(stHook, hookStart+hookKinds, subTimeout, -1, 0, 9)), "start hook /s2: still running after 5s, killed"},
		{"no such hook", rec(record(stHook, hookMount+hookKinds, subWait, -1, 0, 0)), "malformed report"},
		{"short", []byte{0, 1, 2}, "malformed report"},
	} {
		err := readChildError(bytes.NewReader(tc.in), p)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want nil", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := readChildError(bytes.NewReader(rec(record(stChdir, 0, 0, -1, unix.ENOENT, 0))), nil); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("a record without a plan (attach) = %v, want malformed", err)
	}
}
