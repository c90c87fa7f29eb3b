package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/ulxc/ulxc/runtime"
)

const topUsage = `Usage: ulxc top [-d SECONDS] [-s n|c|b|m|s] [-r] [-b] [-n COUNT]

Show what the running containers use, as lxc-top does: CPU (used, system,
user, in seconds), block I/O (total, read, written) and memory, from each
container's cgroup. Where its cgroup does not account one of them (no
delegated cgroup, or a host whose cgroup v2 lacks the memory and io
controllers), the figures come from /proc instead: CPU of the processes
alive now, the sum of their resident memory, their storage I/O.

On a terminal the table is redrawn every SECONDS (default 3); q quits, r
reverses the order, n, c, b, m, s sort by name, CPU, block I/O, memory,
memory and swap. -b prints lxc-top's batch lines instead, comma separated
with a header, every SECONDS (default 300 with -b). -n stops after COUNT
rounds (ulxc's: -b -n 1 is one measurement, for scripts).

Examples:
  ulxc top
  ulxc top -b -n 1
`

// topRow is one container's figures.
type topRow struct {
	name string
	u    runtime.Usage
}

func cmdTop(e *env, args []string) error {
	fs := e.newFlagSet("top")
	delay := fs.IntP("delay", "d", 3, "redraw every `SECONDS`")
	sortBy := fs.StringP("sort", "s", "n", "sort by `KEY`: n name, c CPU, b block I/O, m memory, s memory+swap")
	reverse := fs.BoolP("reverse", "r", false, "reverse the order")
	batch := fs.BoolP("batch", "b", false, "print comma separated lines, as lxc-top -b")
	count := fs.IntP("count", "n", 0, "stop after `COUNT` rounds (0: never)")
	if err := e.parse(fs, topUsage, args); err != nil {
		return err
	}
	switch {
	case len(fs.Args()) > 0:
		return usagef("top: unexpected argument %q", fs.Args()[0])
	case !strings.Contains("ncbms", *sortBy) || len(*sortBy) != 1:
		return usagef("top: -s %q: want one of n, c, b, m, s", *sortBy)
	case *delay < 0 || *count < 0:
		return usagef("top: -d and -n want 0 or more")
	}
	if *batch && !fs.Changed("delay") {
		*delay = 300
	}
	s, err := e.openStore()
	if err != nil {
		return fmt.Errorf("top: %w", err)
	}
	out := fileOf(e.stdout)
	screen := !*batch && out != nil && term.IsTerminal(int(out.Fd()))
	keys := make(chan byte, 8)
	if in := fileOf(e.stdin); screen && in != nil && term.IsTerminal(int(in.Fd())) {
		old, err := term.MakeRaw(int(in.Fd()))
		if err == nil {
			defer term.Restore(int(in.Fd()), old)
			// Raw mode takes Ctrl-C away: restore on a signal too.
			sigs := make(chan os.Signal, 1)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
			defer signal.Stop(sigs)
			go func() {
				<-sigs
				keys <- 'q'
			}()
			go readKeys(in, keys)
		}
	}
	if *batch {
		fmt.Fprintln(e.stdout, "time_ms,container,cpu_nanos,cpu_sys_userhz,cpu_user_userhz,blkio_bytes,blkio_iops,mem_used_bytes,memsw_used_bytes,kernel_mem_used_bytes")
	}
	for round := 1; ; round++ {
		cs, err := s.List()
		if err != nil {
			return fmt.Errorf("top: %w", err)
		}
		var rows []topRow
		for _, c := range cs {
			st, err := e.currentState(c)
			if err != nil || st.Status != runtime.Running && st.Status != runtime.Frozen {
				continue
			}
			rows = append(rows, topRow{c.Name, measureTop(st)})
		}
		sortTop(rows, (*sortBy)[0], *reverse)
		switch {
		case *batch:
			printTopBatch(e.stdout, rows, time.Now())
		default:
			printTopTable(e.stdout, rows, screen)
		}
		if *count > 0 && round >= *count {
			return nil
		}
		select {
		case k := <-keys:
			switch {
			case k == 'q' || k == 3: // 3: Ctrl-C in raw mode
				return nil
			case k == 'r':
				*reverse = !*reverse
			case strings.IndexByte("ncbms", k) >= 0:
				*reverse = (*sortBy)[0] == k && !*reverse
				*sortBy = string(k)
			}
		case <-time.After(time.Duration(*delay) * time.Second):
		}
	}
}

// measureTop measures st from its cgroup, and from /proc what the cgroup
// does not account.
func measureTop(st runtime.State) runtime.Usage {
	u := runtime.Measure(st)
	if u.HaveCgroup && u.HaveMemory && u.HaveIO {
		return u
	}
	p, err := runtime.ProcUsage(st)
	if err != nil {
		return u
	}
	if !u.HaveCgroup {
		u.CPU, u.CPUUser, u.CPUSystem = p.CPU, p.CPUUser, p.CPUSystem
	}
	if !u.HaveMemory {
		u.Memory, u.HaveMemory = p.Memory, p.HaveMemory
	}
	if !u.HaveIO {
		u.IORead, u.IOWrite, u.HaveIO = p.IORead, p.IOWrite, p.HaveIO
	}
	return u
}

func readKeys(in io.Reader, keys chan<- byte) {
	b := make([]byte, 1)
	for {
		if n, err := in.Read(b); err != nil || n == 0 {
			keys <- 'q'
			return
		}
		keys <- b[0]
	}
}

// sortTop orders as lxc-top: names ascending, figures descending;
// reverse turns either around.
func sortTop(rows []topRow, by byte, reverse bool) {
	less := func(i, j int) bool {
		a, b := rows[i].u, rows[j].u
		switch by {
		case 'c':
			return a.CPU > b.CPU
		case 'b':
			return a.IORead+a.IOWrite > b.IORead+b.IOWrite
		case 'm':
			return a.Memory > b.Memory
		case 's':
			return a.Memory+a.Swap > b.Memory+b.Swap
		}
		return rows[i].name < rows[j].name
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if reverse {
			return less(j, i)
		}
		return less(i, j)
	})
}
