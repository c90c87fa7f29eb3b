package main

import (
	"fmt"
	"strings"

	"github.com/ulxc/ulxc/runtime"
)

const cgroupUsage = `Usage: ulxc cgroup NAME KEY [VALUE]

Print the cgroup file KEY of the running container NAME, or write VALUE to
it, as lxc-cgroup does. KEY is a file name of the container's cgroup v2
directory (memory.max, pids.current, cgroup.events...), never a path. The
container needs its own cgroup: see 'ulxc freeze --help'.

Examples:
  ulxc cgroup web cgroup.events
  ulxc cgroup web memory.max 512M
`

func cmdCgroup(e *env, args []string) error {
	fs := e.newFlagSet("cgroup")
	name := fs.StringP("name", "n", "", "container `NAME`")
	if err := e.parse(fs, cgroupUsage, args); err != nil {
		return err
	}
	rest := fs.Args()
	if *name == "" && len(rest) > 0 {
		*name, rest = rest[0], rest[1:]
	}
	switch {
	case *name == "":
		return usagef("cgroup: no container name (see 'ulxc cgroup --help')")
	case len(rest) == 0 || len(rest) > 2:
		return usagef("cgroup: want KEY [VALUE], got %q", rest)
	}
	if err := runtime.ValidateCgroupKey(rest[0]); err != nil {
		return usagef("cgroup: %v", err)
	}
	dir, err := e.runtimeDir(*name)
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", *name, err)
	}
	if len(rest) == 2 {
		if err := runtime.WriteCgroup(dir, rest[0], rest[1]); err != nil {
			return fmt.Errorf("cgroup %s: %w", *name, err)
		}
		return nil
	}
	v, err := runtime.ReadCgroup(dir, rest[0])
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", *name, err)
	}
	fmt.Fprintln(e.stdout, strings.TrimRight(v, "\n"))
	return nil
}
