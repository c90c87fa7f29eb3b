package hostcheck

import (
	"fmt"
	"strings"

	"github.com/ulxc/ulxc/subid"
)

// recommendedIDs is what a distribution's image expects to map: every id up
// to nobody (65534).
const recommendedIDs = 65536

// subIDs is the outcome of the subordinate id checks, kept for the
// default.conf check that follows.
type subIDs struct {
	results    []Result
	uids, gids []subid.Range
	uidFile    string
	gidFile    string
	// free is a span of recommendedIDs ids no one has in either file,
	// "100000-165535", or "" if none could be computed.
	free string
}

func checkSubIDs(opts Options) subIDs {
	s := subIDs{uidFile: opts.SubUIDFile, gidFile: opts.SubGIDFile}
	if s.uidFile == "" {
		s.uidFile = subid.UIDFile
	}
	if s.gidFile == "" {
		s.gidFile = subid.GIDFile
	}
	uf, uerr := subid.Load(s.uidFile)
	gf, gerr := subid.Load(s.gidFile)
	var all []subid.Entry
	for _, f := range []*subid.File{uf, gf} {
		if f != nil {
			all = append(all, f.Entries...)
		}
	}
	if r, ok := subid.FreeRange(all, recommendedIDs); ok {
		s.free = r.String()
	}

	check := func(name string, f *subid.File, err error, path string, id uint32) []subid.Range {
		r := Result{Group: "subid", Name: name, Mandatory: true}
		if err != nil {
			r.Status, r.Detail = Missing, err.Error()
			r.Fix = "as root: correct " + path + " (lines are USER:START:COUNT)"
			s.results = append(s.results, r)
			return nil
		}
		ranges := f.Lookup(opts.User, id)
		total := uint64(0)
		spans := make([]string, len(ranges))
		for i, rg := range ranges {
			total += uint64(rg.Count)
			spans[i] = rg.String()
		}
		switch {
		case len(ranges) == 0:
			r.Status = Missing
			r.Detail = fmt.Sprintf("no subordinate ids for %s in %s", opts.User, path)
			r.Fix = s.usermod(opts.User)
		case total < recommendedIDs:
			r.Status = Warn
			r.Detail = fmt.Sprintf("%s: %s (%d ids; images expect %d, up to nobody 65534)", opts.User, strings.Join(spans, ", "), total, recommendedIDs)
			r.Fix = s.usermod(opts.User)
		default:
			r.Status = OK
			r.Detail = fmt.Sprintf("%s: %s (%d ids)", opts.User, strings.Join(spans, ", "), total)
		}
		s.results = append(s.results, r)
		for _, e := range f.Overlapping(opts.User, id) {
			s.results = append(s.results, Result{
				Group: "subid", Name: name + " overlap", Status: Warn,
				Detail: fmt.Sprintf("%s's range %s at %s:%d overlaps %s's: each can reach the other's container files",
					e.Owner, e.Range, path, e.Line, opts.User),
				Fix: "as root: give " + opts.User + " and " + e.Owner + " separate ranges in " + path,
			})
		}
		return ranges
	}
	s.uids = check("subuid", uf, uerr, s.uidFile, opts.UID)
	s.gids = check("subgid", gf, gerr, s.gidFile, opts.GID)
	return s
}

// usermod returns the command that gives user a free range.
func (s subIDs) usermod(user string) string {
	span := s.free
	if span == "" {
		span = "100000-165535"
	}
	return fmt.Sprintf("as root: usermod --add-subuids %s --add-subgids %s %s", span, span, user)
}
