package ocispec

import (
	"bufio"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/lxcconf"
)

// seedFiles adds every testdata/*.conf (and fstab) to f, whole or line by
// line.
func seedFiles(f *testing.F, lines bool) {
	files, _ := filepath.Glob("testdata/*.conf")
	more, _ := filepath.Glob("testdata/*.fstab")
	for _, file := range append(files, more...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if !lines {
			f.Add(string(data))
			continue
		}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "lxc.mount.entry = "); ok {
				f.Add(v)
			} else if strings.HasSuffix(file, ".fstab") && !strings.HasPrefix(line, "#") {
				f.Add(line)
			}
		}
	}
}

func FuzzParseMountEntry(f *testing.F) {
	seedFiles(f, true)
	f.Fuzz(func(t *testing.T, line string) {
		e, err := ParseMountEntry(line, "/root/fs")
		if err != nil {
			return
		}
		checkDest(t, e.Destination)
	})
}

// FuzzConvert converts arbitrary configs: no panic, and a spec that
// converts has mapped ids and destinations inside the root.
func FuzzConvert(f *testing.F) {
	seedFiles(f, false)
	f.Fuzz(func(t *testing.T, text string) {
		if strings.Contains(text, "lxc.include") {
			return // includes read other files: not this fuzzer's subject
		}
		cfg, err := lxcconf.Parse(strings.NewReader(text), "", lxcconf.Options{})
		if err != nil {
			return
		}
		s, err := Convert(cfg, Options{Name: "c", Dir: "/c", LookupEnv: fakeEnv})
		if err != nil {
			return
		}
		if len(s.Linux.UIDMappings) == 0 || len(s.Linux.GIDMappings) == 0 {
			t.Fatalf("Convert(%q) has no id maps", text)
		}
		for _, m := range s.Mounts {
			checkDest(t, m.Destination)
		}
		if _, err := json.Marshal(s); err != nil {
			t.Fatalf("json.Marshal(Convert(%q)): %v", text, err)
		}
	})
}

func checkDest(t *testing.T, dest string) {
	t.Helper()
	if !path.IsAbs(dest) || path.Clean(dest) != dest || dest == "/" {
		t.Fatalf("destination %q is not a clean absolute path below /", dest)
	}
}

// FuzzSeccompPolicy: lxc.seccomp.profile names a file anyone may have
// written; reading it never panics, and what it accepts has names and
// actions.
func FuzzSeccompPolicy(f *testing.F) {
	common, _ := os.ReadFile(filepath.Join("testdata", "common.seccomp"))
	f.Add(common)
	f.Add([]byte("2\nallowlist errno 38\n[all]\nread\nwrite [0,1,SCMP_CMP_EQ]\n[s390x]\nmkdir\n"))
	f.Add([]byte("2\ndenylist\nreject_force_umount\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		file := filepath.Join(dir, "policy")
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := readSeccompPolicy(file)
		if err != nil {
			return
		}
		if s.DefaultAction == "" {
			t.Fatalf("accepted %q with no default action", b)
		}
		for _, sc := range s.Syscalls {
			if len(sc.Names) == 0 || sc.Names[0] == "" || sc.Action == "" {
				t.Fatalf("accepted %q with a rule %+v", b, sc)
			}
		}
	})
}
