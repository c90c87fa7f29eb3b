package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/ocispec"
	"golang.org/x/sys/unix"
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

// dropBounding removes from the calling thread's bounding set every
// capability not in keep. The bounding set belongs to a thread, and an
// exec keeps the calling thread's: call it on the thread that execs. It
// needs CAP_SETPCAP, so it comes before any switch away from root.
// Capabilities the kernel does not know (EINVAL) are not there to drop.
func dropBounding(keep uint64) error {
	for c := 0; c < 64; c++ {
		if keep&(1<<c) != 0 {
			continue
		}
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if errors.Is(err, unix.EINVAL) {
			break
		}
		if err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	return nil
}

// processBounding reads the bounding set of pid (CapBnd in
// /proc/PID/status): attach gives the attached process its container's.
func processBounding(pid int) (uint64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status: CapBnd %q: %w", pid, v, err)
			}
			return mask, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status: no CapBnd line", pid)
}
