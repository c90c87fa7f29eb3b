package runtime

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/ulxc/ulxc/internal/rawproc"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/userns"

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
	if p.DevTmp != 1 || len(p.Mounts) != 4+len(defaultDevices) || len(p.Mounted) != len(p.Mounts) || len(p.Links) != len(devLinks) {
		t.Errorf("devTmp %d, %d mounts, %d links; want 1, %d, %d", p.DevTmp, len(p.Mounts), len(p.Links), 4+len(defaultDevices), len(devLinks))
	}
	for _, d := range p.Mounts[4:] {
		if !d.Bind || d.Create != rawproc.CreateFile || d.Requires != 1 || d.Unless != -1 {
			t.Errorf("device %s: bind %v, create %d, requires %d, unless %d", p.msgs[d.Msg].text, d.Bind, d.Create, d.Requires, d.Unless)
		}
	}
	bind := p.Mounts[3]
	if !bind.Bind || bind.Flags&unix.MS_REC == 0 || bind.Remount != unix.MS_RDONLY {
		t.Errorf("rbind,ro mount: bind %v flags %#x remount %#x", bind.Bind, bind.Flags, bind.Remount)
	}
	if got := bind.Dest.Text; strings.Join(got, " ") != "/data /data/in /data/in/here" {
		t.Errorf("destination prefixes %q", got)
	}
	if p.Mounts[2].AltData == nil {
		t.Errorf("devpts with gid= has no retry without it")
	}
	if p.Mounts[0].Flags&(unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC) != unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC {
		t.Errorf("proc flags %#x, want nosuid,nodev,noexec", p.Mounts[0].Flags)
	}
	if len(p.Ttys) != 3 || string(p.PtyText) != "console,tty1,tty2" || len(p.Masters) != 3 {
		t.Errorf("console: %d ttys, names %q, %d masters", len(p.Ttys), p.PtyText, len(p.Masters))
	}
	// The masters are the SCM_RIGHTS payload that init fills in.
	p.Masters[1] = 42
	if got := *(*int32)(unsafe.Pointer(&p.PtyCmsg[unix.CmsgLen(0)+4])); got != 42 {
		t.Errorf("masters do not write into the control message (%d)", got)
	}
	if p.GoAhead != userns.GoAhead {
		t.Errorf("the plan's go-ahead is %q, userns.Release writes %q", p.GoAhead, userns.GoAhead)
	}
	if len(p.Exec.Paths) != 2 || len(p.Sysctls) != 1 || string(p.Ifr[:2]) != "lo" {
		t.Errorf("%d exec candidates, %d sysctls, ifr %q", len(p.Exec.Paths), len(p.Sysctls), p.Ifr[:2])
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

func failure(msg rawproc.Msg, op rawproc.Op, arg uint64, errno unix.Errno) rawproc.Failure {
	return rawproc.Failure{Msg: uint32(msg), Op: uint32(op), Arg: arg, Errno: uint64(errno)}
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
	whole := ^uint64(0)
	for _, tc := range []struct {
		rec   rawproc.Failure
		want  string
		errno error
	}{
		{failure(p.Mounts[3].Msg, rawproc.OpMkdir, 1, unix.EROFS), "mount /srv on /data/in/here: mkdir /data/in: read-only file system", unix.EROFS},
		{failure(p.Mounts[0].Msg, rawproc.OpNone, 0, unix.EPERM), "mount proc on /proc: operation not permitted", unix.EPERM},
		{failure(p.Mounts[3].Msg, rawproc.OpRemount, unix.MS_RDONLY|unix.MS_NOSUID, unix.EPERM), "mount /srv on /data/in/here: remount ro,nosuid: operation not permitted", unix.EPERM},
		{failure(p.Mounts[3].Msg, rawproc.OpSource, 0, unix.ENOENT), "mount /srv on /data/in/here: open source /srv: no such file or directory", unix.ENOENT},
		{failure(p.Sysctls[0].Msg, rawproc.OpNone, 0, unix.EACCES), "lxc.sysctl.net.ipv4.ip_forward = 1: permission denied", ErrSysctl},
		{failure(rawproc.MsgOOM, rawproc.OpNone, 0, unix.EACCES), "lxc.proc.oom_score_adj = -500: lowering the score needs root on the host", unix.EACCES},
		{failure(rawproc.MsgExec, rawproc.OpNone, 5, unix.ENOENT), "exec sh: no such file or directory in $PATH", unix.ENOENT},
		{failure(rawproc.MsgExec, rawproc.OpNone, 0, unix.EACCES), "exec sh: permission denied", unix.EACCES},
		{failure(p.MaskMsg, rawproc.OpNone, 0, unix.EPERM), "mask /proc/kcore: operation not permitted", unix.EPERM},
		{failure(p.MaskMsg, rawproc.OpOpen, whole, unix.EACCES), "mask /proc/kcore: open /proc/kcore: permission denied", unix.EACCES},
		{failure(p.Mounts[4].Msg, rawproc.OpNone, 0, unix.EPERM), "bind device /dev/null: operation not permitted", unix.EPERM},
		{failure(p.Mounts[5].Msg, rawproc.OpCreate, 1, unix.EROFS), "bind device /dev/zero: create /dev/zero: read-only file system", unix.EROFS},
		{failure(rawproc.MsgEnterGoAhead, rawproc.OpNone, 0, 0), "enter user namespace: no go-ahead from the parent", nil},
		{failure(rawproc.MsgPlaceFD, rawproc.OpNone, 4, unix.EBADF), "init: place descriptor 4: bad file descriptor", unix.EBADF},
		{failure(rawproc.MsgBounding, rawproc.OpNone, 38, unix.EPERM), "drop capability 38 from the bounding set: operation not permitted", unix.EPERM},
		{failure(rawproc.MsgSetuid, rawproc.OpNone, 0, unix.EINVAL), "setuid 0: invalid argument", unix.EINVAL},
		{failure(rawproc.MsgRootRO, rawproc.OpOpen, whole, unix.EACCES), "read-only root: open /: permission denied", unix.EACCES},
		{failure(rawproc.Msg(len(p.msgs)), rawproc.OpNone, 0, 0), "malformed report", nil},
		{failure(rawproc.MsgSetns, rawproc.OpNone, 0, 0), "malformed report", nil}, // not one of init's
		{failure(rawproc.MsgSetsid, rawproc.OpTimeout+1, 0, 0), "malformed report", nil},
	} {
		err := p.describe(tc.rec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("describe(%+v) = %v, want %q", tc.rec, err, tc.want)
			continue
		}
		if tc.errno != nil && !errors.Is(err, tc.errno) {
			t.Errorf("describe(%+v) = %v, not %v", tc.rec, err, tc.errno)
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
		rec   rawproc.Failure
		want  string
		errno error
	}{
		{failure(rawproc.MsgOverlayMount, rawproc.OpNone, 0, unix.EPERM), "mount overlay of /s/a/rootfs (upper /s/b/delta0) with userxattr: operation not permitted: this kernel refuses overlayfs in a user namespace", ErrOverlay},
		{failure(rawproc.MsgOverlayMount, rawproc.OpNone, 0, unix.EINVAL), "fuse-overlayfs", unix.EINVAL},
		{failure(p.Overlay.LayerMsg+2, rawproc.OpNone, 0, unix.ENOENT), "open overlay layer /s/b/work: no such file or directory", unix.ENOENT},
		{failure(rawproc.Msg(len(p.msgs)), rawproc.OpNone, 0, unix.ENOENT), "malformed", nil},
	} {
		err := p.describe(tc.rec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("describe(%+v) = %v, want %q", tc.rec, err, tc.want)
			continue
		}
		if tc.errno != nil && !errors.Is(err, tc.errno) {
			t.Errorf("describe(%+v) = %v, not %v", tc.rec, err, tc.errno)
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
	rec := func(f rawproc.Failure) []byte {
		b := binary.NativeEndian.AppendUint32(nil, f.Msg)
		b = binary.NativeEndian.AppendUint32(b, f.Op)
		b = binary.NativeEndian.AppendUint64(b, f.Errno)
		return binary.NativeEndian.AppendUint64(b, f.Arg)
	}
	mount, start := p.Hooks[rawproc.HooksMount].Progs, p.Hooks[rawproc.HooksStart].Progs
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"exec worked", []byte{rawproc.ExecMarker}, ""},
		{"init died on the way", nil, errInitVanished.Error()},
		{"init's record", rec(failure(rawproc.MsgChdir, 0, 0, unix.ENOENT)), "chdir /: no such file or directory"},
		{"exec failed", append([]byte{rawproc.ExecMarker}, rec(failure(rawproc.MsgExec, 0, 0, unix.ENOENT))...), "no such file or directory"},
		{"hook exit", rec(failure(mount[0].Msg, rawproc.OpWait, 3<<8, 0)), "mount hook /h: exit status 3"},
		{"second start hook killed", rec(failure(start[1].Msg, rawproc.OpWait, 9, 0)), "start hook /s2: signal: killed"},
		{"hook's exec first", append(rec(failure(start[0].Msg, rawproc.OpExec, 0, unix.ENOENT)),
			rec(failure(start[0].Msg, rawproc.OpWait, 127<<8, 0))...), "start hook /s1: exec: no such file or directory"},
		{"time limit", rec(failure(start[1].Msg, rawproc.OpTimeout, 5, 0)), "start hook /s2: still running after 5s, killed"},
		{"no such step", rec(failure(rawproc.Msg(len(p.msgs)), rawproc.OpWait, 0, 0)), "malformed report"},
		{"short", []byte{0, 1, 2}, "malformed report"},
		// A record whose first byte is the marker's is still a record.
		{"record like a marker", rec(failure(rawproc.ExecMarker, 0, 0, unix.EPERM)), "malformed report {Msg:229 "},
		{"marker and a part", append([]byte{rawproc.ExecMarker}, rec(failure(rawproc.MsgChdir, 0, 0, unix.ENOENT))[:20]...), "malformed report"},
	} {
		err := readChildError(bytes.NewReader(tc.in), p)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want nil", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := readChildError(bytes.NewReader(rec(failure(rawproc.MsgChdir, 0, 0, unix.ENOENT))), nil); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("a record without a plan (attach) = %v, want malformed", err)
	}
}

// cstrings reads a NULL-terminated array of C strings (cstrs).
func cstrings(a []*byte) []string {
	var out []string
	for _, p := range a {
		if p == nil {
			break
		}
		out = append(out, unix.BytePtrToString(p))
	}
	return out
}

// TestCompileCloneHooks: the clone hooks of a spec run in init only in
// the start of an ephemeral copy (AnnotationCloneSource), with clone
// hooks' arguments and LXC's variables (LXC_SRC_NAME, the mounted root
// as fd 3, the root as the config names it) as CloneHooks gives them,
// but not the caller's environment, which stays out of the container's
// namespaces as for the other hooks that run inside; their failure, and only
// theirs, is ErrCloneHook, also after the monitor flattened it.
func TestCompileCloneHooks(t *testing.T) {
	t.Setenv("ULXC_TEST_CALLER_VAR", "kept")
	spec := func(src bool) *specs.Spec {
		s := planSpec()
		s.Annotations = map[string]string{
			ocispec.HookKey("clone", 0):    `{"path":"/c","args":["/c","eph","lxc","clone"],"env":["LXC_HOOK_VERSION=0"]}`,
			ocispec.AnnotationOverlayLower: "/s/ct/rootfs",
			ocispec.AnnotationOverlayUpper: "/s/eph/overlay/delta",
			ocispec.AnnotationOverlayWork:  "/s/eph/overlay/work",
			ocispec.AnnotationOverlayTmpfs: "true",
		}
		if src {
			s.Annotations[ocispec.AnnotationCloneSource] = "ct"
		}
		s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/m"}}}
		return s
	}
	p, err := compileInit(&initConfig{Spec: spec(false), Name: "eph"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hooks[rawproc.HooksClone].Run {
		t.Errorf("a start without %s runs the clone hooks", ocispec.AnnotationCloneSource)
	}
	p, err = compileInit(&initConfig{Spec: spec(true), Name: "eph", ConfigPath: "/s/eph/config"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := p.Hooks[rawproc.HooksClone]
	if !h.Run || len(h.Progs) != 1 {
		t.Fatalf("clone hooks: run %v, %d programs; want 1", h.Run, len(h.Progs))
	}
	if got := strings.Join(cstrings(h.Progs[0].Argv), " "); got != "/c eph lxc clone" {
		t.Errorf("clone hook argv %q, want /c eph lxc clone", got)
	}
	env := cstrings(h.Progs[0].Envp)
	for _, want := range []string{"LXC_NAME=eph", "LXC_SRC_NAME=ct", "LXC_HOOK_TYPE=clone", "LXC_ROOTFS_MOUNT=/proc/self/fd/3",
		"LXC_ROOTFS_PATH=overlay:/s/ct/rootfs:/s/eph/overlay/delta", "LXC_CONFIG_FILE=/s/eph/config", "LXC_HOOK_VERSION=0",
		"PATH=" + DefaultPath} {
		if !strings.Contains("\n"+strings.Join(env, "\n")+"\n", "\n"+want+"\n") {
			t.Errorf("clone hook environment %q has no %q", env, want)
		}
	}
	if got := strings.Join(env, " "); strings.Contains(got, "ULXC_TEST_CALLER_VAR") {
		t.Errorf("clone hook environment %q has the caller's ULXC_TEST_CALLER_VAR", got)
	}
	for _, tc := range []struct {
		msg   rawproc.Msg
		want  string
		clone bool
	}{
		{h.Progs[0].Msg, "clone hook /c: exit status 3", true},
		{p.Hooks[rawproc.HooksMount].Progs[0].Msg, "mount hook /m: exit status 3", false},
		{rawproc.MsgChdir, "chdir /: exit status 3", false},
	} {
		err := p.describe(failure(tc.msg, rawproc.OpWait, 3<<8, 0))
		if err == nil || err.Error() != tc.want {
			t.Errorf("describe(%d) = %v, want %q", tc.msg, err, tc.want)
		}
		if got := errors.Is(err, ErrCloneHook); got != tc.clone {
			t.Errorf("errors.Is(%v, ErrCloneHook) = %v, want %v", err, got, tc.clone)
		}
		// On its way from a daemon's monitor (asChildError, as JSON).
		b, jerr := json.Marshal(asChildError(fmt.Errorf("start eph: %w", err)))
		var ce ChildError
		if jerr == nil {
			jerr = json.Unmarshal(b, &ce)
		}
		if jerr != nil || errors.Is(&ce, ErrCloneHook) != tc.clone {
			t.Errorf("%v from a monitor: %s, %v; want ErrCloneHook %v", err, b, jerr, tc.clone)
		}
	}
}

// TestGlobOneStar: globOneStar finds what filepath.Glob finds for
// lxcRootfsMounts' kind of pattern (directories, a file, a symlink, a
// hidden name, components missing at each level), reading less.
func TestGlobOneStar(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a/lxc/rootfs", ".h/lxc/rootfs", "b/lxc", "c/lxc", "e"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "c/lxc/rootfs"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(root, "s")); err != nil {
		t.Fatal(err)
	}
	for _, pattern := range []string{
		root + "/*/lxc/rootfs", root + "/a/lxc/rootfs", root + "/b/lxc/rootfs", root + "/none/*/lxc/rootfs", root + "/*/lxc",
	} {
		want, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := globOneStar(pattern); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("globOneStar(%q) = %q, want %q (filepath.Glob)", pattern, got, want)
		}
	}
}
