package runtime

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/nsenter"
)

// AddDevice binds the host's device node source into the running
// container of dir at target (relative to its root, "dev/net/tun"),
// through package nsenter (nsenter.Device), until the container stops.
// The node must be one the caller may open. warning, when not "", says
// that the container's root cannot open it: its permissions do not let
// container root's host id in.
func AddDevice(dir, source, target string) (warning string, err error) {
	real, err := filepath.EvalSymlinks(source)
	if err != nil {
		return "", err
	}
	var fi unix.Stat_t
	if err := unix.Stat(real, &fi); err != nil {
		return "", &os.PathError{Op: "stat", Path: source, Err: err}
	}
	if m := fi.Mode & unix.S_IFMT; m != unix.S_IFCHR && m != unix.S_IFBLK {
		return "", fmt.Errorf("%s: not a device node", source)
	}
	if unix.Access(real, unix.R_OK) != nil && unix.Access(real, unix.W_OK) != nil {
		return "", fmt.Errorf("%s: you may not open it (mode %04o, uid %d, gid %d): only a node you may open is bound",
			source, fi.Mode&0o7777, fi.Uid, fi.Gid)
	}
	st, pidfd, err := runningInit(dir, true)
	if err != nil {
		return "", err
	}
	defer unix.Close(pidfd)
	if err := nsenter.Device(nsenter.DeviceOptions{Pidfd: pidfd, Source: real, Target: target}); err != nil {
		return "", fmt.Errorf("bind %s: %w", source, err)
	}
	if err := recordDevice(dir, st, target, true); err != nil {
		return "", err
	}
	root, ok := hostID(st.Pid, "uid_map", 0)
	if fi.Mode&0o006 == 0 && (!ok || root != fi.Uid) {
		if _, mapped := containerID(st.Pid, "gid_map", fi.Gid); !mapped {
			return fmt.Sprintf("%s is mode %04o, uid %d, gid %d: container root (host uid %d) may not open it, and gid %d is not mapped into the container",
				source, fi.Mode&0o7777, fi.Uid, fi.Gid, root, fi.Gid), nil
		}
	}
	return "", nil
}

// RemoveDevice takes away a node that AddDevice bound at target during
// this run of the container; the container's own nodes (/dev/null...)
// are not AddDevice's and stay.
func RemoveDevice(dir, target string) error {
	st, pidfd, err := runningInit(dir, true)
	if err != nil {
		return err
	}
	defer unix.Close(pidfd)
	if !addedDevices(dir, st)[target] {
		return fmt.Errorf("/%s: %w", target, nsenter.ErrNotBound)
	}
	if err := nsenter.Device(nsenter.DeviceOptions{Pidfd: pidfd, Target: target, Remove: true}); err != nil {
		return err
	}
	return recordDevice(dir, st, target, false)
}

// devicesFile records, in the runtime directory, the nodes AddDevice
// bound: "INIT-START TARGET" a line, so that a record of an earlier run
// (another init) counts for nothing.
const devicesFile = "devices"

func addedDevices(dir string, st State) map[string]bool {
	b, _ := os.ReadFile(filepath.Join(dir, devicesFile))
	out := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		start, target, ok := strings.Cut(line, " ")
		if ok && start == strconv.FormatUint(st.PidStart, 10) {
			out[target] = true
		}
	}
	return out
}

// recordDevice adds target to the record of st's run, or takes it out.
func recordDevice(dir string, st State, target string, add bool) error {
	now := addedDevices(dir, st)
	if add {
		now[target] = true
	} else {
		delete(now, target)
	}
	var b strings.Builder
	for t := range now {
		fmt.Fprintf(&b, "%d %s\n", st.PidStart, t)
	}
	if err := writeFileAtomic(dir, devicesFile, []byte(b.String())); err != nil {
		return fmt.Errorf("record devices: %w", err)
	}
	return nil
}

// writeFileAtomic writes dir/name through a temporary file and a rename.
func writeFileAtomic(dir, name string, b []byte) error {
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

// hostID maps id of pid's user namespace to the host (uid_map or
// gid_map).
func hostID(pid int, file string, id uint32) (uint32, bool) {
	for _, m := range idMap(pid, file) {
		if id >= m[0] && id-m[0] < m[2] {
			return m[1] + id - m[0], true
		}
	}
	return 0, false
}

// containerID maps a host id into pid's user namespace.
func containerID(pid int, file string, host uint32) (uint32, bool) {
	for _, m := range idMap(pid, file) {
		if host >= m[1] && host-m[1] < m[2] {
			return m[0] + host - m[1], true
		}
	}
	return 0, false
}

// idMap reads /proc/PID/{uid,gid}_map: inside, outside, count.
func idMap(pid int, file string) [][3]uint32 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/" + file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][3]uint32
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m [3]uint32
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 {
			continue
		}
		ok := true
		for i, s := range fs {
			n, err := strconv.ParseUint(s, 10, 32)
			ok = ok && err == nil
			m[i] = uint32(n)
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}
