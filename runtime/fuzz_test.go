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
	f.Add(uint32(rawproc.FixedMsgs), uint32(rawproc.OpMkdir), uint64(30), uint64(1))
	f.Add(uint32(rawproc.MsgDevDir), uint32(rawproc.OpOpen), uint64(2), ^uint64(0))
	f.Add(uint32(rawproc.MsgOOM), uint32(rawproc.OpNone), uint64(13), uint64(0))
	f.Add(uint32(rawproc.FixedMsgs+7), uint32(rawproc.OpWait), uint64(0), uint64(256))
	f.Add(uint32(rawproc.MsgBounding), uint32(rawproc.OpRemount), uint64(1), ^uint64(0))
	s := planSpec()
	oom := 5
	s.Process.OOMScoreAdj = &oom
	s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1}}
	p, err := compileInit(&initConfig{Spec: s, Console: true, TTYs: 1}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg, op uint32, errno, arg uint64) {
		if err := p.describe(rawproc.Failure{Msg: msg, Op: op, Errno: errno, Arg: arg}); err == nil {
			t.Errorf("describe(%d, %d, %d, %d) = nil", msg, op, errno, arg)
		}
	})
}
