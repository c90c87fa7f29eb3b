package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/ocispec"
)

// openConsolePeer opens the terminal that lxc.console.path names (the
// ulxc.console.path annotation; lxc-start -c sets it), to which the
// supervisor relays the container's console both ways, besides logging
// it; nil when there is none, when it is "none", or when the console goes
// to the caller's terminal already (start -F on one). As LXC, it must be
// a terminal: a file would get the container's output but could feed it
// nothing, and the console log is for that.
func openConsolePeer(opts Options) (*os.File, error) {
	path := opts.Spec.Annotations[ocispec.AnnotationConsolePath]
	if !opts.Console || opts.Terminal != nil || path == "" || path == "none" {
		return nil, nil
	}
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("lxc.console.path %s: not an absolute path", path)
	}
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("lxc.console.path: %w", err)
	}
	if !isTerminal(f) {
		f.Close()
		return nil, fmt.Errorf("lxc.console.path %s: not a terminal", path)
	}
	return f, nil
}

// writePidFile writes the supervisor's pid to path, as lxc-start -p does
// (no newline); "" writes nothing.
func writePidFile(path string) (err error) {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("pid file: %w", cerr)
		}
	}()
	if _, err := f.WriteString(strconv.Itoa(os.Getpid())); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	return nil
}
