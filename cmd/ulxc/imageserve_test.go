package main

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/internal/testenv"
)

// serveTree runs `ulxc image serve TREE --addr 127.0.0.1:0 [more...]` as
// h's user until the test ends and returns the URL it serves on.
func serveTree(t *testing.T, h *testenv.Home, tree string, more ...string) string {
	t.Helper()
	cmd := h.Command(t, nil, append([]string{"image", "serve", tree, "--addr", "127.0.0.1:0"}, more...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("image serve's log:\n%s", stderr.String())
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	go io.Copy(io.Discard, out)
	m := regexp.MustCompile(`^Serving .* on (https?://127\.0\.0\.1:[0-9]+)\n$`).FindStringSubmatch(line)
	if err != nil || m == nil {
		t.Fatalf("image serve printed %q, %v; stderr:\n%s", line, err, stderr.String())
	}
	return m[1]
}

// TestImageServeCreate, as the test user: a busybox container packed with
// a generated key, indexed and served on loopback is what `ulxc create
// -t download --keyid ... --keyserver` makes a container of, fetching the
// key from the same server, and the container starts.
func TestImageServeCreate(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	h.MustRun(t, "create", "-t", "busybox", "src")
	key, fpr := genKey(t, h, "images")
	tree := filepath.Join(h.Dir, "tree")
	h.MustRun(t, "image", "pack", "src", "-d", "busybox", "-r", "1.36", "--sign-key", key, "-o", tree)
	r := h.MustRun(t, "image", "index", tree)
	if rows := rows(r.Stdout); len(rows) != 1 || rows[0][3] != "default" {
		t.Fatalf("image index printed\n%s\nwant one image", r.Stdout)
	}
	url := serveTree(t, h, tree)
	h.MustRun(t, "create", "copy", "-t", "download", "--", "--server", url, "-d", "busybox", "-r", "1.36",
		"-a", download.HostArch(), "--keyid", fpr, "--keyserver", url)
	h.MustRun(t, "start", "copy")
	t.Cleanup(func() { h.Run(t, "stop", "-k", "copy") })
	r = h.MustRun(t, "attach", "copy", "--", "cat", "/etc/hostname")
	if r.Stdout != "copy\n" {
		t.Errorf("hostname of the copy = %q, want copy (LXC_NAME substituted again)", r.Stdout)
	}
}

// TestImageVerifyTampered, as the test user: image verify accepts a packed
// build with the tree's key (and refuses it with the built-in one); once
// its rootfs changes after signing, verify fails naming rootfs.tar.xz and
// why, for its own signature and through SHA256SUMS, and create from the
// served tree fails and leaves no container.
func TestImageVerifyTampered(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	h.MustRun(t, "create", "-t", "busybox", "src")
	key, fpr := genKey(t, h, "images")
	tree := filepath.Join(h.Dir, "tree")
	dir := strings.TrimSpace(h.MustRun(t, "image", "pack", "src", "-d", "busybox", "-r", "1.36", "--sign-key", key, "-o", tree).Stdout)
	h.MustRun(t, "image", "index", tree)
	pub := filepath.Join(tree, "keys", fpr+".asc")
	verify := func(file string, more ...string) testenv.Result {
		return h.Run(t, append([]string{"image", "verify", filepath.Join(dir, file)}, more...)...)
	}
	r := verify("SHA256SUMS", "--keyid", fpr, "--keyring", pub)
	if r.Code != 0 || strings.Count(r.Stdout, "matches SHA256SUMS") != 2 || !strings.Contains(r.Stdout, "good signature by "+fpr) {
		t.Fatalf("image verify SHA256SUMS of a good build: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := verify("meta.tar.xz"); r.Code != 1 || !strings.Contains(r.Stderr, "bad signature") || !strings.Contains(r.Stderr, "E7FB0CAEC8173D669066514CBAEFF88C22F6E216") {
		t.Errorf("image verify with the built-in key: exit %d, %q; want a bad signature naming the linuxcontainers key", r.Code, r.Stderr)
	}
	h.MustRun(t, "keys", "add", pub)
	if r := verify("meta.tar.xz", "--keyid", fpr); r.Code != 0 {
		t.Errorf("image verify --keyid with the key in the trust store: exit %d, %s", r.Code, r.Stderr)
	}

	rootfs := filepath.Join(dir, "rootfs.tar.xz")
	b, err := os.ReadFile(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(rootfs, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r = verify("rootfs.tar.xz", "--keyid", fpr)
	if r.Code != 1 || !strings.Contains(r.Stderr, "rootfs.tar.xz: bad signature") {
		t.Errorf("image verify of the changed rootfs: exit %d, %q; want rootfs.tar.xz: bad signature", r.Code, r.Stderr)
	}
	r = verify("SHA256SUMS", "--keyid", fpr)
	if r.Code != 1 || !strings.Contains(r.Stderr, "rootfs.tar.xz: checksum does not match SHA256SUMS") ||
		!strings.Contains(r.Stdout, "meta.tar.xz: matches SHA256SUMS") {
		t.Errorf("image verify SHA256SUMS of the changed rootfs: exit %d\n%s%s\nwant rootfs.tar.xz named as not matching", r.Code, r.Stdout, r.Stderr)
	}

	url := serveTree(t, h, tree)
	r = h.Run(t, "create", "copy", "-t", "download", "--", "--server", url, "-d", "busybox", "-r", "1.36",
		"-a", download.HostArch(), "--keyid", fpr)
	if r.Code != 1 || !strings.Contains(r.Stderr, "rootfs.tar.xz") {
		t.Errorf("create from the changed tree: exit %d, %q; want a failure naming rootfs.tar.xz", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(h.Dir, ".local/share/ulxc/copy")); !os.IsNotExist(err) {
		t.Errorf("the failed create left its container: %v", err)
	}
}
