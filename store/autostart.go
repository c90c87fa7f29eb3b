package store

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ulxc/ulxc/lxcconf"
)

// Autostart is what lxc-autostart reads of a container's config.
type Autostart struct {
	Name   string
	Auto   bool     // lxc.start.auto = 1
	Order  int      // lxc.start.order
	Delay  int      // lxc.start.delay, seconds to wait after starting it
	Groups []string // lxc.group
}

// Autostart reads the container's lxc.start.* and lxc.group keys.
func (c *Container) Autostart() (Autostart, error) {
	cfg, err := lxcconf.Load(c.ConfigPath(), lxcconf.Options{})
	if err != nil {
		return Autostart{}, err
	}
	get := func(key string) string {
		v, _ := cfg.Get(key)
		return strings.TrimSpace(v)
	}
	a := Autostart{Name: c.Name, Auto: get("lxc.start.auto") == "1"}
	var errs []string
	for _, kv := range []struct {
		key string
		dst *int
	}{{"lxc.start.order", &a.Order}, {"lxc.start.delay", &a.Delay}} {
		if v := get(kv.key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s = %q is not a number", kv.key, v))
			}
			*kv.dst = n
		}
	}
	if len(errs) > 0 {
		return Autostart{}, fmt.Errorf("%s: %s", c.ConfigPath(), strings.Join(errs, "; "))
	}
	for _, g := range cfg.Values("lxc.group") {
		a.Groups = append(a.Groups, SplitGroups([]string{g})...)
	}
	return a, nil
}

// SplitGroups joins comma-separated group lists (lxc-autostart's -g, or
// lxc.group values) into one ordered list; "" is the no-group group. No
// arguments give nil.
func SplitGroups(args []string) []string {
	var out []string
	for _, a := range args {
		for _, g := range strings.Split(a, ",") {
			out = append(out, strings.TrimSpace(g))
		}
	}
	return out
}

// PlanOptions select containers for AutostartPlan.
type PlanOptions struct {
	All        bool     // every group (-a); default: only Groups
	IgnoreAuto bool     // also containers without lxc.start.auto (-A)
	Groups     []string // groups in the order asked; nil = the no-group group
	Stopping   bool     // reverse the order, as for a shutdown
}

// AutostartPlan selects and orders containers as lxc-autostart does: group
// by group in the order asked, each container once, by lxc.start.order then
// name; reversed for stopping.
func AutostartPlan(entries []Autostart, opts PlanOptions) []Autostart {
	groups := opts.Groups
	if groups == nil {
		groups = []string{""}
	}
	var plan []Autostart
	seen := map[string]bool{}
	pick := func(match func(Autostart) bool) {
		var batch []Autostart
		for _, a := range entries {
			if (a.Auto || opts.IgnoreAuto) && !seen[a.Name] && match(a) {
				seen[a.Name] = true
				batch = append(batch, a)
			}
		}
		sort.SliceStable(batch, func(i, j int) bool {
			if batch[i].Order != batch[j].Order {
				return batch[i].Order < batch[j].Order
			}
			return batch[i].Name < batch[j].Name
		})
		plan = append(plan, batch...)
	}
	if opts.All {
		pick(func(Autostart) bool { return true })
	} else {
		for _, g := range groups {
			pick(func(a Autostart) bool {
				if g == "" {
					return len(a.Groups) == 0
				}
				return slices.Contains(a.Groups, g)
			})
		}
	}
	if opts.Stopping {
		slices.Reverse(plan)
	}
	return plan
}
