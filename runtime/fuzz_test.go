package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/internal/rawproc"
)

// FuzzParseStat: /proc/PID/stat of a container process holds a command
// name the container chose.
func FuzzParseStat(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "stat-*.txt"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		state, _, err := parseStat(b)
		if err == nil && state == 0 {
			t.Errorf("parseStat(%q) accepted an empty state", b)
		}
	})
}

// FuzzParseAddresses: /proc/PID/net files describe a namespace the
// container configures.
func FuzzParseAddresses(f *testing.F) {
	f.Add([]byte(fibTrie), []byte(ifInet6))
	f.Fuzz(func(t *testing.T, fib, inet6 []byte) {
		parseFibTrie(fib)
		parseIfInet6(inet6)
	})
}

// FuzzDecodeInitConfig: init decodes what arrives on its config pipe;
// malformed bytes are an error, never a panic, and whatever decodes
// encodes back to the same config.
func FuzzDecodeInitConfig(f *testing.F) {
	ic := &initConfig{Spec: fullSpec(), Name: "web", ConfigPath: "/c/web/config", Console: true, TTYs: 2,
		ConsoleRows: 24, ConsoleCols: 80, NewNet: true, Unshare: lateNamespaces}
	full := ic.encode()
	f.Add(full)
	f.Add(full[:len(full)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeInitConfig(b)
		if err != nil {
			return
		}
		again, err := decodeInitConfig(c.encode())
		if err != nil {
			t.Fatalf("re-encoding a decoded config does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", c, again)
		}
	})
}

// FuzzDescribe: whatever record comes down init's error pipe, describe
// returns an error and does not panic.
func FuzzDescribe(f *testing.F) {
	f.Add(uint64(rawproc.StMount), uint64(3), uint64(rawproc.SubMkdir), uint64(1), uint64(30), uint64(0))
	f.Add(uint64(rawproc.StLink), ^uint64(0), uint64(0), ^uint64(0), uint64(2), uint64(0))
	f.Add(uint64(rawproc.StOOM), uint64(0), uint64(rawproc.SubWrite), ^uint64(0), uint64(13), uint64(0))
	f.Add(uint64(rawproc.StHook), uint64(7), uint64(rawproc.SubWait), ^uint64(0), uint64(0), uint64(256))
	s := planSpec()
	oom := 5
	s.Process.OOMScoreAdj = &oom
	s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1}}
	p, err := compileInit(&initConfig{Spec: s, Console: true, TTYs: 1}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, step, index, sub, comp, errno, extra uint64) {
		if err := p.describe(rawproc.Report{0, step, index, sub, comp, errno, extra}); err == nil {
			t.Errorf("describe(%d, %d, %d, %d, %d, %d) = nil", step, index, sub, comp, errno, extra)
		}
	})
}
