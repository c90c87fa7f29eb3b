package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/runtime"
)

// This file prints info's lines as lxc-info 5 does
// (src/lxc/tools/lxc_info.c): "%-15s %s", sizes humanized its way.

// infoStats prints lxc-info -S's lines that the container's cgroup can
// give: CPU use (seconds, raw nanoseconds), BlkIO use and Memory use.
func infoStats(row func(k, format string, a ...any), u runtime.Usage, raw bool) {
	size := func(n uint64) string {
		if raw {
			return strconv.FormatUint(n, 10)
		}
		return lxcSize(n)
	}
	if u.HaveCgroup {
		if raw {
			row("CPU use", "%d", u.CPU.Nanoseconds())
		} else {
			row("CPU use", "%.2f seconds", u.CPU.Seconds())
		}
	}
	if u.HaveIO {
		row("BlkIO use", "%s", size(u.IORead+u.IOWrite))
	}
	if u.HaveMemory {
		row("Memory use", "%s", size(u.Memory))
	}
}

// infoKeys prints -c's keys as lxc-info: "KEY = VALUE", or the value
// alone for one key with -H; a list key's values one a line.
func (e *env) infoKeys(configPath string, show infoShow) error {
	if len(show.keys) == 0 {
		return nil
	}
	cfg, err := lxcconf.Load(configPath, lxcconf.Options{})
	if err != nil {
		return err
	}
	for _, k := range show.keys {
		if _, known := lxcconf.Canonical(k); !known {
			return usagef("info: -c %s: not a config key", k)
		}
		v := strings.Join(cfg.Values(k), "\n")
		if canon, _ := lxcconf.Canonical(k); strings.HasPrefix(canon, "lxc.signal.") && v != "" {
			// LXC keeps signals as numbers and prints them so.
			if sig, err := ocispec.ParseSignal(v); err == nil {
				v = strconv.Itoa(int(sig))
			}
		}
		switch {
		case show.raw && len(show.keys) == 1:
			fmt.Fprintln(e.stdout, v)
		case v == "":
			fmt.Fprintf(e.stdout, "%s =\n", k)
		default:
			fmt.Fprintf(e.stdout, "%s = %s\n", k, v)
		}
	}
	return nil
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// lxcSize is lxc-info's size_humanize, to the digit: two decimals,
// truncated after LXC's own rounding.
func lxcSize(val uint64) string {
	switch {
	case val > 1<<30:
		return fmt.Sprintf("%d.%02d GiB", uint32(val>>30), uint32(val&(1<<30-1))/10737419)
	case val > 1<<20:
		x := uint32(val + 5243)
		return fmt.Sprintf("%d.%02d MiB", x>>20, ((x&(1<<20-1))*100)>>20)
	case val > 1<<10:
		x := uint32(val + 5)
		return fmt.Sprintf("%d.%02d KiB", x>>10, ((x&(1<<10-1))*100)>>10)
	}
	return fmt.Sprintf("%d bytes", uint32(val))
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
