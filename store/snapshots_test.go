package store

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// TestSnapshotRecordsConcurrent: copies being removed and copies being
// made edit an original's snapshot records at once (removals do not hold
// the original's lock); no change may be lost.
func TestSnapshotRecordsConcurrent(t *testing.T) {
	store := t.TempDir()
	orig := Ref{Path: store, Name: "orig"}
	if err := os.Mkdir(filepath.Join(store, "orig"), 0o700); err != nil {
		t.Fatal(err)
	}
	ref := func(i int) Ref { return Ref{Path: store, Name: fmt.Sprintf("copy%02d", i)} }
	const n = 32
	for i := range n {
		if err := AddSnapshot(orig, ref(i)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() { defer wg.Done(); errs <- RemoveSnapshot(orig, ref(i)) }()
		go func() { defer wg.Done(); errs <- AddSnapshot(orig, ref(n+i)) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := readRefs(filepath.Join(store, "orig", SnapshotsFile))
	if err != nil {
		t.Fatal(err)
	}
	var want []Ref
	for i := range n {
		want = append(want, ref(n+i))
	}
	byName := func(a, b Ref) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	}
	slices.SortFunc(got, byName)
	if !slices.Equal(got, want) {
		t.Errorf("after 32 removals and 32 additions at once the records are %d:\n%v\nwant the 32 added", len(got), got)
	}
	// An original that is gone has no records to remove from.
	if err := RemoveSnapshot(Ref{Path: store, Name: "gone"}, ref(0)); err != nil {
		t.Errorf("RemoveSnapshot from a missing original: %v", err)
	}
}
