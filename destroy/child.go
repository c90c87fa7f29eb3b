package destroy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/userns"
)

// ChildEntry is the hidden verb that ChildMain serves: cmd/ulxc dispatches
// it before parsing any flags.
const ChildEntry = "__destroy"

// dirFD is the directory to empty, in the child (userns.Options.ExtraFiles
// start at 4: fd 3 is the sync pipe).
const dirFD = 4

// InNamespace removes dir, whose files belong to plan's ids: a child in a
// user namespace with plan's maps empties it, then this process removes
// the empty directory and checks that it is gone.
//
// The child gets the directory as a descriptor that this process opened,
// and removes only what lies beneath it. Root of the namespace holds no
// capability over an inode whose owner or group the namespace does not map
// (capable_wrt_inode_uidgid): a store an administrator made for the user
// with group root, mode 0755 or 0700, may be neither writable nor even
// searchable for it, so it could not walk the path to dir nor unlink dir
// from its parent. The caller owns the parent; it removes dir itself.
func InNamespace(ctx context.Context, plan userns.Plan, dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("remove %q: not an absolute path", dir)
	}
	d, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	defer d.Close()
	var stderr bytes.Buffer
	cmd, err := userns.Start(ctx, userns.Options{Plan: plan, Entry: ChildEntry, Args: []string{dir}, Dir: "/",
		Stderr: &stderr, ExtraFiles: []*os.File{d}})
	if err != nil {
		return err
	}
	if err := cmd.Wait(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("remove in user namespace: %s", msg)
		}
		return fmt.Errorf("remove in user namespace: %w", err)
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s still exists after removal: %w", dir, err)
	}
	return nil
}

// ChildMain is the child's side: it becomes root of the namespace and
// empties the directory it was given as fd 4 (args: its path, for
// messages). It returns the exit status; errors go to stderr.
func ChildMain(args []string) int {
	err := userns.Enter()
	if err == nil && len(args) != 1 {
		err = fmt.Errorf("want the directory's path, got %q", args)
	}
	if err == nil {
		err = empty(os.NewFile(dirFD, args[0]))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", ChildEntry, err)
		return 1
	}
	return 0
}

// empty removes everything beneath d, never following a symbolic link of
// the tree (os.Root).
func empty(d *os.File) error {
	names, err := d.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("%s: %w", d.Name(), err)
	}
	root, err := os.OpenRoot("/proc/self/fd/" + strconv.Itoa(int(d.Fd())))
	if err != nil {
		return fmt.Errorf("%s: %w", d.Name(), err)
	}
	defer root.Close()
	for _, n := range names {
		if err := root.RemoveAll(n); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(d.Name(), n), err)
		}
	}
	return nil
}
