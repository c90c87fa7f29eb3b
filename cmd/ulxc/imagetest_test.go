package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/download/downloadtest"
	"github.com/ulxc/ulxc/internal/testenv"
)

// TestImageTestRoundTrip is the maintainer's loop as the test user: a
// busybox container packed as two variants with a generated key, plus a
// rootfs directory without an init as a third, indexed and served on
// loopback; image test --all-variants creates, boots and checks each
// (the one without init runs /bin/true), reports all passing, in a table
// and as JSON, and leaves no container behind; a failing command fails
// its variants and the exit status.
func TestImageTestRoundTrip(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	h.MustRun(t, "create", "-t", "busybox", "src")
	key, fpr := genKey(t, h, "images")
	tree := filepath.Join(h.Dir, "tree")
	for _, variant := range []string{"default", "mini"} {
		h.MustRun(t, "image", "pack", "src", "-d", "busybox", "-r", "1.36", "--variant", variant, "--sign-key", key, "-o", tree)
	}
	// A rootfs with a shell and true, and no init, as the user made it.
	bb, err := os.ReadFile(downloadtest.HostBusybox)
	if err != nil {
		testenv.Skipf(t, "no static busybox at %s (apt-get install busybox-static): %v", downloadtest.HostBusybox, err)
	}
	h.WriteFile(t, "noinit/bin/busybox", string(bb))
	if err := os.Chmod(filepath.Join(h.Dir, "noinit/bin/busybox"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"sh", "true"} {
		if err := os.Symlink("busybox", filepath.Join(h.Dir, "noinit/bin", l)); err != nil {
			t.Fatal(err)
		}
		os.Lchown(filepath.Join(h.Dir, "noinit/bin", l), int(u.UID), int(u.GID))
	}
	h.MustRun(t, "image", "pack", "./noinit", "-d", "busybox", "-r", "1.36", "--variant", "noinit", "--sign-key", key, "-o", tree)
	h.MustRun(t, "image", "index", tree)
	url := serveTree(t, h, tree)
	base := []string{"image", "test", "--server", url, "-d", "busybox", "-r", "1.36", "-a", download.HostArch(),
		"--keyid", fpr, "--keyserver", url}

	r := h.MustRun(t, append(base, "--all-variants")...)
	t.Logf("image test --all-variants:\n%s%s", r.Stdout, r.Stderr)
	got := rows(r.Stdout)
	if !strings.HasPrefix(r.Stdout, "VARIANT") || len(got) != 3 {
		t.Fatalf("image test --all-variants printed\n%s\nwant a header and 3 rows", r.Stdout)
	}
	for i, want := range []string{"default", "mini", "noinit"} {
		if row := got[i]; row[0] != want || row[2] != "PASS" || !strings.HasSuffix(row[3], "s") || len(row) != 6 {
			t.Errorf("row %d = %q, want %s PASS with a time and a size", i, row, want)
		}
	}

	r = h.MustRun(t, append(base, "--variant", "mini", "--format", "json", "--", "sh", "-c", "test $(cat /etc/hostname) = test-mini")...)
	// The fields of image test's JSON (variantResult, in the full build).
	var res []struct {
		Variant, Build, Result, Check string
		Size                          int64
	}
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || len(res) != 1 {
		t.Fatalf("--format json: %v\n%s", err, r.Stdout)
	}
	if res[0].Variant != "mini" || res[0].Result != "PASS" || res[0].Size == 0 || res[0].Build == "" || res[0].Check != "init: running" {
		t.Errorf("--format json = %+v, want mini passing its boot check, with build and size", res[0])
	}

	r = h.Run(t, append(base, "--all-variants", "--", "false")...)
	if r.Code != 1 || strings.Count(r.Stdout, "FAIL") != 3 || !strings.Contains(r.Stderr, "3 of 3 variants failed") ||
		!strings.Contains(r.Stderr, "default: false: exit status 1") {
		t.Errorf("image test -- false: exit %d\n%s%s\nwant every variant failing, each named", r.Code, r.Stdout, r.Stderr)
	}
	if r := h.Run(t, append(base, "--variant", "nosuch")...); r.Code != 1 || !strings.Contains(r.Stderr, "no matching image") {
		t.Errorf("image test --variant nosuch: exit %d, %q", r.Code, r.Stderr)
	}

	// An image whose init exits at once fails its boot check.
	h.MustRun(t, "create", "-t", "busybox", "broken")
	cfg := filepath.Join(h.Dir, ".local/share/ulxc/broken/config")
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("lxc.init.cmd = /bin/false\n")
	f.Close()
	h.MustRun(t, "image", "pack", "broken", "-d", "busybox", "-r", "1.36", "--variant", "broken", "--sign-key", key, "-o", tree)
	h.MustRun(t, "image", "index", tree)
	r = h.Run(t, append(base, "--variant", "broken", "--timeout", "3s")...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "broken: boot check: not running after 3s") {
		t.Errorf("image test of an init that exits: exit %d\n%s%s\nwant the boot check failing", r.Code, r.Stdout, r.Stderr)
	}
	left, _ := filepath.Glob(filepath.Join(h.Dir, ".local/share/ulxc-image-test-*"))
	if len(left) != 0 {
		t.Errorf("image test left %v", left)
	}
}
