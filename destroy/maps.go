package destroy

import (
	"fmt"
	"os"

	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/userns"
)

// PlanMaps returns the plan of the child's namespace (the container's maps
// plus the caller's own ids, see the package documentation) and the
// container's own maps, which go into its config. explicit wins over the
// lxc.idmap of cfg; without either the container gets LXC's convention.
func PlanMaps(explicit []userns.Map, cfg *lxcconf.Config) (userns.Plan, []userns.Map, error) {
	var configured []userns.Map
	if len(explicit) == 0 && cfg != nil {
		for _, e := range cfg.Lookup("lxc.idmap") {
			ms, err := userns.ParseLXC(e.Value)
			if err != nil {
				return userns.Plan{}, nil, fmt.Errorf("%s:%d: %w", e.File, e.Line, err)
			}
			configured = append(configured, ms...)
		}
	}
	plan, err := userns.NewPlan(userns.PlanOptions{
		Explicit: explicit, Config: configured, Purpose: userns.ForContainer, MapSelf: true,
	})
	if err != nil {
		return userns.Plan{}, nil, err
	}
	switch {
	case plan.Single:
		return plan, plan.Maps, nil
	case len(explicit) > 0:
		return plan, explicit, nil
	case len(configured) > 0:
		return plan, configured, nil
	}
	return plan, withoutSelf(plan.Maps, uint32(os.Getuid()), uint32(os.Getgid())), nil
}

// withoutSelf drops the one-id maps of the caller's own ids that NewPlan's
// MapSelf appended after the container's ranges.
func withoutSelf(maps []userns.Map, uid, gid uint32) []userns.Map {
	var out []userns.Map
	for _, m := range maps {
		own := uid
		if m.Kind == userns.GID {
			own = gid
		}
		if m.Size == 1 && m.HostID == own && m.ContainerID != 0 {
			continue
		}
		out = append(out, m)
	}
	return out
}
