package hostcheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/subid"
	"github.com/ulxc/ulxc/userns"
)

// lxcDefaultPath is where LXC reads an unprivileged user's default.conf.
func lxcDefaultPath() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "lxc", "default.conf"), nil
}

// checkLXCDefault checks that the lxc.idmap lines of LXC's default.conf,
// which containers inherit, lie inside the caller's subordinate ids.
func checkLXCDefault(opts Options, ids subIDs) []Result {
	r := Result{Group: "lxc", Name: "default.conf", Mandatory: true}
	path := opts.LXCDefault
	if path == "" {
		var err error
		if path, err = lxcDefaultPath(); err != nil {
			r.Status, r.Detail = Warn, "not checked: "+err.Error()
			return []Result{r}
		}
	}
	cfg, err := lxcconf.Load(path, lxcconf.Options{})
	switch {
	case errors.Is(err, os.ErrNotExist):
		r.Status, r.Detail = OK, path+" absent: LXC default: 0 -> first subordinate id"
		return []Result{r}
	case err != nil:
		r.Status, r.Detail = Missing, err.Error()
		r.Fix = "correct or remove " + path
		return []Result{r}
	}
	values := cfg.Values("lxc.idmap")
	if len(values) == 0 {
		r.Status, r.Detail = OK, path+" has no lxc.idmap: LXC default: 0 -> first subordinate id"
		return []Result{r}
	}
	var out []Result
	for _, v := range values {
		res := Result{Group: "lxc", Name: "lxc.idmap = " + v, Mandatory: true, Status: OK}
		maps, err := userns.ParseLXC(v)
		if err != nil {
			res.Status, res.Detail = Missing, err.Error()
			res.Fix = "correct lxc.idmap in " + path + " (KIND NSID HOSTID RANGE, e.g. u 0 100000 65536)"
			out = append(out, res)
			continue
		}
		for _, m := range maps {
			ranges, file, own := ids.uids, ids.uidFile, opts.UID
			if m.Kind == userns.GID {
				ranges, file, own = ids.gids, ids.gidFile, opts.GID
			}
			if err := subid.Validate(ranges, own, m.HostID, m.Size, file); err != nil {
				res.Status = Missing
				res.Detail = fmt.Sprintf("%s map %q: %v", m.Kind, userns.FormatLXC(m), err)
				res.Fix = idmapFix(path, m, ranges, ids, opts.User)
				break
			}
		}
		if res.Status == OK {
			res.Detail = "inside the subordinate ids (" + path + ")"
		}
		out = append(out, res)
	}
	return out
}

// idmapFix suggests a map that fits the allocation, or an allocation.
func idmapFix(path string, m userns.Map, ranges []subid.Range, ids subIDs, user string) string {
	for _, r := range ranges {
		if r.Count >= m.Size {
			m.HostID = r.Start
			return fmt.Sprintf("edit %s: lxc.idmap = %s", path, userns.FormatLXC(m))
		}
	}
	if len(ranges) == 0 {
		return ids.usermod(user)
	}
	return fmt.Sprintf("edit %s to map only ids inside %s, or %s", path, ranges[0], ids.usermod(user))
}
