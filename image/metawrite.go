package image

import (
	"archive/tar"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteTar writes m as an uncompressed meta.tar, what ReadMeta reads: a
// flat archive (no directory, as distrobuilder packs it) of config,
// config-user, create-message, excludes-user, expiry, templates and, when
// set, fstab. List members are written one per line; expiry as Unix
// seconds, omitted when zero. Every member has mode 0644, owner 0 and
// modification time mtime.
func (m *Meta) WriteTar(w io.Writer, mtime time.Time) error {
	lines := func(l []string) string {
		if len(l) == 0 {
			return ""
		}
		return strings.Join(l, "\n") + "\n"
	}
	members := []struct{ name, body string }{
		{"config", m.Config},
		{"config-user", m.ConfigUser},
		{"create-message", m.CreateMessage},
		{"excludes-user", lines(m.ExcludesUser)},
	}
	if !m.Expiry.IsZero() {
		members = append(members, struct{ name, body string }{"expiry", strconv.FormatInt(m.Expiry.Unix(), 10) + "\n"})
	}
	members = append(members, struct{ name, body string }{"templates", lines(m.Templates)})
	if m.Fstab != "" {
		members = append(members, struct{ name, body string }{"fstab", m.Fstab})
	}
	tw := tar.NewWriter(w)
	for _, mem := range members {
		if len(mem.body) > maxMetaMember {
			return fmt.Errorf("meta %s: %w: %d bytes", mem.name, ErrMetaTooLarge, len(mem.body))
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: mem.name, Mode: 0o644, Size: int64(len(mem.body)), ModTime: mtime.Truncate(time.Second)}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("meta %s: %w", mem.name, err)
		}
		if _, err := io.WriteString(tw, mem.body); err != nil {
			return fmt.Errorf("meta %s: %w", mem.name, err)
		}
	}
	return tw.Close()
}
