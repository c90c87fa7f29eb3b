package runtime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

var (
	// ErrNoCgroup reports an operation that needs the container's own
	// cgroup (freeze, cgroup files) on a container that has none. It is
	// never papered over with SIGSTOP, which the container can see and
	// which races with fork.
	ErrNoCgroup = errors.New("container has no cgroup of its own")
	// ErrFrozen reports an operation refused because the container is
	// frozen (a process started into it would hang).
	ErrFrozen = errors.New("container is frozen")
	// ErrInvalidKey reports a cgroup file name that is not a plain file
	// name of the container's cgroup directory.
	ErrInvalidKey = errors.New("invalid cgroup key")
)

// NoCgroupError is ErrNoCgroup with the reason the supervisor recorded
// (State.CgroupNote) when it started the container.
type NoCgroupError struct {
	Note string
}

func (e *NoCgroupError) Error() string {
	s := ErrNoCgroup.Error() + ": it was started without a delegated cgroup v2 subtree " +
		"(systemd Delegate=yes, or a cgroup an admin chowned to you)"
	if e.Note != "" {
		s += ": " + e.Note
	}
	return s
}

func (e *NoCgroupError) Unwrap() error { return ErrNoCgroup }

// runningCgroup returns the cgroup of the running container of dir.
func runningCgroup(dir string) (State, error) {
	st, err := Check(dir)
	if err != nil {
		return State{}, err
	}
	if st.Status != Running && st.Status != Frozen {
		return State{}, fmt.Errorf("%w (%s)", ErrNotRunning, st.Status)
	}
	if st.Cgroup == "" {
		return State{}, &NoCgroupError{Note: st.CgroupNote}
	}
	return st, nil
}

// Freeze freezes every process of the running container of dir (cgroup v2
// cgroup.freeze) and returns once the kernel reports the cgroup frozen, or
// with ctx's error.
func Freeze(ctx context.Context, dir string) error {
	st, err := runningCgroup(dir)
	if err != nil {
		return err
	}
	return setFrozen(ctx, st.Cgroup, true)
}

// Unfreeze thaws the container of dir and returns once it runs again.
func Unfreeze(ctx context.Context, dir string) error {
	st, err := runningCgroup(dir)
	if err != nil {
		return err
	}
	return setFrozen(ctx, st.Cgroup, false)
}

// IsFrozen reports whether the running container st is frozen; false for
// a container without a cgroup.
func IsFrozen(st State) bool {
	if st.Cgroup == "" || st.Pid <= 0 {
		return false
	}
	f, _ := isFrozen(st.Cgroup)
	return f
}

// setFrozen writes cgroup.freeze and waits for cgroup.events to agree. The
// kernel notifies a change of cgroup.events as a modification of the file
// (inotify IN_MODIFY), so no polling interval is involved.
func setFrozen(ctx context.Context, cg string, freeze bool) error {
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("inotify: %w", err)
	}
	defer unix.Close(in)
	events := filepath.Join(cg, "cgroup.events")
	if _, err := unix.InotifyAddWatch(in, events, unix.IN_MODIFY); err != nil {
		return fmt.Errorf("watch %s: %w", events, err)
	}
	v := "0"
	if freeze {
		v = "1"
	}
	if err := writeCgroupFile(cg, "cgroup.freeze", v); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	for {
		now, err := isFrozen(cg)
		if err != nil {
			return err
		}
		if now == freeze {
			return nil
		}
		ms := -1
		if d, ok := ctx.Deadline(); ok {
			ms = int(time.Until(d)/time.Millisecond) + 1
			if ms <= 0 {
				return fmt.Errorf("wait for %s: %w", events, context.DeadlineExceeded)
			}
		}
		// Wake up at least every second to notice a cancelled ctx.
		if ms < 0 || ms > 1000 {
			ms = 1000
		}
		fds := []unix.PollFd{{Fd: int32(in), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, ms); err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("wait for %s: %w", events, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("wait for %s: %w", events, err)
		}
		for {
			if _, err := unix.Read(in, buf); err != nil {
				break
			}
		}
	}
}

// isFrozen reads "frozen 0|1" from cgroup.events.
func isFrozen(cg string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(cg, "cgroup.events"))
	if err != nil {
		return false, err
	}
	v, ok := eventsField(b, "frozen")
	if !ok {
		return false, fmt.Errorf("%s: no frozen field (kernel older than 5.2?)", filepath.Join(cg, "cgroup.events"))
	}
	return v == "1", nil
}

// eventsField returns the value of key in a flat-keyed cgroup file such as
// cgroup.events ("populated 1\nfrozen 0\n").
func eventsField(b []byte, key string) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// ValidateCgroupKey checks that key names a file of a cgroup directory and
// nothing else: a plain name, no "/", no "." or "..", no NUL.
func ValidateCgroupKey(key string) error {
	switch {
	case key == "", key == ".", key == "..":
		return fmt.Errorf("%w %q", ErrInvalidKey, key)
	case strings.ContainsAny(key, "/\x00"):
		return fmt.Errorf("%w %q: a cgroup file name has no '/'", ErrInvalidKey, key)
	case len(key) > 255:
		return fmt.Errorf("%w: longer than 255 bytes", ErrInvalidKey)
	}
	return nil
}

// ReadCgroup returns the content of the file key of the running
// container's cgroup (lxc-cgroup NAME KEY).
func ReadCgroup(dir, key string) (string, error) {
	if err := ValidateCgroupKey(key); err != nil {
		return "", err
	}
	st, err := runningCgroup(dir)
	if err != nil {
		return "", err
	}
	fd, err := openCgroupFile(st.Cgroup, key, unix.O_RDONLY)
	if err != nil {
		return "", err
	}
	f := os.NewFile(uintptr(fd), key)
	defer f.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(f); err != nil {
		return "", fmt.Errorf("read %s: %w", key, err)
	}
	return b.String(), nil
}

// WriteCgroup writes value to the file key of the running container's
// cgroup (lxc-cgroup NAME KEY VALUE).
func WriteCgroup(dir, key, value string) error {
	if err := ValidateCgroupKey(key); err != nil {
		return err
	}
	st, err := runningCgroup(dir)
	if err != nil {
		return err
	}
	return writeCgroupFile(st.Cgroup, key, value)
}

func writeCgroupFile(cg, key, value string) error {
	fd, err := openCgroupFile(cg, key, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	// One write: cgroup files take a value per write(2).
	if _, err := unix.Write(fd, []byte(value)); err != nil {
		return fmt.Errorf("write %q to %s: %w", value, filepath.Join(cg, key), err)
	}
	return nil
}

// openCgroupFile opens key in the cgroup directory cg without following a
// symlink (cgroupfs has none, but the name is the user's).
func openCgroupFile(cg, key string, flags int) (int, error) {
	d, err := unix.Open(cg, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("cgroup %s: %w", cg, err)
	}
	defer unix.Close(d)
	fd, err := unix.Openat(d, key, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("%s: %w", filepath.Join(cg, key), err)
	}
	return fd, nil
}
