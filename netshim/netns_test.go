package netshim

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/internal/testenv"
)

// ownNetnsChild makes the test binary check its own network namespace,
// run by TestCheckNetnsOwn in a user and network namespace of its own.
const ownNetnsChild = "ULXC_NETSHIM_TEST_OWN_NETNS"

func TestMain(m *testing.M) {
	if os.Getenv(ownNetnsChild) != "" {
		os.Exit(checkOwnNetns())
	}
	os.Exit(m.Run())
}

func checkOwnNetns() int {
	f, err := os.Open("/proc/self/ns/net")
	if err != nil {
		os.Stderr.WriteString(err.Error())
		return 1
	}
	// The owner as this namespace sees it (the overflow uid: the creator
	// is not mapped), so that only the last check can refuse.
	userns, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_USERNS)
	if err != nil {
		os.Stderr.WriteString(err.Error())
		return 1
	}
	owner, err := unix.IoctlGetUint32(userns, unix.NS_GET_OWNER_UID)
	if err != nil {
		os.Stderr.WriteString(err.Error())
		return 1
	}
	os.Stderr.WriteString(CheckNetns(int(f.Fd()), owner).Error())
	return 0
}

func TestCheckNetns(t *testing.T) {
	file, err := os.Open("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	user, err := os.Open("/proc/self/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close()
	host, err := os.Open("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	for _, tc := range []struct {
		name string
		fd   int
		want string
	}{
		{"regular file", int(file.Fd()), "is not a namespace"},
		{"pipe", int(r.Fd()), "is not a namespace"},
		{"closed", 1000, "bad file descriptor"},
		{"user namespace", int(user.Fd()), "is not a network namespace"},
		{"the host's", int(host.Fd()), "belongs to uid 0, not to you (uid 1001)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckNetns(tc.fd, 1001)
			if !errors.Is(err, ErrNamespace) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CheckNetns(%s) = %v, want ErrNamespace containing %q", tc.name, err, tc.want)
			}
		})
	}
}

// TestCheckNetnsOwn: the helper's own network namespace is refused even
// when its owner is the caller.
func TestCheckNetnsOwn(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "--user", "--net", self)
	cmd.Env = append(os.Environ(), ownNetnsChild+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		testenv.Skipf(t, "unshare --user --net: %v: %s (needs unprivileged user namespaces)", err, out)
	}
	if want := "it is the helper's own network namespace"; !strings.Contains(string(out), want) {
		t.Errorf("CheckNetns(own namespace) = %q, want %q", out, want)
	}
}
