package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ulxc/ulxc/lifecycle"
	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/userns"
)

const infoUsage = `Usage: ulxc info [-s] [-p] [-i] [-S] [-H] [-c KEY]... NAME

Show the state of the container NAME (checked against its init process), its
pid, addresses, network interfaces and their helpers, CPU, block I/O and memory use (when it has a cgroup of its
own that accounts them), the size of its root filesystem (measured as du -sx
would, from a child in a user namespace with the container's id maps, so
that directories only the container's ids may read count too) and its id
maps. Lines read as lxc-info's: "State:          RUNNING".

As lxc-info, -s, -p, -i and -S print only the state, the pid, the IP
addresses or the statistics, -c KEY the config value of KEY (repeatable);
-H prints raw numbers, and with a single one of -s, -p or -i the bare value
alone, for scripts.

Examples:
  ulxc info web
  ulxc info -s web
  pid=$(ulxc info -p -H web)
  ulxc info -c lxc.rootfs.path web
`

// infoShow is what info prints; all false prints everything.
type infoShow struct {
	state, pid, ips, stats bool
	keys                   []string
	raw                    bool
}

func cmdInfo(e *env, args []string) error {
	fs := e.newFlagSet("info")
	name := fs.StringP("name", "n", "", "container `NAME`")
	var show infoShow
	fs.BoolVarP(&show.state, "state", "s", false, "print only the state")
	fs.BoolVarP(&show.pid, "pid", "p", false, "print only the pid of init")
	fs.BoolVarP(&show.ips, "ips", "i", false, "print only the IP addresses")
	fs.BoolVarP(&show.stats, "stats", "S", false, "print only the statistics (CPU, block I/O, memory)")
	stringsVarP(fs, &show.keys, "config", "c", "print the config value of `KEY` (repeatable)")
	humanize := fs.BoolP("no-humanize", "H", false, "print raw numbers")
	if err := e.parse(fs, infoUsage, args); err != nil {
		return err
	}
	show.raw = *humanize
	if err := nameArg(name, fs.Args(), "info"); err != nil {
		return err
	}
	c, spec, err := e.containerSpec(*name, lifecycle.Options{})
	if err != nil {
		return fmt.Errorf("info %s: %w", *name, err)
	}
	_, st, err := lifecycle.Check(c)
	if err != nil {
		return fmt.Errorf("info %s: %w", *name, err)
	}
	all := !show.state && !show.pid && !show.ips && !show.stats && len(show.keys) == 0
	// As lxc-info: -H with a single one of -s, -p, -i prints the value
	// alone (-S counts as five).
	bare := show.raw && countTrue(show.state, show.pid, show.ips)+5*countTrue(show.stats) == 1
	row := func(k, format string, a ...any) {
		if bare {
			fmt.Fprintf(e.stdout, format+"\n", a...)
			return
		}
		fmt.Fprintf(e.stdout, "%-15s "+format+"\n", append([]any{k + ":"}, a...)...)
	}
	if all {
		show.state, show.pid, show.ips, show.stats = true, true, true, true
		row("Name", "%s", c.Name)
	}
	if show.state {
		row("State", "%s", st.Status)
	}
	running := st.Status != runtime.Stopped
	var u runtime.Usage
	if running {
		u = runtime.Measure(st)
	}
	if running && show.pid && st.Pid > 0 {
		row("PID", "%d", st.Pid)
	}
	if running && show.ips {
		for _, ip := range append(u.IPv4, u.IPv6...) {
			row("IP", "%s", ip)
		}
	}
	if running && show.stats {
		infoStats(row, u, show.raw)
	}
	if err := e.infoKeys(c.ConfigPath(), show); err != nil {
		return fmt.Errorf("info %s: %w", *name, err)
	}
	if !all {
		return nil
	}
	if running {
		for _, n := range st.Network {
			row("Network", "%s", n)
		}
	}
	switch {
	case running && st.Cgroup == "":
		row("Cgroup", "none: %s (no limits, freeze or usage figures)", st.CgroupNote)
	case running && !u.HaveCgroup:
		row("Cgroup", "%s (its controllers are not enabled: no usage figures)", st.Cgroup)
	}
	if running && !st.Started.IsZero() {
		row("Started", "%s", st.Started.Local().Format(time.RFC3339))
	}
	if le := st.LastExit; !running && le != nil {
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

// duChild is runtime.DiskUsageEntry, "__du", for main's childEntries: the
// size of a root filesystem, measured inside a user namespace.
var duChild = runtime.DiskUsageMain
