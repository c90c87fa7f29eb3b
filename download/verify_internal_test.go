package download

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBindToBuild(t *testing.T) {
	start := time.Date(2024, 1, 2, 5, 24, 0, 0, time.UTC)
	tests := []struct {
		build  string
		signed time.Time
		stale  bool
	}{
		{"20240102_05:24", start.Add(3 * time.Hour), false},            // published after the build
		{"20240102_05:24", start, false},                               // at the minute it started
		{"20240102_05:24", start.Add(-59 * time.Minute), false},        // a skewed clock, within the slack
		{"20240102_05:24", start.Add(-61 * time.Minute), true},         // beyond the slack
		{"20240102_05:24", start.Add(-24 * time.Hour), true},           // yesterday's build
		{"20240102_05:24", start.In(time.FixedZone("X", 7200)), false}, // build ids are UTC
		{"20240102_07:24", start.Add(-time.Minute), true},              // read as UTC, not local time
		{"7", start.Add(-365 * 24 * time.Hour), false},                 // not a time: no binding
		{"2024-01-02", start.Add(-365 * 24 * time.Hour), false},
		{"20240102_05:24:00", start.Add(-365 * 24 * time.Hour), false},
	}
	for _, tc := range tests {
		err := bindToBuild("rootfs.tar.xz", tc.signed, tc.build)
		if got := errors.Is(err, ErrStaleSignature); got != tc.stale {
			t.Errorf("bindToBuild(%s, signed %v) = %v, want stale %v", tc.build, tc.signed, err, tc.stale)
		}
		var se *StaleSignatureError
		if tc.stale && (!errors.As(err, &se) || se.File != "rootfs.tar.xz" || se.Build != tc.build || !se.Signed.Equal(tc.signed)) {
			t.Errorf("bindToBuild(%s, signed %v) = %#v, want a *StaleSignatureError naming the file, build and time", tc.build, tc.signed, err)
		}
		if tc.stale {
			msg := err.Error()
			for _, want := range []string{"rootfs.tar.xz", tc.build, tc.signed.UTC().Format("2006-01-02 15:04:05 UTC")} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name %q", msg, want)
				}
			}
		}
	}
}
