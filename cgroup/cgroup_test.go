package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

func TestParseMountinfo(t *testing.T) {
	tests := []struct {
		file    string
		want    string
		wantErr error
	}{
		{"mountinfo-hybrid", "/sys/fs/cgroup/unified", nil},
		{"mountinfo-unified", "/sys/fs/cgroup", nil},
		{"mountinfo-escaped", `/mnt/cg\root`, nil}, // root "/" wins over an earlier subtree bind
		{"mountinfo-subtree-only", "/mnt/cg", nil},
		{"mountinfo-v1", "", ErrNoCgroup2},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := ParseMountinfo(f)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("ParseMountinfo(%q) = %q, %v, want %q, %v", tc.file, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestUnescapeOctal(t *testing.T) {
	tests := []struct{ in, want string }{
		{`/a\040b`, "/a b"},
		{`/tab\011x\012`, "/tab\tx\n"},
		{`/back\134slash`, `/back\slash`},
		{`/short\04`, `/short\04`},
		{`/notoctal\089`, `/notoctal\089`},
		{`/plain`, "/plain"},
	}
	for _, tc := range tests {
		if got := unescapeOctal(tc.in); got != tc.want {
			t.Errorf("unescapeOctal(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	tests := []struct {
		file    string
		want    string
		wantErr error
	}{
		{"cgroup-hybrid", "/", nil},
		{"cgroup-unified", "/user.slice/user-1000.slice/session-2.scope", nil},
		{"cgroup-deleted", "/user.slice/user-1000.slice/user@1000.service/app.slice/gone.scope", nil},
		{"cgroup-v1", "", ErrNoCgroup2},
		{"cgroup-outside", "", ErrOutsideNamespace},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := ParseProcCgroup(f)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("ParseProcCgroup(%q) = %q, %v, want %q, %v", tc.file, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// fakeCgroup makes a directory that looks like a cgroup2 directory.
func fakeCgroup(t *testing.T, dir, controllers, subtree string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		controllersFile:    controllers,
		subtreeControlFile: subtree,
		procsFile:          "",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDelegation(t *testing.T) {
	dir := t.TempDir()
	fakeCgroup(t, dir, "cpuset cpu io memory pids\n", "memory pids\n")
	tests := []struct {
		name      string
		readOnly  []string // base names the fake access(2) refuses
		wantOK    bool
		wantNames []string
	}{
		{"all writable", nil, true, nil},
		{"procs read-only", []string{procsFile}, false, []string{procsFile}},
		{"nothing writable", []string{filepath.Base(dir), procsFile, subtreeControlFile}, false,
			[]string{"directory", procsFile, subtreeControlFile}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			writable := func(p string) bool { return !slices.Contains(tc.readOnly, filepath.Base(p)) }
			d, err := delegation(dir, writable)
			if d.OK() != tc.wantOK {
				t.Errorf("delegation(%q).OK() = %v, want %v", dir, d.OK(), tc.wantOK)
			}
			if tc.wantOK {
				if err != nil {
					t.Errorf("delegation(%q) = %v, want nil error", dir, err)
				}
			} else {
				var nde *NotDelegatedError
				if !errors.Is(err, ErrNotDelegated) || !errors.As(err, &nde) {
					t.Fatalf("delegation(%q) = %v, want a *NotDelegatedError", dir, err)
				}
				if !slices.Equal(nde.ReadOnly, tc.wantNames) {
					t.Errorf("delegation(%q).ReadOnly = %q, want %q", dir, nde.ReadOnly, tc.wantNames)
				}
			}
			if want := []string{"cpuset", "cpu", "io", "memory", "pids"}; !slices.Equal(d.Controllers, want) {
				t.Errorf("delegation(%q).Controllers = %q, want %q", dir, d.Controllers, want)
			}
			if want := []string{"memory", "pids"}; !slices.Equal(d.SubtreeControl, want) {
				t.Errorf("delegation(%q).SubtreeControl = %q, want %q", dir, d.SubtreeControl, want)
			}
			if d.Owner != uint32(os.Getuid()) {
				t.Errorf("delegation(%q).Owner = %d, want %d", dir, d.Owner, os.Getuid())
			}
		})
	}
}

func TestDelegationNotACgroup(t *testing.T) {
	dir := t.TempDir()
	if _, err := Delegation(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Delegation(missing) = %v, want ErrNotExist", err)
	}
	if _, err := Delegation(dir); !errors.Is(err, os.ErrNotExist) { // no cgroup.controllers
		t.Errorf("Delegation(plain dir) = %v, want ErrNotExist", err)
	}
}

// writeProc makes a fake proc root whose mountinfo puts cgroup2 at mnt.
func writeProc(t *testing.T, mnt, ownCgroup string) string {
	t.Helper()
	proc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proc, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	mountinfo := "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n" +
		"41 31 0:38 / " + strings.ReplaceAll(mnt, " ", `\040`) + " rw,relatime - cgroup2 cgroup2 rw\n"
	if err := os.WriteFile(filepath.Join(proc, "self/mountinfo"), []byte(mountinfo), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "self/cgroup"), []byte("1:cpu:/\n0::"+ownCgroup+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return proc
}

func TestProbe(t *testing.T) {
	mnt := filepath.Join(t.TempDir(), "cgroup v2")
	own := "/user.slice/user-1000.slice/user@1000.service/app.slice/ulxc.scope"
	fakeCgroup(t, filepath.Join(mnt, own), "memory pids\n", "")
	proc := writeProc(t, mnt, own)

	s := Probe(Options{ProcRoot: proc, User: "alice", UID: 1000})
	if s.Mountpoint != mnt || s.Path != own {
		t.Errorf("Probe() = mount %q, path %q, want %q, %q", s.Mountpoint, s.Path, mnt, own)
	}
	if s.Delegated.Dir != filepath.Join(mnt, own) {
		t.Errorf("Probe().Delegated.Dir = %q, want %q", s.Delegated.Dir, filepath.Join(mnt, own))
	}
	if !slices.Equal(s.Delegated.Controllers, []string{"memory", "pids"}) {
		t.Errorf("Probe().Delegated.Controllers = %q, want [memory pids]", s.Delegated.Controllers)
	}
	// The test owns the fake tree, so (as root or not) it may write it.
	if s.Err != nil || s.Reason != "" {
		t.Errorf("Probe() = %v (%s), want delegated", s.Err, s.Reason)
	}
}

func TestProbeNoCgroup2(t *testing.T) {
	proc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proc, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/mountinfo-v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "self/mountinfo"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	s := Probe(Options{ProcRoot: proc})
	if !errors.Is(s.Err, ErrNoCgroup2) || s.Reason == "" || s.Fix == "" {
		t.Errorf("Probe(v1 host) = %v, reason %q, fix %q; want ErrNoCgroup2 with a reason and a fix", s.Err, s.Reason, s.Fix)
	}
}

func TestWhyNotDelegated(t *testing.T) {
	mnt := t.TempDir()
	svc := "/user.slice/user-1000.slice/user@1000.service"
	// No user manager at all: lingering is the fix.
	reason, fix := whyNotDelegated(mnt, "/", "alice", 1000)
	if !strings.Contains(fix, "loginctl enable-linger alice") {
		t.Errorf("whyNotDelegated(no user manager) = %q, %q, want the enable-linger fix", reason, fix)
	}
	// A delegated user manager elsewhere: a delegated scope is the fix.
	fakeCgroup(t, filepath.Join(mnt, svc), "memory pids", "")
	reason, fix = whyNotDelegated(mnt, "/user.slice/user-1000.slice/session-2.scope", "alice", 1000)
	if !strings.Contains(fix, "systemd-run --user --scope -p Delegate=yes") || !strings.Contains(reason, "session-2.scope") {
		t.Errorf("whyNotDelegated(session scope) = %q, %q, want the systemd-run fix naming the scope", reason, fix)
	}
}

func TestCurrentOnThisHost(t *testing.T) {
	mp, err := Mountpoint()
	if errors.Is(err, ErrNoCgroup2) {
		testenv.Skipf(t, "no cgroup2 on this host")
	}
	if err != nil {
		t.Fatalf("Mountpoint() = %v", err)
	}
	if _, err := os.Stat(filepath.Join(mp, controllersFile)); err != nil {
		t.Errorf("Mountpoint() = %q, but %v", mp, err)
	}
	p, err := Current()
	if err != nil {
		t.Fatalf("Current() = %v", err)
	}
	if _, err := os.Stat(filepath.Join(mp, p, procsFile)); err != nil {
		t.Errorf("Current() = %q, but %v", p, err)
	}
}
