package ocispec

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ulxc/ulxc/lxcconf"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fakeEnv is the caller's environment for bare lxc.environment keys.
func fakeEnv(k string) (string, bool) {
	v, ok := map[string]string{"TERM": "xterm-test"}[k]
	return v, ok
}

// convertFile loads testdata/NAME.conf and converts it as container NAME.
func convertFile(t *testing.T, file string) (*specs.Spec, error) {
	t.Helper()
	cfg, err := lxcconf.Load(file, lxcconf.Options{})
	if err != nil {
		t.Fatalf("lxcconf.Load(%q): %v", file, err)
	}
	name := strings.TrimSuffix(filepath.Base(file), ".conf")
	return Convert(cfg, Options{
		Name:       name,
		Dir:        "/home/user/.local/share/ulxc/" + name,
		ConfigFile: file,
		LookupEnv:  fakeEnv,
	})
}

// TestGolden converts every testdata/*.conf and compares the spec, with the
// testdata directory written as $TESTDATA, to the .json beside it.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.conf: %v", err)
	}
	abs, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s, err := convertFile(t, filepath.Join(abs, filepath.Base(file)))
			if err != nil {
				t.Fatalf("Convert(%s) = %v", file, err)
			}
			got, err := json.MarshalIndent(s, "", "\t")
			if err != nil {
				t.Fatal(err)
			}
			got = append(bytes.ReplaceAll(got, []byte(abs), []byte("$TESTDATA")), '\n')
			golden := strings.TrimSuffix(file, ".conf") + ".json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Convert(%s) differs from %s (go test -update rewrites it; review with git diff):\n%s", file, golden, got)
			}
		})
	}
}

// parse parses config text with no file name: relative paths stay relative.
func parse(t testing.TB, text string) *lxcconf.Config {
	t.Helper()
	cfg, err := lxcconf.Parse(strings.NewReader(text), "", lxcconf.Options{})
	if err != nil {
		t.Fatalf("lxcconf.Parse(%q): %v", text, err)
	}
	return cfg
}

const base = `lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.rootfs.path = /r
`

func TestConvertErrors(t *testing.T) {
	tests := []struct {
		name   string
		config string
		want   error
		text   string // a part of the message
	}{
		{"no idmap", "lxc.rootfs.path = /r\n", ErrNoIDMap, "ulxc create writes them"},
		{"no gid map", "lxc.idmap = u 0 100000 65536\nlxc.rootfs.path = /r\n", ErrNoIDMap, "no g lines"},
		{"idmap cleared", base + "lxc.idmap =\n", ErrNoIDMap, "lxc.idmap"},
		{"bad idmap", base + "lxc.idmap = x 0 1 2\n", ErrInvalidValue, `lxc.idmap = "x 0 1 2"`},
		{"prlimit word", base + "lxc.prlimit.nofile = many\n", ErrInvalidValue, `lxc.prlimit.nofile = "many"`},
		{"prlimit soft above hard", base + "lxc.prlimit.nofile = 2048:1024\n", ErrInvalidValue, "soft limit above hard"},
		{"prlimit unknown", base + "lxc.prlimit.wings = 2\n", ErrInvalidValue, `unknown resource "wings"`},
		{"overlay rootfs no dir", "lxc.idmap = b 0 100000 65536\nlxc.rootfs.path = overlay:/a:/b\n", ErrInvalidValue, "container directory"},
		{"overlay one layer", "lxc.idmap = b 0 100000 65536\nlxc.rootfs.path = overlay:/a\n", ErrInvalidValue, "overlay:LOWER:UPPER"},
		{"userxattr on a directory", base + "lxc.rootfs.options = userxattr\n", ErrUnsupported, "only to an overlay"},
		{"zfs rootfs", "lxc.idmap = b 0 100000 65536\nlxc.rootfs.path = zfs:pool/c\n", ErrUnsupported, `backend "zfs"`},
		{"btrfs rootfs", "lxc.idmap = b 0 100000 65536\nlxc.rootfs.path = btrfs:/x\n", ErrUnsupported, `backend "btrfs"`},
		{"lvm rootfs", "lxc.idmap = b 0 100000 65536\nlxc.rootfs.path = lvm:/dev/vg/c\n", ErrUnsupported, `backend "lvm"`},
		{"no rootfs no dir", "lxc.idmap = b 0 100000 65536\n", ErrInvalidValue, "no container directory"},
		{"relative rootfs no dir", "lxc.idmap = b 0 100000 65536\nlxc.rootfs.path = rootfs\n", ErrInvalidValue, "relative path"},
		{"rootfs options", base + "lxc.rootfs.options = idmap=container\n", ErrUnsupported, "lxc.rootfs.options"},
		{"mount escapes", base + "lxc.mount.entry = /etc etc/../../../etc none bind 0 0\n", ErrUnsafePath, "lxc.mount.entry"},
		{"mount escapes at once", base + "lxc.mount.entry = /x ../x none bind 0 0\n", ErrUnsafePath, "../x"},
		{"mount absolute outside rootfs", base + "lxc.mount.entry = /x /mnt none bind 0 0\n", ErrUnsafePath, "not under the rootfs"},
		{"mount onto root", base + "lxc.mount.entry = /x a/.. none bind 0 0\n", ErrInvalidValue, "root itself"},
		{"mount short", base + "lxc.mount.entry = /x y\n", ErrInvalidValue, "SRC DEST TYPE"},
		{"mount create bogus", base + "lxc.mount.entry = /x y none bind,create=fifo 0 0\n", ErrInvalidValue, "create=fifo"},
		{"mount idmap", base + "lxc.mount.entry = /x y none bind,idmap=container 0 0\n", ErrUnsupported, "idmap"},
		{"mount bad escape", base + "lxc.mount.entry = /x\\09 y none bind 0 0\n", ErrInvalidValue, "bad escape"},
		{"fstab missing", base + "lxc.mount.fstab = /nonexistent/fstab\n", os.ErrNotExist, "lxc.mount.fstab"},
		{"net macvlan", base + "lxc.net.0.type = macvlan\n", ErrUnsupported, `network type "macvlan"`},
		{"net none and more", base + "lxc.net.0.type = none\nlxc.net.1.type = veth\n", ErrInvalidValue, "allows no other"},
		{"net without type", base + "lxc.net.0.link = br0\n", ErrInvalidValue, "no type"},
		{"share net", base + "lxc.namespace.share.net = other\n", ErrUnsupported, "lxc.namespace.share.net"},
		{"keep user", base + "lxc.namespace.keep = user\n", ErrUnsupported, "own user namespace"},
		{"keep unknown", base + "lxc.namespace.keep = bogus\n", ErrInvalidValue, "unknown namespace"},
		{"drop and keep", base + "lxc.cap.drop = sys_admin\nlxc.cap.keep = chown\n", ErrInvalidValue, "use one of them"},
		{"unknown cap", base + "lxc.cap.drop = sys_wizard\n", ErrInvalidValue, "unknown capability"},
		{"cap number too big", base + "lxc.cap.drop = 41\n", ErrInvalidValue, "unknown capability"},
		{"bad signal", base + "lxc.signal.halt = SIGWHATEVER\n", ErrInvalidValue, "not a signal"},
		{"signal out of range", base + "lxc.signal.stop = SIGRTMIN+31\n", ErrInvalidValue, "not a signal"},
		{"unterminated quote", base + "lxc.init.cmd = /bin/sh -c 'echo\n", ErrInvalidValue, "unterminated"},
		{"relative cwd", base + "lxc.init.cwd = srv\n", ErrInvalidValue, "absolute"},
		{"bad uid", base + "lxc.init.uid = root\n", ErrInvalidValue, "lxc.init.uid"},
		{"bad group", base + "lxc.init.groups = 1,wheel\n", ErrInvalidValue, "wheel"},
		{"bad no_new_privs", base + "lxc.no_new_privs = yes\n", ErrInvalidValue, "0 or 1"},
		{"bad tty.max", base + "lxc.tty.max = lots\n", ErrInvalidValue, "lxc.tty.max"},
		{"bad pty.max", base + "lxc.pty.max = -1\n", ErrInvalidValue, "lxc.pty.max"},
		{"bad hook version", base + "lxc.hook.version = 2\n", ErrInvalidValue, "lxc.hook.version"},
		{"bad mount.auto", base + "lxc.mount.auto = proc:ro\n", ErrInvalidValue, "proc:ro"},
		{"shmounts", base + "lxc.mount.auto = shmounts:/a:/b\n", ErrUnsupported, "shmounts"},
		{"bad arch", base + "lxc.arch = pdp11\n", ErrUnsupported, "lxc.arch"},
		{"bad oom", base + "lxc.proc.oom_score_adj = 2000\n", ErrInvalidValue, "oom_score_adj"},
		{"cgroup2 path", base + "lxc.cgroup2.../x = 1\n", ErrInvalidValue, "cgroup file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Convert(parse(t, tc.config), Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Convert(%q) = %v, want %v", tc.config, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Convert(%q) = %q, want it to mention %q", tc.config, err, tc.text)
			}
			var ke *KeyError
			if !errors.As(err, &ke) {
				t.Errorf("Convert(%q) = %T, want a *KeyError", tc.config, err)
			}
		})
	}
}

func TestFstabLineError(t *testing.T) {
	dir := t.TempDir()
	fstab := filepath.Join(dir, "fstab")
	if err := os.WriteFile(fstab, []byte("# ok\n/a a none bind 0 0\n/b ../../b none bind 0 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Convert(parse(t, base+"lxc.mount.fstab = "+fstab+"\n"), Options{})
	if !errors.Is(err, ErrUnsafePath) || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("Convert(fstab with ../../b on line 3) = %v, want %v naming line 3", err, ErrUnsafePath)
	}
}

func TestOptionsCommand(t *testing.T) {
	cfg := parse(t, base+"lxc.init.cmd = /sbin/init --default\n")
	s, err := Convert(cfg, Options{Name: "web", Command: []string{"/bin/sh", "-c", "echo hi"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/bin/sh", "-c", "echo hi"}; !reflect.DeepEqual(s.Process.Args, want) {
		t.Errorf("Convert(Command) args = %q, want %q", s.Process.Args, want)
	}
	if len(s.Linux.Devices) != 0 {
		t.Errorf("Convert() linux.devices = %v, want none: the host's nodes are bound only by mounts", s.Linux.Devices)
	}
	if s.Hostname != "web" {
		t.Errorf("Convert(Name web) hostname = %q, want %q", s.Hostname, "web")
	}
	if s.Root.Path != "/r" {
		t.Errorf("Convert() root = %q, want /r", s.Root.Path)
	}
}

func TestDefaultRootfsAndInit(t *testing.T) {
	s, err := Convert(parse(t, "lxc.idmap = b 0 100000 65536\n"), Options{Name: "c", Dir: "/store/c"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Root.Path != "/store/c/rootfs" || !reflect.DeepEqual(s.Process.Args, []string{"/sbin/init"}) {
		t.Errorf("Convert(no rootfs, no init) = root %q args %q, want /store/c/rootfs [/sbin/init]", s.Root.Path, s.Process.Args)
	}
	if s.Process.Cwd != "/" || s.Process.User.UID != 0 || s.Process.Terminal {
		t.Errorf("Convert() process = cwd %q uid %d terminal %v, want / 0 false", s.Process.Cwd, s.Process.User.UID, s.Process.Terminal)
	}
	// No lxc.net at all: an own network namespace (loopback only).
	if !hasNamespace(s, specs.NetworkNamespace) {
		t.Errorf("Convert(no lxc.net) namespaces = %v, want a network namespace", s.Linux.Namespaces)
	}
	if s.Annotations[AnnotationSignalHalt] != "SIGPWR" || s.Annotations[AnnotationSignalStop] != "SIGKILL" ||
		s.Annotations[AnnotationSignalReboot] != "SIGINT" || s.Annotations[AnnotationTTYMax] != "0" {
		t.Errorf("Convert() annotations = %v, want LXC's default signals and tty.max 0", s.Annotations)
	}
	if Unapplied(s) != nil {
		t.Errorf("Unapplied(plain config) = %q, want none", Unapplied(s))
	}
}

func hasNamespace(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"/sbin/init", []string{"/sbin/init"}},
		{"  /bin/sh   -c  true ", []string{"/bin/sh", "-c", "true"}},
		{`/bin/sh -c "echo a b; exit 3"`, []string{"/bin/sh", "-c", "echo a b; exit 3"}},
		{`/bin/sh -c 'echo "q"'`, []string{"/bin/sh", "-c", `echo "q"`}},
		{`a"b c"d`, []string{"ab cd"}},
		{`x ""`, []string{"x", ""}},
		{"a\tb", []string{"a", "b"}},
	}
	for _, tc := range tests {
		got, err := SplitCommand(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitCommand(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "   ", `a "b`, "a 'b"} {
		if got, err := SplitCommand(in); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("SplitCommand(%q) = %q, %v, want %v", in, got, err, ErrInvalidValue)
		}
	}
}

func TestParseRlimit(t *testing.T) {
	tests := []struct {
		in         string
		soft, hard uint64
		ok         bool
	}{
		{"1024", 1024, 1024, true},
		{"1024:2048", 1024, 2048, true},
		{"unlimited", Unlimited, Unlimited, true},
		{"0:unlimited", 0, Unlimited, true},
		{"2048:1024", 0, 0, false},
		{"unlimited:5", 0, 0, false},
		{"-1", 0, 0, false},
		{"1:2:3", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tc := range tests {
		soft, hard, err := ParseRlimit(tc.in)
		if (err == nil) != tc.ok || soft != tc.soft || hard != tc.hard {
			t.Errorf("ParseRlimit(%q) = %d, %d, %v, want %d, %d, ok %v", tc.in, soft, hard, err, tc.soft, tc.hard, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidValue) {
			t.Errorf("ParseRlimit(%q) = %v, want %v", tc.in, err, ErrInvalidValue)
		}
	}
}

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"SIGPWR", "SIGPWR"},
		{"pwr", "SIGPWR"},
		{"sigterm", "SIGTERM"},
		{"9", "SIGKILL"},
		{"SIGRTMIN+3", "SIGRTMIN+3"},
		{"SIGRTMIN", "SIGRTMIN+0"},
		{"SIGRTMAX-1", "SIGRTMIN+29"},
		{"37", "SIGRTMIN+3"},
	}
	for _, tc := range tests {
		sig, err := ParseSignal(tc.in)
		if err != nil || SignalName(sig) != tc.want {
			t.Errorf("ParseSignal(%q) = %v (%s), %v, want %s", tc.in, int(sig), SignalName(sig), err, tc.want)
		}
		back, err := ParseSignal(SignalName(sig))
		if err != nil || back != sig {
			t.Errorf("ParseSignal(SignalName(%d)) = %d, %v, want %d", int(sig), int(back), err, int(sig))
		}
	}
	for _, in := range []string{"", "0", "65", "SIGRTMIN+31", "SIGRTMAX-31", "SIGRTMIN+x", "KILLME"} {
		if _, err := ParseSignal(in); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("ParseSignal(%q) = %v, want %v", in, err, ErrInvalidValue)
		}
	}
}

func TestParseMountEntry(t *testing.T) {
	tests := []struct {
		line string
		want MountEntry
	}{
		{"/src dst none bind 0 0", MountEntry{Mount: specs.Mount{Source: "/src", Destination: "/dst", Type: "bind", Options: []string{"bind"}}}},
		{"/src /root/fs/dst none rbind,ro,create=dir,optional", MountEntry{
			Mount:  specs.Mount{Source: "/src", Destination: "/dst", Type: "bind", Options: []string{"rbind", "ro"}},
			Create: "dir", Optional: true}},
		{`/a\040b c\011d tmpfs defaults`, MountEntry{Mount: specs.Mount{Source: "/a b", Destination: "/c\td", Type: "tmpfs"}}},
		{"proc a/./b/../c proc", MountEntry{Mount: specs.Mount{Source: "proc", Destination: "/a/c", Type: "proc"}}},
	}
	for _, tc := range tests {
		got, err := ParseMountEntry(tc.line, "/root/fs")
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseMountEntry(%q) = %+v, %v, want %+v", tc.line, got, err, tc.want)
		}
	}
}

func TestAnnotatedHooks(t *testing.T) {
	s, err := convertFile(t, mustAbs(t, "testdata/hooks.conf"))
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := AnnotatedHooks(s, "pre-mount")
	if err != nil || len(hooks) != 1 {
		t.Fatalf("AnnotatedHooks(pre-mount) = %v, %v, want one hook", hooks, err)
	}
	if want := filepath.Join(mustAbs(t, "testdata"), "hooks/premount.sh"); hooks[0].Path != want {
		t.Errorf("AnnotatedHooks(pre-mount) path = %q, want %q (resolved against the config's directory)", hooks[0].Path, want)
	}
	if !reflect.DeepEqual(hooks[0].Args[1:], []string{"hooks", "lxc", "pre-mount"}) {
		t.Errorf("AnnotatedHooks(pre-mount) args = %q, want PATH hooks lxc pre-mount", hooks[0].Args)
	}
	if hooks, err := AnnotatedHooks(s, "start"); err != nil || len(hooks) != 0 {
		t.Errorf("AnnotatedHooks(start) = %v, %v, want none (start is an OCI hook)", hooks, err)
	}
	bad := &specs.Spec{Annotations: map[string]string{HookKey("stop", 0): "{"}}
	if _, err := AnnotatedHooks(bad, "stop"); err == nil {
		t.Errorf("AnnotatedHooks(broken JSON) = nil error, want one")
	}
	bad.Annotations = map[string]string{"ulxc.hook.stop.x": "{}"}
	if _, err := AnnotatedHooks(bad, "stop"); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("AnnotatedHooks(bad index) = %v, want %v", err, ErrInvalidValue)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestSeccompPolicyErrors: what LXC's policy format says that linux.seccomp
// cannot, or that is malformed, stops the conversion with file:line.
func TestSeccompPolicyErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, policy, text string
	}{
		{"version 1", "1\nwhitelist\n0\n", "version 2"},
		{"no type", "2\n", "first two lines"},
		{"bad type", "2\ngreylist\n", `"greylist"`},
		{"compat only", "2\ndenylist\n[i386]\nmkdir errno 1\n", ":3: section [i386]"},
		{"bad action", "2\ndenylist\nmkdir notify\n", `:3: action "notify"`},
		{"bad errno", "2\ndenylist\nmkdir errno EPERM\n", ":3: errno"},
		{"bad argument", "2\ndenylist\nmkdir errno 1 [9,0,SCMP_CMP_EQ]\n", ":3: argument condition"},
		{"bad operator", "2\ndenylist\nmkdir errno 1 [0,0,SCMP_CMP_LIKE]\n", "SCMP_CMP_LIKE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(file, []byte(tc.policy), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Convert(parse(t, base+"lxc.seccomp.profile = "+file+"\n"), Options{})
			if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), tc.text) || !strings.Contains(err.Error(), "lxc.seccomp.profile") {
				t.Errorf("policy %q: %v, want ErrInvalidValue naming lxc.seccomp.profile and %q", tc.policy, err, tc.text)
			}
		})
	}
	// Sections of another machine are skipped; the default action may be
	// given; allowlist rules default to allow.
	file := filepath.Join(dir, "ok")
	os.WriteFile(file, []byte("2\nallowlist errno 38\n[all]\nread\nwrite # out\n[s390x]\nmkdir\n"), 0o600)
	s, err := Convert(parse(t, base+"lxc.seccomp.profile = "+file+"\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sc := s.Linux.Seccomp
	if sc == nil || sc.DefaultAction != specs.ActErrno || sc.DefaultErrnoRet == nil || *sc.DefaultErrnoRet != 38 ||
		len(sc.Syscalls) != 2 || sc.Syscalls[1].Names[0] != "write" || sc.Syscalls[1].Action != specs.ActAllow {
		t.Errorf("allowlist policy converted to %+v", sc)
	}
}

// TestParseOverlay: LXC's overlay:LOWER:UPPER, the upper layer after the
// last ":/", the workdir "work" beside it.
func TestParseOverlay(t *testing.T) {
	for _, tc := range []struct {
		in    string
		ok    bool
		want  Overlay
		error string
	}{
		{"/plain/dir", false, Overlay{}, ""},
		{"overlay:/s/a/rootfs:/s/b/delta0", true, Overlay{Lower: []string{"/s/a/rootfs"}, Upper: "/s/b/delta0", Work: "/s/b/work"}, ""},
		{"overlayfs:/l1:/l2/:/u/up", true, Overlay{Lower: []string{"/l1", "/l2"}, Upper: "/u/up", Work: "/u/work"}, ""},
		{"overlay:/a", true, Overlay{}, "overlay:LOWER:UPPER"},
		{"overlay:rel:/u", true, Overlay{}, "not an absolute path"},
		{"overlay:/a,b:/u", true, Overlay{}, "cannot be passed"},
		{"overlay:/:/u/x", true, Overlay{}, "host's root"},
		{"overlay:/a:/u/work", true, Overlay{}, "workdir"},
	} {
		got, ok, err := ParseOverlay(tc.in)
		if ok != tc.ok || (err == nil) != (tc.error == "") || err != nil && !strings.Contains(err.Error(), tc.error) {
			t.Errorf("ParseOverlay(%q) = %v, %v, want ok %v error %q", tc.in, ok, err, tc.ok, tc.error)
			continue
		}
		if err == nil && tc.ok && (!reflect.DeepEqual(got, tc.want) || got.String() != "overlay:"+strings.Join(got.Lower, ":")+":"+got.Upper) {
			t.Errorf("ParseOverlay(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	cfg := parse(t, "lxc.idmap = b 0 100000 65536\nlxc.rootfs.path = overlay:/s/a/rootfs:/s/b/delta0\nlxc.rootfs.options = userxattr\n")
	s, err := Convert(cfg, Options{Name: "b", Dir: "/s/b"})
	if err != nil {
		t.Fatal(err)
	}
	o, ok := SpecOverlay(s)
	if s.Root.Path != "/s/b/rootfs" || !ok || o.Upper != "/s/b/delta0" || o.Work != "/s/b/work" || len(o.Lower) != 1 || o.Lower[0] != "/s/a/rootfs" {
		t.Errorf("Convert(overlay) = root %q, overlay %+v %v; want /s/b/rootfs over /s/a/rootfs", s.Root.Path, o, ok)
	}
}
