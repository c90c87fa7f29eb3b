package userns

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind says whether a Map is for user or group ids.
type Kind byte

// The kinds of id map.
const (
	UID Kind = 'u'
	GID Kind = 'g'
)

func (k Kind) String() string {
	switch k {
	case UID:
		return "uid"
	case GID:
		return "gid"
	default:
		return fmt.Sprintf("Kind(%q)", byte(k))
	}
}

// Map is one line of /proc/PID/uid_map or gid_map: Size ids starting at
// ContainerID inside the namespace are HostID... outside it.
type Map struct {
	Kind                      Kind
	ContainerID, HostID, Size uint32
}

// FormatLXC returns m as the value of an lxc.idmap key, "u 0 100000 65536".
func FormatLXC(m Map) string {
	return fmt.Sprintf("%c %d %d %d", m.Kind, m.ContainerID, m.HostID, m.Size)
}

// ErrInvalidMap is an id map that cannot be written to the kernel: a bad
// field, a range past the last id, overlapping ranges, container id 0 not
// mapped, or too many lines.
var ErrInvalidMap = errors.New("invalid id map")

// ParseLXC parses the value of an lxc.idmap (or legacy lxc.id_map) key:
// "u 0 100000 65536", where the kind "b" stands for both a u and a g map.
func ParseLXC(value string) ([]Map, error) {
	return parseFields(value, strings.Fields(value), "KIND NSID HOSTID RANGE")
}

// ParseFlag parses a usernsexec -m value, "u:0:100000:65536", with the kinds
// u, g and b (both), as lxc-usernsexec does.
func ParseFlag(value string) ([]Map, error) {
	return parseFields(value, strings.Split(value, ":"), "u|g|b:NSID:HOSTID:RANGE")
}

func parseFields(value string, f []string, form string) ([]Map, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidMap, value, fmt.Sprintf(format, a...))
	}
	if len(f) != 4 {
		return nil, bad("want %s", form)
	}
	var kinds []Kind
	switch f[0] {
	case "u":
		kinds = []Kind{UID}
	case "g":
		kinds = []Kind{GID}
	case "b":
		kinds = []Kind{UID, GID}
	default:
		return nil, bad("kind %q is not u, g or b", f[0])
	}
	var n [3]uint32
	for i, name := range []string{"namespace id", "host id", "range"} {
		v, err := strconv.ParseUint(f[i+1], 10, 32)
		if err != nil {
			return nil, bad("%s %q is not a number from 0 to 4294967295", name, f[i+1])
		}
		n[i] = uint32(v)
	}
	m := Map{ContainerID: n[0], HostID: n[1], Size: n[2]}
	if err := m.check(); err != nil {
		return nil, bad("%v", err)
	}
	out := make([]Map, len(kinds))
	for i, k := range kinds {
		m.Kind = k
		out[i] = m
	}
	return out, nil
}

// check reports a size of 0 or a range past the last id; the message does
// not repeat ErrInvalidMap.
func (m Map) check() error {
	switch {
	case m.Size == 0:
		return errors.New("range is 0")
	case uint64(m.ContainerID)+uint64(m.Size) > 1<<32:
		return fmt.Errorf("namespace ids %d+%d run past 4294967295", m.ContainerID, m.Size)
	case uint64(m.HostID)+uint64(m.Size) > 1<<32:
		return fmt.Errorf("host ids %d+%d run past 4294967295", m.HostID, m.Size)
	}
	return nil
}

// maxLines is the kernel's limit of lines in one uid_map or gid_map (4.15+).
const maxLines = 340

// checkMaps checks that maps can be written together: each valid, both
// kinds present with container id 0 mapped (Enter becomes root), no
// overlapping container or host ranges within a kind, at most maxLines each.
func checkMaps(maps []Map) error {
	for _, k := range []Kind{UID, GID} {
		var ms []Map
		zero := false
		for _, m := range maps {
			if m.Kind != UID && m.Kind != GID {
				return fmt.Errorf("%w: kind %q", ErrInvalidMap, byte(m.Kind))
			}
			if m.Kind != k {
				continue
			}
			if err := m.check(); err != nil {
				return fmt.Errorf("%w %q: %v", ErrInvalidMap, FormatLXC(m), err)
			}
			for _, o := range ms {
				if spansOverlap(m.ContainerID, m.Size, o.ContainerID, o.Size) {
					return fmt.Errorf("%w: %q and %q map the same namespace %ss", ErrInvalidMap, FormatLXC(o), FormatLXC(m), k)
				}
				if spansOverlap(m.HostID, m.Size, o.HostID, o.Size) {
					return fmt.Errorf("%w: %q and %q map the same host %ss", ErrInvalidMap, FormatLXC(o), FormatLXC(m), k)
				}
			}
			zero = zero || m.ContainerID == 0
			ms = append(ms, m)
		}
		if len(ms) > maxLines {
			return fmt.Errorf("%w: %d %s lines, the kernel takes at most %d", ErrInvalidMap, len(ms), k, maxLines)
		}
		if !zero {
			return fmt.Errorf("%w: namespace %s 0 is not mapped (root inside must be mapped)", ErrInvalidMap, k)
		}
	}
	return nil
}

func spansOverlap(a, an, b, bn uint32) bool {
	return uint64(a) < uint64(b)+uint64(bn) && uint64(b) < uint64(a)+uint64(an)
}
