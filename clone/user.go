package clone

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/userns"
	"golang.org/x/sys/unix"
)

// ErrNoUser reports a user name the container's /etc/passwd lacks.
var ErrNoUser = errors.New("no such user in the container")

// User is an account of the container's /etc/passwd.
type User struct {
	Name      string
	UID, GID  uint32
	Home      string
	Shell     string
	hostUID   uint32
	hostGID   uint32
	hostIsSet bool
}

// WithHost returns u mapped to the host ids uid and gid (KeepID).
func (u User) WithHost(uid, gid uint32) User {
	u.hostUID, u.hostGID, u.hostIsSet = uid, gid, true
	return u
}

// Key is an SSH public key for a user of the container.
type Key struct {
	User string
	Key  string // one line
}

// LookupUser finds name in the original's /etc/passwd: that of its
// rootfs, or of the topmost overlay layer that has one. The file is read
// inside each layer (RESOLVE_IN_ROOT), a regular file only.
func (s *Source) LookupUser(name string) (User, error) {
	for _, layer := range s.layers() {
		b, err := readInRoot(layer, "/etc/passwd")
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return User{}, fmt.Errorf("%s/etc/passwd: %w", layer, err)
		}
		return parsePasswd(b, name)
	}
	return User{}, fmt.Errorf("%w: %s (the container has no /etc/passwd)", ErrNoUser, name)
}

func readInRoot(root, name string) ([]byte, error) {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rfd)
	fd, err := unix.Openat2(rfd, name, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, errors.New("not a regular file")
	}
	return readAllFD(fd, maxIdentityFile)
}

// parsePasswd finds name in passwd(5) text.
func parsePasswd(b []byte, name string) (User, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 7 || f[0] != name {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			return User{}, fmt.Errorf("/etc/passwd: user %s: bad uid or gid", name)
		}
		return User{Name: name, UID: uint32(uid), GID: uint32(gid), Home: f[5], Shell: f[6]}, nil
	}
	return User{}, fmt.Errorf("%w: %s", ErrNoUser, name)
}

// keepID splits the container's maps (lxc.idmap of cfg) around u's uid
// and gid, which map to u's host ids instead, as podman's keep-id does:
// every other container id keeps its host id, so the original's files
// keep their owners. The subordinate id that u's ids had is left out.
func keepID(cfg *lxcconf.Config, u User) ([]userns.Map, error) {
	if !u.hostIsSet {
		return nil, errors.New("keep-id: no host ids")
	}
	var maps []userns.Map
	for _, e := range cfg.Lookup("lxc.idmap") {
		ms, err := userns.ParseLXC(e.Value)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", e.File, e.Line, err)
		}
		maps = append(maps, ms...)
	}
	out, err := splitMaps(maps, userns.UID, u.UID, u.hostUID)
	if err != nil {
		return nil, err
	}
	return splitMaps(out, userns.GID, u.GID, u.hostGID)
}

// splitMaps maps the container id id of kind to host instead.
func splitMaps(maps []userns.Map, kind userns.Kind, id, host uint32) ([]userns.Map, error) {
	var out []userns.Map
	found := false
	for _, m := range maps {
		if m.Kind != kind || id < m.ContainerID || uint64(id) >= uint64(m.ContainerID)+uint64(m.Size) {
			out = append(out, m)
			continue
		}
		found = true
		off := id - m.ContainerID
		if off > 0 {
			out = append(out, userns.Map{Kind: kind, ContainerID: m.ContainerID, HostID: m.HostID, Size: off})
		}
		out = append(out, userns.Map{Kind: kind, ContainerID: id, HostID: host, Size: 1})
		if rest := m.Size - off - 1; rest > 0 {
			out = append(out, userns.Map{Kind: kind, ContainerID: id + 1, HostID: m.HostID + off + 1, Size: rest})
		}
	}
	if !found {
		return nil, fmt.Errorf("keep-id: container %s %d is not mapped", kind, id)
	}
	return out, nil
}
