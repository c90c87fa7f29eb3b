package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"golang.org/x/sys/unix"
)

func linkCount(t testing.TB, name string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(name, &st); err != nil {
		t.Fatal(err)
	}
	return uint64(st.Nlink)
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "needs root: the test checks ownership and file capabilities as the kernel records them")
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"a", "a", true},
		{"./a", "a", true},
		{"./a/b/", "a/b", true},
		{"a//b/./c", "a/b/c", true},
		{".", "", true},
		{"./", "", true},
		{"", "", false},
		{"/etc/passwd", "", false},
		{"../x", "", false},
		{"a/../../x", "", false},
		{"a/../b", "", false},
		{"a/..", "", false},
		{"a\x00b", "", false},
	}
	for _, tc := range tests {
		got, err := cleanName(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("cleanName(%q) = %q, %v, want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestUnpackKeepsWhatItShould(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	suid := reg("bin/su", "#!/bin/sh\n")
	suid.Mode, suid.Uid, suid.Gid = 0o4755, 0, 0
	sgid := reg("bin/wall", "w")
	sgid.Mode, sgid.Gid = 0o2755, 5
	owned := reg("home/u/file", "data")
	owned.Uid, owned.Gid = 1234, 5678
	fifo := member{Header: tar.Header{Name: "run/fifo", Typeflag: tar.TypeFifo, Mode: 0o620, ModTime: epoch}}
	tmp := dirm("tmp/", 0o1777)
	sl := symlinkm("lib64", "/usr/lib64")
	sl.Uid, sl.Gid = 7, 8
	data := tarOf(t,
		dirm("./", 0o755),
		dirm("bin/", 0o755), suid, sgid,
		tmp, fifo, sl,
		dirm("usr/", 0o755), dirm("usr/lib64/", 0o755), reg("usr/lib64/ld.so", "ld"),
		hardlinkm("bin/su2", "bin/su"),
		owned,
	)
	rep, err := s.unpack(t, data, Options{})
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	if rep.Entries != 12 || rep.Bytes != int64(len("#!/bin/sh\n")+1+2+4) {
		t.Errorf("Report = %+v, want 12 entries and %d bytes", rep, len("#!/bin/sh\n")+1+2+4)
	}
	s.checkOutside(t)
	wantModes := map[string]os.FileMode{
		"bin/su":   0o755 | os.ModeSetuid,
		"bin/wall": 0o755 | os.ModeSetgid,
		"tmp":      os.ModeDir | os.ModeSticky | 0o777,
		"run/fifo": os.ModeNamedPipe | 0o620,
		"lib64":    os.ModeSymlink | 0o777,
		"run":      os.ModeDir | 0o755, // created implicitly
	}
	for name, want := range wantModes {
		st, err := os.Lstat(filepath.Join(s.root, name))
		if err != nil {
			t.Errorf("Lstat(%q): %v", name, err)
			continue
		}
		if st.Mode() != want {
			t.Errorf("mode of %q = %v, want %v", name, st.Mode(), want)
		}
	}
	if target, _ := os.Readlink(filepath.Join(s.root, "lib64")); target != "/usr/lib64" {
		t.Errorf("lib64 -> %q, want /usr/lib64", target)
	}
	if got := linkCount(t, filepath.Join(s.root, "bin/su")); got != 2 {
		t.Errorf("bin/su has %d links, want 2 (hard link kept)", got)
	}
	for name, want := range map[string][2]uint32{"home/u/file": {1234, 5678}, "lib64": {7, 8}, "bin/wall": {0, 5}} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(s.root, name), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != want[0] || st.Gid != want[1] {
			t.Errorf("owner of %q = %d:%d, want %d:%d", name, st.Uid, st.Gid, want[0], want[1])
		}
	}
	for _, name := range []string{"bin/su", "lib64", "usr/lib64", "."} {
		st, err := os.Lstat(filepath.Join(s.root, name))
		if err != nil {
			t.Fatal(err)
		}
		if !st.ModTime().Equal(epoch) {
			t.Errorf("mtime of %q = %v, want %v", name, st.ModTime(), epoch)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(s.root, "home/u/file")); string(got) != "data" {
		t.Errorf("home/u/file holds %q, want %q", got, "data")
	}
}

func TestUnpackReadOnlyDirectories(t *testing.T) {
	s := newSandbox(t)
	data := tarOf(t, dirm("ro/", 0o555), dirm("ro/sub/", 0o500), reg("ro/sub/f", "x"), reg("ro/g", "y"), dirm("none/", 0), reg("none/h", "z"))
	if _, err := s.unpack(t, data, Options{}); err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	for name, want := range map[string]os.FileMode{"ro": 0o555, "ro/sub": 0o500, "none": 0} {
		st, err := os.Stat(filepath.Join(s.root, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("mode of %q = %v, want %v", name, st.Mode().Perm(), want)
		}
		if !st.ModTime().Equal(epoch) {
			t.Errorf("mtime of %q = %v, want %v (directory times are applied last)", name, st.ModTime(), epoch)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(s.root, "ro/sub/f")); string(got) != "x" {
		t.Errorf("ro/sub/f holds %q", got)
	}
	os.Chmod(filepath.Join(s.root, "none"), 0o755)
	os.Chmod(filepath.Join(s.root, "ro/sub"), 0o755)
	os.Chmod(filepath.Join(s.root, "ro"), 0o755)
}

func TestUnpackXattrs(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	capV3 := make([]byte, capV3Size)
	binary.LittleEndian.PutUint32(capV3, capRevision3|1)
	binary.LittleEndian.PutUint32(capV3[4:], 1<<13) // CAP_NET_RAW
	binary.LittleEndian.PutUint32(capV3[20:], 100000)
	f := reg("bin/ping", "ping")
	f.Mode = 0o4755
	f.PAXRecords = map[string]string{
		"SCHILY.xattr.user.comment":        "hello",
		"SCHILY.xattr.security.capability": string(capV3),
		"SCHILY.xattr.trusted.overlay":     "y",
		"SCHILY.xattr.security.selinux":    "system_u:object_r:bin_t:s0",
	}
	d := dirm("d/", 0o755)
	d.PAXRecords = map[string]string{"SCHILY.xattr.user.dir": "yes"}
	var warnings []string
	_, err := s.unpack(t, tarOf(t, f, d), Options{Warn: func(w string) { warnings = append(warnings, w) }})
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	get := func(name, attr string) []byte {
		buf := make([]byte, 256)
		n, err := unix.Lgetxattr(filepath.Join(s.root, name), attr, buf)
		if err != nil {
			return nil
		}
		return buf[:n]
	}
	if got := get("bin/ping", "user.comment"); string(got) != "hello" {
		t.Errorf("user.comment = %q, want hello", got)
	}
	if got := get("d", "user.dir"); string(got) != "yes" {
		t.Errorf("user.dir of a directory = %q, want yes", got)
	}
	if got := get("bin/ping", "trusted.overlay"); got != nil {
		t.Errorf("trusted.overlay = %q, want dropped", got)
	}
	c := get("bin/ping", "security.capability")
	if len(c) != capV2Size || binary.LittleEndian.Uint32(c) != capRevision2|1 || binary.LittleEndian.Uint32(c[4:]) != 1<<13 {
		t.Errorf("security.capability = %x, want v2 with CAP_NET_RAW effective", c)
	}
	if st, _ := os.Stat(filepath.Join(s.root, "bin/ping")); st.Mode()&os.ModeSetuid == 0 {
		t.Errorf("setuid bit lost: chmod must come after chown and xattrs")
	}
	want := []string{"bin/ping: xattr security.selinux dropped", "bin/ping: xattr trusted.overlay dropped"}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
}

func TestCapabilityV2(t *testing.T) {
	v2 := make([]byte, capV2Size)
	binary.LittleEndian.PutUint32(v2, capRevision2)
	v3 := make([]byte, capV3Size)
	binary.LittleEndian.PutUint32(v3, capRevision3|1)
	v3[4] = 0xAA
	want3 := make([]byte, capV2Size)
	binary.LittleEndian.PutUint32(want3, capRevision2|1)
	want3[4] = 0xAA
	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{"v2", v2, v2},
		{"v3", v3, want3},
		{"short", []byte{1, 2}, nil},
		{"v3 truncated", v3[:22], nil},
		{"revision 9", []byte{0, 0, 0, 9, 0, 0, 0, 0}, nil},
	}
	for _, tc := range tests {
		got, err := capabilityV2(tc.in)
		if !bytes.Equal(got, tc.want) || (err == nil) != (tc.want != nil) {
			t.Errorf("capabilityV2(%s %x) = %x, %v, want %x", tc.name, tc.in, got, err, tc.want)
		}
	}
}

func TestUnpackSkipsDevicesWhiteoutsExcludes(t *testing.T) {
	s := newSandbox(t)
	null := member{Header: tar.Header{Name: "./dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666, ModTime: epoch}}
	sda := member{Header: tar.Header{Name: "dev/sda", Typeflag: tar.TypeBlock, Devmajor: 8, Devminor: 0, Mode: 0o660, Gid: 6, ModTime: epoch}}
	wh := member{Header: tar.Header{Name: "etc/gone", Typeflag: tar.TypeChar, ModTime: epoch}}
	var warnings []string
	rep, err := s.unpack(t, tarOf(t, dirm("dev/", 0o755), null, sda, wh, reg("etc/.wh.old", ""), reg("dev/console", "x"), reg("etc/keep", "k")),
		Options{Excludes: []string{"./dev/console", ""}, Warn: func(w string) { warnings = append(warnings, w) }})
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	wantDevs := []Device{
		{Path: "dev/null", Type: 'c', Major: 1, Minor: 3, Mode: 0o666},
		{Path: "dev/sda", Type: 'b', Major: 8, Minor: 0, Mode: 0o660, GID: 6},
	}
	if !reflect.DeepEqual(rep.Devices, wantDevs) {
		t.Errorf("Devices = %+v, want %+v", rep.Devices, wantDevs)
	}
	if !reflect.DeepEqual(rep.Excluded, []string{"dev/console"}) {
		t.Errorf("Excluded = %q, want [dev/console]", rep.Excluded)
	}
	ents, _ := os.ReadDir(filepath.Join(s.root, "dev"))
	if len(ents) != 0 {
		t.Errorf("dev holds %v, want nothing", ents)
	}
	ents, _ = os.ReadDir(filepath.Join(s.root, "etc"))
	if len(ents) != 1 || ents[0].Name() != "keep" {
		t.Errorf("etc holds %v, want only keep", ents)
	}
	if len(warnings) != 2 {
		t.Errorf("warnings = %q, want two whiteouts", warnings)
	}
}

func TestExcludes(t *testing.T) {
	u := &unpacker{excludes: []string{"dev/null", "dev/tty*", "var/cache"}}
	for name, want := range map[string]bool{
		"dev/null": true, "dev/null2": false, "dev/tty1": true, "var/cache/apt/x": true, "var/cached": false, "etc": false,
	} {
		if got := u.excluded(name); got != want {
			t.Errorf("excluded(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestUnpackReplaces(t *testing.T) {
	s := newSandbox(t)
	data := tarOf(t,
		reg("f", "one"), reg("f", "two"), // a later file wins
		dirm("d/", 0o755), reg("d", "file now"), // an empty dir gives way
		reg("e", "was a file"), dirm("e/", 0o700), // a file gives way to a dir
		symlinkm("s", "/nowhere"), reg("s", "file"), // a symlink is replaced, not followed
	)
	if _, err := s.unpack(t, data, Options{}); err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	for name, want := range map[string]string{"f": "two", "d": "file now", "s": "file"} {
		if got, err := os.ReadFile(filepath.Join(s.root, name)); string(got) != want {
			t.Errorf("%s holds %q (%v), want %q", name, got, err, want)
		}
	}
	if st, err := os.Lstat(filepath.Join(s.root, "e")); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Errorf("e = %v, %v, want a 0700 directory", st, err)
	}

	s = newSandbox(t)
	_, err := s.unpack(t, tarOf(t, dirm("d/", 0o755), reg("d/x", "x"), reg("d", "file")), Options{})
	if !errors.Is(err, unix.ENOTEMPTY) {
		t.Errorf("replacing a non-empty directory: err = %v, want ENOTEMPTY", err)
	}
}

func TestUnpackSparse(t *testing.T) {
	s := newSandbox(t)
	body := strings.Repeat("\x00", 4*copyBufSize) + "end"
	if _, err := s.unpack(t, tarOf(t, reg("sparse", body), reg("zeros", strings.Repeat("\x00", 2*copyBufSize))), Options{}); err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	got, _ := os.ReadFile(filepath.Join(s.root, "sparse"))
	if string(got) != body {
		t.Errorf("sparse file has %d bytes, want %d equal to the archive's", len(got), len(body))
	}
	got, _ = os.ReadFile(filepath.Join(s.root, "zeros"))
	if !bytes.Equal(got, make([]byte, 2*copyBufSize)) {
		t.Errorf("all-zero file has %d bytes, want %d zeros", len(got), 2*copyBufSize)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(s.root, "sparse"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Blocks*512 >= int64(len(body)) {
		t.Errorf("sparse file uses %d bytes on disk for %d: holes were written", st.Blocks*512, len(body))
	}
}

func TestUnpackLimits(t *testing.T) {
	data := tarOf(t, reg("a", "0123456789"), reg("b", "x"), reg("c", ""))
	for _, lim := range []Limits{{MaxEntries: 2}, {MaxBytes: 10}} {
		s := newSandbox(t)
		if _, err := s.unpack(t, data, Options{Limits: lim}); !errors.Is(err, ErrLimit) {
			t.Errorf("Unpack with %+v = %v, want ErrLimit", lim, err)
		}
	}
	s := newSandbox(t)
	if _, err := s.unpack(t, data, Options{Limits: Limits{MaxEntries: 3, MaxBytes: 11}}); err != nil {
		t.Errorf("Unpack at exactly the limits: %v", err)
	}
}

func TestUnpackIDMapSize(t *testing.T) {
	f := reg("etc/x", "x")
	f.Uid, f.Gid = 100, 70000
	s := newSandbox(t)
	_, err := s.unpack(t, tarOf(t, f), Options{IDMapSize: 65536})
	var idErr *IDError
	if !errors.Is(err, ErrUnmappedID) || !errors.As(err, &idErr) {
		t.Fatalf("Unpack = %v, want an *IDError", err)
	}
	for _, want := range []string{"etc/x", "gid 70000", "65536"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestUnpackCancelled(t *testing.T) {
	s := newSandbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Unpack(ctx, bytes.NewReader(tarOf(t, reg("a", "a"))), s.root, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Unpack with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := os.Lstat(filepath.Join(s.root, "a")); err == nil {
		t.Errorf("a was written after cancellation")
	}
}

func TestUnpackTruncated(t *testing.T) {
	data := tarOf(t, reg("a", strings.Repeat("x", 2000)))
	s := newSandbox(t)
	if _, err := s.unpack(t, data[:1024], Options{}); err == nil {
		t.Errorf("Unpack of a truncated archive succeeded")
	}
}
