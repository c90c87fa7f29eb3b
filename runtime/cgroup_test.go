package runtime

import (
	"errors"
	"slices"
	"testing"
)

func TestLimitControllers(t *testing.T) {
	tests := []struct {
		lim     map[string]string
		want    []string
		wantErr error
	}{
		{nil, []string{}, nil},
		{map[string]string{"memory.max": "1G", "memory.high": "900M", "pids.max": "10"}, []string{"memory", "pids"}, nil},
		{map[string]string{"hugetlb.2MB.max": "0"}, []string{"hugetlb"}, nil},
		{map[string]string{"cgroup.procs": "1"}, nil, ErrInvalidSpec},
		{map[string]string{"memory": "1"}, nil, ErrInvalidSpec},
		{map[string]string{".max": "1"}, nil, ErrInvalidSpec},
		{map[string]string{"memory.max/../x": "1"}, nil, ErrInvalidSpec},
		{map[string]string{"memory.max\x00": "1"}, nil, ErrInvalidSpec},
	}
	for _, tc := range tests {
		got, err := limitControllers(tc.lim)
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) || (err == nil && !slices.Equal(got, tc.want)) {
			t.Errorf("limitControllers(%q) = %q, %v, want %q, %v", tc.lim, got, err, tc.want, tc.wantErr)
		}
	}
}
