package subid

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFreeRange(t *testing.T) {
	e := func(start, count uint32) Entry {
		return Entry{Range: Range{Start: start, Count: count}}
	}
	tests := []struct {
		name    string
		entries []Entry
		want    string
	}{
		{"empty", nil, "100000-165535"},
		{"below the minimum", []Entry{e(1000, 5000)}, "100000-165535"},
		{"first taken", []Entry{e(100000, 65536)}, "165536-231071"},
		{"chain out of order", []Entry{e(165536, 65536), e(100000, 65536), e(231072, 10)}, "231082-296617"},
		{"gap too small", []Entry{e(100000, 65536), e(200000, 65536)}, "265536-331071"},
		{"nothing left", []Entry{e(100000, 4294967295-100000)}, ""},
	}
	for _, tc := range tests {
		r, ok := FreeRange(tc.entries, 65536)
		if got := map[bool]string{true: r.String(), false: ""}[ok]; got != tc.want {
			t.Errorf("FreeRange(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestUnallocated takes both files into account, and falls back to the
// span from FirstFree.
func TestUnallocated(t *testing.T) {
	dir := t.TempDir()
	uids := filepath.Join(dir, "subuid")
	gids := filepath.Join(dir, "subgid")
	os.WriteFile(uids, []byte("alice:100000:65536\n"), 0o644)
	os.WriteFile(gids, []byte("bob:165536:65536\n"), 0o644)
	tests := []struct {
		uid, gid string
		want     string
	}{
		{uids, gids, "231072-296607"},
		{uids, filepath.Join(dir, "missing"), "165536-231071"},
		{filepath.Join(dir, "missing"), filepath.Join(dir, "missing"), "100000-165535"},
	}
	for _, tc := range tests {
		if got := Unallocated(tc.uid, tc.gid, 65536).String(); got != tc.want {
			t.Errorf("Unallocated(%s, %s) = %q, want %q", tc.uid, tc.gid, got, tc.want)
		}
	}
}
