package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ulxc/ulxc/download/downloadtest"
	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/ocispec"
)

// layerDirs lists the committed shared layers of h's cache.
func layerDirs(t *testing.T, h *testenv.Home) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(h.Dir, ".cache/ulxc/layers/*/layer.*"))
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// lowerOf is the one lower layer of an overlay container's config.
func lowerOf(t *testing.T, h *testenv.Home, name string) string {
	t.Helper()
	v := configValues(t, filepath.Join(h.Dir, ".local/share/ulxc", name, "config"), "lxc.rootfs.path")
	if len(v) != 1 {
		t.Fatalf("%s: lxc.rootfs.path = %q, want one", name, v)
	}
	o, ok, err := ocispec.ParseOverlay(v[0])
	if !ok || err != nil || len(o.Lower) != 1 {
		t.Fatalf("%s: lxc.rootfs.path = %q (%v): want overlay:LAYER:UPPER", name, v[0], err)
	}
	return o.Lower[0]
}

// diskKiB is what dir takes on disk (du -sk), measured in a namespace
// that maps the user's subordinate ids and the user.
func diskKiB(t *testing.T, h *testenv.Home, dir string) int {
	t.Helper()
	start, count := subRange(t, h.User)
	r := h.MustRun(t, "usernsexec", "-m", fmt.Sprintf("b:0:%d:%d", start, count), "-s", "--", "du", "-sk", dir)
	n, err := strconv.Atoi(strings.Fields(r.Stdout)[0])
	if err != nil {
		t.Fatalf("du -sk %s = %q", dir, r.Stdout)
	}
	return n
}

// overlayArgs are create's args with -B overlay before the template's.
func overlayArgs(args []string) []string {
	return append([]string{args[0], args[1], "-B", "overlay"}, args[2:]...)
}

// createOverlay is create with -B overlay; it returns stderr (--debug).
func (h *imageHome) createOverlay(t *testing.T, name string, more ...string) string {
	t.Helper()
	r := testenv.RunCmd(t, h.Command(t, nil, append([]string{"--debug"}, overlayArgs(h.createArgs(name, more...))...)...))
	if r.Code != 0 {
		t.Fatalf("create -B overlay %s = exit %d, stderr:\n%s", name, r.Code, r.Stderr)
	}
	return r.Stderr
}

// builtLayer says whether a create's --debug output says it made the
// layer (true) or found it in the cache (false).
func builtLayer(t *testing.T, stderr string) bool {
	t.Helper()
	switch {
	case strings.Contains(stderr, `msg="layer ready"`) && strings.Contains(stderr, "built=true"):
		return true
	case strings.Contains(stderr, `msg="layer ready"`) && strings.Contains(stderr, "built=false"):
		return false
	}
	t.Fatalf("create --debug does not say where the layer came from:\n%s", stderr)
	return false
}

// TestCreateOverlayBusybox makes two busybox containers over one shared
// layer: the second create unpacks nothing and takes almost no space, each
// starts with its own name, what one writes is seen neither by the other
// nor in the layer, and the layer stays while one of them uses it, even
// after `images --prune-layers`; once its last user is gone (destroyed,
// or its directory deleted by hand) it is pruned.
func TestCreateOverlayBusybox(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	r := h.MustRun(t, "--debug", "create", "one", "-B", "overlay", "-t", "busybox")
	if !builtLayer(t, r.Stderr) {
		t.Errorf("first create -B overlay did not make the layer")
	}
	r = h.MustRun(t, "--debug", "create", "two", "-B", "overlay", "-t", "busybox")
	if builtLayer(t, r.Stderr) {
		t.Errorf("second create -B overlay made the layer again")
	}
	layers := layerDirs(t, h)
	if len(layers) != 1 {
		t.Fatalf("layers after two creates = %q, want one", layers)
	}
	rootfs := filepath.Join(layers[0], "rootfs")
	for _, name := range []string{"one", "two"} {
		if got := lowerOf(t, h, name); got != rootfs {
			t.Errorf("%s's lower layer = %s, want the shared %s", name, got, rootfs)
		}
	}
	if fi, err := os.Stat(layers[0]); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("layer directory %s: %v, %v; want mode 0555", layers[0], fi.Mode(), err)
	}
	if own, lay := diskKiB(t, h, filepath.Join(h.Dir, ".local/share/ulxc/two")), diskKiB(t, h, layers[0]); own > 100 || lay < 1000 {
		t.Errorf("du: container two %d KiB, layer %d KiB; want the container under 100 KiB over a layer of the busybox binary", own, lay)
	}

	r = h.MustRun(t, "start", "-F", "one", "--", "/bin/sh", "-c", "hostname; cat /etc/hostname; echo one > /written")
	if got := strings.Join(lines(r.Stdout), "|"); got != "one|one" {
		t.Errorf("one: hostname, /etc/hostname = %q, want one|one", got)
	}
	r = h.MustRun(t, "start", "-F", "two", "--", "/bin/sh", "-c", "hostname; cat /etc/hostname; cat /written 2>/dev/null || echo absent")
	if got := strings.Join(lines(r.Stdout), "|"); got != "two|two|absent" {
		t.Errorf("two: hostname, /etc/hostname, /written = %q, want two|two|absent", got)
	}
	if _, err := os.Lstat(filepath.Join(rootfs, "written")); !os.IsNotExist(err) {
		t.Errorf("the layer has one's file: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(rootfs, "etc/hostname")); err != nil || strings.Contains(string(b), "one") || strings.Contains(string(b), "two") {
		t.Errorf("layer etc/hostname = %q, %v; want no container's name in the layer", b, err)
	}

	h.MustRun(t, "destroy", "one")
	h.MustRun(t, "images", "--prune-layers")
	if got := layerDirs(t, h); len(got) != 1 {
		t.Fatalf("after destroy one and a prune: layers %q, want the one two uses", got)
	}
	r = h.MustRun(t, "start", "-F", "two", "--", "/bin/hostname")
	if got := strings.TrimSpace(r.Stdout); got != "two" {
		t.Errorf("two after one's destroy: hostname %q", got)
	}
	// A container removed by hand is no user.
	testenv.RemoveAll(t, u, filepath.Join(h.Dir, ".local/share/ulxc/two"))
	r = h.MustRun(t, "images", "--prune-layers")
	if got := layerDirs(t, h); len(got) != 0 || !strings.Contains(r.Stderr+r.Stdout, "Removed layer "+layers[0]) {
		t.Errorf("prune after the last user went: layers %q, output %q; want the layer removed and named", got, r.Stdout+r.Stderr)
	}
	h.MustRun(t, "create", "three", "-B", "overlay", "-t", "busybox")
	if r := h.MustRun(t, "start", "-F", "three", "--", "/bin/hostname"); strings.TrimSpace(r.Stdout) != "three" {
		t.Errorf("three over a new layer: hostname %q", r.Stdout)
	}
}

// TestCreateOverlayNoSubIDs: without subordinate ids the layer holds
// files of the user's own id (the single-id map), and the container over
// it starts.
func TestCreateOverlayNoSubIDs(t *testing.T) {
	u := testenv.NoSubIDUser(t)
	h := u.NewHome(t)
	h.MustRun(t, "create", "box", "-B", "overlay", "-t", "busybox")
	r := h.MustRun(t, "start", "-F", "box", "--", "/bin/sh", "-c", "hostname; id -u; echo x > /root/f && cat /root/f")
	if got := strings.Join(lines(r.Stdout), "|"); got != "box|0|x" {
		t.Errorf("box without subordinate ids: %q, want box|0|x", got)
	}
	h.MustRun(t, "destroy", "box")
	h.MustRun(t, "images", "--prune-layers")
	if got := layerDirs(t, h); len(got) != 0 {
		t.Errorf("layers after destroy and prune: %q", got)
	}
}

// TestOverlayCreatedCopies copies a container made with -B overlay in
// every way: a snapshot (the same layer under a copy of its upper one),
// a snapshot of that snapshot, a full copy, a rename and an ephemeral copy
// each start with their own name and the original's file. The snapshots
// keep the layer alive after their original is destroyed, and so does a
// renamed one on its own.
func TestOverlayCreatedCopies(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	h.MustRun(t, "create", "orig", "-B", "overlay", "-t", "busybox")
	h.MustRun(t, "start", "-F", "orig", "--", "/bin/sh", "-c", "echo mine > /root/file")
	layer := lowerOf(t, h, "orig")
	h.MustRun(t, "copy", "-s", "orig", "snap")
	h.MustRun(t, "copy", "-s", "snap", "snap2")
	h.MustRun(t, "copy", "orig", "full")
	for _, name := range []string{"snap", "snap2"} {
		if got := lowerOf(t, h, name); got != layer {
			t.Errorf("%s's lower layer = %s, want the original's %s", name, got, layer)
		}
	}
	started := func(name, wantHost string) {
		t.Helper()
		r := h.MustRun(t, "start", "-F", name, "--", "/bin/sh", "-c", "hostname; cat /root/file")
		if got := strings.Join(lines(r.Stdout), "|"); got != wantHost+"|mine" {
			t.Errorf("%s: hostname, /root/file = %q, want %s|mine", name, got, wantHost)
		}
	}
	for _, name := range []string{"snap", "snap2", "full"} {
		started(name, name)
	}
	r := h.MustRun(t, "start-ephemeral", "-o", "orig", "--", "/bin/sh", "-c", "hostname; cat /root/file")
	if got := lines(r.Stdout); len(got) != 2 || !strings.HasPrefix(got[0], "orig-") || got[1] != "mine" {
		t.Errorf("start-ephemeral -o orig: %q, want orig-XXXXXXXX and mine", got)
	}

	// The snapshots alone keep the layer: copy recorded their use.
	h.MustRun(t, "destroy", "orig")
	h.MustRun(t, "destroy", "full")
	h.MustRun(t, "images", "--prune-layers")
	if _, err := os.Stat(layer); err != nil {
		t.Fatalf("the layer the snapshots use was pruned: %v", err)
	}
	started("snap", "snap")
	// A renamed snapshot alone keeps it: its record follows the rename.
	h.MustRun(t, "rename", "snap2", "renamed")
	h.MustRun(t, "destroy", "snap")
	h.MustRun(t, "images", "--prune-layers")
	started("renamed", "renamed")
	h.MustRun(t, "destroy", "renamed")
	h.MustRun(t, "images", "--prune-layers")
	if _, err := os.Stat(layer); !os.IsNotExist(err) {
		t.Errorf("the layer after its last user's destroy and a prune: %v, want it removed", err)
	}
}

// TestCreateOverlayDownload creates from the test image server: the image
// is unpacked once, both containers start with their own name, and
// --flush-cache makes a new layer while the one in use is kept for its
// container.
func TestCreateOverlayDownload(t *testing.T) {
	u := testenv.SubIDUser(t)
	srv := downloadtest.New(t, downloadtest.Options{})
	h := newImageHome(t, u, srv)
	if !builtLayer(t, h.createOverlay(t, "web")) {
		t.Errorf("first create did not make the layer")
	}
	stderr := h.createOverlay(t, "web2")
	if builtLayer(t, stderr) || strings.Contains(stderr, "rootfs: ") {
		t.Errorf("second create unpacked again:\n%s", stderr)
	}
	old := lowerOf(t, h.Home, "web")
	if got := lowerOf(t, h.Home, "web2"); got != old {
		t.Errorf("web2's lower layer %s, want web's %s", got, old)
	}
	for _, name := range []string{"web", "web2"} {
		r := h.MustRun(t, "start", "-F", name, "--", "/bin/sh", "-c", "hostname; cat /etc/hostname")
		if got := strings.Join(lines(r.Stdout), "|"); got != name+"|"+name {
			t.Errorf("%s: hostname, /etc/hostname = %q", name, got)
		}
	}
	if b, err := os.ReadFile(filepath.Join(old, "etc/hostname")); err != nil || string(b) != "LXC_NAME\n" {
		t.Errorf("layer etc/hostname = %q, %v; want the image's LXC_NAME: templates write into the upper layer", b, err)
	}

	stderr = h.createOverlay(t, "web3", "--flush-cache")
	if !builtLayer(t, stderr) || !strings.Contains(stderr, "layer in use") {
		t.Errorf("create --flush-cache with the layer in use: want a new layer and a warning that the old one is kept:\n%s", stderr)
	}
	if got := lowerOf(t, h.Home, "web3"); got == old {
		t.Errorf("web3 after --flush-cache uses the old layer %s", old)
	}
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("--flush-cache removed the layer web uses: %v", err)
	}
	if r := h.MustRun(t, "start", "-F", "web", "--", "/bin/hostname"); strings.TrimSpace(r.Stdout) != "web" {
		t.Errorf("web after --flush-cache: %q", r.Stdout)
	}
	h.MustRun(t, "destroy", "web")
	h.MustRun(t, "destroy", "web2")
	h.MustRun(t, "images", "--prune-layers")
	if got := layerDirs(t, h.Home); len(got) != 1 || filepath.Join(got[0], "rootfs") != lowerOf(t, h.Home, "web3") {
		t.Errorf("layers after the old one's users went = %q, want only web3's", got)
	}
}

// TestCreateOverlayKilled kills a create -B overlay while it unpacks the
// layer: no layer is committed, and the next create cleans the remains
// and works.
func TestCreateOverlayKilled(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		testenv.Skipf(t, "no xz to pack the test image (apt-get install xz-utils): %v", err)
	}
	u := testenv.SubIDUser(t)
	srv := downloadtest.New(t, downloadtest.Options{})
	// The image with a large last member: its unpack takes long enough to
	// be caught in the middle.
	p := downloadtest.Image{}.Path() + "rootfs.tar.xz"
	srv.SetFile(p, withBigFile(t, plainTar(t, srv), 256<<20))
	srv.Sign(t, p, srv.Key, nil)
	h := newImageHome(t, u, srv)

	cmd := h.Command(t, nil, overlayArgs(h.createArgs("web"))...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(h.Dir, ".cache/ulxc/layers/*/.partial-*/rootfs.partial/big")
	deadline := time.Now().Add(time.Minute)
	for {
		if m, _ := filepath.Glob(big); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the layer's unpack never reached %s", big)
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if got := layerDirs(t, h.Home); len(got) != 0 {
		t.Errorf("a killed create committed layers %q", got)
	}
	if m, _ := filepath.Glob(filepath.Join(h.Dir, ".cache/ulxc/layers/*/current")); len(m) != 0 {
		t.Errorf("a killed create left %q", m)
	}
	h.createOverlay(t, "web")
	if m, _ := filepath.Glob(filepath.Join(h.Dir, ".cache/ulxc/layers/*/.partial-*")); len(m) != 0 {
		t.Errorf("the create after a killed one left its remains %q", m)
	}
	if r := h.MustRun(t, "start", "-F", "web", "--", "/bin/hostname"); strings.TrimSpace(r.Stdout) != "web" {
		t.Errorf("web after a killed create: %q", r.Stdout)
	}
}

// withBigFile is the tar plain with a file "big" of size zero bytes
// appended, packed with xz.
func withBigFile(t *testing.T, plain []byte, size int64) []byte {
	t.Helper()
	var out bytes.Buffer
	xzc := exec.Command("xz", "-0", "-T1", "-c")
	xzc.Stdout = &out
	in, err := xzc.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := xzc.Start(); err != nil {
		t.Fatal(err)
	}
	tr, tw := tar.NewReader(bytes.NewReader(plain)), tar.NewWriter(in)
	for {
		hd, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(hd); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "./big", Typeflag: tar.TypeReg, Mode: 0o644, Size: size, ModTime: time.Unix(1700000000, 0)}); err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 1<<20)
	for n := int64(0); n < size; n += int64(len(zero)) {
		if _, err := tw.Write(zero); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	in.Close()
	if err := xzc.Wait(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestImagePackOverlayCreated packs a container made with -B overlay:
// the image holds what the container sees (the layer, its own file, not
// the file it removed), with LXC_NAME back in /etc/hostname.
func TestImagePackOverlayCreated(t *testing.T) {
	requireTools(t, "xz", "tar")
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	h.MustRun(t, "create", "ov", "-B", "overlay", "-t", "busybox")
	h.MustRun(t, "start", "-F", "ov", "--", "/bin/sh", "-c", "echo mine > /root/file && rm /etc/inittab")
	tree := filepath.Join(h.Dir, "tree")
	dir := strings.TrimSpace(h.MustRun(t, "image", "pack", "ov", "-d", "busybox", "-r", "1.36", "-o", tree).Stdout)
	list := sh(t, "xz -dc "+dir+"/rootfs.tar.xz | tar --numeric-owner -tvf -")
	for _, want := range []string{`(?m)^-rwx.* 0/0 .* \./bin/busybox$`, `(?m)^-rw.* 0/0 .* \./root/file$`} {
		if !regexp.MustCompile(want).MatchString(list) {
			t.Errorf("packed rootfs of an overlay container lacks %s:\n%s", want, list)
		}
	}
	if strings.Contains(list, "./etc/inittab") {
		t.Errorf("packed rootfs has ./etc/inittab, which the container removed:\n%s", list)
	}
	if got := sh(t, "xz -dc "+dir+"/rootfs.tar.xz | tar -xOf - ./etc/hostname"); got != "LXC_NAME\n" {
		t.Errorf("packed /etc/hostname = %q, want LXC_NAME back", got)
	}
}
