package nsenter

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// forked are the functions that run after Start's and Socket's raw forks,
// without a Go runtime behind them, and what they may call: raw system
// calls and each other.
var forked = []string{
	"forkJoin", "intermediate", "joined", "placeStdio", "dropBounding", "installFilter", "setIDs",
	"terminal", "changeDir", "execCommand", "RestoreSignals", "fail",
	"forkSocket", "socketChild", "sockFail",
}

// TestNoRuntimeAfterFork reads the compiled code of the forked functions
// (go tool objdump on a build of this package's tests): none may call into the Go
// runtime (a bounds-check panic, a write barrier, a stack check, an
// allocation), which would run on a copy of a thread whose runtime is
// not there.
func TestNoRuntimeAfterFork(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Skipf(t, "no go command to build and disassemble with: %v", err)
	}
	// go test strips the binaries it runs: build one with symbols.
	bin := filepath.Join(t.TempDir(), "nsenter.test")
	if out, err := exec.Command("go", "test", "-c", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v: %s", err, out)
	}
	pattern := `^github.com/ulxc/ulxc/nsenter\.(` + strings.Join(forked, "|") + `)$`
	out, err := exec.Command("go", "tool", "objdump", "-s", pattern, bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool objdump: %v: %s", err, out)
	}
	allowed := map[string]bool{"syscall.RawSyscall": true, "syscall.RawSyscall6": true}
	for _, f := range forked {
		allowed["github.com/ulxc/ulxc/nsenter."+f] = true
	}
	seen := map[string]bool{}
	call := regexp.MustCompile(`\s(CALL|JMP)\s+([^ (]+)\(SB\)`)
	text := regexp.MustCompile(`^TEXT (\S+)\(SB\)`)
	fn := ""
	for _, line := range strings.Split(string(out), "\n") {
		if m := text.FindStringSubmatch(line); m != nil {
			fn = m[1]
			seen[strings.TrimPrefix(fn, "github.com/ulxc/ulxc/nsenter.")] = true
			continue
		}
		if m := call.FindStringSubmatch(line); m != nil && !allowed[m[2]] {
			t.Errorf("%s calls %s after the fork:\n%s", fn, m[2], strings.TrimSpace(line))
		}
	}
	for _, f := range forked {
		if !seen[f] {
			t.Errorf("%s is not in the binary as a function of its own (inlined into a caller that is not nosplit?)", f)
		}
	}
}
