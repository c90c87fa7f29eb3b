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

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Entry
		errLine  int // >0: want a *SyntaxError at this line
	}{
		{name: "empty", in: ""},
		{name: "one", in: "alice:100000:65536\n", want: []Entry{{"alice", Range{100000, 65536}, 1}}},
		{name: "no final newline", in: "alice:1:2", want: []Entry{{"alice", Range{1, 2}, 1}}},
		{name: "comments and blanks", in: "# c\n\n  alice:1:2  \n\t#x\nbob:3:4\n",
			want: []Entry{{"alice", Range{1, 2}, 3}, {"bob", Range{3, 4}, 5}}},
		{name: "numeric owner", in: "1000:5:6\n", want: []Entry{{"1000", Range{5, 6}, 1}}},
		{name: "several per owner", in: "a:1:1\na:10:5\n", want: []Entry{{"a", Range{1, 1}, 1}, {"a", Range{10, 5}, 2}}},
		{name: "ends at 2^32", in: "a:4294967295:1\n", want: []Entry{{"a", Range{4294967295, 1}, 1}}},
		{name: "crlf", in: "a:1:2\r\n", want: []Entry{{"a", Range{1, 2}, 1}}},
		{name: "two fields", in: "ok:1:1\nalice:100000\n", errLine: 2},
		{name: "four fields", in: "alice:1:2:3\n", errLine: 1},
		{name: "empty owner", in: ":1:2\n", errLine: 1},
		{name: "space in owner", in: "al ice:1:2\n", errLine: 1},
		{name: "count zero", in: "alice:1:0\n", errLine: 1},
		{name: "non-numeric start", in: "alice:x:2\n", errLine: 1},
		{name: "non-numeric count", in: "alice:1:lots\n", errLine: 1},
		{name: "negative", in: "alice:-1:2\n", errLine: 1},
		{name: "start too big", in: "alice:4294967296:1\n", errLine: 1},
		{name: "overflow", in: "alice:4294967295:2\n", errLine: 1},
		{name: "spaces around numbers", in: "alice: 1:2\n", errLine: 1},
		{name: "too long", in: strings.Repeat("a", maxLine+1) + ":1:1\n", errLine: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(strings.NewReader(tc.in), "/etc/subuid")
			if tc.errLine > 0 {
				var se *SyntaxError
				if !errors.As(err, &se) || se.Line != tc.errLine || se.Path != "/etc/subuid" {
					t.Fatalf("Parse(%q) error = %v, want *SyntaxError at line %d", tc.in, err, tc.errLine)
				}
				if want := fmt.Sprintf("/etc/subuid:%d: ", tc.errLine); !strings.HasPrefix(err.Error(), want) {
					t.Errorf("Parse(%q) error = %q, want prefix %q", tc.in, err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error = %v", tc.in, err)
			}
			if !reflect.DeepEqual(f.Entries, tc.want) {
				t.Errorf("Parse(%q) = %v, want %v", tc.in, f.Entries, tc.want)
			}
		})
	}
}

func TestLoadMissingIsEmpty(t *testing.T) {
	p := filepath.Join(t.TempDir(), "subuid")
	f, err := Load(p)
	if err != nil || len(f.Entries) != 0 || f.Path != p {
		t.Fatalf("Load(%q) = %v, %v, want empty File", p, f, err)
	}
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil {
		t.Errorf("Load(%q) of a directory = nil error, want one", p)
	}
}

func TestLookup(t *testing.T) {
	f, err := Load("testdata/numeric-owner-and-comments.subuid")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		uid  uint32
		want []Range
	}{
		{"dave", 1000, []Range{{100000, 65536}, {400000, 1000}}},
		{"carol", 1001, []Range{{300000, 10}}},
		{"carol", 1000, []Range{{100000, 65536}, {300000, 10}, {400000, 1000}}},
		{"", 1000, []Range{{100000, 65536}, {400000, 1000}}},
		{"erin", 2000, nil},
	}
	for _, tc := range tests {
		if got := f.Lookup(tc.name, tc.uid); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Lookup(%q, %d) = %v, want %v", tc.name, tc.uid, got, tc.want)
		}
	}
}

func TestOverlapping(t *testing.T) {
	f, err := Load("testdata/overlap.subuid")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want []string
	}{
		{"alice", []string{"mallory"}},
		{"bob", nil},
		{"mallory", []string{"alice"}},
		{"nobody", nil},
	}
	for _, tc := range tests {
		var got []string
		for _, e := range f.Overlapping(tc.name, 9999) {
			got = append(got, e.Owner)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Overlapping(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRanges(t *testing.T) {
	rs, err := Ranges("testdata/debian-default.subuid", "bob", 1001)
	if err != nil || !reflect.DeepEqual(rs, []Range{{165536, 65536}}) {
		t.Errorf("Ranges(bob) = %v, %v, want [165536-231071]", rs, err)
	}
	_, err = Ranges("testdata/debian-default.subuid", "erin", 1003)
	if !errors.Is(err, ErrNoRanges) {
		t.Fatalf("Ranges(erin) error = %v, want ErrNoRanges", err)
	}
	for _, s := range []string{`"erin"`, "1003", "testdata/debian-default.subuid"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Ranges(erin) error = %q, want it to name %s", err, s)
		}
	}
	_, err = Ranges(filepath.Join(t.TempDir(), "none"), "erin", 1003)
	if !errors.Is(err, ErrNoRanges) {
		t.Errorf("Ranges(missing file) error = %v, want ErrNoRanges", err)
	}
	_, err = Ranges("testdata/zero-count.subuid", "alice", 1)
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Errorf("Ranges(zero-count) error = %v, want *SyntaxError", err)
	}
}

func TestRange(t *testing.T) {
	r := Range{200000, 65536}
	tests := []struct {
		start, count uint32
		want         bool
	}{
		{200000, 65536, true},
		{200000, 1, true},
		{265535, 1, true},
		{265535, 2, false},
		{199999, 1, false},
		{200000, 0, false},
		{300000, 10, false},
	}
	for _, tc := range tests {
		if got := r.Contains(tc.start, tc.count); got != tc.want {
			t.Errorf("%v.Contains(%d, %d) = %v, want %v", r, tc.start, tc.count, got, tc.want)
		}
	}
	if got := (Range{4294967295, 1}).End(); got != 1<<32 {
		t.Errorf("End() = %d, want 2^32", got)
	}
	if got := r.String(); got != "200000-265535" {
		t.Errorf("String() = %q, want 200000-265535", got)
	}
}

func TestValidate(t *testing.T) {
	alloc := []Range{{200000, 65536}}
	split := []Range{{300000, 100}, {200000, 100}, {200100, 50}}
	tests := []struct {
		name        string
		ranges      []Range
		host, count uint32
		ok          bool
	}{
		{"whole", alloc, 200000, 65536, true},
		{"inside", alloc, 200005, 10, true},
		{"own id", alloc, 1001, 1, true},
		{"own id plus more", alloc, 1001, 2, false},
		{"own id no alloc", nil, 1001, 1, true},
		{"outside", alloc, 300000, 10, false},
		{"overhang", alloc, 265530, 10, false},
		{"below", alloc, 199999, 2, false},
		{"zero count", alloc, 200000, 0, false},
		{"no alloc", nil, 200000, 1, false},
		{"adjacent ranges", split, 200050, 100, true},
		{"gap", split, 200100, 300, false},
		{"unsorted second", split, 300000, 100, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.ranges, 1001, tc.host, tc.count, "/etc/subuid")
			if tc.ok {
				if err != nil {
					t.Errorf("Validate(%v, %d, %d) = %v, want nil", tc.ranges, tc.host, tc.count, err)
				}
				return
			}
			var oe *OutsideError
			if !errors.As(err, &oe) || oe.Host != tc.host || oe.Count != tc.count {
				t.Fatalf("Validate(%v, %d, %d) = %v, want *OutsideError", tc.ranges, tc.host, tc.count, err)
			}
			if errors.Is(err, ErrNoRanges) != (len(tc.ranges) == 0) {
				t.Errorf("errors.Is(%v, ErrNoRanges) = %v, want %v", err, !(len(tc.ranges) == 0), len(tc.ranges) == 0)
			}
		})
	}
}

func TestOutsideErrorText(t *testing.T) {
	err := Validate([]Range{{200000, 65536}}, 1001, 300000, 10, "/etc/subuid")
	want := "host ids 300000-300009 lie outside the subordinate ids allocated in /etc/subuid (200000-265535)"
	if err == nil || err.Error() != want {
		t.Errorf("Validate(300000+10) = %q, want %q", err, want)
	}
}
