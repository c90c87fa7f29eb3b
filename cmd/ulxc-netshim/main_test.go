package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.Cleanup()
	os.Exit(code)
}

// TestImports holds the privileged helper to what it may link: package
// netshim, the standard library and golang.org/x/sys. Anything more is
// more to audit.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v: %s", err, out)
	}
	allowed := map[string]bool{
		"github.com/ulxc/ulxc/cmd/ulxc-netshim": true,
		"github.com/ulxc/ulxc/netshim":          true,
	}
	var seen []string
	for _, p := range strings.Fields(string(out)) {
		seen = append(seen, p)
		if !allowed[p] && p != "golang.org/x/sys" && !strings.HasPrefix(p, "golang.org/x/sys/") {
			t.Errorf("ulxc-netshim links %s: only netshim, the standard library and golang.org/x/sys may be", p)
		}
	}
	if len(seen) < 3 {
		t.Errorf("go list -deps gave %q: want at least the command, netshim and x/sys/unix", seen)
	}
}

// TestStatic: the helper is a static binary, so no dynamic loader runs in
// the privileged process and LD_PRELOAD, LD_LIBRARY_PATH and friends have
// nothing to act on. It is built with cgo enabled where a C compiler is
// there: scripts/install-netshim disables cgo, but the helper must not
// link a package (net, os/user) that would make it dynamic without that.
func TestStatic(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ulxc-netshim")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if _, err := exec.LookPath("gcc"); err != nil {
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("ulxc-netshim has a %v program header: it is not static", p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		t.Errorf("ulxc-netshim needs %v", libs)
	}
}
