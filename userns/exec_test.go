package userns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// The test binary doubles as the child that Start re-executes.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "__userns_test_child":
			os.Exit(testChild())
		case "__userns_test_job":
			os.Exit(testJobChild())
		case "__userns_test_enter":
			if err := Enter(); err != nil {
				fmt.Println("enter:", err)
				os.Exit(3)
			}
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

// testChild enters and reports what it sees, one fact per line.
func testChild() int {
	if err := Enter(); err != nil {
		fmt.Fprintln(os.Stderr, "enter:", err)
		return 3
	}
	uidMap, _ := os.ReadFile("/proc/self/uid_map")
	status, _ := os.ReadFile("/proc/self/status")
	fmt.Printf("uid_map %s\n", strings.Join(strings.Fields(string(uidMap)), " "))
	fmt.Printf("ids %d %d\n", os.Getuid(), os.Getgid())
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "CapAmb:") || strings.HasPrefix(line, "CapInh:") {
			fmt.Println(strings.Join(strings.Fields(line), " "))
		}
	}
	if f := os.NewFile(4, "extra"); f != nil {
		if _, err := f.WriteString("extra file works"); err != nil {
			fmt.Println("extra:", err)
		}
	}
	return 0
}

// requireUserNS skips when this process cannot create user namespaces.
func requireUserNS(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("unshare", "--user", "--map-root-user", "true").CombinedOutput(); err != nil {
		testenv.Skipf(t, "cannot create a user namespace here (unshare --user: %v: %s)", err, out)
	}
}

func TestStartSingle(t *testing.T) {
	requireUserNS(t)
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	plan := Plan{Maps: []Map{{UID, 0, uid, 1}, {GID, 0, gid, 1}}, Single: true}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var stdout, stderr bytes.Buffer
	cmd, err := Start(context.Background(), Options{
		Plan: plan, Entry: "__userns_test_child", Stdout: &stdout, Stderr: &stderr,
		ExtraFiles: []*os.File{w},
	})
	w.Close()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	want := []string{fmt.Sprintf("uid_map 0 %d 1", uid), "ids 0 0", "CapInh: 0000000000000000", "CapAmb: 0000000000000000"}
	for _, line := range want {
		if !strings.Contains(stdout.String(), line+"\n") {
			t.Errorf("child output %q lacks %q", stdout.String(), line)
		}
	}
	extra := make([]byte, 64)
	n, _ := r.Read(extra)
	if got := string(extra[:n]); got != "extra file works" {
		t.Errorf("fd 4 in the child carried %q, want %q", got, "extra file works")
	}
}

func TestStartHelperFails(t *testing.T) {
	requireUserNS(t)
	helper := filepath.Join(t.TempDir(), "newuidmap")
	if err := os.WriteFile(helper, []byte("#!/bin/sh\necho \"fake: write to uid_map failed\" >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plan := Plan{Maps: []Map{{UID, 0, 100000, 10}, {GID, 0, 100000, 10}}, NewUIDMap: helper, NewGIDMap: helper}
	var stdout bytes.Buffer
	cmd, err := Start(context.Background(), Options{Plan: plan, Entry: "__userns_test_child", Stdout: &stdout})
	var he *HelperError
	if !errors.As(err, &he) || cmd != nil {
		t.Fatalf("Start with a failing helper = %v, %v, want *HelperError", cmd, err)
	}
	if !strings.Contains(he.Stderr, "fake: write to uid_map failed") || he.Helper != helper || len(he.Args) != 4 {
		t.Errorf("HelperError = %+v, want the helper's stderr and args PID 0 100000 10", he)
	}
	if stdout.Len() != 0 {
		t.Errorf("the child ran although its maps failed: %q", stdout.String())
	}
}

func TestStartRejectsBadPlan(t *testing.T) {
	_, err := Start(context.Background(), Options{Plan: Plan{Maps: []Map{{UID, 0, 1, 1}}}, Entry: "__userns_test_child"})
	if !errors.Is(err, ErrInvalidMap) {
		t.Errorf("Start(no gid map) = %v, want ErrInvalidMap", err)
	}
}

func TestEnterWithoutGoAhead(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.Close() // EOF: the parent gave up
	cmd := exec.Command("/proc/self/exe", "__userns_test_enter")
	cmd.ExtraFiles = []*os.File{r}
	out, err := cmd.Output()
	r.Close()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(string(out), "wait for parent") {
		t.Errorf("Enter on EOF: %v, output %q, want exit 3 and a wait-for-parent error", err, out)
	}
}
