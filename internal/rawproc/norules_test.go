package rawproc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"testing"
)

// pkgPrefix names the functions of this package in a disassembly: all
// of them run after a raw clone, with no Go runtime behind them (doc.go).
const pkgPrefix = "github.com/ulxc/ulxc/internal/rawproc."

// rawEntryPoints are what that code may call besides itself: the raw
// system call entry points (nosplit, no runtime behind them).
var rawEntryPoints = map[string]bool{"syscall.RawSyscall(SB)": true, "syscall.RawSyscall6(SB)": true}

// callerSide are the functions the Go side calls to fork, which may check
// their stack at entry (runtime.morestack_noctxt), in the caller, before
// any clone: a child never passes through their prologue. Not being
// nosplit takes their own frame off the nosplit budget of the children's
// chains, which on arm64 and others (plain forks, on the caller's stack)
// did not fit.
var callerSide = map[string]bool{pkgPrefix + "ForkJoin(SB)": true, pkgPrefix + "StartChild(SB)": true}

// runtimeCalls disassembles the binary at bin (go tool objdump) and
// returns every call or jump from the functions of this package to code
// outside it and outside rawEntryPoints, as "function: target (file:line)".
func runtimeCalls(t *testing.T, bin string) []string {
	t.Helper()
	cmd := exec.Command("go", "tool", "objdump", "-s", `^github\.com/ulxc/ulxc/internal/rawproc\.`, bin)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	calls, funcs := scanObjdump(out)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go tool objdump %s: %v", bin, err)
	}
	if len(funcs) < 10 {
		t.Fatalf("found %d functions of %s in %s: the test no longer sees the code it checks", len(funcs), pkgPrefix, bin)
	}
	var bad []string
	for _, c := range calls {
		// An ABI0 wrapper (the assembly's call of childEntry) only moves
		// arguments into registers for the function it wraps; an
		// assembly function of the package (the forks' clones) is ABI0
		// itself.
		target := strings.Replace(c.target, ".abi0(SB)", "(SB)", 1)
		if callerSide[c.from] && target == "runtime.morestack_noctxt(SB)" {
			continue
		}
		if !funcs[target] && !funcs[c.target] && !rawEntryPoints[target] {
			bad = append(bad, fmt.Sprintf("%s: %s (%s)", c.from, c.target, c.at))
		}
	}
	sort.Strings(bad)
	return bad
}

type objCall struct{ from, target, at string }

// scanObjdump reads objdump's listing: the calls and jumps out of the
// functions of this package, and those functions' names.
func scanObjdump(r io.Reader) ([]objCall, map[string]bool) {
	funcs := map[string]bool{}
	var calls []objCall
	var cur string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "TEXT "); ok {
			cur = ""
			name, _, _ := strings.Cut(rest, " ")
			if strings.HasPrefix(name, pkgPrefix) {
				cur = name
				funcs[name] = true
			}
			continue
		}
		if cur == "" {
			continue
		}
		fields := strings.Split(line, "\t")
		instr := strings.TrimSpace(fields[len(fields)-1])
		for i := len(fields) - 1; i >= 0 && instr == ""; i-- {
			instr = strings.TrimSpace(fields[i])
		}
		op, target, _ := strings.Cut(instr, " ")
		if (op == "CALL" || op == "JMP") && strings.HasSuffix(target, "(SB)") {
			calls = append(calls, objCall{from: cur, target: target, at: strings.TrimSpace(fields[0])})
		}
	}
	return calls, funcs
}

// buildULXC builds cmd/ulxc as scripts/setup installs it, with extra
// build tags, into dir.
func buildULXC(t *testing.T, dir, tags string) string {
	t.Helper()
	bin := filepath.Join(dir, "ulxc-"+strings.ReplaceAll(tags, ",", "-"))
	cmd := exec.Command("go", "build", "-trimpath", "-tags", tags, "-o", bin, "./cmd/ulxc")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags %s: %v\n%s", tags, err, out)
	}
	return bin
}

// TestInitRuntimeCalls: the code that runs after a raw clone (init, and
// nsenter's forks for attach) calls nothing but itself and the raw system
// call entry points: no allocation, no bounds-check panic, no write
// barrier, no scheduler. The linker checks only the nosplit stack budget,
// not what is called; this reads the compiled code. It must also catch a
// deliberate breach (tag ulxc_initfault: an allocation in init).
func TestInitRuntimeCalls(t *testing.T) {
	if goruntime.GOARCH != "amd64" {
		t.Skipf("the disassembly is read for amd64 only, this is %s", goruntime.GOARCH)
	}
	if testing.Short() {
		t.Skip("builds ulxc twice")
	}
	dir := t.TempDir()
	if bad := runtimeCalls(t, buildULXC(t, dir, "ulxc_lean")); len(bad) > 0 {
		t.Errorf("code after the raw clone calls out of itself:\n%s", strings.Join(bad, "\n"))
	}
	// nsenter's Socket fork is not in ulxc until networking uses it: read
	// it in nsenter's test binary, which does.
	nsTest := filepath.Join(dir, "nsenter.test")
	if out, err := exec.Command("go", "test", "-c", "-o", nsTest, "../../nsenter").CombinedOutput(); err != nil {
		t.Fatalf("go test -c ../../nsenter: %v\n%s", err, out)
	}
	if bad := runtimeCalls(t, nsTest); len(bad) > 0 {
		t.Errorf("code after nsenter's forks calls out of itself:\n%s", strings.Join(bad, "\n"))
	}
	bad := runtimeCalls(t, buildULXC(t, dir, "ulxc_lean,ulxc_initfault"))
	found := false
	for _, b := range bad {
		if strings.Contains(b, "runtime.makeslice") {
			found = true
		}
	}
	if !found {
		t.Errorf("the deliberate allocation in init (tag ulxc_initfault) was not found; calls found: %q", bad)
	}
}

// TestLinksElsewhere: the linker's nosplit check is per architecture, and
// elsewhere than amd64 the forks are plain ones that run on the caller's
// stack, so its frames count against the children's budget: ulxc did not
// link for arm64 (ForkJoin and StartChild over the limit) while amd64
// passed. This links it for arm64, whose frames are the largest of the
// 64-bit ports; nothing here can run it.
func TestLinksElsewhere(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ulxc for another architecture")
	}
	for _, tags := range []string{"ulxc_lean", ""} {
		cmd := exec.Command("go", "build", "-trimpath", "-tags", tags, "-o", filepath.Join(t.TempDir(), "ulxc"), "./cmd/ulxc")
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOARCH=arm64")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("GOARCH=arm64 go build -tags %q ./cmd/ulxc: %v\n%s", tags, err, out)
		}
	}
}
