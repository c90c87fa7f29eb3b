package clone

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// maxIdentityFile bounds what is read of /etc/hostname and /etc/hosts.
const maxIdentityFile = 1 << 20

// identity gives the container at root its new name in /etc/hostname and
// as a host name in /etc/hosts (NewName "" keeps the old one). The files
// are resolved inside root, and only regular files are read or written;
// one that is missing or something else is left as it is.
func (j *job) identity(root string) error {
	if j.NewName == "" || j.NewName == j.OldName {
		return nil
	}
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", root, err)
	}
	defer unix.Close(rfd)
	edits := []struct {
		name string
		edit func([]byte) []byte
	}{
		{"/etc/hostname", func([]byte) []byte { return []byte(j.NewName + "\n") }},
		{"/etc/hosts", func(b []byte) []byte { return renameHost(b, j.OldName, j.NewName) }},
	}
	for _, e := range edits {
		if err := rewrite(rfd, e.name, e.edit); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
	}
	return nil
}

// rewrite replaces the contents of the regular file name inside root with
// edit's result, when that differs: an unchanged file in a snapshot's
// lower layer is not copied up for nothing.
func rewrite(root int, name string, edit func([]byte) []byte) error {
	how := &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	fd, err := unix.Openat2(root, name, how)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) {
		return nil
	}
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return err
	}
	old, err := readAllFD(fd, maxIdentityFile)
	unix.Close(fd)
	if err != nil {
		return err
	}
	now := edit(old)
	if bytes.Equal(now, old) {
		return nil
	}
	how.Flags = unix.O_WRONLY | unix.O_TRUNC | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
	if fd, err = unix.Openat2(root, name, how); err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return err
	}
	for len(now) > 0 {
		n, err := unix.Write(fd, now)
		if err != nil {
			return err
		}
		now = now[n:]
	}
	return nil
}

func readAllFD(fd int, limit int64) ([]byte, error) {
	var b bytes.Buffer
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Read(fd, buf)
		if n > 0 {
			b.Write(buf[:n])
		}
		if int64(b.Len()) > limit {
			return nil, fmt.Errorf("larger than %d bytes", limit)
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return b.Bytes(), nil
		}
	}
}

// renameHost replaces the host name old with new in hosts(5) text: each
// field after the address that is old, or old followed by a domain, on
// lines that are not comments. Spacing and everything else stays.
func renameHost(text []byte, old, new string) []byte {
	lines := strings.SplitAfter(string(text), "\n")
	for i, line := range lines {
		body, comment, _ := strings.Cut(line, "#")
		fields := fieldSpans(body)
		if len(fields) < 2 {
			continue
		}
		var b strings.Builder
		last := 0
		for _, f := range fields[1:] {
			word := body[f[0]:f[1]]
			if word == old || strings.HasPrefix(word, old+".") {
				b.WriteString(body[last:f[0]])
				b.WriteString(new + word[len(old):])
				last = f[1]
			}
		}
		if last == 0 {
			continue
		}
		b.WriteString(body[last:])
		if strings.Contains(line, "#") {
			b.WriteString("#" + comment)
		}
		lines[i] = b.String()
	}
	return []byte(strings.Join(lines, ""))
}

// fieldSpans returns the [start, end) of each blank-separated field.
func fieldSpans(s string) [][2]int {
	var out [][2]int
	start := -1
	for i := 0; i <= len(s); i++ {
		blank := i == len(s) || s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'
		switch {
		case blank && start >= 0:
			out = append(out, [2]int{start, i})
			start = -1
		case !blank && start < 0:
			start = i
		}
	}
	return out
}

// installKey appends key to ~user/.ssh/authorized_keys inside root, the
// directory (0700) and file (0600) owned by the user, as ssh-copy-id
// leaves them. Every path is resolved inside root; the last components
// are never symlinks.
func installKey(root, user, key string, keepID *owner) error {
	b, err := readInRoot(root, "/etc/passwd")
	if err != nil {
		return fmt.Errorf("/etc/passwd: %w", err)
	}
	u, err := parsePasswd(b, user)
	if err != nil {
		return err
	}
	if keepID != nil && keepID.User == user {
		u.UID, u.GID = keepID.UID, keepID.GID
	}
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(rfd)
	home, err := unix.Openat2(rfd, u.Home, &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return fmt.Errorf("home %s: %w", u.Home, err)
	}
	defer unix.Close(home)
	if err := unix.Mkdirat(home, ".ssh", 0o700); err == nil {
		if err := unix.Fchownat(home, ".ssh", int(u.UID), int(u.GID), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("%s/.ssh: %w", u.Home, err)
		}
	} else if !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("%s/.ssh: %w", u.Home, err)
	}
	ssh, err := unix.Openat(home, ".ssh", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s/.ssh: %w", u.Home, err)
	}
	defer unix.Close(ssh)
	fd, err := unix.Openat(ssh, "authorized_keys", unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("%s/.ssh/authorized_keys: %w", u.Home, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%s/.ssh/authorized_keys: not a regular file", u.Home)
	}
	line := []byte(strings.TrimSpace(key) + "\n")
	if _, err := unix.Write(fd, line); err != nil {
		return err
	}
	return unix.Fchown(fd, int(u.UID), int(u.GID))
}

// chownHome gives the home of o.User inside root, and everything in it,
// to o's ids; the walk is by descriptors of the home resolved inside
// root and never follows a symlink.
func chownHome(root string, o *owner) error {
	b, err := readInRoot(root, "/etc/passwd")
	if err != nil {
		return fmt.Errorf("/etc/passwd: %w", err)
	}
	u, err := parsePasswd(b, o.User)
	if err != nil {
		return err
	}
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(rfd)
	home, err := unix.Openat2(rfd, u.Home, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("home %s: %w", u.Home, err)
	}
	defer unix.Close(home)
	if err := unix.Fchown(home, int(o.UID), int(o.GID)); err != nil {
		return err
	}
	return chownTree(home, int(o.UID), int(o.GID))
}

func chownTree(dir, uid, gid int) error {
	names, err := readNames(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := unix.Fchownat(dir, n, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		sub, err := unix.Openat(dir, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		err = chownTree(sub, uid, gid)
		unix.Close(sub)
		if err != nil {
			return fmt.Errorf("%s/%w", n, err)
		}
	}
	return nil
}
