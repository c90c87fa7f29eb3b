package main

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/download/downloadtest"
	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// rootGroupStore makes the store an administrator would make for u: owned
// by u, group root, which no user namespace of u's maps.
func rootGroupStore(t *testing.T, u *testenv.User, mode os.FileMode) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "making a store of group root for the test user needs root (CAP_CHOWN)")
	}
	dir := filepath.Join(u.TempDir(t), "store")
	if err := os.Mkdir(dir, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, int(u.UID), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

func storeEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestDestroyRootGroupStore: destroy empties and removes a container in a
// store whose group the container's namespace does not map, also when the
// store is not even searchable for the namespace (0700), and follows no
// symbolic link of the rootfs out of it.
func TestDestroyRootGroupStore(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	store := rootGroupStore(t, u, 0o755)
	victim := h.WriteFile(t, "victim/keep", "mine\n")
	h.MustRun(t, "-P", store, "create", "c1", "-t", "busybox")
	start, count := runtimetest.SubRange(t, u)
	// As the container's root would: a link out of the rootfs.
	ln := h.Command(t, nil, "usernsexec", "-m", fmt.Sprintf("b:0:%d:%d", start, count), "-s", "--",
		runtimetest.Busybox, "ln", "-s", filepath.Dir(victim), filepath.Join(store, "c1/rootfs/escape"))
	if r := testenv.RunCmd(t, ln); r.Code != 0 {
		t.Fatalf("ln -s in the rootfs: exit %d: %s", r.Code, r.Stderr)
	}
	if r := h.Run(t, "-P", store, "destroy", "c1"); r.Code != 0 {
		t.Errorf("destroy in a store of group root = exit %d, %q", r.Code, r.Stderr)
	}
	if got := storeEntries(t, store); len(got) != 0 {
		t.Errorf("store after destroy holds %q, want nothing", got)
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "mine\n" {
		t.Errorf("%s after destroy: %q, %v; want it untouched", victim, b, err)
	}

	// A store the namespace may not even search.
	h.MustRun(t, "-P", store, "create", "c2", "-t", "busybox")
	if err := os.Chmod(store, 0o700); err != nil {
		t.Fatal(err)
	}
	if r := h.Run(t, "-P", store, "destroy", "c2"); r.Code != 0 {
		t.Errorf("destroy in a 0700 store of group root = exit %d, %q", r.Code, r.Stderr)
	}
	if got := storeEntries(t, store); len(got) != 0 {
		t.Errorf("0700 store after destroy holds %q, want nothing", got)
	}
}

// TestCreateRollbackRootGroupStore: a create that fails once the rootfs
// holds files of subordinate ids leaves nothing in a store of group root.
func TestCreateRollbackRootGroupStore(t *testing.T) {
	u := testenv.SubIDUser(t)
	srv := downloadtest.New(t, downloadtest.Options{})
	h := newImageHome(t, u, srv)
	store := rootGroupStore(t, u, 0o755)
	p := downloadtest.Image{}.Path()
	srv.SetFile(p+"rootfs.tar.xz", hostileRootfs(t,
		tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755},
		tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		tar.Header{Name: "etc/hostname", Typeflag: tar.TypeReg, Size: 4},
		tar.Header{Name: "../../escape", Typeflag: tar.TypeReg, Size: 1}))
	srv.Sign(t, p+"rootfs.tar.xz", srv.Key, nil)
	r := h.Run(t, append([]string{"-P", store}, h.createArgs("web")...)...)
	if r.Code != 1 || !strings.Contains(r.Stderr, image.ErrInsecurePath.Error()) {
		t.Errorf("create of a hostile image = exit %d, %q; want 1 and the refusal", r.Code, r.Stderr)
	}
	if strings.Contains(r.Stderr, "permission denied") {
		t.Errorf("create's rollback: %q, want no permission denied", r.Stderr)
	}
	if got := storeEntries(t, store); len(got) != 0 {
		t.Errorf("store after a failed create holds %q, want nothing", got)
	}
}
