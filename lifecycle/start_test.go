package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/store"
)

// testConfig is a container with a bit of everything the spec carries:
// id maps, a tmpfs, a bind of a host device node (the line start
// suggests for a recorded node), hooks of each kind, user-mode
// networking (for Publish), limits, capabilities and a console log.
const testConfig = `lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.uts.name = web
lxc.init.cmd = /sbin/init
lxc.mount.auto = proc:mixed sys:ro
lxc.mount.entry = tmpfs tmp tmpfs mode=1777,size=1m 0 0
lxc.mount.entry = /dev/net/tun dev/net/tun none bind,create=file 0 0
lxc.hook.pre-start = /bin/true pre-start
lxc.hook.mount = /bin/true mount
lxc.hook.start = /bin/true start
lxc.hook.stop = /bin/true stop
lxc.hook.post-stop = /bin/true post-stop
lxc.hook.destroy = /bin/true destroy
lxc.net.0.type = pasta
lxc.prlimit.nofile = 512:1024
lxc.cap.drop = sys_module
lxc.environment = FOO=bar
lxc.console.logfile = %s/console.log
`

// testStore makes a store with the container web (testConfig, a rootfs,
// and the device nodes its image recorded: /dev/net/tun, bound by the
// config, and /dev/kvm, left out) and a runtime directory of its own.
func testStore(t *testing.T) (*store.Store, *store.Container) {
	t.Helper()
	run := t.TempDir()
	if err := os.Chmod(run, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_RUNTIME_DIR", run)
	dir := filepath.Join(t.TempDir(), "ulxc")
	cdir := filepath.Join(dir, "web")
	if err := os.MkdirAll(filepath.Join(cdir, "rootfs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cdir, "config"), fmt.Appendf(nil, testConfig, cdir), 0o600); err != nil {
		t.Fatal(err)
	}
	devs := []store.Device{{Path: "dev/net/tun", Type: 'c', Major: 10, Minor: 200, Mode: 0o666},
		{Path: "dev/kvm", Type: 'c', Major: 10, Minor: 232, Mode: 0o660}}
	if err := store.WriteDevices(cdir, devs); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Get("web")
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// leaves flattens the JSON of v into sorted "path = value" lines
// (testenv.JSONLeaves), so that two specs are compared field by field.
func leaves(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return testenv.JSONLeaves(t, b)
}

// TestStartRunsSpec holds `ulxc spec` and `ulxc start` to one model: what
// Start hands package runtime, in the foreground and to the monitor,
// is field for field the spec that Spec returns for the same Options
// (what `ulxc spec` prints), devices, mounts, hooks and id maps
// included, and the run's other options come from the same source.
func TestStartRunsSpec(t *testing.T) {
	s, c := testStore(t)
	rc := filepath.Join(t.TempDir(), "rc.conf")
	text, err := os.ReadFile(c.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rc, append(text, "lxc.uts.name = from-rcfile\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"config", Options{}},
		{"command", Options{Command: []string{"/bin/sh", "-c", "echo hi"}}},
		{"rcfile and defines", Options{Source: Source{RCFile: rc, Defines: []string{"lxc.mount.entry = tmpfs run tmpfs size=1m 0 0", "lxc.uts.name = defined"}}}},
		{"publish", Options{Publish: []string{"8080:80", "udp:5353:53"}}},
		{"execute", Options{Execute: true, Command: []string{"/bin/true"}}},
	} {
		for _, fg := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/foreground=%v", tc.name, fg), func(t *testing.T) {
				_, want, err := Spec(s, "web", tc.opts)
				if err != nil {
					t.Fatalf("Spec(web, %+v) = %v", tc.opts, err)
				}
				// Not a vacuous comparison: the spec has what the test is about.
				if len(want.Linux.UIDMappings) == 0 || want.Hooks == nil || len(want.Hooks.CreateRuntime) == 0 || len(want.Hooks.Poststop) == 0 {
					t.Fatalf("Spec(web): no id maps or hooks: %+v", want)
				}
				bound := false
				for _, m := range want.Mounts {
					bound = bound || m.Destination == "/dev/net/tun"
				}
				if !bound {
					t.Fatalf("Spec(web) does not bind /dev/net/tun: %+v", want.Mounts)
				}

				var got runtime.Options
				var heldDuring bool
				runtimeStart = func(_ context.Context, o runtime.Options) (*runtime.Container, error) {
					got = o
					run, _ := c.FindRun()
					heldDuring = run.Held
					return nil, errStop
				}
				runtimeDaemon = func(_ context.Context, o runtime.DaemonOptions) (runtime.State, error) {
					got = o.Options
					heldDuring = o.RunLock != nil
					if o.LogPath != c.LogPath() {
						t.Errorf("monitor log = %q, want the container's %q", o.LogPath, c.LogPath())
					}
					return runtime.State{}, errStop
				}
				t.Cleanup(func() { runtimeStart, runtimeDaemon = runtime.Start, runtime.Daemon })

				var warned []string
				_, err = Start(context.Background(), s, "web", StartOptions{Options: tc.opts, Foreground: fg,
					Runtime: runtime.Options{PidFile: "/run/web.pid"}, Warn: func(m string) { warned = append(warned, m) }})
				if !errors.Is(err, errStop) {
					t.Fatalf("Start = %v, want the runtime's error", err)
				}
				if got.Spec == nil {
					t.Fatal("Start handed the runtime no spec")
				}
				if missing, extra := testenv.DiffLines(leaves(t, want), leaves(t, got.Spec)); len(missing)+len(extra) > 0 {
					t.Errorf("the spec start runs differs from Spec's:\nonly in Spec:\n\t%s\nonly in what start runs:\n\t%s",
						strings.Join(missing, "\n\t"), strings.Join(extra, "\n\t"))
				}
				if !heldDuring {
					t.Error("the runtime was called without the run lock held")
				}
				wantOpts := runtime.Options{Name: "web", Spec: got.Spec, ConfigPath: tc.opts.Source.Path(c),
					ConsoleLogPath: filepath.Join(c.Dir, "console.log"), PidFile: "/run/web.pid", RuntimeDir: got.RuntimeDir}
				if !reflect.DeepEqual(got, wantOpts) {
					t.Errorf("runtime options = %+v, want %+v", got, wantOpts)
				}
				if dir, err := c.RuntimeDir(); err != nil || got.RuntimeDir != dir {
					t.Errorf("runtime directory = %q, want the container's %q (%v)", got.RuntimeDir, dir, err)
				}
				if want := "web: device nodes of the image not bound from the host: /dev/kvm"; !slices.Contains(warned, want) {
					t.Errorf("Start warned %q, want %q", warned, want)
				}
				// A failed start holds nothing.
				if run, err := c.FindRun(); err != nil || run.Held {
					t.Errorf("after a failed start the run lock is held: %+v, %v", run, err)
				}
				unlock, err := c.Lock(false)
				if err != nil {
					t.Fatalf("after a failed start the container's lock is held: %v", err)
				}
				unlock()
			})
		}
	}
}

var errStop = errors.New("test: runtime not run")

// TestSpecErrors covers what Spec refuses: an unknown container (the
// container is nil), an execute spec without a command, and a forward
// that does not parse.
func TestSpecErrors(t *testing.T) {
	s, c := testStore(t)
	if got, _, err := Spec(s, "ghost", Options{}); got != nil || !errors.Is(err, store.ErrNotExist) {
		t.Errorf("Spec(ghost) = %v, %v; want nil, store.ErrNotExist", got, err)
	}
	var nc *NoCommandError
	if _, _, err := Spec(s, "web", Options{Execute: true}); !errors.As(err, &nc) || !errors.Is(err, ErrNoCommand) || nc.ConfigPath != c.ConfigPath() {
		t.Errorf("Spec(web, Execute without a command) = %v; want a NoCommandError naming %s", err, c.ConfigPath())
	}
	var pe *PublishError
	if _, _, err := Spec(s, "web", Options{Publish: []string{"80"}}); !errors.As(err, &pe) {
		t.Errorf("Spec(web, Publish 80) = %v; want a PublishError", err)
	}
}
