package runtime

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// architecture Linux runs ulxc on.
const clockTick = time.Second / 100

// ProcUsage sums what the processes of the running container st use, as
// /proc shows them, for a container without a cgroup that accounts it
// (no delegation, or a hybrid host's cgroup v2 without the memory and io
// controllers): CPU (user and system) of the processes alive now, the sum
// of their resident memory (shared pages count once a process) and their
// storage I/O. The processes are those in init's pid namespace; the user
// may read them all, as the owner of their user namespace. It is an
// estimate where a cgroup is a measure: the CPU of processes that have
// exited is not counted.
func ProcUsage(st State) (Usage, error) {
	var u Usage
	if st.Pid <= 0 || !alive(st.Pid, st.PidStart) {
		return u, ErrNotRunning
	}
	want, err := os.Readlink("/proc/" + strconv.Itoa(st.Pid) + "/ns/pid")
	if err != nil {
		return u, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return u, err
	}
	page := uint64(os.Getpagesize())
	for _, ent := range ents {
		if _, err := strconv.Atoi(ent.Name()); err != nil {
			continue
		}
		base := "/proc/" + ent.Name()
		if ns, err := os.Readlink(base + "/ns/pid"); err != nil || ns != want {
			continue
		}
		b, err := os.ReadFile(base + "/stat")
		if err != nil {
			continue // gone
		}
		user, sys, rss, err := parseStatUsage(b)
		if err != nil {
			continue
		}
		u.CPUUser += time.Duration(user) * clockTick
		u.CPUSystem += time.Duration(sys) * clockTick
		u.Memory += rss * page
		u.HaveMemory = true
		if b, err := os.ReadFile(base + "/io"); err == nil {
			r, w := parseProcIO(b)
			u.IORead, u.IOWrite, u.HaveIO = u.IORead+r, u.IOWrite+w, true
		}
	}
	u.CPU = u.CPUUser + u.CPUSystem
	return u, nil
}

// parseStatUsage extracts utime, stime (fields 14, 15) and rss (field 24)
// from the text of /proc/PID/stat, counting after the command's last ')'.
func parseStatUsage(b []byte) (utime, stime, rss uint64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, 0, ErrBadStat
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) <= 24-3 {
		return 0, 0, 0, ErrBadStat
	}
	var out [3]uint64
	for j, n := range []int{14, 15, 24} {
		if out[j], err = strconv.ParseUint(f[n-3], 10, 64); err != nil {
			return 0, 0, 0, errors.Join(ErrBadStat, err)
		}
	}
	return out[0], out[1], out[2], nil
}

// parseProcIO reads read_bytes and write_bytes of /proc/PID/io: what the
// process made the storage read and write.
func parseProcIO(b []byte) (read, write uint64) {
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "read_bytes":
			read = n
		case "write_bytes":
			write = n
		}
	}
	return read, write
}
