package image

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ErrMetaTooLarge means that a meta.tar.xz member or the archive itself is
// larger than any real image's metadata.
var ErrMetaTooLarge = errors.New("image metadata too large")

const (
	maxMetaMember  = 1 << 20 // one member
	maxMetaEntries = 1024    // members read, unknown ones included
)

// Meta is what an image's meta.tar.xz says (see lxc-image-protocol §4).
// Missing members leave their field empty.
type Meta struct {
	Config     string // "config": LXC config lines for privileged containers
	ConfigUser string // "config-user": the same for unprivileged containers
	// ExcludesUser lists member names to skip when unpacking as a user:
	// the image's device nodes, "./dev/null" style.
	ExcludesUser []string
	// Templates lists files inside the rootfs ("/etc/hostname") whose
	// placeholders ApplyTemplates substitutes.
	Templates     []string
	Expiry        time.Time // "expiry": zero when absent
	CreateMessage string    // "create-message": shown after creation
	Fstab         string    // "fstab": rarely present
}

// ReadMeta reads an uncompressed meta.tar stream. Unknown members (the
// config.N compatibility variants, directories) are ignored; every member
// is bounded in size.
func ReadMeta(r io.Reader) (*Meta, error) {
	m := &Meta{}
	tr := tar.NewReader(r)
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			return m, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read meta: %w", err)
		}
		if entries >= maxMetaEntries {
			return nil, fmt.Errorf("%w: more than %d members", ErrMetaTooLarge, maxMetaEntries)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		field := m.field(name)
		if field == nil {
			continue
		}
		if hdr.Size > maxMetaMember {
			return nil, fmt.Errorf("%w: %s has %d bytes", ErrMetaTooLarge, name, hdr.Size)
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxMetaMember))
		if err != nil {
			return nil, fmt.Errorf("read meta %s: %w", name, err)
		}
		if err := field(string(data)); err != nil {
			return nil, fmt.Errorf("meta %s: %w", name, err)
		}
	}
}

// field returns the setter for a member, nil for unknown members.
func (m *Meta) field(name string) func(string) error {
	set := func(p *string) func(string) error {
		return func(s string) error { *p = s; return nil }
	}
	switch name {
	case "config":
		return set(&m.Config)
	case "config-user":
		return set(&m.ConfigUser)
	case "create-message":
		return set(&m.CreateMessage)
	case "fstab":
		return set(&m.Fstab)
	case "excludes-user":
		return func(s string) error { m.ExcludesUser = lines(s); return nil }
	case "templates":
		return func(s string) error { m.Templates = lines(s); return nil }
	case "expiry":
		return func(s string) error {
			secs, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil || secs < 0 {
				return fmt.Errorf("not a Unix time: %q", strings.TrimSpace(s))
			}
			m.Expiry = time.Unix(secs, 0)
			return nil
		}
	}
	return nil
}

// lines returns the non-empty, trimmed lines of s.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, maxMetaMember+1)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}
