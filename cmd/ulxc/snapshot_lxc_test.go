package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// TestLXCStartsSnapshot: LXC 5's own lxc-start runs an overlay snapshot
// that ulxc made, as the unprivileged user: LXC reads the same
// overlay:LOWER:UPPER, finds the workdir where ulxc made it, and sees the
// snapshot's own name inside.
func TestLXCStartsSnapshot(t *testing.T) {
	if _, err := exec.LookPath("lxc-start"); err != nil {
		testenv.Skipf(t, "LXC is not installed (apt-get install lxc): %v", err)
	}
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	orig := richBusybox(t, h, "ct")
	before := treeSum(t, filepath.Join(orig, "rootfs"))
	h.MustRun(t, "copy", "-s", "ct", "snap")
	store := runtimetest.StorePath(h)
	// What LXC asks of its users (print_top_failing_dir: "grant it x
	// access"): its container root walks from / to the layers.
	for _, d := range []string{".local", ".local/share", ".local/share/ulxc", ".local/share/ulxc/ct", ".local/share/ulxc/snap"} {
		if err := os.Chmod(filepath.Join(h.Dir, d), 0o711); err != nil {
			t.Fatal(err)
		}
	}
	cmd := h.Exec(t, nil, "lxc-start", "-P", store, "-n", "snap", "-F", "-l", "DEBUG", "-o", filepath.Join(h.Dir, "lxc.log"), "--",
		"/bin/sh", "-c", "{ hostname; cat /etc/hostname; echo lxc > /by-lxc; } > /tmp/lxc-out")
	r := testenv.RunCmd(t, cmd)
	log, _ := os.ReadFile(filepath.Join(h.Dir, "lxc.log"))
	if r.Code != 0 {
		t.Fatalf("lxc-start -P %s -n snap: exit %d\n%s%s\nlog:\n%s", store, r.Code, r.Stdout, r.Stderr, log)
	}
	b, err := os.ReadFile(filepath.Join(store, "snap/overlay/delta/tmp/lxc-out"))
	if got := strings.Fields(string(b)); err != nil || strings.Join(got, "|") != "snap|snap" {
		t.Errorf("LXC's run of the snapshot wrote %q, %v; want snap, snap", b, err)
	}
	if _, err := os.Stat(filepath.Join(store, "snap/overlay/delta/by-lxc")); err != nil {
		t.Errorf("LXC's write is not in the snapshot's upper layer: %v", err)
	}
	if d := diffSums(before, treeSum(t, filepath.Join(orig, "rootfs"))); len(d) > 0 {
		t.Errorf("LXC's run changed the original:\n%s", strings.Join(d, "\n"))
	}
}

// TestLXCStartsOverlayCreated: LXC 5's own lxc-start runs a container
// that `ulxc create -B overlay` made over a shared layer in the cache, as
// the unprivileged user; its write lands in the container's upper layer.
func TestLXCStartsOverlayCreated(t *testing.T) {
	if _, err := exec.LookPath("lxc-start"); err != nil {
		testenv.Skipf(t, "LXC is not installed (apt-get install lxc): %v", err)
	}
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	h.MustRun(t, "create", "ct", "-B", "overlay", "-t", "busybox")
	layer := lowerOf(t, h, "ct")
	store := runtimetest.StorePath(h)
	// LXC's container root walks from / to the layers (see
	// TestLXCStartsSnapshot); the layer directory itself is 0555.
	for _, d := range []string{".local", ".local/share", ".local/share/ulxc", ".local/share/ulxc/ct", ".cache", ".cache/ulxc", ".cache/ulxc/layers", filepath.Dir(filepath.Dir(layer))} {
		if !filepath.IsAbs(d) {
			d = filepath.Join(h.Dir, d)
		}
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	cmd := h.Exec(t, nil, "lxc-start", "-P", store, "-n", "ct", "-F", "-l", "DEBUG", "-o", filepath.Join(h.Dir, "lxc.log"), "--",
		"/bin/sh", "-c", "{ hostname; cat /etc/hostname; } > /tmp/lxc-out")
	r := testenv.RunCmd(t, cmd)
	log, _ := os.ReadFile(filepath.Join(h.Dir, "lxc.log"))
	if r.Code != 0 {
		t.Fatalf("lxc-start -P %s -n ct: exit %d\n%s%s\nlog:\n%s", store, r.Code, r.Stdout, r.Stderr, log)
	}
	b, err := os.ReadFile(filepath.Join(store, "ct/overlay/delta/tmp/lxc-out"))
	if got := strings.Fields(string(b)); err != nil || strings.Join(got, "|") != "ct|ct" {
		t.Errorf("LXC's run wrote %q, %v; want ct, ct", b, err)
	}
	if _, err := os.Lstat(filepath.Join(layer, "tmp/lxc-out")); !os.IsNotExist(err) {
		t.Errorf("LXC's write reached the shared layer: %v", err)
	}
}
