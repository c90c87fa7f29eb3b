package runtime

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fullSpec sets every field that the runtime reads, and so that the wire
// encoding must carry, to a value that differs from its zero value.
func fullSpec() *specs.Spec {
	u32 := func(v uint32) *uint32 { return &v }
	mode := os.FileMode(0o620)
	timeout := 7
	oom := -300
	errno13 := uint(13)
	hook := func(p string) []specs.Hook {
		return []specs.Hook{{Path: p, Args: []string{p, "a b"}, Env: []string{"X=1"}, Timeout: &timeout}, {Path: p + "2"}}
	}
	return &specs.Spec{
		Version:    specs.Version,
		Root:       &specs.Root{Path: "/srv/c/rootfs", Readonly: true},
		Hostname:   "web",
		Domainname: "example.org",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec"}},
			{Destination: "/srv", Type: "bind", Source: "/home/u/srv", Options: []string{"rbind"},
				UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}},
				GIDMappings: []specs.LinuxIDMapping{{ContainerID: 1, HostID: 1001, Size: 2}}},
		},
		Annotations: map[string]string{"ulxc.tty.max": "4", "ulxc.mount.1.create": "dir", "empty": ""},
		Process: &specs.Process{
			Args: []string{"/sbin/init", "--log-level=debug"},
			Env:  []string{"PATH=/bin", "container=lxc"},
			Cwd:  "/root",
			User: specs.User{UID: 1, GID: 2, Umask: u32(0o22), AdditionalGids: []uint32{3, 4}, Username: "daemon"},
			Rlimits: []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Hard: 1 << 20, Soft: 1024},
				{Type: "RLIMIT_CORE", Hard: ^uint64(0), Soft: ^uint64(0)},
			},
			NoNewPrivileges: true,
			OOMScoreAdj:     &oom,
		},
		Hooks: &specs.Hooks{
			//lint:ignore SA1019 the runtime still runs Prestart hooks, so the wire carries them
			Prestart: hook("/pre"), CreateRuntime: hook("/cr"), CreateContainer: hook("/cc"),
			StartContainer: hook("/sc"), Poststart: hook("/ps"), Poststop: hook("/stop"),
		},
		Linux: &specs.Linux{
			UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
			GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65535}},
			Devices: []specs.LinuxDevice{
				{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode, UID: u32(0), GID: u32(5)},
				{Path: "/dev/loop0", Type: "b", Major: 7, Minor: 0},
			},
			MaskedPaths:   []string{"/proc/kcore"},
			ReadonlyPaths: []string{"/proc/sys", "/proc/sysrq-trigger"},
			Namespaces:    []specs.LinuxNamespace{{Type: specs.NetworkNamespace}, {Type: specs.UTSNamespace, Path: "/x"}},
			Resources:     &specs.LinuxResources{Unified: map[string]string{"memory.max": "1G", "pids.max": "100"}},
			Sysctl:        map[string]string{"net.ipv4.ip_forward": "1"},
			Personality:   &specs.LinuxPersonality{Domain: specs.PerLinux32},
			Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64},
				Syscalls: []specs.LinuxSyscall{
					{Names: []string{"umount2"}, Action: specs.ActErrno, ErrnoRet: &errno13,
						Args: []specs.LinuxSeccompArg{{Index: 1, Value: 1, ValueTwo: 1, Op: specs.OpMaskedEqual}}},
					{Names: []string{"kexec_load", "init_module"}, Action: specs.ActKill},
				}},
		},
	}
}

func TestWireRoundTrip(t *testing.T) {
	want := fullSpec()
	in := fullSpec()
	// What the runtime never reads is not carried.
	in.Linux.Resources.CPU = &specs.LinuxCPU{Cpus: "0-1"}
	in.Process.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Effective: []string{"CAP_KILL"}}
	// Of the capabilities, the bounding set (wire.go).
	want.Process.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}}

	ic := &initConfig{Spec: in, Name: "web", ConfigPath: "/c/web/config", Console: true, TTYs: 3, NewNet: true,
		Unshare: lateNamespaces, ConsoleRows: 40, ConsoleCols: 132}
	got, err := decodeInitConfig(ic.encode())
	if err != nil {
		t.Fatalf("decodeInitConfig(encode()) = %v", err)
	}
	wantIC := &initConfig{Spec: want, Name: "web", ConfigPath: "/c/web/config", Console: true, TTYs: 3, NewNet: true,
		Unshare: lateNamespaces, ConsoleRows: 40, ConsoleCols: 132}
	if !reflect.DeepEqual(got, wantIC) {
		t.Errorf("initConfig round trip:\n got %+v\nwant %+v", got, wantIC)
	}
	if !reflect.DeepEqual(got.Spec, want) {
		t.Errorf("spec round trip:\n got %#v\nwant %#v", got.Spec, want)
	}

	mc := &monitorConfig{Name: "web", ConfigPath: "/c", RuntimeDir: "/run/u/web", ConsoleLogPath: "/c/console.log", PidFile: "/run/u/web.pid",
		ExtraLogPath: "/tmp/log", LogLevel: slog.LevelDebug, Spec: in, RunLock: true}
	gotMC, err := decodeMonitorConfig(mc.encode())
	if err != nil {
		t.Fatalf("decodeMonitorConfig(encode()) = %v", err)
	}
	mc.Spec = want
	if !reflect.DeepEqual(gotMC, mc) {
		t.Errorf("monitorConfig round trip:\n got %+v\nwant %+v", gotMC, mc)
	}
}

func TestWireMinimalSpec(t *testing.T) {
	in := validSpec()
	got, err := decodeInitConfig((&initConfig{Spec: in}).encode())
	if err != nil {
		t.Fatalf("decodeInitConfig(encode(validSpec)) = %v", err)
	}
	if err := checkSpec(got.Spec); err != nil {
		t.Errorf("checkSpec(round trip of validSpec) = %v, want nil", err)
	}
	if got.Spec.Hooks != nil || got.Spec.Linux.Resources != nil || got.Spec.Process.User.Umask != nil {
		t.Errorf("round trip of validSpec invented hooks, resources or umask: %+v", got.Spec)
	}
}

func TestWireMalformed(t *testing.T) {
	good := (&initConfig{Spec: fullSpec(), Name: "web"}).encode()
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"other version", append([]byte{wireVersion + 1}, good[1:]...)},
		{"truncated", good[:len(good)/2]},
		{"trailing bytes", append(append([]byte{}, good...), 0)},
		{"huge count", []byte{wireVersion, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"bad bool", []byte{wireVersion, 0, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeInitConfig(tc.b); !errors.Is(err, errWire) {
				t.Errorf("decodeInitConfig(%s) = %v, want %v", tc.name, err, errWire)
			}
			if _, err := decodeMonitorConfig(tc.b); !errors.Is(err, errWire) {
				t.Errorf("decodeMonitorConfig(%s) = %v, want %v", tc.name, err, errWire)
			}
		})
	}
}

func FuzzDecodeWire(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/wire-*.bin")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add((&initConfig{Spec: fullSpec(), Name: "web"}).encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := decodeInitConfig(b); err == nil {
			// What decodes survives another round trip.
			again, err := decodeInitConfig(c.encode())
			if err != nil || !reflect.DeepEqual(again, c) {
				t.Errorf("decodeInitConfig(%q) = %+v, but its round trip gives %+v, %v", b, c, again, err)
			}
		}
		if c, err := decodeMonitorConfig(b); err == nil {
			again, err := decodeMonitorConfig(c.encode())
			if err != nil || !reflect.DeepEqual(again, c) {
				t.Errorf("decodeMonitorConfig(%q) = %+v, but its round trip gives %+v, %v", b, c, again, err)
			}
		}
	})
}
