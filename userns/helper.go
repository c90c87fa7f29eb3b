package userns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Sentinels for the state of newuidmap and newgidmap.
var (
	ErrHelperMissing   = errors.New("not installed (package uidmap)")
	ErrHelperNotSetuid = errors.New("neither setuid root nor carrying file capabilities")
)

// CheckHelper finds the id map helper name ("newuidmap", "newgidmap", or a
// path) in PATH, then in /usr/bin, and checks that it can do its job: it is
// setuid root or carries file capabilities (security.capability).
func CheckHelper(name string) (path string, err error) {
	path = name
	if !strings.Contains(name, "/") {
		path, err = exec.LookPath(name)
		if err != nil {
			path = filepath.Join("/usr/bin", name)
		}
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: %w", name, ErrHelperMissing)
	}
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file: %w", path, ErrHelperMissing)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && st.Uid == 0 && fi.Mode()&fs.ModeSetuid != 0 {
		return path, nil
	}
	if n, err := unix.Getxattr(path, "security.capability", nil); err == nil && n > 0 {
		return path, nil
	}
	return "", fmt.Errorf("%s: %w", path, ErrHelperNotSetuid)
}
