package store

import (
	"errors"
	"testing"
)

func TestParseBackend(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Backend
		err  bool
	}{
		{"dir", BackendDir, false},
		{"overlay", BackendOverlay, false},
		{"overlayfs", BackendOverlay, false},
		{"btrfs", "", true},
		{"", "", true},
	} {
		got, err := ParseBackend(tc.in)
		if got != tc.want || (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrUnknownBackend)) {
			t.Errorf("ParseBackend(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}
