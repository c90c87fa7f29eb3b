package runtime

import (
	"context"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseTreeSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want TreeSize
		ok   bool
	}{
		{"123 0 0 0\n", TreeSize{Bytes: 123}, true},
		{"4096 2 1 3\n", TreeSize{Bytes: 4096, Unreadable: 2, TooDeep: 1, OtherFS: 3}, true},
		{"", TreeSize{}, false},
		{"1 2 3\n", TreeSize{}, false},
		{"-1 0 0 0\n", TreeSize{}, false},
		{"x 0 0 0\n", TreeSize{}, false},
	} {
		got, err := parseTreeSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseTreeSize(%q) = %+v, %v; want %+v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestRootfsUsageNeedsARoot(t *testing.T) {
	if _, err := RootfsUsage(context.Background(), &specs.Spec{}); err == nil || !strings.Contains(err.Error(), "no root filesystem") {
		t.Errorf("RootfsUsage(spec without root) = %v, want an error saying so", err)
	}
}
