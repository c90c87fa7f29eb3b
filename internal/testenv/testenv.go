// Package testenv runs the built ulxc binary as an unprivileged user, which is
// how every integration test exercises the program: root hides every rootless
// bug, so the test process (often root in CI) only sets things up.
//
// Users come from the environment: ULXC_TEST_USER names a user with
// subordinate ids (default "ulxc-test") and ULXC_TEST_NOSUB_USER one without
// (default "ulxc-nosub"); .ci/run creates both. A test run by an unprivileged
// developer uses the developer's own account instead, when it qualifies.
//
// A missing capability skips the test with the exact reason, except when
// CI=true: there the same condition fails the test, so CI cannot pass by
// skipping.
package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// InCI reports whether the tests run in CI, where skips are failures.
func InCI() bool { return os.Getenv("CI") == "true" }

// Skipf skips the test with the reason, or fails it in CI.
func Skipf(t testing.TB, format string, a ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, a...)
	if InCI() {
		t.Fatalf("CI=true, so this is a failure, not a skip: %s", msg)
	}
	t.Skip(msg)
}

// User is an account the ulxc binary is run as.
type User struct {
	Name     string
	UID, GID uint32
	// switchTo is false when the test already runs as this user.
	switchTo bool
}

// SubIDUser returns the test user that has subordinate ids.
func SubIDUser(t testing.TB) *User {
	t.Helper()
	return lookupUser(t, "ULXC_TEST_USER", "ulxc-test", true)
}

// NoSubIDUser returns the test user that has no subordinate ids.
func NoSubIDUser(t testing.TB) *User {
	t.Helper()
	return lookupUser(t, "ULXC_TEST_NOSUB_USER", "ulxc-nosub", false)
}

func lookupUser(t testing.TB, envVar, def string, wantSubIDs bool) *User {
	t.Helper()
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			t.Fatalf("current user: %v", err)
		}
		if hasSubIDs(u.Username, u.Uid) != wantSubIDs {
			Skipf(t, "this test must run as root (to switch to the %s test user) or as a user who %s subordinate ids in /etc/subuid",
				def, map[bool]string{true: "has", false: "has no"}[wantSubIDs])
		}
		return &User{Name: u.Username, UID: atou(u.Uid), GID: atou(u.Gid)}
	}
	name := os.Getenv(envVar)
	if name == "" {
		name = def
	}
	u, err := user.Lookup(name)
	if err != nil {
		Skipf(t, "no test user %q (%v): create it as .ci/run does, or set %s", name, err, envVar)
	}
	if hasSubIDs(u.Username, u.Uid) != wantSubIDs {
		Skipf(t, "test user %q: expected subordinate ids in /etc/subuid: %v (set up as .ci/run does)", name, wantSubIDs)
	}
	return &User{Name: u.Username, UID: atou(u.Uid), GID: atou(u.Gid), switchTo: true}
}

func atou(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

// hasSubIDs is a deliberately naive reading of /etc/subuid, independent of
// package subid so that the tests do not trust the code they test.
func hasSubIDs(name, uid string) bool {
	f, err := os.Open("/etc/subuid")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		owner, _, _ := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if owner == name || owner == uid {
			return true
		}
	}
	return false
}

// TempDir returns a new directory owned by the user, removed after the test.
// Its parents are traversable by everyone, unlike t.TempDir's.
func (u *User) TempDir(t testing.TB) string {
	t.Helper()
	parent := sharedTemp(t)
	dir, err := os.MkdirTemp(parent, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if u.switchTo {
		if err := os.Chown(dir, int(u.UID), int(u.GID)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { RemoveAll(t, u, dir) })
	return dir
}

// RemoveAll removes a tree that may hold files owned by the user's
// subordinate ids. Root removes anything; an unprivileged developer needs
// the files' namespace, which `ulxc usernsexec` provides.
func RemoveAll(t testing.TB, u *User, dir string) {
	t.Helper()
	if err := os.RemoveAll(dir); err == nil {
		return
	}
	cmd := exec.Command(ULXC(t), "usernsexec", "--", "rm", "-rf", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("remove %s: %v: %s", dir, err, out)
	}
}

var (
	tempOnce sync.Once
	tempDir  string
	tempErr  error
)

func sharedTemp(t testing.TB) string {
	t.Helper()
	tempOnce.Do(func() {
		tempDir, tempErr = os.MkdirTemp("", "ulxc-test-")
		if tempErr == nil {
			tempErr = os.Chmod(tempDir, 0o755)
		}
	})
	if tempErr != nil {
		t.Fatalf("shared temp dir: %v", tempErr)
	}
	return tempDir
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// ULXC returns the path of the ulxc binary built from this checkout, built
// once per test process in a directory every user can read, beside its
// ulxc-image: the two binaries scripts/setup installs, built the same way.
func ULXC(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir := sharedTemp(t)
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "ulxc")
		for _, b := range []struct{ out, tags string }{{binPath, "ulxc_lean"}, {filepath.Join(dir, "ulxc-image"), ""}} {
			cmd := exec.Command("go", "build", "-trimpath", "-tags="+b.tags, "-o", b.out, "./cmd/ulxc")
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build -tags=%s ./cmd/ulxc: %v\n%s", b.tags, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// BuildStatic builds the Go program in dir (a path inside this module, such
// as "cmd/ulxc/testdata/hostile") with the build tags (comma-separated, or
// "") as a static binary every user can run, also inside containers; it
// returns the directory that holds it, as name.
func BuildStatic(t testing.TB, dir, name, tags string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.MkdirTemp(sharedTemp(t), name+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(out, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-tags="+tags, "-o", filepath.Join(out, name), "./"+dir)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./%s: %v\n%s", dir, err, b)
	}
	return out
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the ulxc module")
	}
	return filepath.Dir(mod), nil
}

// Cleanup removes what the package built; call it from TestMain after m.Run.
func Cleanup() {
	if tempDir != "" {
		_ = os.RemoveAll(tempDir)
	}
}

// Home is a fresh home for one test: HOME, the XDG directories and
// XDG_RUNTIME_DIR, all owned by the user, so tests never see each other's
// containers, caches or configs.
type Home struct {
	Dir  string
	User *User
	Env  []string
}

// NewHome makes a fresh home for u.
func (u *User) NewHome(t testing.TB) *Home {
	t.Helper()
	dir := u.TempDir(t)
	runtime := filepath.Join(dir, "run")
	for _, d := range []string{".config/lxc", ".cache", ".local/share", "run"} {
		p := filepath.Join(dir, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if u.switchTo {
			for q := p; q != dir; q = filepath.Dir(q) {
				if err := os.Chown(q, int(u.UID), int(u.GID)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return &Home{Dir: dir, User: u, Env: []string{
		"HOME=" + dir,
		"USER=" + u.Name,
		"LOGNAME=" + u.Name,
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"XDG_RUNTIME_DIR=" + runtime,
		"LANG=C.UTF-8",
	}}
}

// WriteFile writes a file under the home, owned by the user.
func (h *Home) WriteFile(t testing.TB, rel, content string) string {
	t.Helper()
	p := filepath.Join(h.Dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if h.User.switchTo {
		for q := p; q != h.Dir; q = filepath.Dir(q) {
			if err := os.Chown(q, int(h.User.UID), int(h.User.GID)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return p
}

// Command returns `ulxc ARGS...` that runs as the home's user with the
// home's environment (plus extra "K=V" entries from env).
func (h *Home) Command(t testing.TB, env []string, args ...string) *exec.Cmd {
	t.Helper()
	return h.Exec(t, env, ULXC(t), args...)
}

// Exec returns any command run as the home's user with its environment.
func (h *Home) Exec(t testing.TB, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = h.Dir
	cmd.Env = append(append([]string{}, h.Env...), env...)
	if os.Getenv("CI") != "" {
		cmd.Env = append(cmd.Env, "CI="+os.Getenv("CI"))
	}
	if h.User.switchTo {
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: h.User.UID, Gid: h.User.GID, Groups: []uint32{}},
		}
	}
	return cmd
}

// Result is what a finished command printed and how it ended.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs `ulxc ARGS...` as the user and returns its output and exit code;
// it fails the test only if the command could not be started at all.
func (h *Home) Run(t testing.TB, args ...string) Result {
	t.Helper()
	return RunCmd(t, h.Command(t, nil, args...))
}

// RunCmd runs cmd, capturing its output.
func RunCmd(t testing.TB, cmd *exec.Cmd) Result {
	t.Helper()
	var stdout, stderr strings.Builder
	if cmd.Stdout == nil {
		cmd.Stdout = &stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &stderr
	}
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case asExit(err, &ee):
		res.Code = ee.ExitCode()
	case errors.Is(err, exec.ErrWaitDelay):
		res.Code = cmd.ProcessState.ExitCode()
	default:
		t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return res
}

func asExit(err error, target **exec.ExitError) bool {
	ee, ok := err.(*exec.ExitError)
	if ok {
		*target = ee
	}
	return ok
}

// MustRun is Run that fails the test on a non-zero exit.
func (h *Home) MustRun(t testing.TB, args ...string) Result {
	t.Helper()
	r := h.Run(t, args...)
	if r.Code != 0 {
		t.Fatalf("ulxc %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}
