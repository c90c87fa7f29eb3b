package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/download/downloadtest"
	"github.com/ulxc/ulxc/internal/testenv"
)

// TestCreateImageConfig serves a signed image whose config-user holds a
// genuine image's lines (the shape distrobuilder writes) and, between
// them, lines that reach outside the container: autostart, mount.auto,
// cgroup limits, sysctls, LXC configs an image may not include, a hook and
// a mount of the user's files. The container's config keeps exactly the
// genuine lines, create warns once for each other line with its number
// and key, and the started container shows none of their effects.
func TestCreateImageConfig(t *testing.T) {
	u := testenv.SubIDUser(t)
	h0 := u.NewHome(t) // where the hostile lines point: another home of the same user
	pwned := filepath.Join(h0.Dir, "PWNED")
	secret := filepath.Dir(h0.WriteFile(t, "secret/key", "the user's secret\n"))
	arch := download.HostArch()
	genuine := []string{
		"lxc.include = LXC_TEMPLATE_CONFIG/common.conf",
		"lxc.include = LXC_TEMPLATE_CONFIG/userns.conf",
		"lxc.arch = " + arch,
	}
	hostile := []string{
		"lxc.start.auto = 1",
		"lxc.mount.auto = proc:rw sys:rw cgroup:rw",
		"lxc.cgroup2.pids.max = 1",
		"lxc.sysctl.net.ipv4.ip_forward = 1",
		"lxc.include = LXC_TEMPLATE_CONFIG/nesting.conf",
		"lxc.include = LXC_TEMPLATE_CONFIG/common.conf.d/",
		"lxc.hook.pre-start = /bin/sh -c 'id > " + pwned + "'",
		"lxc.mount.entry = " + secret + " mnt/secret none bind,create=dir 0 0",
	}
	text := genuine[0] + "\n" + strings.Join(hostile[:4], "\n") + "\n" + genuine[1] + "\n" + strings.Join(hostile[4:], "\n") + "\n" + genuine[2] + "\n"
	srv := downloadtest.New(t, downloadtest.Options{Images: []downloadtest.Image{{ConfigUser: text}}})
	h := newImageHome(t, u, srv)
	r := h.mustCreate(t, h.createArgs("img")...)

	for i, l := range strings.Split(strings.TrimSpace(text), "\n") {
		key := strings.TrimSpace(strings.SplitN(l, "=", 2)[0])
		warning := fmt.Sprintf("image config line %d dropped: %s:", i+1, key)
		if slices.Contains(hostile, l) != strings.Contains(r.Stderr, warning) {
			t.Errorf("create's stderr has %q: %v, want %v:\n%s", warning, !slices.Contains(hostile, l), slices.Contains(hostile, l), r.Stderr)
		}
	}
	conf, err := os.ReadFile(filepath.Join(h.containerDir("img"), "config"))
	if err != nil {
		t.Fatal(err)
	}
	_, dist, _ := strings.Cut(string(conf), "# Distribution configuration\n")
	dist, _, _ = strings.Cut(dist, "\n\n")
	want := strings.ReplaceAll(strings.Join(genuine, "\n"), "LXC_TEMPLATE_CONFIG", "/usr/share/lxc/config")
	if dist != want {
		t.Errorf("the config's distribution section is\n%s\nwant\n%s", dist, want)
	}
	for _, k := range []string{"lxc.start.auto", "lxc.mount.auto", "lxc.cgroup2.", "lxc.sysctl.", "nesting.conf", "common.conf.d", "lxc.hook.", "lxc.mount.entry"} {
		if strings.Contains(string(conf), k) {
			t.Errorf("the container's config holds %s:\n%s", k, conf)
		}
	}

	var rows []lsRow
	if err := json.Unmarshal([]byte(h.MustRun(t, "ls", "-f", "--format", "json").Stdout), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Autostart {
		t.Errorf("ls -f = %+v, want img without autostart", rows)
	}
	host, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	r = h.Run(t, "start", "-F", "img", "--", "sh", "-c",
		`cat /proc/sys/net/ipv4/ip_forward; grep -c " /proc/sys proc ro," /proc/mounts; test -e /mnt/secret/key && echo secret || echo no-secret; sh -c 'echo forked'`)
	if r.Code != 0 {
		t.Fatalf("start -F: exit %d: %s", r.Code, r.Stderr)
	}
	// ip_forward of the container's own network namespace, which starts
	// at 0 whatever the host's; /proc/sys read-only (proc:mixed); no
	// bind of the user's files; and a fork, which pids.max = 1 refuses.
	if got, want := lines(r.Stdout), []string{"0", "1", "no-secret", "forked"}; !slices.Equal(got, want) {
		t.Errorf("inside the container: %q, want %q (host ip_forward %q; stderr %q)", got, want, strings.TrimSpace(string(host)), r.Stderr)
	}
	if _, err := os.Lstat(pwned); err == nil {
		t.Errorf("the image's pre-start hook ran on the host: %s exists", pwned)
	}
}
