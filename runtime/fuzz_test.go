package runtime

import (
	"os"
	"path/filepath"
	"testing"
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
