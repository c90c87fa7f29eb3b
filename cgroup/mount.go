package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
)

// ErrNoCgroup2 means no cgroup v2 hierarchy is mounted (a cgroup v1 only
// host) or this process has no place in one.
var ErrNoCgroup2 = errors.New("no cgroup2 hierarchy")

// Mountpoint returns where the cgroup2 hierarchy is mounted, from
// /proc/self/mountinfo.
func Mountpoint() (string, error) { return mountpointIn("/proc") }

func mountpointIn(procRoot string) (string, error) {
	name := path.Join(procRoot, "self/mountinfo")
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	mp, err := ParseMountinfo(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return mp, nil
}

// ParseMountinfo returns the mount point of the cgroup2 hierarchy from the
// text of a mountinfo file (proc(5)). When several cgroup2 mounts exist it
// prefers the first whose root is the hierarchy's root, as bind mounts of a
// subtree come later. It returns ErrNoCgroup2 when there is none.
func ParseMountinfo(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var first string
	for sc.Scan() {
		root, mp, fstype, ok := mountinfoLine(sc.Text())
		if !ok || fstype != "cgroup2" {
			continue
		}
		if root == "/" {
			return mp, nil
		}
		if first == "" {
			first = mp
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read mountinfo: %w", err)
	}
	if first == "" {
		return "", ErrNoCgroup2
	}
	return first, nil
}

// mountinfoLine splits "36 35 98:0 /root /mnt opts [optional...] - fstype
// source superopts" into the fields it needs; ok is false for a line that
// does not have that shape.
func mountinfoLine(line string) (root, mountpoint, fstype string, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 7 {
		return "", "", "", false
	}
	sep := -1
	for i := 6; i < len(fields); i++ {
		if fields[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 || sep+1 >= len(fields) {
		return "", "", "", false
	}
	return unescapeOctal(fields[3]), unescapeOctal(fields[4]), fields[sep+1], true
}

// unescapeOctal undoes the kernel's \NNN escaping of space, tab, newline and
// backslash in mountinfo paths.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Current returns this process's cgroup2 path, relative to the hierarchy's
// root ("/user.slice/user-1000.slice/session-2.scope"), from the "0::" line
// of /proc/self/cgroup.
func Current() (string, error) { return currentIn("/proc") }

func currentIn(procRoot string) (string, error) {
	name := path.Join(procRoot, "self/cgroup")
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	p, err := ParseProcCgroup(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// ParseProcCgroup returns the cgroup2 path from the text of a
// /proc/PID/cgroup file (cgroups(7)): the line "0::PATH". It returns
// ErrNoCgroup2 when there is no such line, as on a cgroup v1 only host.
func ParseProcCgroup(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		p, ok := strings.CutPrefix(sc.Text(), "0::")
		if !ok {
			continue
		}
		// A cgroup removed while we sit in it reads "/x (deleted)".
		p = strings.TrimSuffix(p, " (deleted)")
		if !strings.HasPrefix(p, "/") || slices.Contains(strings.Split(p, "/"), "..") {
			// "/.." is what a process outside our cgroup namespace's
			// root shows: there is no path to it from our mount.
			return "", fmt.Errorf("cgroup2 path %q: %w", p, ErrOutsideNamespace)
		}
		return path.Clean(p), nil
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read cgroup: %w", err)
	}
	return "", ErrNoCgroup2
}

// ErrOutsideNamespace means the process's cgroup lies outside the root of
// the cgroup namespace it is seen from, so it has no path under the mount.
var ErrOutsideNamespace = errors.New("cgroup outside this cgroup namespace")
