package userns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"

	"github.com/ulxc/ulxc/subid"
)

// Purpose selects the default maps when neither Explicit nor Config maps
// are given.
type Purpose int

const (
	// ForExec maps the caller's uid and gid to 0 and the subordinate ids
	// from 1 upward, so the caller keeps access to its own files (what
	// `unshare --map-auto --map-root-user` and `podman unshare` do).
	ForExec Purpose = iota
	// ForContainer follows LXC: container id 0 is the first subordinate id,
	// for up to 65536 ids; the caller's own ids are not mapped.
	ForContainer
)

// containerIDs is how many ids ForContainer maps at most.
const containerIDs = 65536

// Plan is the set of maps a new user namespace gets.
type Plan struct {
	Maps []Map
	// Single is set when only the caller's own uid and gid are mapped: Go
	// writes the maps itself and setgroups is denied, no helper runs.
	Single bool
	// Warning, when set, explains a fallback to Single and how to fix it.
	Warning string
	// NewUIDMap and NewGIDMap are the helpers' paths; when empty, Start
	// looks them up with CheckHelper. Unused when Single.
	NewUIDMap, NewGIDMap string
}

// PlanOptions are the inputs of NewPlan.
type PlanOptions struct {
	Explicit []Map   // maps the user asked for (usernsexec -m); win over everything; default none
	Config   []Map   // maps from a config's lxc.idmap; default none
	Purpose  Purpose // default maps when both above are empty; default ForExec
	MapSelf  bool    // also map the caller's own uid and gid (lxc-usernsexec -s); default off
	// UID and GID are the caller's ids; when both are 0 they default to
	// os.Getuid and os.Getgid (which are 0 for root anyway).
	UID, GID uint32
	// SubUIDFile and SubGIDFile default to subid.UIDFile and subid.GIDFile.
	SubUIDFile, SubGIDFile string
	// NewUIDMap and NewGIDMap name the helpers; default "newuidmap" and
	// "newgidmap", looked up in PATH, then in /usr/bin.
	NewUIDMap, NewGIDMap string
}

func (o *PlanOptions) setDefaults() {
	if o.UID == 0 && o.GID == 0 {
		o.UID, o.GID = uint32(os.Getuid()), uint32(os.Getgid())
	}
	if o.SubUIDFile == "" {
		o.SubUIDFile = subid.UIDFile
	}
	if o.SubGIDFile == "" {
		o.SubGIDFile = subid.GIDFile
	}
	if o.NewUIDMap == "" {
		o.NewUIDMap = "newuidmap"
	}
	if o.NewGIDMap == "" {
		o.NewGIDMap = "newgidmap"
	}
}

// NewPlan chooses the maps for a new user namespace and validates them
// against the caller's subordinate ids, so that a bad map fails here with a
// precise *subid.OutsideError instead of in newuidmap.
//
// Explicit maps are used as given or fail. Config and default maps fall back
// to the single mapping 0->uid, 0->gid, with a Warning, when the caller has
// no subordinate ids or the helpers cannot run; Config maps outside an
// existing allocation are an error.
func NewPlan(opts PlanOptions) (Plan, error) {
	opts.setDefaults()
	name := userName(opts.UID)
	uids, err := lookup(opts.SubUIDFile, name, opts.UID)
	if err != nil {
		return Plan{}, err
	}
	gids, err := lookup(opts.SubGIDFile, name, opts.GID)
	if err != nil {
		return Plan{}, err
	}
	a := allocation{opts: &opts, name: name, uids: uids, gids: gids}

	var maps []Map
	fallback := false
	switch {
	case len(opts.Explicit) > 0:
		maps = opts.Explicit
	case len(opts.Config) > 0:
		maps = opts.Config
		fallback = (len(uids) == 0 || len(gids) == 0) && !ownOnly(maps, opts.UID, opts.GID)
	default:
		if len(uids) == 0 || len(gids) == 0 {
			fallback = true
			break
		}
		switch opts.Purpose {
		case ForExec:
			maps = append(execMaps(UID, opts.UID, uids), execMaps(GID, opts.GID, gids)...)
		case ForContainer:
			maps = append(containerMaps(UID, uids), containerMaps(GID, gids)...)
		default:
			return Plan{}, fmt.Errorf("plan id maps: unknown purpose %d", opts.Purpose)
		}
	}
	if fallback {
		return a.single(noRangesError(opts, name, uids, gids)), nil
	}
	if opts.MapSelf {
		maps = mapSelf(maps, opts.UID, opts.GID)
	}
	if err := a.validate(maps); err != nil {
		return Plan{}, err
	}
	if err := checkMaps(maps); err != nil {
		return Plan{}, err
	}
	if ownOnly(maps, opts.UID, opts.GID) {
		return Plan{Maps: maps, Single: true}, nil
	}
	uidHelper, uerr := CheckHelper(opts.NewUIDMap)
	gidHelper, gerr := CheckHelper(opts.NewGIDMap)
	if err := errors.Join(uerr, gerr); err != nil {
		if len(opts.Explicit) > 0 {
			return Plan{}, err
		}
		return a.single(err), nil
	}
	return Plan{Maps: maps, NewUIDMap: uidHelper, NewGIDMap: gidHelper}, nil
}

type allocation struct {
	opts       *PlanOptions
	name       string
	uids, gids []subid.Range
}

// validate checks every map's host ids against the allocation.
func (a allocation) validate(maps []Map) error {
	for _, m := range maps {
		var err error
		if m.Kind == UID {
			err = subid.Validate(a.uids, a.opts.UID, m.HostID, m.Size, a.opts.SubUIDFile)
		} else {
			err = subid.Validate(a.gids, a.opts.GID, m.HostID, m.Size, a.opts.SubGIDFile)
		}
		if err != nil {
			return fmt.Errorf("%s map %q: %w", m.Kind, FormatLXC(m), err)
		}
	}
	return nil
}

// single is the fallback plan, with a warning that says why (cause), what
// breaks, and the fix.
func (a allocation) single(cause error) Plan {
	o := a.opts
	var fixes []string
	if errors.Is(cause, subid.ErrNoRanges) {
		who := a.name
		if who == "" {
			who = strconv.FormatUint(uint64(o.UID), 10)
		}
		// A span nobody has, as checkconfig proposes: 100000-165535 may
		// be someone else's.
		free := subid.Unallocated(o.SubUIDFile, o.SubGIDFile, 65536).String()
		fixes = append(fixes, "usermod --add-subuids "+free+" --add-subgids "+free+" "+who+" (as root)")
	}
	if errors.Is(cause, ErrHelperMissing) {
		fixes = append(fixes, "apt-get install uidmap (as root)")
	}
	if errors.Is(cause, ErrHelperNotSetuid) {
		fixes = append(fixes, "chmod u+s /usr/bin/newuidmap /usr/bin/newgidmap (as root)")
	}
	w := fmt.Sprintf("%s; mapping only uid %d and gid %d to root: setgroups fails, chown to any other id fails with EINVAL (invalid argument), and multi-user distributions only half work; fix: %s",
		strings.ReplaceAll(cause.Error(), "\n", "; "), o.UID, o.GID, strings.Join(fixes, ", then "))
	return Plan{
		Maps:    []Map{{Kind: UID, ContainerID: 0, HostID: o.UID, Size: 1}, {Kind: GID, ContainerID: 0, HostID: o.GID, Size: 1}},
		Single:  true,
		Warning: w,
	}
}

func noRangesError(o PlanOptions, name string, uids, gids []subid.Range) error {
	who := fmt.Sprintf("uid %d", o.UID)
	if name != "" {
		who = fmt.Sprintf("%q (uid %d)", name, o.UID)
	}
	var errs []error
	if len(uids) == 0 {
		errs = append(errs, fmt.Errorf("%w for user %s in %s", subid.ErrNoRanges, who, o.SubUIDFile))
	}
	if len(gids) == 0 {
		errs = append(errs, fmt.Errorf("%w for user %s in %s", subid.ErrNoRanges, who, o.SubGIDFile))
	}
	return errors.Join(errs...)
}

func lookup(path, name string, id uint32) ([]subid.Range, error) {
	f, err := subid.Load(path)
	if err != nil {
		return nil, err
	}
	return f.Lookup(name, id), nil
}

// userName returns the name of uid, or "" when it has none; subid then
// matches the numeric uid only. ulxc is built without cgo (README), so
// os/user reads /etc/passwd alone; a user that only NSS knows (LDAP,
// sssd) is asked of getent(1), which newuidmap's own lookup agrees with.
func userName(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return u.Username
	}
	out, err := exec.Command("getent", "passwd", id).Output()
	if err != nil {
		return ""
	}
	name, _, _ := strings.Cut(string(out), ":")
	return strings.TrimSpace(name)
}

// execMaps maps own -> 0 and the ranges consecutively from 1.
func execMaps(k Kind, own uint32, ranges []subid.Range) []Map {
	maps := []Map{{Kind: k, ContainerID: 0, HostID: own, Size: 1}}
	next := uint64(1)
	for _, r := range ranges {
		size := r.Count
		if next+uint64(size) > 1<<32 {
			size = uint32(1<<32 - next)
		}
		if size == 0 || len(maps) == maxLines {
			break
		}
		maps = append(maps, Map{Kind: k, ContainerID: uint32(next), HostID: r.Start, Size: size})
		next += uint64(size)
	}
	return maps
}

// containerMaps maps 0 upward onto the ranges in file order, up to
// containerIDs ids (normally all from the first range).
func containerMaps(k Kind, ranges []subid.Range) []Map {
	var maps []Map
	next := uint32(0)
	for _, r := range ranges {
		size := min(r.Count, containerIDs-next)
		if size == 0 {
			break
		}
		maps = append(maps, Map{Kind: k, ContainerID: next, HostID: r.Start, Size: size})
		next += size
	}
	return maps
}

// mapSelf adds the caller's own ids at the first namespace id after the
// maps that cover 0 contiguously, as lxc-usernsexec -s does, unless they
// are mapped already.
func mapSelf(maps []Map, uid, gid uint32) []Map {
	out := append([]Map(nil), maps...)
	for _, k := range []Kind{UID, GID} {
		own := uid
		if k == GID {
			own = gid
		}
		next, mapped := uint64(0), false
		for changed := true; changed; {
			changed = false
			for _, m := range maps {
				if m.Kind != k {
					continue
				}
				mapped = mapped || (own >= m.HostID && uint64(own) < uint64(m.HostID)+uint64(m.Size))
				if next >= uint64(m.ContainerID) && next < uint64(m.ContainerID)+uint64(m.Size) {
					next = uint64(m.ContainerID) + uint64(m.Size)
					changed = true
				}
			}
		}
		if !mapped && next < 1<<32 {
			out = append(out, Map{Kind: k, ContainerID: uint32(next), HostID: own, Size: 1})
		}
	}
	return out
}

// ownOnly reports whether maps hold exactly one uid line for the caller's
// uid and one gid line for its gid, each of size 1: what the kernel lets an
// unprivileged process write without a helper.
func ownOnly(maps []Map, uid, gid uint32) bool {
	if len(maps) != 2 {
		return false
	}
	for _, m := range maps {
		own := uid
		if m.Kind == GID {
			own = gid
		}
		if m.Size != 1 || m.HostID != own {
			return false
		}
	}
	return maps[0].Kind != maps[1].Kind
}
