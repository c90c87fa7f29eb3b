package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/ulxc/ulxc/download/downloadtest"
	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/template"
)

// imageHome is a user's home that trusts the key of a test image server.
type imageHome struct {
	*testenv.Home
	srv     *downloadtest.Server
	keyFile string
}

func newImageHome(t *testing.T, u *testenv.User, srv *downloadtest.Server) *imageHome {
	t.Helper()
	h := u.NewHome(t)
	return &imageHome{Home: h, srv: srv, keyFile: h.WriteFile(t, "keys/images.asc", string(downloadtest.ArmoredPublicKey(t, srv.Key)))}
}

// createArgs is `create NAME -t download -- -d busybox -r 1.36 --server
// URL --keyid FPR --keyring FILE`, as an LXC user types it, plus more.
func (h *imageHome) createArgs(name string, more ...string) []string {
	return append([]string{"create", name, "-t", "download", "--",
		"-d", "busybox", "-r", "1.36", "--server", h.srv.URL, "--keyid", h.srv.Fingerprint, "--keyring", h.keyFile}, more...)
}

func (h *imageHome) store() string { return filepath.Join(h.Dir, ".local/share/ulxc") }

func (h *imageHome) containerDir(name string) string { return filepath.Join(h.store(), name) }

// noTrace checks that nothing of a failed create is left: no directory in
// the store, nothing the name could have escaped to.
func (h *imageHome) noTrace(t *testing.T, name string) {
	t.Helper()
	ents, err := os.ReadDir(h.store())
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("store holds %q after a failed create of %q", e.Name(), name)
	}
	if _, err := os.Lstat(filepath.Join(h.store(), name)); err == nil {
		t.Errorf("%s exists after a failed create", filepath.Join(h.store(), name))
	}
}

// cacheFiles lists the committed files of the image cache: everything but
// lock files and interrupted downloads (.partial-*), which download keeps
// on purpose.
func (h *imageHome) cacheFiles(t *testing.T) []string {
	t.Helper()
	root := filepath.Join(h.Dir, ".cache/ulxc/download")
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".partial-") {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() != ".lock" {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (h *imageHome) mustCreate(t *testing.T, args ...string) testenv.Result {
	t.Helper()
	return h.MustRun(t, args...)
}

func ownerOf(t *testing.T, p string) (uid, gid uint32) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid
}

func configValues(t *testing.T, file, key string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var vs []string
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, "=")
		if ok && strings.TrimSpace(k) == key {
			vs = append(vs, strings.TrimSpace(v))
		}
	}
	return vs
}

func TestCreateDownload(t *testing.T) {
	u := testenv.SubIDUser(t)
	srv := downloadtest.New(t, downloadtest.Options{})
	h := newImageHome(t, u, srv)
	start, count := subRange(t, u)

	r := h.mustCreate(t, h.createArgs("web")...)
	dir := h.containerDir("web")
	if !strings.Contains(r.Stdout, "Have fun with busybox") {
		t.Errorf("create printed %q on stdout, want the image's create-message", r.Stdout)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("container dir = %v, %v; want mode 0700", fi, err)
	}
	rootfs := filepath.Join(dir, "rootfs")
	if uid, gid := ownerOf(t, filepath.Join(rootfs, "bin/busybox")); uint64(uid) != start || uint64(gid) != start {
		t.Errorf("rootfs/bin/busybox is owned by %d:%d on the host, want %d:%d (container root)", uid, gid, start, start)
	}
	if _, err := os.Stat(filepath.Join(dir, "rootfs.partial")); !os.IsNotExist(err) {
		t.Errorf("rootfs.partial left behind: %v", err)
	}

	conf := filepath.Join(dir, "config")
	want := map[string][]string{
		"lxc.idmap":       {fmt.Sprintf("u 0 %d %d", start, count), fmt.Sprintf("g 0 %d %d", start, count)},
		"lxc.uts.name":    {"web"},
		"lxc.rootfs.path": {"dir:" + rootfs},
		"lxc.include":     {template.TemplateConfigDir + "/common.conf", template.TemplateConfigDir + "/userns.conf"},
	}
	for k, v := range want {
		if got := configValues(t, conf, k); !slices.Equal(got, v) {
			t.Errorf("config %s = %q, want %q", k, got, v)
		}
	}

	if b, err := os.ReadFile(filepath.Join(rootfs, "etc/hostname")); err != nil || string(b) != "web\n" {
		t.Errorf("rootfs/etc/hostname = %q, %v; want the template applied: %q", b, err, "web\n")
	}
	shadow, err := os.ReadFile(filepath.Join(rootfs, "etc/shadow"))
	if err != nil || !strings.HasPrefix(string(shadow), "root:!"+downloadtest.RootPasswordHash+":") {
		t.Errorf("rootfs/etc/shadow = %q, %v; want root's password locked with '!'", shadow, err)
	}

	// The image's device nodes are in its excludes-user: skipped, recorded.
	for _, d := range []string{"dev/null", "dev/zero"} {
		if _, err := os.Lstat(filepath.Join(rootfs, d)); !os.IsNotExist(err) {
			t.Errorf("rootfs/%s exists (%v); device nodes must not be created", d, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, template.ExcludedFile)); err != nil || string(b) != "dev/null\ndev/zero\n" {
		t.Errorf("%s = %q, %v; want dev/null and dev/zero recorded", template.ExcludedFile, b, err)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "dev/pts")); err != nil {
		t.Errorf("rootfs/dev/pts: %v", err)
	}

	// The same image without "-t download --", and the name as -n: the
	// cache is reused.
	rootfsPath := downloadtest.Image{}.Path() + "rootfs.tar.xz"
	h.mustCreate(t, "create", "-n", "web2", "-d", "busybox", "-r", "1.36", "--server", srv.URL, "--keyid", srv.Fingerprint, "--keyring", h.keyFile)
	if n := srv.Requests(rootfsPath); n != 1 {
		t.Errorf("rootfs.tar.xz downloaded %d times for two creates, want 1", n)
	}

	// destroy, as the user alone, removes files of subordinate ids too.
	h.MustRun(t, "destroy", "web")
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("%s after destroy: %v, want it gone", dir, err)
	}
	if _, err := os.Lstat(h.containerDir("web2")); err != nil {
		t.Errorf("destroy web removed web2 too: %v", err)
	}
	if r := h.Run(t, "destroy", "web"); r.Code != 1 || !strings.Contains(r.Stderr, "no such container") {
		t.Errorf("second destroy = exit %d, %q; want 1 and 'no such container'", r.Code, r.Stderr)
	}
}

func TestCreateNewestBuild(t *testing.T) {
	u := testenv.SubIDUser(t)
	srv := downloadtest.New(t, downloadtest.Options{Images: []downloadtest.Image{
		{Build: "20240101_00:00", CreateMessage: "build one"},
		{Build: "20240301_00:00", CreateMessage: "build three"},
		{Build: "20240201_00:00", CreateMessage: "build two"},
	}})
	h := newImageHome(t, u, srv)
	r := h.mustCreate(t, h.createArgs("web")...)
	if !strings.Contains(r.Stdout, "build three") {
		t.Errorf("create printed %q, want the newest build's message %q", r.Stdout, "build three")
	}
}

func TestCreateNoValidate(t *testing.T) {
	u := testenv.SubIDUser(t)
	srv := downloadtest.New(t, downloadtest.Options{})
	h := newImageHome(t, u, srv)
	r := h.mustCreate(t, "create", "web", "-t", "download", "--", "-d", "busybox", "-r", "1.36", "--server", srv.URL, "--no-validate")
	if !strings.Contains(r.Stderr, "ulxc: warning:") || !strings.Contains(r.Stderr, "not verified") {
		t.Errorf("create --no-validate stderr = %q, want a warning that the image is not verified", r.Stderr)
	}
}

// hostileRootfs is a tar.xz of members.
func hostileRootfs(t *testing.T, members ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	for _, m := range members {
		m.ModTime = time.Unix(1700000000, 0)
		if m.Mode == 0 {
			m.Mode = 0o644
		}
		if err := tw.WriteHeader(&m); err != nil {
			t.Fatal(err)
		}
		if m.Typeflag == tar.TypeReg && m.Size > 0 {
			tw.Write(bytes.Repeat([]byte("x"), int(m.Size)))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCreateRefusals runs creates that must fail: each with a clear error,
// no trace of the container and no committed change to the cache.
func TestCreateRefusals(t *testing.T) {
	u := testenv.SubIDUser(t)
	img := downloadtest.Image{}
	p := img.Path()
	pwned := filepath.Join(os.TempDir(), fmt.Sprintf("ulxc-create-pwned-%d", os.Getpid()))
	dir := func(n string) tar.Header { return tar.Header{Name: n, Typeflag: tar.TypeDir, Mode: 0o755} }
	hostile := func(members ...tar.Header) func(t *testing.T, s *downloadtest.Server) {
		return func(t *testing.T, s *downloadtest.Server) {
			s.SetFile(p+"rootfs.tar.xz", hostileRootfs(t, members...))
			s.Sign(t, p+"rootfs.tar.xz", s.Key, nil)
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, s *downloadtest.Server)
		args  func(h *imageHome) []string
		want  string
		// cached: the image is validly signed, so the cache may keep it;
		// only unpacking it must fail.
		cached bool
	}{
		{"tampered rootfs", func(t *testing.T, s *downloadtest.Server) { s.Tamper(t, p+"rootfs.tar.xz") }, nil, "bad signature", false},
		{"tampered meta", func(t *testing.T, s *downloadtest.Server) { s.Tamper(t, p+"meta.tar.xz") }, nil, "bad signature", false},
		{"tampered index", func(t *testing.T, s *downloadtest.Server) { s.Tamper(t, "/meta/1.0/index-user") }, nil, "bad signature", false},
		{"wrong key", func(t *testing.T, s *downloadtest.Server) {
			s.SignAll(t, downloadtest.NewKey(t, "someone else", downloadtest.KeyOptions{}), nil)
		}, nil, "bad signature", false},
		{"expired key", nil, nil, "bad signature", false}, // set up in the loop
		// Signed before the build started, as an older build's files are.
		{"stale signatures", nil, nil, "signature older than its build", false}, // set up in the loop
		{"rootfs not the one in SHA256SUMS", func(t *testing.T, s *downloadtest.Server) {
			sums := strings.Replace(string(s.File(p+downloadtest.SumsName)), " rootfs.tar.xz", " rootfs.tar.xz.old", 1)
			sums += strings.Repeat("0", 64) + "  rootfs.tar.xz\n"
			s.SetFile(p+downloadtest.SumsName, []byte(sums))
			s.Sign(t, p+downloadtest.SumsName, s.Key, nil)
		}, nil, "checksum does not match SHA256SUMS", false},
		{"oversized meta", func(t *testing.T, s *downloadtest.Server) {
			s.SetFile(p+"meta.tar.xz", make([]byte, 32<<20+1))
		}, nil, "meta.tar.xz: larger than its size limit of 33554432 bytes", false},
		{"missing image", nil, func(h *imageHome) []string {
			return []string{"create", "web", "-t", "download", "--", "-d", "nosuch", "-r", "1", "--server", h.srv.URL, "--keyid", h.srv.Fingerprint, "--keyring", h.keyFile}
		}, "no matching image", false},
		{"server down", nil, func(h *imageHome) []string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				panic(err)
			}
			addr := l.Addr().String()
			l.Close()
			return []string{"create", "web", "-d", "busybox", "-r", "1.36", "--server", "http://" + addr, "--keyid", h.srv.Fingerprint, "--keyring", h.keyFile}
		}, "connection refused", false},
		{"absolute path", hostile(dir("./"), tar.Header{Name: pwned, Typeflag: tar.TypeReg, Size: 1}), nil, image.ErrInsecurePath.Error(), true},
		{"dotdot", hostile(dir("./"), tar.Header{Name: "../../../../../../.." + pwned, Typeflag: tar.TypeReg, Size: 1}), nil, image.ErrInsecurePath.Error(), true},
		{"symlink escape", hostile(dir("./"), tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "."},
			tar.Header{Name: "l/../" + filepath.Base(pwned), Typeflag: tar.TypeReg, Size: 1}), nil, image.ErrInsecurePath.Error(), true},
		{"hardlink outside", hostile(dir("./"), tar.Header{Name: "passwd", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}), nil, image.ErrInsecurePath.Error(), true},
		{"hardlink through symlink", hostile(dir("./"), tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc"},
			tar.Header{Name: "keep", Typeflag: tar.TypeLink, Linkname: "l/passwd"}), nil, image.ErrInsecurePath.Error(), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := downloadtest.New(t, downloadtest.Options{})
			h := newImageHome(t, u, srv)
			args := h.createArgs("web")
			switch {
			case tc.name == "expired key":
				now := time.Now()
				key := downloadtest.NewKey(t, "expired", downloadtest.KeyOptions{Created: now.Add(-72 * time.Hour), Lifetime: 24 * time.Hour})
				srv.SignAll(t, key, downloadtest.SignConfig(now.Add(-60*time.Hour)))
				kf := h.WriteFile(t, "keys/expired.asc", string(downloadtest.ArmoredPublicKey(t, key)))
				args = []string{"create", "web", "-t", "download", "--", "-d", "busybox", "-r", "1.36", "--server", srv.URL,
					"--keyid", downloadtest.Fingerprint(key), "--keyring", kf}
			case tc.name == "stale signatures":
				build := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) // downloadtest's default build id
				key := downloadtest.NewKey(t, "old", downloadtest.KeyOptions{Created: build.Add(-30 * 24 * time.Hour)})
				srv.SignAll(t, key, downloadtest.SignConfig(build.Add(-24*time.Hour)))
				kf := h.WriteFile(t, "keys/old.asc", string(downloadtest.ArmoredPublicKey(t, key)))
				args = []string{"create", "web", "-t", "download", "--", "-d", "busybox", "-r", "1.36", "--server", srv.URL,
					"--keyid", downloadtest.Fingerprint(key), "--keyring", kf}
			case tc.args != nil:
				args = tc.args(h)
			}
			if tc.setup != nil {
				tc.setup(t, srv)
			}
			before := h.cacheFiles(t)
			r := h.Run(t, args...)
			t.Logf("stderr: %s", r.Stderr)
			if r.Code != 1 || !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("ulxc %s = exit %d, stderr %q; want exit 1 and %q", strings.Join(args, " "), r.Code, r.Stderr, tc.want)
			}
			h.noTrace(t, "web")
			if after := h.cacheFiles(t); !tc.cached && !slices.Equal(before, after) {
				t.Errorf("cache changed from %q to %q", before, after)
			}
			if _, err := os.Lstat(pwned); err == nil {
				os.Remove(pwned)
				t.Errorf("%s was written outside the rootfs", pwned)
			}
		})
	}
}

// TestCreateKeepsCacheOnBadUpdate checks that a tampered newer build
// neither replaces the verified cached one nor leaves a container.
func TestCreateKeepsCacheOnBadUpdate(t *testing.T) {
	u := testenv.SubIDUser(t)
	old := downloadtest.Image{Build: "20240101_00:00", Expiry: time.Now().Add(-time.Hour)} // expired: asks the server again
	srv := downloadtest.New(t, downloadtest.Options{Images: []downloadtest.Image{old}})
	h := newImageHome(t, u, srv)
	h.mustCreate(t, h.createArgs("one")...)
	before := h.cacheFiles(t)

	newer := downloadtest.Image{Build: "20240201_00:00"}
	srv.AddImage(t, newer)
	srv.Tamper(t, newer.Path()+"rootfs.tar.xz")
	r := h.Run(t, h.createArgs("two")...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "bad signature") {
		t.Errorf("create with a tampered newer build = exit %d, %q; want 1 and 'bad signature'", r.Code, r.Stderr)
	}
	if _, err := os.Lstat(h.containerDir("two")); !os.IsNotExist(err) {
		t.Errorf("container two left behind: %v", err)
	}
	if after := h.cacheFiles(t); !slices.Equal(before, after) {
		t.Errorf("cache changed from %q to %q", before, after)
	}
}

func TestCreateDowngrade(t *testing.T) {
	u := testenv.SubIDUser(t)
	older := downloadtest.Image{Build: "20240101_00:00"}
	newer := downloadtest.Image{Build: "20240201_00:00", Expiry: time.Now().Add(-time.Hour)}
	srv := downloadtest.New(t, downloadtest.Options{Images: []downloadtest.Image{older, newer}})
	h := newImageHome(t, u, srv)
	h.mustCreate(t, h.createArgs("one")...)
	// A replayed old index: validly signed, offering only the older build.
	srv.SetIndex(t, fmt.Sprintf("busybox;1.36;%s;default;%s;%s\n", older.Request(srv).Arch, older.Build, older.Path()))
	before := h.cacheFiles(t)
	r := h.Run(t, h.createArgs("two")...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "older build") {
		t.Errorf("create against a replayed index = exit %d, %q; want 1 and a downgrade error", r.Code, r.Stderr)
	}
	h.noTraceOf(t, "two")
	if after := h.cacheFiles(t); !slices.Equal(before, after) {
		t.Errorf("cache changed from %q to %q", before, after)
	}
}

// noTraceOf checks that one container is absent, others may exist.
func (h *imageHome) noTraceOf(t *testing.T, name string) {
	t.Helper()
	if _, err := os.Lstat(h.containerDir(name)); !os.IsNotExist(err) {
		t.Errorf("%s exists after a failed create: %v", h.containerDir(name), err)
	}
}

func TestCreateInterruptedDownload(t *testing.T) {
	u := testenv.SubIDUser(t)
	srv := downloadtest.New(t, downloadtest.Options{})
	h := newImageHome(t, u, srv)
	p := downloadtest.Image{}.Path() + "rootfs.tar.xz"
	// Every attempt of the first create (1 + 3 retries) is cut short.
	srv.Cut(p, 1000, 4)
	r := h.Run(t, h.createArgs("web")...)
	if r.Code != 1 {
		t.Fatalf("create with a cut download = exit %d, %q; want 1", r.Code, r.Stderr)
	}
	h.noTrace(t, "web")
	if slices.ContainsFunc(h.cacheFiles(t), func(f string) bool { return strings.HasSuffix(f, "rootfs.tar.xz") }) {
		t.Errorf("a cut download was committed to the cache: %q", h.cacheFiles(t))
	}
	before := len(srv.Ranges(p))
	h.mustCreate(t, h.createArgs("web")...)
	// The server cuts after the first 1000 bytes, so the retry asks for
	// the rest of what the first run kept.
	if rg := srv.Ranges(p); len(rg) != before+1 || rg[len(rg)-1] != "bytes=1000-" {
		t.Errorf("Range headers = %q, want the retry to resume at byte 1000", rg)
	}
	if _, err := os.Stat(filepath.Join(h.containerDir("web"), "rootfs/bin/busybox")); err != nil {
		t.Errorf("after the retry: %v", err)
	}
}

func TestCreateConcurrent(t *testing.T) {
	u := testenv.SubIDUser(t)
	srv := downloadtest.New(t, downloadtest.Options{})
	h := newImageHome(t, u, srv)
	var wg sync.WaitGroup
	results := make([]testenv.Result, 2)
	for i, name := range []string{"one", "two"} {
		cmd := h.Command(t, nil, h.createArgs(name)...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = testenv.RunCmd(t, cmd)
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.Code != 0 {
			t.Errorf("concurrent create %d = exit %d, %q", i, r.Code, r.Stderr)
		}
	}
	if n := srv.Requests(downloadtest.Image{}.Path() + "rootfs.tar.xz"); n != 1 {
		t.Errorf("rootfs.tar.xz downloaded %d times by two concurrent creates, want 1", n)
	}
}

func TestCreateBadNames(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	for _, name := range []string{"../x", "a/b", "", strings.Repeat("a", 65), ".hidden", "a b"} {
		r := h.Run(t, "create", "-n", name, "-t", "busybox")
		if r.Code == 0 || !strings.Contains(r.Stderr, "invalid container name") && !strings.Contains(r.Stderr, "no container name") {
			t.Errorf("create -n %q = exit %d, %q; want an invalid-name error", name, r.Code, r.Stderr)
		}
	}
	store := filepath.Join(h.Dir, ".local/share/ulxc")
	if ents, _ := os.ReadDir(store); len(ents) != 0 {
		t.Errorf("store holds %v after bad names", ents)
	}
	if _, err := os.Lstat(filepath.Join(h.Dir, ".local/share/x")); !os.IsNotExist(err) {
		t.Errorf("create -n ../x made %s: %v", filepath.Join(h.Dir, ".local/share/x"), err)
	}
}

func TestCreateExisting(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	h.MustRun(t, "create", "box", "-t", "busybox")
	conf := filepath.Join(h.Dir, ".local/share/ulxc/box/config")
	before, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	r := h.Run(t, "create", "box", "-t", "busybox")
	if r.Code != 1 || !strings.Contains(r.Stderr, "already exists") {
		t.Errorf("second create box = exit %d, %q; want 1 and 'already exists'", r.Code, r.Stderr)
	}
	if after, err := os.ReadFile(conf); err != nil || !bytes.Equal(before, after) {
		t.Errorf("existing container's config changed or vanished: %v", err)
	}
}

// testUsers are the two test users: one with subordinate ids (the
// container gets its range through newuidmap) and one without (the
// single-id fallback).
var testUsers = []struct {
	name  string
	user  func(t testing.TB) *testenv.User
	subID bool
}{
	{"subordinate ids", testenv.SubIDUser, true},
	{"no subordinate ids", testenv.NoSubIDUser, false},
}

func TestCreateBusybox(t *testing.T) {
	for _, tc := range testUsers {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.user(t)
			h := u.NewHome(t)
			r := h.MustRun(t, "create", "box", "-t", "busybox")
			dir := filepath.Join(h.Dir, ".local/share/ulxc/box")
			rootfs := filepath.Join(dir, "rootfs")
			wantUID, wantMap := u.UID, fmt.Sprintf("u 0 %d 1", u.UID)
			if tc.subID {
				start, count := subRange(t, u)
				wantUID, wantMap = uint32(start), fmt.Sprintf("u 0 %d %d", start, count)
			} else if !strings.Contains(r.Stderr, "ulxc: warning:") || !strings.Contains(r.Stderr, "usermod --add-subuids") {
				// Without subordinate ids only id 0 exists in the
				// container; busybox's files all belong to it.
				t.Errorf("create as %s: stderr %q, want the single-id fallback warning with its fix", u.Name, r.Stderr)
			}
			if uid, _ := ownerOf(t, filepath.Join(rootfs, "bin/busybox")); uid != wantUID {
				t.Errorf("rootfs/bin/busybox owned by %d, want %d", uid, wantUID)
			}
			if got := configValues(t, filepath.Join(dir, "config"), "lxc.idmap"); len(got) != 2 || got[0] != wantMap {
				t.Errorf("config lxc.idmap = %q, want %q first", got, wantMap)
			}
			if b, err := os.ReadFile(filepath.Join(rootfs, "etc/hostname")); err != nil || string(b) != "box\n" {
				t.Errorf("etc/hostname = %q, %v; want %q", b, err, "box\n")
			}
			out := h.Exec(t, nil, filepath.Join(rootfs, "bin/busybox"), "sh", "-c", "echo works")
			if b, err := out.Output(); err != nil || string(b) != "works\n" {
				t.Errorf("the container's busybox on the host = %q, %v; want a working static binary", b, err)
			}
			h.MustRun(t, "destroy", "box")
			if _, err := os.Lstat(dir); !os.IsNotExist(err) {
				t.Errorf("%s after destroy: %v", dir, err)
			}
		})
	}
}

// TestDestroyRunning starts a busybox container: destroy refuses it, and
// destroy -f kills it first.
func TestDestroyRunning(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	h.MustRun(t, "create", "box", "-t", "busybox")
	h.MustRun(t, "start", "box")
	t.Cleanup(func() { h.Run(t, "stop", "-k", "box") })
	r := h.Run(t, "destroy", "box")
	if r.Code != 1 || !strings.Contains(r.Stderr, "container is running") {
		t.Errorf("ulxc destroy of a running container = exit %d, %q; want 1 and 'container is running'", r.Code, r.Stderr)
	}
	// What to do, said once (the hint), with -f in the error.
	if n := strings.Count(r.Stderr, "stop it first"); n != 1 || !strings.Contains(r.Stderr, "-f stops it first") || !strings.Contains(r.Stderr, "ulxc stop NAME") {
		t.Errorf("ulxc destroy of a running container said %q; want 'stop it first' once, the -f way and the stop command", r.Stderr)
	}
	dir := filepath.Join(h.Dir, ".local/share/ulxc/box")
	if _, err := os.Stat(filepath.Join(dir, "config")); err != nil {
		t.Errorf("refused destroy removed the config: %v", err)
	}
	h.MustRun(t, "destroy", "-f", "box")
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("destroy -f left %s: %v", dir, err)
	}
	if r := h.MustRun(t, "ls"); strings.Contains(r.Stdout, "box") {
		t.Errorf("ulxc ls after destroy -f = %q, want no box", r.Stdout)
	}
}

// TestCreateContainsSymlinks serves a signed image whose symlinks point at
// the host's root: what is written through them lands inside the rootfs.
func TestCreateContainsSymlinks(t *testing.T) {
	u := testenv.SubIDUser(t)
	srv := downloadtest.New(t, downloadtest.Options{})
	p := downloadtest.Image{}.Path() + "rootfs.tar.xz"
	base := fmt.Sprintf("ulxc-create-escape-%d", os.Getpid())
	srv.SetFile(p, hostileRootfs(t,
		tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755},
		tar.Header{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: "/"},
		tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../../../../../../../../tmp"},
		tar.Header{Name: "evil/tmp/" + base, Typeflag: tar.TypeReg, Size: 1},
		tar.Header{Name: "up/" + base + "-2", Typeflag: tar.TypeReg, Size: 1},
	))
	srv.Sign(t, p, srv.Key, nil)
	h := newImageHome(t, u, srv)
	h.mustCreate(t, h.createArgs("web")...)
	for _, name := range []string{base, base + "-2"} {
		if _, err := os.Lstat(filepath.Join("/tmp", name)); err == nil {
			os.Remove(filepath.Join("/tmp", name))
			t.Errorf("/tmp/%s was written on the host through a symlink", name)
		}
		if _, err := os.Lstat(filepath.Join(h.containerDir("web"), "rootfs/tmp", name)); err != nil {
			t.Errorf("rootfs/tmp/%s: %v, want the file inside the rootfs", name, err)
		}
	}
}

// An interrupted create or destroy leaves a directory without a config,
// holding files of subordinate ids that the user cannot remove alone. The
// name must not stay blocked: create takes the remains over, and destroy
// removes them.
func TestCreateOverRemains(t *testing.T) {
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	dir := filepath.Join(h.Dir, ".local/share/ulxc/box")
	interrupt := func() {
		t.Helper()
		h.MustRun(t, "create", "box", "-t", "busybox")
		// What a kill between removing the config and the rootfs leaves.
		if err := os.Remove(filepath.Join(dir, "config")); err != nil {
			t.Fatal(err)
		}
		if uid, _ := ownerOf(t, filepath.Join(dir, "rootfs/bin/busybox")); uid == u.UID {
			t.Fatalf("rootfs owned by the user's own uid: the remains would not need the namespace")
		}
		if r := h.MustRun(t, "ls"); strings.Contains(r.Stdout, "box") {
			t.Errorf("ls lists the remains: %q", r.Stdout)
		}
	}

	interrupt()
	r := h.MustRun(t, "create", "box", "-t", "busybox")
	if !strings.Contains(r.Stderr, "remains of an interrupted create or destroy") {
		t.Errorf("create over remains: stderr %q, want a warning that they were removed", r.Stderr)
	}
	if r := h.MustRun(t, "ls"); strings.TrimSpace(r.Stdout) != "box" {
		t.Errorf("ls after create over remains = %q, want box", r.Stdout)
	}

	os.Remove(filepath.Join(dir, "config"))
	r = h.MustRun(t, "destroy", "box")
	if !strings.Contains(r.Stderr, "remains of an interrupted create or destroy") {
		t.Errorf("destroy of remains: stderr %q, want it to say what it removed", r.Stderr)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("%s after destroying the remains: %v", dir, err)
	}
	if r := h.Run(t, "destroy", "box"); r.Code != 1 || !strings.Contains(r.Stderr, "no such container") {
		t.Errorf("destroy of nothing: exit %d, %q; want 1 and no such container", r.Code, r.Stderr)
	}
}
