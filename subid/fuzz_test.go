package subid

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that everything it accepts obeys
// the Range invariants, and that what it accepts survives a round trip.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.sub[ug]id")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(strings.NewReader(string(data)), "in")
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line < 1 {
				t.Fatalf("Parse error = %#v, want *SyntaxError with a line", err)
			}
			return
		}
		var b strings.Builder
		for _, e := range file.Entries {
			if e.Range.Count == 0 || e.Range.End() > 1<<32 || e.Owner == "" || e.Line < 1 {
				t.Fatalf("Parse accepted a bad entry %+v", e)
			}
			fmt.Fprintf(&b, "%s:%d:%d\n", e.Owner, e.Range.Start, e.Range.Count)
		}
		again, err := Parse(strings.NewReader(b.String()), "again")
		if err != nil {
			t.Fatalf("Parse(%q) of formatted entries: %v", b.String(), err)
		}
		if len(again.Entries) != len(file.Entries) {
			t.Fatalf("round trip: %d entries, want %d", len(again.Entries), len(file.Entries))
		}
		for i := range again.Entries {
			a, w := again.Entries[i], file.Entries[i]
			if a.Owner != w.Owner || !reflect.DeepEqual(a.Range, w.Range) {
				t.Fatalf("round trip entry %d = %+v, want %+v", i, a, w)
			}
		}
	})
}
