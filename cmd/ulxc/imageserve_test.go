package main

import (
	"bufio"
	"io"
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
