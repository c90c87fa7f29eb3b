package image

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"golang.org/x/sys/unix"
)

// The namespace the test maps: LXC's convention, with the range .ci/run
// gives the test user.
const (
	testHostID  = 200000
	testMapSize = 65536
)

// runInUserNS unpacks data in a re-executed test binary that is root of a
// new user namespace mapping 0..65535 to 200000..265535, as create's child
// will be. Root (the test) writes the maps itself.
func runInUserNS(t *testing.T, root string, data []byte, idMapSize uint32) (string, error) {
	t.Helper()
	requireRoot(t)
	// The child runs as host uid 200000: give it a copy of the test binary
	// and a path it can traverse.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(filepath.Dir(root), "image.test")
	if _, err := os.Stat(bin); err != nil {
		copyFile(t, self, bin)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), childEnv+"="+root, "ULXC_IMAGE_TEST_IDMAPSIZE="+strconv.FormatUint(uint64(idMapSize), 10))
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: testHostID, Size: testMapSize}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: testHostID, Size: testMapSize}},
		Credential:  &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
		Pdeathsig:   syscall.SIGKILL,
	}
	err = cmd.Run()
	return strings.TrimSpace(stderr.String()), err
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// userNSSandbox is a root owned by the namespace's root, under parents
// that host uid 200000 can traverse.
func userNSSandbox(t *testing.T) string {
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root := filepath.Join(base, "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(root, testHostID, testHostID); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestUnpackInUserNamespace(t *testing.T) {
	root := userNSSandbox(t)
	capV3 := make([]byte, capV3Size)
	binary.LittleEndian.PutUint32(capV3, capRevision3|1)
	binary.LittleEndian.PutUint32(capV3[4:], 1<<13)
	binary.LittleEndian.PutUint32(capV3[20:], 4242) // the builder's namespace root
	ping := reg("bin/ping", "ping")
	ping.Mode = 0o4755
	ping.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": string(capV3)}
	owned := reg("ro/f", "f")
	owned.Uid, owned.Gid = 5, 6
	ro := dirm("ro/", 0o555)
	ro.Uid = 5
	data := tarOf(t, dirm("./", 0o755), dirm("bin/", 0o755), ping, ro, owned)

	if msg, err := runInUserNS(t, root, data, testMapSize); err != nil {
		if strings.Contains(msg, "operation not permitted") || strings.Contains(err.Error(), "operation not permitted") {
			testenv.Skipf(t, "cannot create a user namespace here: %v: %s", err, msg)
		}
		t.Fatalf("unpack in user namespace: %v: %s", err, msg)
	}
	checks := []struct {
		name      string
		uid, gid  uint32
		mode      uint32
		isSetuid  bool
		modeIsDir bool
	}{
		{"bin/ping", testHostID, testHostID, 0o4755, true, false},
		{"ro", testHostID + 5, testHostID, 0o555, false, true},
		{"ro/f", testHostID + 5, testHostID + 6, 0o644, false, false},
	}
	for _, c := range checks {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, c.name), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != c.uid || st.Gid != c.gid || st.Mode&0o7777 != c.mode {
			t.Errorf("%s: host sees %d:%d mode %#o, want %d:%d mode %#o", c.name, st.Uid, st.Gid, st.Mode&0o7777, c.uid, c.gid, c.mode)
		}
	}
	buf := make([]byte, 64)
	n, err := unix.Lgetxattr(filepath.Join(root, "bin/ping"), "security.capability", buf)
	if err != nil {
		t.Fatalf("security.capability: %v", err)
	}
	c := buf[:n]
	if len(c) != capV3Size || binary.LittleEndian.Uint32(c)&capRevisionMask != capRevision3 || binary.LittleEndian.Uint32(c[20:]) != testHostID {
		t.Errorf("security.capability seen from the host = %x, want v3 with rootid %d (the namespace's root)", c, testHostID)
	}
}

func TestUnpackInUserNamespaceUnmappedID(t *testing.T) {
	f := reg("etc/x", "x")
	f.Uid = 70000
	data := tarOf(t, f)

	msg, err := runInUserNS(t, userNSSandbox(t), data, testMapSize)
	if err == nil || !strings.Contains(msg, "uid 70000 is outside the 65536 ids") {
		t.Errorf("with IDMapSize: err %v, stderr %q, want the id and the map size named", err, msg)
	}
	msg, err = runInUserNS(t, userNSSandbox(t), data, 0)
	if err == nil || !strings.Contains(msg, "chown 70000:0: invalid argument") {
		t.Errorf("without IDMapSize: err %v, stderr %q, want chown's EINVAL", err, msg)
	}
}
