package subid

// FirstFree is where useradd starts allocating subordinate ids (shadow's
// SUB_UID_MIN and SUB_GID_MIN defaults).
const FirstFree = 100000

// FreeRange returns the lowest span of count ids from FirstFree that
// overlaps no entry; false when none fits below 2^32.
func FreeRange(entries []Entry, count uint32) (Range, bool) {
	start := uint64(FirstFree)
	for moved := true; moved; {
		moved = false
		for _, e := range entries {
			if uint64(e.Range.Start) < start+uint64(count) && start < e.Range.End() {
				start, moved = e.Range.End(), true
			}
		}
		if start+uint64(count) > maxID {
			return Range{}, false
		}
	}
	return Range{Start: uint32(start), Count: count}, true
}

// Unallocated returns the lowest span of count ids that no one has in the
// subordinate uid file nor in the gid file (UIDFile and GIDFile when ""),
// for a `usermod --add-subuids` that takes nobody's ids. A file that cannot
// be read counts as empty, and when nothing is free the span from
// FirstFree is returned: it is advice, and root decides.
func Unallocated(uidFile, gidFile string, count uint32) Range {
	var all []Entry
	for _, p := range []string{cmpOr(uidFile, UIDFile), cmpOr(gidFile, GIDFile)} {
		if f, err := Load(p); err == nil {
			all = append(all, f.Entries...)
		}
	}
	if r, ok := FreeRange(all, count); ok {
		return r
	}
	return Range{Start: FirstFree, Count: count}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
