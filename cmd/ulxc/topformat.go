package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// This file prints top's output as lxc-top 5 does
// (src/lxc/tools/lxc_top.c), its column widths and its humanized sizes.

// Terminal control of lxc-top's screen.
const (
	termClear = "\033[H\033[J"
	termNorm  = "\033[0m"
	termBold  = "\033[1m"
	termRvrs  = "\033[7m"
)

// printTopTable prints the header, one line a container and the TOTAL
// line; on a screen it clears it first and shows the header in reverse
// video, as lxc-top.
func printTopTable(w io.Writer, rows []topRow, screen bool) {
	var b strings.Builder
	var total topRow
	swap := false
	for _, r := range rows {
		total.u.CPU += r.u.CPU
		total.u.CPUSystem += r.u.CPUSystem
		total.u.CPUUser += r.u.CPUUser
		total.u.IORead += r.u.IORead
		total.u.IOWrite += r.u.IOWrite
		total.u.Memory += r.u.Memory
		total.u.Swap += r.u.Swap
		swap = swap || r.u.Swap > 0
	}
	if screen {
		b.WriteString(termClear + termRvrs + termBold)
	}
	fmt.Fprintf(&b, "%-18s %12s %12s %12s %36s %10s", "Container", "CPU", "CPU", "CPU", "BlkIO", "Mem")
	if swap {
		fmt.Fprintf(&b, " %10s", "MemSw")
	}
	fmt.Fprintf(&b, "\n%-18s %12s %12s %12s %36s %10s", "Name", "Used", "Sys", "User", "Total(Read/Write)", "Used")
	if swap {
		fmt.Fprintf(&b, " %10s", "Used")
	}
	b.WriteString("\n")
	if screen {
		b.WriteString(termNorm)
	}
	line := func(name string, r topRow) {
		blk := topSize(r.u.IORead+r.u.IOWrite) + "(" + topSize(r.u.IORead) + "/" + topSize(r.u.IOWrite) + ")"
		fmt.Fprintf(&b, "%-18.18s %12.2f %12.2f %12.2f %36s %10s", name, r.u.CPU.Seconds(), r.u.CPUSystem.Seconds(),
			r.u.CPUUser.Seconds(), blk, topSize(r.u.Memory))
		if swap {
			fmt.Fprintf(&b, " %10s", topSize(r.u.Swap))
		}
	}
	for _, r := range rows {
		line(r.name, r)
		b.WriteString("\n")
	}
	line(fmt.Sprintf("TOTAL %d of %d", len(rows), len(rows)), total)
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// printTopBatch prints lxc-top -b's lines: milliseconds since the epoch,
// name, CPU nanoseconds, system and user CPU in USER_HZ ticks, block I/O
// bytes and operations, memory, memory+swap and kernel memory (which
// cgroup v2 does not account: 0) in bytes.
func printTopBatch(w io.Writer, rows []topRow, now time.Time) {
	var b strings.Builder
	const tick = 10 * time.Millisecond // 1/USER_HZ
	for _, r := range rows {
		fmt.Fprintf(&b, "%d,%s,%d,%d,%d,%d,%d,%d,%d,%d\n", now.UnixMilli(), r.name, r.u.CPU.Nanoseconds(),
			r.u.CPUSystem/tick, r.u.CPUUser/tick, r.u.IORead+r.u.IOWrite, r.u.IOOps, r.u.Memory, r.u.Memory+r.u.Swap, 0)
	}
	io.WriteString(w, b.String())
}

// topSize is lxc-top's size_humanize: lxc-info's, but "%3u.00   " below
// a KiB.
func topSize(n uint64) string {
	if n <= 1<<10 {
		return fmt.Sprintf("%3d.00   ", uint32(n))
	}
	return lxcSize(n)
}
