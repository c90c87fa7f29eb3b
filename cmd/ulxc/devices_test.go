package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/download/downloadtest"
	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/store"
)

// TestStartImageDevices serves a signed image whose rootfs carries device
// nodes it does not exclude: /dev/net/tun, /dev/kvm and /dev/fuse besides
// /dev/urandom. Started, the container has LXC's standard set and none of the
// others, though the host has them, and start says which nodes it left
// out and the line that binds one. With that line in the config, the
// container has that node and still not the others. `ulxc spec` shows the
// same.
func TestStartImageDevices(t *testing.T) {
	u := testenv.SubIDUser(t)
	extra := []downloadtest.Device{{Path: "dev/net/tun", Major: 10, Minor: 200}, {Path: "dev/kvm", Major: 10, Minor: 232}, {Path: "dev/fuse", Major: 10, Minor: 229}}
	// The nodes were bound only where the host has them: without one of
	// them this test could not see a bind happen.
	var host []string
	for _, d := range extra {
		var st unix.Stat_t
		p := "/" + d.Path
		if unix.Stat(p, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == unix.Mkdev(uint32(d.Major), uint32(d.Minor)) {
			host = append(host, p)
		}
	}
	if len(host) == 0 {
		testenv.Skipf(t, "the host has none of the character devices /dev/net/tun, /dev/kvm, /dev/fuse: no bind of one could be seen")
	}
	img := downloadtest.Image{Devices: append(extra, downloadtest.Device{Path: "dev/urandom", Major: 1, Minor: 9})}
	srv := downloadtest.New(t, downloadtest.Options{Images: []downloadtest.Image{img}})
	h := newImageHome(t, u, srv)
	h.mustCreate(t, h.createArgs("dev")...)
	dir := h.containerDir("dev")
	if devs, err := store.ReadDevices(dir); err != nil || len(devs) != 4 {
		t.Fatalf("%s records %+v, %v; want the image's 4 nodes", store.DevicesFile, devs, err)
	}

	nodes := []string{"null", "zero", "full", "random", "urandom", "tty", "net/tun", "kvm", "fuse"}
	var script strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&script, "if [ -c /dev/%[1]s ]; then echo %[1]s=c; else echo %[1]s=-; fi\n", n)
	}
	// inside starts the container and returns which of nodes it has as
	// character devices, and start's stderr.
	inside := func(t *testing.T) (map[string]bool, string) {
		t.Helper()
		r := h.Run(t, "start", "-F", "dev", "--", "sh", "-c", script.String())
		if r.Code != 0 {
			t.Fatalf("start -F: exit %d: %s", r.Code, r.Stderr)
		}
		has := map[string]bool{}
		for _, l := range lines(r.Stdout) {
			n, v, _ := strings.Cut(l, "=")
			has["/dev/"+n] = v == "c"
		}
		return has, r.Stderr
	}
	// spec returns `ulxc spec dev`'s linux.devices and the destinations of
	// its binds.
	spec := func(t *testing.T) ([]specs.LinuxDevice, []string) {
		t.Helper()
		var s specs.Spec
		if err := json.Unmarshal([]byte(h.MustRun(t, "spec", "dev").Stdout), &s); err != nil {
			t.Fatal(err)
		}
		var binds []string
		for _, m := range s.Mounts {
			if m.Type == "bind" {
				binds = append(binds, m.Destination)
			}
		}
		return s.Linux.Devices, binds
	}
	check := func(t *testing.T, has map[string]bool, bound string) {
		t.Helper()
		for _, n := range nodes {
			p := "/dev/" + n
			want := !strings.Contains(n, "/") && n != "kvm" && n != "fuse" || p == bound
			if has[p] != want {
				t.Errorf("%s is a character device in the container: %v, want %v", p, has[p], want)
			}
		}
	}

	has, stderr := inside(t)
	check(t, has, "")
	if !strings.Contains(stderr, "device nodes of the image not bound from the host: /dev/fuse, /dev/kvm, /dev/net/tun\n") {
		t.Errorf("start's stderr does not name the nodes left out:\n%s", stderr)
	}
	devs, binds := spec(t)
	if len(devs) != 0 {
		t.Errorf("ulxc spec lists linux.devices %+v, want none", devs)
	}
	for _, d := range extra {
		if slices.Contains(binds, "/"+d.Path) {
			t.Errorf("ulxc spec binds /%s, which start does not", d.Path)
		}
	}

	// The user opts in with the very line start printed.
	opt := host[0]
	prefix := fmt.Sprintf("to bind the host's %s, add to %s: ", opt, filepath.Join(dir, "config"))
	_, line, ok := strings.Cut(stderr, prefix)
	line, _, _ = strings.Cut(line, "\n")
	if !ok || !strings.HasPrefix(line, "lxc.mount.entry = ") {
		t.Fatalf("start's stderr has no line that binds %s:\n%s", opt, stderr)
	}
	f, err := os.OpenFile(filepath.Join(dir, "config"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	has, stderr = inside(t)
	check(t, has, opt)
	if strings.Contains(stderr, opt+",") || strings.HasSuffix(strings.Split(stderr, "\n")[0], opt) {
		t.Errorf("start still names %s as left out:\n%s", opt, stderr)
	}
	devs, binds = spec(t)
	if len(devs) != 0 || !slices.Contains(binds, opt) {
		t.Errorf("ulxc spec: linux.devices %+v and binds %q, want none and a bind of %s", devs, binds, opt)
	}
	for _, d := range extra {
		if p := path.Join("/", d.Path); p != opt && slices.Contains(binds, p) {
			t.Errorf("ulxc spec binds %s, which the user did not ask for", p)
		}
	}
}
