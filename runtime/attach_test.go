package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParsePasswd(t *testing.T) {
	debian, err := os.ReadFile(filepath.Join("testdata", "passwd-debian.txt"))
	if err != nil {
		t.Fatal(err)
	}
	hostile, err := os.ReadFile(filepath.Join("testdata", "passwd-hostile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		text []byte
		uid  uint32
		want passwdEntry
		ok   bool
	}{
		{"root", debian, 0, passwdEntry{"root", "/root", "/bin/ash"}, true},
		{"user", debian, 1000, passwdEntry{"user", "/home/user", "/bin/bash"}, true},
		{"missing", debian, 4242, passwdEntry{}, false},
		// Relative home and shell are dropped: they would resolve
		// against wherever attach happens to be.
		{"relative paths", hostile, 0, passwdEntry{Name: "root"}, true},
		{"empty name", hostile, 5, passwdEntry{}, false},
		{"short line", hostile, 7, passwdEntry{}, false},
		{"extra field", hostile, 1000, passwdEntry{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parsePasswd(strings.NewReader(string(tc.text)), tc.uid)
			if got != tc.want || ok != tc.ok {
				t.Errorf("parsePasswd(%q, %d) = %+v, %v, want %+v, %v", tc.text, tc.uid, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzParsePasswd: the container's /etc/passwd is the container's to write.
func FuzzParsePasswd(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "passwd-*.txt"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint32(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, uid uint32) {
		e, ok := parsePasswd(strings.NewReader(string(b)), uid)
		if ok && (e.Name == "" || e.Home != "" && !strings.HasPrefix(e.Home, "/") || e.Shell != "" && !strings.HasPrefix(e.Shell, "/")) {
			t.Errorf("parsePasswd(%q, %d) = %+v: empty name or relative path", b, uid, e)
		}
	})
}

func TestAttachEnv(t *testing.T) {
	host := []string{"HOME=/home/me", "TERM=xterm", "PATH=/host/bin", "_ULXC_NSENTER=3,4,5", "FOO=1"}
	for _, tc := range []struct {
		name string
		opts AttachOptions
		want []string
	}{
		{"keep", AttachOptions{HostEnv: host},
			[]string{"HOME=/home/me", "TERM=xterm", "PATH=/host/bin", "FOO=1", "container=lxc"}},
		{"keep with vars", AttachOptions{HostEnv: host, Env: []string{"FOO=2", "BAR=x=y"}},
			[]string{"HOME=/home/me", "TERM=xterm", "PATH=/host/bin", "container=lxc", "FOO=2", "BAR=x=y"}},
		{"clear", AttachOptions{HostEnv: host, ClearEnv: true},
			[]string{"PATH=" + DefaultPath, "TERM=xterm", "container=lxc"}},
		{"clear with vars", AttachOptions{HostEnv: host, ClearEnv: true, Env: []string{"PATH=/x", "container=other"}},
			[]string{"TERM=xterm", "PATH=/x", "container=other"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := attachEnv(tc.opts); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("attachEnv(%+v) = %q, want %q", tc.opts, got, tc.want)
			}
		})
	}
}

// TestAttachLimitsBounding: the bounding set recorded in the state is the
// attached process's, without a look at /proc (the pid here has none); a
// state from before the field falls back to init's CapBnd in /proc.
func TestAttachLimitsBounding(t *testing.T) {
	mask := uint64(1)<<41 - 1&^(1<<25)
	got, _, err := attachLimits(State{Pid: -1, Bounding: &mask}, AttachOptions{})
	if err != nil || got != mask {
		t.Errorf("recorded %#x: attachLimits = %#x, %v; want it unchanged", mask, got, err)
	}
	if got, _, err = attachLimits(State{Pid: -1, Bounding: &mask}, AttachOptions{KeepCaps: true}); err != nil || got != ^uint64(0) {
		t.Errorf("with KeepCaps: attachLimits = %#x, %v; want every capability", got, err)
	}
	own, err := processBounding(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err = attachLimits(State{Pid: os.Getpid()}, AttachOptions{}); err != nil || got != own {
		t.Errorf("no recorded set: attachLimits = %#x, %v; want this process's CapBnd %#x", got, err, own)
	}
	if _, _, err = attachLimits(State{Pid: -1}, AttachOptions{}); err == nil {
		t.Error("no recorded set, no /proc entry: attachLimits gave no error")
	}
}
