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
