package netshim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// StateName is the quota state file in the state directory: one line per
// veth the helper made, "UID NETNS-COOKIE BRIDGE HOSTIF".
const StateName = "nics"

// maxState bounds the state file as read.
const maxState = 1 << 20

// lockWait is how long a request waits for another to finish with the
// state. A caller may stop its own helper (SIGSTOP) while it holds the
// lock; the others then fail after this long instead of hanging.
const lockWait = 10 * time.Second

// entry is one veth the helper made.
type entry struct {
	UID    uint32
	Netns  uint64 // the network namespace the host end is in (a cookie)
	Bridge string
	HostIf string
}

func (e entry) String() string {
	return fmt.Sprintf("%d %d %s %s\n", e.UID, e.Netns, e.Bridge, e.HostIf)
}

// parseState reads the entries. A line that does not parse is dropped: the
// file is written in place (see write), so a helper killed in the middle
// may leave a torn line, and an entry dropped this way is one whose
// interface was culled or never made.
func parseState(data []byte) []entry {
	var out []entry
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || CheckName(f[2]) != nil || CheckName(f[3]) != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(f[0], 10, 32)
		cookie, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, entry{UID: uint32(uid), Netns: cookie, Bridge: f[2], HostIf: f[3]})
	}
	return out
}

// state is the open, locked state file.
type state struct {
	f    *os.File
	path string
}

// openState opens dir/nics for update and locks it. The directory and the
// file are made by the installation (root-owned, group-owned by the
// helper's group, nothing for others); the helper never creates them, so
// no file it writes is ever owned by its caller, and it checks both before
// it trusts them. The caller must not be a member of the group, or it
// could rewrite its own quota.
func openState(dir string) (*state, error) {
	egid := os.Getegid()
	if egid == os.Getgid() {
		return nil, fmt.Errorf("%w: not running setgid %s (the group that owns %s)", ErrInstall, Group, dir)
	}
	groups, err := os.Getgroups()
	if err != nil {
		return nil, fmt.Errorf("%w: getgroups: %v", ErrInstall, err)
	}
	for _, g := range groups {
		if g == egid {
			return nil, fmt.Errorf("%w: the caller is a member of the helper's group %d, which may write the quota state: remove the user from it", ErrInstall, egid)
		}
	}
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: state directory %s: %v", ErrInstall, dir, err)
	}
	defer unix.Close(dfd)
	if err := checkOwned(dfd, dir, egid, 0o002); err != nil {
		return nil, err
	}
	path := dir + "/" + StateName
	fd, err := unix.Openat(dfd, StateName, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: state file %s: %v", ErrInstall, path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	if err := checkOwned(fd, path, egid, 0o007); err != nil {
		f.Close()
		return nil, err
	}
	if err := lock(fd); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &state{f: f, path: path}, nil
}

// checkOwned checks that fd is root's, of group gid, and has none of the
// mode bits in bad; a file must also be regular and have one link (a hard
// link to it elsewhere would be a second way in).
func checkOwned(fd int, path string, gid int, bad uint32) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInstall, path, err)
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	switch {
	case st.Uid != 0 || int(st.Gid) != gid:
		return fmt.Errorf("%w: %s is owned by %d:%d, not root and the helper's group %d", ErrInstall, path, st.Uid, st.Gid, gid)
	case st.Mode&bad != 0:
		return fmt.Errorf("%w: %s has mode %#o", ErrInstall, path, st.Mode&0o7777)
	case !isDir && (st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1):
		return fmt.Errorf("%w: %s is not a plain file", ErrInstall, path)
	}
	return nil
}

func lock(fd int) error {
	deadline := time.Now().Add(lockWait)
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EWOULDBLOCK {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("another request has held it for %v", lockWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *state) read() ([]entry, error) {
	data, err := io.ReadAll(io.LimitReader(io.NewSectionReader(s.f, 0, maxState+1), maxState+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.path, err)
	}
	if len(data) > maxState {
		return nil, fmt.Errorf("%s is larger than %d bytes", s.path, maxState)
	}
	return parseState(data), nil
}

// write replaces the file's contents in place: the helper cannot rename a
// new file over it (a file it created would be its caller's).
func (s *state) write(entries []entry) error {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.String())
	}
	if _, err := s.f.WriteAt([]byte(b.String()), 0); err != nil {
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	if err := s.f.Truncate(int64(b.Len())); err != nil {
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	return nil
}

// Close unlocks and closes the file.
func (s *state) Close() error { return s.f.Close() }

// cull drops the entries of network namespace netns whose host interface
// is gone (the container's namespace went, and the pair with it), keeping
// those of other namespaces, which this helper cannot see.
func cull(entries []entry, netns uint64, exists func(string) (bool, error)) ([]entry, error) {
	out := entries[:0:0]
	for _, e := range entries {
		if e.Netns == netns {
			ok, err := exists(e.HostIf)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// used counts uid's entries on bridge in netns.
func used(entries []entry, uid uint32, netns uint64, bridge string) int {
	n := 0
	for _, e := range entries {
		if e.UID == uid && e.Netns == netns && e.Bridge == bridge {
			n++
		}
	}
	return n
}

// linkExists asks c whether an interface called name exists.
func linkExists(c *Conn) func(string) (bool, error) {
	return func(name string) (bool, error) {
		_, err := c.LinkByName(name)
		if errors.Is(err, unix.ENODEV) {
			return false, nil
		}
		return err == nil, err
	}
}
