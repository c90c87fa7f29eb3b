package subid

import (
	"fmt"
	"sort"
	"strings"
)

// OutsideError is a map whose host ids do not lie inside the caller's
// subordinate ids. With no Allowed ranges at all it also matches ErrNoRanges.
type OutsideError struct {
	Host, Count uint32
	Allowed     []Range
	Path        string // the file the allocation comes from
}

func (e *OutsideError) Error() string {
	span := Range{Start: e.Host, Count: e.Count}.String()
	if len(e.Allowed) == 0 {
		return fmt.Sprintf("host ids %s: no subordinate ids allocated in %s", span, e.Path)
	}
	allowed := make([]string, len(e.Allowed))
	for i, r := range e.Allowed {
		allowed[i] = r.String()
	}
	return fmt.Sprintf("host ids %s lie outside the subordinate ids allocated in %s (%s)",
		span, e.Path, strings.Join(allowed, ", "))
}

// Unwrap makes an error about an empty allocation match ErrNoRanges.
func (e *OutsideError) Unwrap() error {
	if len(e.Allowed) == 0 {
		return ErrNoRanges
	}
	return nil
}

// Validate checks that the host ids [host, host+count) lie inside ranges,
// or are exactly the caller's own id ownID with count 1 (which newuidmap
// allows without any allocation). Like shadow, it accepts a span that
// crosses from one range into an adjacent one. The error is an
// *OutsideError; path names the file ranges came from.
func Validate(ranges []Range, ownID uint32, host, count uint32, path string) error {
	if count == 1 && host == ownID {
		return nil
	}
	if count == 0 {
		return &OutsideError{Host: host, Count: count, Allowed: ranges, Path: path}
	}
	if covered(ranges, uint64(host), uint64(host)+uint64(count)) {
		return nil
	}
	return &OutsideError{Host: host, Count: count, Allowed: ranges, Path: path}
}

// covered reports whether [lo, hi) is covered by the union of ranges.
func covered(ranges []Range, lo, hi uint64) bool {
	rs := append([]Range(nil), ranges...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
	for _, r := range rs {
		if uint64(r.Start) > lo {
			break // a gap at lo: later ranges start even later
		}
		if r.End() > lo {
			lo = r.End()
		}
		if lo >= hi {
			return true
		}
	}
	return lo >= hi
}
