package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/userns"
)

const infoUsage = `Usage: ulxc info NAME

Show the state of the container NAME (checked against its init process), its
pid, addresses, network interfaces and their helpers, CPU and memory use (when it has a cgroup of its own), the
size of its root filesystem (measured as du -sx would, from a child in a
user namespace with the container's id maps, so that directories only the
container's ids may read count too) and its id maps.

Examples:
  ulxc info web
`

func cmdInfo(e *env, args []string) error {
	fs := e.newFlagSet("info")
	name := fs.StringP("name", "n", "", "container `NAME`")
	if err := e.parse(fs, infoUsage, args); err != nil {
		return err
	}
	if err := nameArg(name, fs.Args(), "info"); err != nil {
		return err
	}
	c, spec, err := e.loadContainer(*name, nil)
	if err != nil {
		return fmt.Errorf("info %s: %w", *name, err)
	}
	_, st, err := checkRun(c)
	if err != nil {
		return fmt.Errorf("info %s: %w", *name, err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 8, 1, ' ', 0)
	defer tw.Flush()
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s:\t"+format+"\n", append([]any{k}, a...)...) }
	row("Name", "%s", c.Name)
	row("State", "%s", st.Status)
	if st.Status != runtime.Stopped {
		u := runtime.Measure(st)
		row("PID", "%d", st.Pid)
		for _, ip := range append(u.IPv4, u.IPv6...) {
			row("IP", "%s", ip)
		}
		for _, n := range st.Network {
			row("Network", "%s", n)
		}
		switch {
		case u.HaveCgroup:
			row("CPU use", "%.2f seconds", u.CPU.Seconds())
			row("Memory use", "%s", humanBytes(int64(u.Memory)))
		case st.Cgroup == "":
			row("Cgroup", "none: %s (no limits, freeze or usage figures)", st.CgroupNote)
		}
		if !st.Started.IsZero() {
			row("Started", "%s", st.Started.Local().Format(time.RFC3339))
		}
	} else if le := st.LastExit; le != nil {
		row("Last exit", "status %d at %s", le.Code, le.Time.Local().Format(time.RFC3339))
	}
	if spec.Root != nil {
		size, err := runtime.RootfsUsage(context.Background(), spec)
		switch {
		case err != nil:
			row("Rootfs", "%s (size: %v)", spec.Root.Path, err)
		case size.Complete():
			row("Rootfs", "%s (%s)", spec.Root.Path, humanBytes(size.Bytes))
		default:
			row("Rootfs", "%s (at least %s; %s)", spec.Root.Path, humanBytes(size.Bytes), size.Gaps())
		}
	}
	var maps []string
	for _, m := range spec.Linux.UIDMappings {
		maps = append(maps, userns.FormatLXC(userns.Map{Kind: userns.UID, ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size}))
	}
	for _, m := range spec.Linux.GIDMappings {
		maps = append(maps, userns.FormatLXC(userns.Map{Kind: userns.GID, ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size}))
	}
	row("Idmap", "%s", strings.Join(maps, ", "))
	return nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.2f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// duChild is runtime.DiskUsageEntry, "__du", for main's childEntries: the
// size of a root filesystem, measured inside a user namespace.
var duChild = runtime.DiskUsageMain
