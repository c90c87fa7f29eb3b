package runtime

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestRingBuffer(t *testing.T) {
	for _, tc := range []struct {
		writes []string
		want   string
	}{
		{nil, ""},
		{[]string{"abc"}, "abc"},
		{[]string{"abcd", "ef"}, "cdef"},
		{[]string{"abcdefgh"}, "efgh"},
		{[]string{"ab", "cd"}, "abcd"},
		{[]string{"ab", "cd", "e"}, "bcde"},
	} {
		r := newRingBuffer(4)
		for _, w := range tc.writes {
			r.Write([]byte(w))
		}
		if got := string(r.Bytes()); got != tc.want {
			t.Errorf("ring(4) after %q = %q, want %q", tc.writes, got, tc.want)
		}
	}
}

func TestConsoleLogRotates(t *testing.T) {
	dir := t.TempDir()
	l := &consoleLog{ring: newRingBuffer(16), path: dir + "/console.log", maxSize: 10}
	l.Write([]byte("0123456789"))
	l.Write([]byte("abc"))
	cur, _ := readFile(dir + "/console.log")
	old, _ := readFile(dir + "/console.log.1")
	if cur != "abc" || old != "0123456789" {
		t.Errorf("console log = %q, rotated %q, want %q, %q", cur, old, "abc", "0123456789")
	}
	if got := string(l.ring.Bytes()); got != "0123456789abc" {
		t.Errorf("console ring = %q, want all output", got)
	}
}

func readFile(name string) (string, error) {
	var b bytes.Buffer
	data, err := os.ReadFile(name)
	b.Write(data)
	return strings.TrimSpace(b.String()), err
}
