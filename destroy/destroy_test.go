package destroy

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/userns"
)

func TestWithoutSelf(t *testing.T) {
	maps := []userns.Map{
		{Kind: userns.UID, ContainerID: 0, HostID: 100000, Size: 65536},
		{Kind: userns.GID, ContainerID: 0, HostID: 100000, Size: 65536},
		{Kind: userns.UID, ContainerID: 65536, HostID: 1000, Size: 1},
		{Kind: userns.GID, ContainerID: 65536, HostID: 1001, Size: 1},
	}
	got := withoutSelf(maps, 1000, 1001)
	if !slices.Equal(got, maps[:2]) {
		t.Errorf("withoutSelf = %v, want %v", got, maps[:2])
	}
	single := []userns.Map{{Kind: userns.UID, HostID: 1000, Size: 1}, {Kind: userns.GID, HostID: 1001, Size: 1}}
	if got := withoutSelf(single, 1000, 1001); !slices.Equal(got, single) {
		t.Errorf("withoutSelf(single) = %v, want it unchanged", got)
	}
}

func TestInNamespaceRefusesRelative(t *testing.T) {
	err := InNamespace(context.Background(), userns.Plan{}, "rel/dir")
	if err == nil || !strings.Contains(err.Error(), "not an absolute path") {
		t.Errorf("InNamespace(rel/dir) = %v, want a refusal", err)
	}
}
