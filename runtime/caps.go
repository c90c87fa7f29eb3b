package runtime

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/ocispec"
)

// boundingMask is the bounding set a spec asks for (lxc.cap.drop or
// lxc.cap.keep through ocispec), as a mask of capability numbers, and
// whether it asks for one at all. Capabilities newer than ulxc's table
// stay in the set: lxc.cap.drop cannot name them, and LXC keeps them.
func boundingMask(c *specs.LinuxCapabilities) (uint64, bool, error) {
	if c == nil {
		return 0, false, nil
	}
	known := ocispec.Capabilities()
	mask := ^uint64(0) << len(known)
	for _, name := range c.Bounding {
		i := indexOf(known, name)
		if i < 0 {
			return 0, false, fmt.Errorf("%w: unknown capability %q in process.capabilities.bounding", ErrInvalidSpec, name)
		}
		mask |= 1 << i
	}
	return mask, true, nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// processBounding reads the bounding set of pid (CapBnd in
// /proc/PID/status): attach gives the attached process its container's,
// read here when the state does not record it (State.Bounding).
func processBounding(pid int) (uint64, error) {
	b, err := readSmall("/proc/"+strconv.Itoa(pid)+"/status", 64<<10)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status: CapBnd %q: %w", pid, v, err)
			}
			return mask, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no CapBnd line", pid)
}
