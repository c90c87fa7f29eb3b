package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// This file prints ls's output in lxc-ls's exact layout (LXC 5,
// src/lxc/tools/lxc_ls.c), so that scripts which cut its columns or
// compare its lines work unchanged: every column left-aligned to the
// widest of its header and its values and followed by one space (the last
// one too), - for a missing value, RAM and SWAP as megabytes with two
// decimals, and nothing at all, not even the header, for no containers.

// lsColumn is one column of the table.
type lsColumn struct {
	name string
	// min is the width of the header lxc-ls starts from.
	min int
	// value is the cell's text; "" prints as -.
	value func(r lsRow) string
}

// defaultColumns are those of lxc-ls -f.
var defaultColumns = []lsColumn{colName, colState, colAutostart, colGroups, colIPv4, colIPv6, colUnprivileged}

var (
	colName      = lsColumn{"NAME", 4, func(r lsRow) string { return r.Name }}
	colState     = lsColumn{"STATE", 5, func(r lsRow) string { return r.State }}
	colAutostart = lsColumn{"AUTOSTART", 9, func(r lsRow) string {
		if r.Autostart {
			return "1"
		}
		return "0"
	}}
	colGroups = lsColumn{"GROUPS", 6, func(r lsRow) string { return strings.Join(r.Groups, ", ") }}
	colPid    = lsColumn{"PID", 3, func(r lsRow) string {
		if r.Pid > 0 {
			return strconv.Itoa(r.Pid)
		}
		return ""
	}}
	colInterface    = lsColumn{"INTERFACE", 9, func(r lsRow) string { return strings.Join(r.interfaces, ", ") }}
	colIPv4         = lsColumn{"IPV4", 4, func(r lsRow) string { return strings.Join(r.IPv4, ", ") }}
	colIPv6         = lsColumn{"IPV6", 4, func(r lsRow) string { return strings.Join(r.IPv6, ", ") }}
	colUnprivileged = lsColumn{"UNPRIVILEGED", 12, func(r lsRow) string { return strconv.FormatBool(r.Unprivileged) }}
	// RAM and SWAP: the number is right-aligned to the column's width
	// and followed by MB; lxc-ls counts "0.00" for stopped containers,
	// so the width is at least 4.
	colRAM = lsColumn{"RAM", 3, func(r lsRow) string {
		if r.haveRAM {
			return megabytes(r.ram)
		}
		return ""
	}}
	colSwap = lsColumn{"SWAP", 4, func(r lsRow) string {
		if r.haveSwap {
			return megabytes(r.swap)
		}
		return ""
	}}
)

// colOrigin is ulxc's own: the container a snapshot lies over.
var colOrigin = lsColumn{"ORIGIN", 6, func(r lsRow) string { return r.Origin }}

var allColumns = []lsColumn{colName, colState, colPid, colRAM, colSwap, colAutostart, colGroups, colInterface, colIPv4, colIPv6, colUnprivileged, colOrigin}

func megabytes(n uint64) string { return fmt.Sprintf("%.2f", float64(n)/1024/1024) }

// parseColumns reads -F: comma separated column names, any case.
func parseColumns(list string) ([]lsColumn, error) {
	var cols []lsColumn
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		i := -1
		for j, c := range allColumns {
			if strings.EqualFold(c.name, name) {
				i = j
			}
		}
		if i < 0 {
			names := make([]string, len(allColumns))
			for j, c := range allColumns {
				names[j] = c.name
			}
			return nil, usagef("ls: -F: unknown column %q (known: %s)", name, strings.Join(names, ", "))
		}
		cols = append(cols, allColumns[i])
	}
	return cols, nil
}

// printLsTable prints rows in columns cols, as lxc-ls -f [-F].
func printLsTable(w io.Writer, rows []lsRow, cols []lsColumn) {
	if len(rows) == 0 {
		return
	}
	widths := make([]int, len(cols))
	for i, c := range cols {
		widths[i] = c.min
		for _, r := range rows {
			n := len(c.value(r))
			if c.name == colRAM.name || c.name == colSwap.name {
				n = max(n, len("0.00"))
			}
			widths[i] = max(widths[i], n)
		}
	}
	var b strings.Builder
	for i, c := range cols {
		wd := widths[i]
		if c.name == colRAM.name || c.name == colSwap.name {
			wd += 2 // MB
		}
		fmt.Fprintf(&b, "%-*s ", wd, c.name)
	}
	b.WriteByte('\n')
	for _, r := range rows {
		for i, c := range cols {
			v := c.value(r)
			switch {
			case (c.name == colRAM.name || c.name == colSwap.name) && v != "":
				fmt.Fprintf(&b, "%*sMB ", widths[i], v)
			case c.name == colRAM.name || c.name == colSwap.name:
				fmt.Fprintf(&b, "%-*s   ", widths[i], "-")
			case v == "":
				fmt.Fprintf(&b, "%-*s ", widths[i], "-")
			default:
				fmt.Fprintf(&b, "%-*s ", widths[i], v)
			}
		}
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

// printLsNames prints the names as lxc-ls without -f: with -1 one a line
// as they are; otherwise padded to the longest (at least 4), as many on
// a line as fit in width, one a line when width is 0 (no terminal).
func printLsNames(w io.Writer, rows []lsRow, width int, line bool) {
	var b strings.Builder
	pad := len("NAME")
	for _, r := range rows {
		pad = max(pad, len(r.Name))
	}
	n := 0
	for _, r := range rows {
		if line {
			b.WriteString(r.Name + "\n")
			continue
		}
		fmt.Fprintf(&b, "%-*s", pad, r.Name)
		n += pad
		if n+pad >= width {
			b.WriteByte('\n')
			n = 0
		} else {
			b.WriteByte(' ')
			n++
		}
	}
	if n > 0 {
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

// terminalWidth is the width of the first terminal among stdout, stderr
// and stdin, as lxc-ls asks them; 0 when none is one.
func terminalWidth(streams ...any) int {
	for _, s := range streams {
		if f := fileOf(s); f != nil {
			if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
				return int(ws.Col)
			}
		}
	}
	return 0
}
