package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Usage is what a running container uses, where it can be measured.
type Usage struct {
	// IPv4 and IPv6 are the addresses of its network namespace, loopback
	// and link-local ones left out.
	IPv4, IPv6 []string
	// Interfaces are the network interfaces of its network namespace,
	// loopback included, in the kernel's order.
	Interfaces []string
	// HaveCgroup says whether CPU and Memory were read from its cgroup.
	HaveCgroup bool
	CPU        time.Duration
	Memory     uint64
	// HaveMemory, HaveSwap and HaveIO say which of Memory, Swap and
	// IORead/IOWrite its cgroup accounts: each needs its controller
	// (memory, io) enabled for the container's cgroup, which a hybrid
	// host keeps in cgroup v1. CPU needs none (cpu.stat is core).
	HaveMemory, HaveSwap, HaveIO bool
	Swap                         uint64
	IORead, IOWrite              uint64 // bytes, summed over devices
	IOOps                        uint64 // reads and writes, summed over devices
	// CPUUser and CPUSystem split CPU, where known.
	CPUUser, CPUSystem time.Duration
}

// Measure reads what the running container st uses.
func Measure(st State) Usage {
	var u Usage
	if st.Pid <= 0 || !alive(st.Pid, st.PidStart) {
		return u
	}
	u.IPv4, u.IPv6 = addresses(st.Pid)
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/net/dev"); err == nil {
		u.Interfaces = parseNetDev(b)
	}
	if st.Cgroup != "" {
		measureCgroup(st.Cgroup, &u)
	}
	return u
}

// measureCgroup reads the cgroup v2 files of dir that exist.
func measureCgroup(dir string, u *Usage) {
	mem, merr := readUint(filepath.Join(dir, "memory.current"))
	cpu, cerr := cpuUsage(filepath.Join(dir, "cpu.stat"))
	if merr == nil || cerr == nil {
		u.HaveCgroup, u.Memory, u.CPU = true, mem, cpu
	}
	u.HaveMemory = merr == nil
	if swap, err := readUint(filepath.Join(dir, "memory.swap.current")); err == nil {
		u.HaveSwap, u.Swap = true, swap
	}
	if b, err := os.ReadFile(filepath.Join(dir, "io.stat")); err == nil {
		u.HaveIO = true
		u.IORead, u.IOWrite, u.IOOps = parseIOStat(b)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cpu.stat")); err == nil {
		u.CPUUser = statField(b, "user_usec") * time.Microsecond
		u.CPUSystem = statField(b, "system_usec") * time.Microsecond
	}
}

// statField is the value of "key N" in a cgroup's flat keyed file.
func statField(b []byte, key string) time.Duration {
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+" "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return time.Duration(n)
		}
	}
	return 0
}

// parseNetDev returns the interface names of /proc/net/dev: after two
// header lines, one "NAME: counters..." line each.
func parseNetDev(b []byte) []string {
	var out []string
	for i, line := range strings.Split(string(b), "\n") {
		name, _, ok := strings.Cut(line, ":")
		if i < 2 || !ok {
			continue
		}
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// parseIOStat sums rbytes, wbytes and the operations (rios, wios) over
// the devices of a cgroup v2 io.stat ("MAJ:MIN rbytes=N wbytes=N rios=N
// wios=N ...", one line a device).
func parseIOStat(b []byte) (read, write, ops uint64) {
	for _, line := range strings.Split(string(b), "\n") {
		for _, f := range strings.Fields(line) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				continue
			}
			switch k {
			case "rbytes":
				read += n
			case "wbytes":
				write += n
			case "rios", "wios":
				ops += n
			}
		}
	}
	return read, write, ops
}

// addresses reads the addresses of pid's network namespace from
// /proc/PID/net: no need to enter it.
func addresses(pid int) (v4, v6 []string) {
	base := "/proc/" + strconv.Itoa(pid) + "/net/"
	if b, err := os.ReadFile(base + "fib_trie"); err == nil {
		v4 = parseFibTrie(b)
	}
	if b, err := os.ReadFile(base + "if_inet6"); err == nil {
		v6 = parseIfInet6(b)
	}
	return v4, v6
}

// parseFibTrie returns the local host addresses of /proc/net/fib_trie:
// each "/32 host LOCAL" leaf, below the address line it follows.
func parseFibTrie(b []byte) []string {
	var out []string
	seen := map[string]bool{}
	var last string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(strings.TrimLeft(sc.Text(), " |-+"))
		switch {
		case len(f) == 1:
			last = f[0]
		case len(f) >= 3 && f[0] == "/32" && f[1] == "host" && f[2] == "LOCAL":
			a, err := netip.ParseAddr(last)
			if err == nil && !a.IsLoopback() && !seen[last] {
				seen[last] = true
				out = append(out, last)
			}
		}
	}
	return out
}

// parseIfInet6 returns the addresses of /proc/net/if_inet6 (32 hex digits,
// index, prefix length, scope, flags, interface) but loopback and
// link-local ones.
func parseIfInet6(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || len(f[0]) != 32 {
			continue
		}
		var raw [16]byte
		ok := true
		for i := range raw {
			n, err := strconv.ParseUint(f[0][2*i:2*i+2], 16, 8)
			if err != nil {
				ok = false
				break
			}
			raw[i] = byte(n)
		}
		a := netip.AddrFrom16(raw)
		if ok && !a.IsLoopback() && !a.IsLinkLocalUnicast() {
			out = append(out, a.String())
		}
	}
	return out
}

func readUint(name string) (uint64, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

func cpuUsage(name string) (time.Duration, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, err
			}
			return time.Duration(n) * time.Microsecond, nil
		}
	}
	return 0, errors.New("cpu.stat: no usage_usec")
}
