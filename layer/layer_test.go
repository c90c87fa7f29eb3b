package layer

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/userns"
)

var testMaps = []userns.Map{
	{Kind: userns.UID, ContainerID: 0, HostID: 200000, Size: 65536},
	{Kind: userns.GID, ContainerID: 0, HostID: 200000, Size: 65536},
}

// build commits a layer of info in c (its files are the caller's own, so
// no namespace is needed to remove them).
func build(t *testing.T, c *Cache, info Info) *Layer {
	t.Helper()
	e, err := c.Open(context.Background(), info)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	staged, err := e.Stage()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(staged, RootfsName, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := e.Commit(context.Background(), staged, map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// container makes a container directory whose config's rootfs is an
// overlay over lowers, or a plain directory without lowers.
func container(t *testing.T, dir string, lowers ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	rootfs := "dir:" + filepath.Join(dir, "rootfs")
	if len(lowers) > 0 {
		rootfs = "overlay:" + strings.Join(lowers, ":") + ":" + filepath.Join(dir, "overlay/delta")
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("lxc.rootfs.path = "+rootfs+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUsers checks which records count: a container whose config names
// the layer, one being made (no config, its lock held); not one removed
// by hand, edited to another rootfs, or abandoned without its lock.
func TestUsers(t *testing.T) {
	root := t.TempDir()
	c := &Cache{Dir: filepath.Join(root, "layers")}
	l := build(t, c, Info{Origin: "test", Source: "a", Maps: testMaps})
	store := filepath.Join(root, "store")

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  bool
	}{
		{"config names the layer", func(t *testing.T, dir string) { container(t, dir, l.Rootfs) }, true},
		{"second lower", func(t *testing.T, dir string) { container(t, dir, filepath.Join(dir, "up"), l.Rootfs) }, true},
		{"removed by hand", func(t *testing.T, dir string) {}, false},
		{"another rootfs", func(t *testing.T, dir string) { container(t, dir) }, false},
		{"being made", func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			f, err := os.Create(filepath.Join(dir, ".ulxc.lock"))
			if err != nil {
				t.Fatal(err)
			}
			// Another open file description, as another process has.
			if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
		}, true},
		{"abandoned", func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, ".ulxc.lock"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(store, strings.ReplaceAll(tc.name, " ", "-"))
			if err := l.Use(context.Background(), dir); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, dir)
			if got := slices.Contains(l.Users(), dir); got != tc.want {
				t.Errorf("%s: counted as a user = %v, want %v", tc.name, got, tc.want)
			}
			if err := l.Release(dir); err != nil {
				t.Fatal(err)
			}
			if slices.Contains(l.Users(), dir) {
				t.Errorf("%s: still a user after Release", tc.name)
			}
		})
	}
}

// TestFlushAndPrune: a layer in use survives Flush (ErrInUse) and Prune,
// an unused one goes, the remains of a killed build go at the next Open,
// and a new build of the same origin supersedes the old one.
func TestFlushAndPrune(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	c := &Cache{Dir: filepath.Join(root, "layers")}
	info := Info{Origin: "test", Source: "build 1", Maps: testMaps}
	l := build(t, c, info)
	if mode := stat(t, l.Dir).Mode().Perm(); mode != 0o555 {
		t.Errorf("committed layer mode %v, want 0555", mode)
	}
	user := filepath.Join(root, "store/ct")
	container(t, user, l.Rootfs)
	if err := l.Use(ctx, user); err != nil {
		t.Fatal(err)
	}

	e, err := c.Open(ctx, info)
	if err != nil {
		t.Fatal(err)
	}
	staged, err := e.Stage() // a build killed mid-way
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(ctx); err == nil || !strings.Contains(err.Error(), user) {
		t.Errorf("Flush of a layer in use = %v, want ErrInUse naming %s", err, user)
	}
	if e.Current() != nil {
		t.Errorf("Flush left the layer current")
	}
	e.Close()
	if _, err := os.Stat(l.Rootfs); err != nil {
		t.Fatalf("Flush removed a layer in use: %v", err)
	}
	e, err = c.Open(ctx, info)
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	if _, err := os.Stat(staged); !os.IsNotExist(err) {
		t.Errorf("Open left the remains of a killed build %s: %v", staged, err)
	}

	if removed, err := c.Prune(ctx); err != nil || len(removed) != 0 {
		t.Errorf("Prune with the layer in use = %q, %v; want nothing removed", removed, err)
	}

	newer := build(t, c, Info{Origin: "test", Source: "build 2", Maps: testMaps})
	if err := os.RemoveAll(user); err != nil { // removed by hand
		t.Fatal(err)
	}
	removed, err := c.Prune(ctx)
	if err != nil || !slices.Contains(removed, l.Dir) {
		t.Errorf("Prune once unused = %q, %v; want %s removed", removed, err, l.Dir)
	}
	if _, err := os.Stat(newer.Rootfs); !os.IsNotExist(err) {
		t.Errorf("Prune kept the unused current layer %s: %v", newer.Dir, err)
	}
}

// TestSupersede: committing build 2 drops build 1's layer of the same
// origin and maps when unused, and keeps another origin's.
func TestSupersede(t *testing.T) {
	root := t.TempDir()
	c := &Cache{Dir: filepath.Join(root, "layers")}
	old := build(t, c, Info{Origin: "test", Source: "build 1", Maps: testMaps})
	other := build(t, c, Info{Origin: "other", Source: "other build 1", Maps: testMaps})
	build(t, c, Info{Origin: "test", Source: "build 2", Maps: testMaps})
	if _, err := os.Stat(old.Dir); !os.IsNotExist(err) {
		t.Errorf("superseded unused layer %s: %v, want removed", old.Dir, err)
	}
	if _, err := os.Stat(other.Dir); err != nil {
		t.Errorf("another origin's layer: %v, want kept", err)
	}
}

// TestOf recognises a layer's rootfs and nothing else.
func TestOf(t *testing.T) {
	root := t.TempDir()
	c := &Cache{Dir: filepath.Join(root, "layers")}
	l := build(t, c, Info{Origin: "test", Source: "a", Maps: testMaps})
	for _, tc := range []struct {
		path string
		want bool
	}{
		{l.Rootfs, true},
		{l.Rootfs + "/", true},
		{l.Dir, false},
		{filepath.Join(l.Rootfs, "etc"), false},
		{filepath.Join(root, "store/ct/rootfs"), false},
	} {
		if _, ok := Of(tc.path); ok != tc.want {
			t.Errorf("Of(%q) = %v, want %v", tc.path, ok, tc.want)
		}
	}
}

func stat(t *testing.T, p string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// TestPruneKeepsCurrentInUse: Prune leaves a current layer in use current,
// so that the next create shares it instead of making another.
func TestPruneKeepsCurrentInUse(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	c := &Cache{Dir: filepath.Join(root, "layers")}
	info := Info{Origin: "test", Source: "build 1", Maps: testMaps}
	l := build(t, c, info)
	user := filepath.Join(root, "store/ct")
	container(t, user, l.Rootfs)
	if err := l.Use(ctx, user); err != nil {
		t.Fatal(err)
	}
	if removed, err := c.Prune(ctx); err != nil || len(removed) != 0 {
		t.Errorf("Prune with the layer in use = %q, %v; want nothing removed", removed, err)
	}
	e, err := c.Open(ctx, info)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if cur := e.Current(); cur == nil || cur.Dir != l.Dir {
		t.Errorf("after Prune, the current layer is %v, want %s, in use, still current", cur, l.Dir)
	}
}
