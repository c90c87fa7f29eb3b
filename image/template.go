package image

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// maxTemplateFile bounds the files ApplyTemplates and LockRootPassword read:
// /etc/hosts and /etc/shadow are small.
const maxTemplateFile = 16 << 20

// ApplyTemplates substitutes the placeholders in vars (LXC_NAME, LXC_PATH,
// LXC_ROOTFS, LXC_TEMPLATE_CONFIG, LXC_HOOK_DIR...) in each of files, paths
// inside root as meta's templates lists them ("/etc/hostname"). Paths and
// symlinks resolve inside root (root.go). Missing files are
// skipped. A changed file is replaced atomically, keeping its mode and
// owner; like LXC's `sed -i`, a symlink is replaced by a regular file
// holding its target's substituted contents, so nothing is written through
// it.
func ApplyTemplates(root string, files []string, vars map[string]string) error {
	rootf, err := openRoot(root)
	if err != nil {
		return err
	}
	defer rootf.Close()
	r := placeholderReplacer(vars)
	for _, unsafePath := range files {
		if err := applyTemplate(rootf, unsafePath, r); err != nil {
			return fmt.Errorf("template %s: %w", unsafePath, err)
		}
	}
	return nil
}

// placeholderReplacer replaces longer placeholders first, so that a name
// that prefixes another cannot eat it.
func placeholderReplacer(vars map[string]string) *strings.Replacer {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		if k != "" {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] < keys[j]
	})
	var pairs []string
	for _, k := range keys {
		pairs = append(pairs, k, vars[k])
	}
	return strings.NewReplacer(pairs...)
}

func applyTemplate(root *os.File, unsafePath string, r *strings.Replacer) error {
	parent, base, err := openParentInRoot(root, unsafePath)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer parent.Close()
	data, st, err := readInRoot(root, unsafePath)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	out := r.Replace(string(data))
	if out == string(data) {
		return nil
	}
	return replaceFile(int(parent.Fd()), base, []byte(out), st)
}

// LockRootPassword disables a usable root password in root's /etc/shadow by
// prefixing its hash with "!": images share one password with everyone
// who downloads them. An empty password is locked too. The file is replaced
// atomically with its mode and owner kept. A missing /etc/shadow locks
// nothing; one that is not a regular file is an error.
func LockRootPassword(root string) (locked bool, err error) {
	rootf, err := openRoot(root)
	if err != nil {
		return false, err
	}
	defer rootf.Close()
	parent, base, err := openParentInRoot(rootf, "/etc/shadow")
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("/etc/shadow: %w", err)
	}
	defer parent.Close()
	pfd := int(parent.Fd())
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("/etc/shadow: open: %w", err)
	}
	data, st, err := readRegular(os.NewFile(uintptr(fd), "/etc/shadow"))
	if err != nil {
		return false, fmt.Errorf("/etc/shadow: %w", err)
	}
	out, locked := lockRoot(data)
	if !locked {
		return false, nil
	}
	if err := replaceFile(pfd, base, out, st); err != nil {
		return false, fmt.Errorf("/etc/shadow: %w", err)
	}
	return true, nil
}

// lockRoot prefixes root's password field with "!" unless it is already
// locked ("!...") or unusable ("*..."). Every other byte is kept.
func lockRoot(shadow []byte) ([]byte, bool) {
	lines := bytes.SplitAfter(shadow, []byte("\n"))
	for i, line := range lines {
		rest, ok := bytes.CutPrefix(line, []byte("root:"))
		if !ok {
			continue
		}
		if len(rest) > 0 && (rest[0] == '!' || rest[0] == '*') {
			return shadow, false
		}
		lines[i] = append([]byte("root:!"), rest...)
		return bytes.Join(lines, nil), true
	}
	return shadow, false
}

// openRoot opens the directory root for the *InRoot functions.
func openRoot(root string) (*os.File, error) {
	f, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// openParentInRoot opens the parent directory of unsafePath inside root.
func openParentInRoot(root *os.File, unsafePath string) (*os.File, string, error) {
	name, err := cleanName(strings.TrimLeft(unsafePath, "/"))
	if err != nil {
		return nil, "", fmt.Errorf("%w: %q: %v", ErrInsecurePath, unsafePath, err)
	}
	if name == "" {
		return nil, "", fmt.Errorf("%w: %q is the root directory", ErrInsecurePath, unsafePath)
	}
	f, err := openDirInRoot(root, path.Dir(name))
	if err != nil {
		return nil, "", fmt.Errorf("open %s: %w", path.Dir(name), err)
	}
	return f, path.Base(name), nil
}

// errNotRegular refuses a template file or /etc/shadow that is not a
// regular file.
var errNotRegular = errors.New("not a regular file")

// readInRoot reads the regular file unsafePath, following symlinks inside
// root.
func readInRoot(root *os.File, unsafePath string) ([]byte, *unix.Stat_t, error) {
	f, err := openRegularInRoot(root, strings.TrimLeft(unsafePath, "/"))
	if errors.Is(err, errNotRegular) {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open: %w", err)
	}
	return readRegular(f)
}

// readRegular reads and closes f, which must be a bounded regular file.
func readRegular(f *os.File) ([]byte, *unix.Stat_t, error) {
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, nil, fmt.Errorf("stat: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, nil, errNotRegular
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTemplateFile+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > maxTemplateFile {
		return nil, nil, fmt.Errorf("larger than %d bytes", maxTemplateFile)
	}
	return data, &st, nil
}

// replaceFile atomically replaces base in pfd with data, owned and
// permitted as st says: a temporary file next to it, then rename.
func replaceFile(pfd int, base string, data []byte, st *unix.Stat_t) (err error) {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := "." + base + ".ulxc-" + hex.EncodeToString(rnd[:])
	if len(tmp) > 255 {
		tmp = ".ulxc-" + hex.EncodeToString(rnd[:])
	}
	fd, err := unix.Openat(pfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	defer func() {
		if err != nil {
			f.Close()
			unix.Unlinkat(pfd, tmp, 0)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := unix.Fchown(fd, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("chown %d:%d: %w", st.Uid, st.Gid, err)
	}
	if err := unix.Fchmod(fd, st.Mode&0o7777); err != nil {
		return fmt.Errorf("chmod %#o: %w", st.Mode&0o7777, err)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := unix.Renameat(pfd, tmp, pfd, base); err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	return nil
}
