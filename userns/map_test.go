package userns

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseLXC(t *testing.T) {
	tests := []struct {
		in   string
		want []Map
	}{
		{"u 0 100000 65536", []Map{{UID, 0, 100000, 65536}}},
		{"g 0 100000 65536", []Map{{GID, 0, 100000, 65536}}},
		{"b 0 100000 65536", []Map{{UID, 0, 100000, 65536}, {GID, 0, 100000, 65536}}},
		{"  u\t1  2 3 ", []Map{{UID, 1, 2, 3}}},
		{"u 4294967295 0 1", []Map{{UID, 4294967295, 0, 1}}},
		{"u 0 100000", nil},
		{"u 0 100000 65536 1", nil},
		{"x 0 100000 65536", nil},
		{"U 0 100000 65536", nil},
		{"u 0 100000 0", nil},
		{"u -1 100000 1", nil},
		{"u 0 abc 1", nil},
		{"u 0 4294967295 2", nil},
		{"u 4294967295 0 2", nil},
		{"u 0 4294967296 1", nil},
		{"u:0:100000:65536", nil},
		{"", nil},
	}
	for _, tc := range tests {
		got, err := ParseLXC(tc.in)
		if tc.want == nil {
			if !errors.Is(err, ErrInvalidMap) {
				t.Errorf("ParseLXC(%q) = %v, %v, want ErrInvalidMap", tc.in, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseLXC(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseFlag(t *testing.T) {
	tests := []struct {
		in   string
		want []Map
	}{
		{"u:0:100000:65536", []Map{{UID, 0, 100000, 65536}}},
		{"g:1:2:3", []Map{{GID, 1, 2, 3}}},
		{"b:0:1000:1", []Map{{UID, 0, 1000, 1}, {GID, 0, 1000, 1}}},
		{"b:0:1000", nil},
		{"b:0:1000:1:", nil},
		{"u 0 1000 1", nil},
		{"x:0:1000:1", nil},
		{"u:0: 1000:1", nil},
		{"u:0:1000:0", nil},
		{"u::1000:1", nil},
	}
	for _, tc := range tests {
		got, err := ParseFlag(tc.in)
		if tc.want == nil {
			if !errors.Is(err, ErrInvalidMap) {
				t.Errorf("ParseFlag(%q) = %v, %v, want ErrInvalidMap", tc.in, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseFlag(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestFormatLXCRoundTrip(t *testing.T) {
	for _, m := range []Map{{UID, 0, 100000, 65536}, {GID, 4294967295, 0, 1}} {
		s := FormatLXC(m)
		got, err := ParseLXC(s)
		if err != nil || len(got) != 1 || got[0] != m {
			t.Errorf("ParseLXC(FormatLXC(%v) = %q) = %v, %v, want %v", m, s, got, err, m)
		}
	}
	if got := FormatLXC(Map{UID, 0, 100000, 65536}); got != "u 0 100000 65536" {
		t.Errorf("FormatLXC = %q, want %q", got, "u 0 100000 65536")
	}
}

func TestCheckMaps(t *testing.T) {
	ok := []Map{{UID, 0, 100000, 65536}, {GID, 0, 100000, 65536}}
	tests := []struct {
		name string
		maps []Map
		ok   bool
	}{
		{"lxc", ok, true},
		{"split", []Map{{UID, 0, 1000, 1}, {UID, 1, 100000, 10}, {GID, 0, 1000, 1}}, true},
		{"no gid", ok[:1], false},
		{"no root", []Map{{UID, 1, 100000, 10}, {GID, 0, 100000, 10}}, false},
		{"ns overlap", []Map{{UID, 0, 100000, 10}, {UID, 5, 200000, 10}, {GID, 0, 1, 1}}, false},
		{"host overlap", []Map{{UID, 0, 100000, 10}, {UID, 10, 100005, 10}, {GID, 0, 1, 1}}, false},
		{"zero size", []Map{{UID, 0, 100000, 0}, {GID, 0, 1, 1}}, false},
		{"bad kind", []Map{{'x', 0, 1, 1}, {UID, 0, 1, 1}, {GID, 0, 1, 1}}, false},
		{"past 2^32", []Map{{UID, 0, 4294967295, 2}, {GID, 0, 1, 1}}, false},
	}
	for _, tc := range tests {
		err := checkMaps(tc.maps)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidMap)) {
			t.Errorf("%s: checkMaps(%v) = %v, want ok=%v", tc.name, tc.maps, err, tc.ok)
		}
	}
	many := []Map{{GID, 0, 1, 1}}
	for i := range uint32(maxLines + 1) {
		many = append(many, Map{UID, i, 1000 + i, 1})
	}
	if err := checkMaps(many); !errors.Is(err, ErrInvalidMap) {
		t.Errorf("checkMaps(%d uid lines) = %v, want ErrInvalidMap", maxLines+1, err)
	}
}
