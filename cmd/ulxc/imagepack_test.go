package main

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/download/downloadtest"
	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
	"golang.org/x/sys/unix"
)

// genKey runs `keys generate NAME` in h and returns the secret key file
// and the fingerprint.
func genKey(t *testing.T, h *testenv.Home, name string) (string, string) {
	t.Helper()
	r := h.MustRun(t, "keys", "generate", name)
	m := regexp.MustCompile(`(?m)^Fingerprint: ([0-9A-F]{40})$`).FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("keys generate printed no fingerprint:\n%s", r.Stdout)
	}
	return filepath.Join(h.Dir, ".config/ulxc/signing", name+".key"), m[1]
}

// tarMember returns the header of name in the xz tarball file.
func tarMember(t *testing.T, file, name string) *tar.Header {
	t.Helper()
	out, err := exec.Command("xz", "-dc", file).Output()
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err != nil {
			return nil
		}
		if h.Name == name {
			return h
		}
	}
}

// sh runs a shell pipeline (as the test process) and returns its output.
func sh(t *testing.T, script string) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, "%s is not installed (apt-get install xz-utils gnupg): %v", tool, err)
		}
	}
}

// TestImagePack, as the test user: a busybox container and a container of
// an image with a device node are packed with a generated key; xz and tar
// read the output, owners are the container's own ids, the node is back
// and excluded for user mode, the name is LXC_NAME again, gpg accepts
// every signature with the tree's public key, and a running container or
// an existing build is refused.
func TestImagePack(t *testing.T) {
	requireTools(t, "xz", "tar", "gpg")
	u := testenv.SubIDUser(t)
	srv := downloadtest.New(t, downloadtest.Options{Images: []downloadtest.Image{{Devices: []downloadtest.Device{{Path: "dev/net/tun", Major: 10, Minor: 200}}}}})
	h := newImageHome(t, u, srv)
	h.mustCreate(t, h.createArgs("dl")...)
	h.MustRun(t, "create", "-t", "busybox", "bb")
	key, fpr := genKey(t, h.Home, "images")
	tree := filepath.Join(h.Dir, "tree")
	arch := download.HostArch()
	// A file capability of the container's, as setcap inside it stores
	// one: v3, naming the host id of the container's root.
	rootID, _ := runtimetest.SubRange(t, u)
	capped := filepath.Join(h.containerDir("bb"), "rootfs/bin/capped")
	if err := os.WriteFile(capped, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(capped, int(rootID), int(rootID))
	v3 := binary.LittleEndian.AppendUint32(nil, 0x03000001) // v3, effective
	v3 = binary.LittleEndian.AppendUint32(v3, 1<<13)        // permitted: CAP_NET_RAW
	v3 = append(v3, make([]byte, 12)...)
	v3 = binary.LittleEndian.AppendUint32(v3, uint32(rootID))
	if err := unix.Setxattr(capped, "security.capability", v3, 0); err != nil {
		t.Fatal(err)
	}

	pack := func(args ...string) string {
		t.Helper()
		r := h.MustRun(t, append([]string{"image", "pack"}, args...)...)
		return strings.TrimSpace(r.Stdout)
	}
	dlDir := pack("dl", "-d", "busybox", "-r", "1.36", "--variant", "dev", "--build", "20240101_00:00", "--sign-key", key, "-o", tree)
	bbDir := pack("bb", "-d", "busybox", "-r", "1.36", "--variant", "default", "--sign-key", key, "-o", tree)
	if want := filepath.Join(tree, "images/busybox/1.36", arch, "dev/20240101_00:00"); dlDir != want {
		t.Errorf("image pack printed %q, want %q", dlDir, want)
	}

	listing := sh(t, "xz -t "+dlDir+"/rootfs.tar.xz && xz -dc "+dlDir+"/rootfs.tar.xz | tar --numeric-owner -tvf -")
	if !regexp.MustCompile(`(?m)^crw-rw-rw- 0/0 +10,200 .* \./dev/net/tun$`).MatchString(listing) {
		t.Errorf("tar -tvf of the dl build lists no ./dev/net/tun node owned 0/0:\n%s", listing)
	}
	bbList := sh(t, "xz -dc "+bbDir+"/rootfs.tar.xz | tar --numeric-owner -tvf -")
	if !strings.HasPrefix(bbList, "drwx") || !regexp.MustCompile(`(?m)^-rwx.* 0/0 .* \./bin/busybox$`).MatchString(bbList) {
		t.Errorf("tar -tvf of the busybox build: want ./ first and ./bin/busybox owned 0/0 (the container's root):\n%s", bbList)
	}
	if got := tarMember(t, bbDir+"/rootfs.tar.xz", "./bin/capped"); got == nil || got.Uid != 0 ||
		len(got.PAXRecords["SCHILY.xattr.security.capability"]) != 20 ||
		binary.LittleEndian.Uint32([]byte(got.PAXRecords["SCHILY.xattr.security.capability"])) != 0x02000001 ||
		binary.LittleEndian.Uint32([]byte(got.PAXRecords["SCHILY.xattr.security.capability"])[4:]) != 1<<13 {
		t.Errorf("./bin/capped = %+v: want owner 0 and CAP_NET_RAW as a v2 capability, as the container sees it", got)
	}
	if got := sh(t, "xz -dc "+bbDir+"/rootfs.tar.xz | tar -xOf - ./etc/hostname"); got != "LXC_NAME\n" {
		t.Errorf("packed /etc/hostname = %q, want LXC_NAME back", got)
	}
	meta := func(dir, member string) string {
		return sh(t, "xz -dc "+dir+"/meta.tar.xz | tar -xOf - "+member)
	}
	if got := meta(dlDir, "excludes-user"); !strings.Contains(got, "./dev/net/tun\n") {
		t.Errorf("excludes-user = %q, want the node", got)
	}
	if got := meta(bbDir, "templates"); got != "/etc/hostname\n/etc/hosts\n" {
		t.Errorf("templates = %q", got)
	}
	if got := meta(bbDir, "config-user"); !strings.Contains(got, "lxc.init.cmd = /sbin/init") || !strings.Contains(got, "userns.conf") ||
		strings.Contains(got, "lxc.idmap") || strings.Contains(got, "lxc.rootfs") {
		t.Errorf("config-user = %q: want the busybox init and LXC's includes, nothing of the container's own", got)
	}

	gnupg := t.TempDir()
	sh(t, "gpg --homedir "+gnupg+" --batch --import "+filepath.Join(tree, "keys", fpr+".asc"))
	for _, dir := range []string{dlDir, bbDir} {
		for _, f := range []string{"rootfs.tar.xz", "meta.tar.xz", "SHA256SUMS"} {
			sh(t, "gpg --homedir "+gnupg+" --batch --verify "+dir+"/"+f+".asc "+dir+"/"+f)
		}
		sh(t, "cd "+dir+" && sha256sum -c SHA256SUMS")
	}

	r := h.Run(t, "image", "pack", "dl", "-d", "busybox", "-r", "1.36", "--variant", "dev", "--build", "20240101_00:00", "--sign-key", key, "-o", tree)
	if r.Code != 1 || !strings.Contains(r.Stderr, "already exists") {
		t.Errorf("packing an existing build: exit %d, %q; want a refusal", r.Code, r.Stderr)
	}
	h.MustRun(t, "start", "bb")
	t.Cleanup(func() { h.Run(t, "stop", "-k", "bb") })
	r = h.Run(t, "image", "pack", "bb", "-d", "busybox", "-r", "1.36", "--variant", "live", "-o", tree)
	if r.Code != 1 || !strings.Contains(r.Stderr, "stop it first") {
		t.Errorf("packing a running container: exit %d, %q; want a refusal", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(tree, "images/busybox/1.36", arch, "live")); err == nil {
		entries, _ := os.ReadDir(filepath.Join(tree, "images/busybox/1.36", arch, "live"))
		if len(entries) > 0 {
			t.Errorf("a refused pack left %v", entries)
		}
	}
}
