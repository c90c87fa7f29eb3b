package destroy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulxc/ulxc/userns"
)

// ChildEntry is the hidden verb that ChildMain serves: cmd/ulxc dispatches
// it before parsing any flags.
const ChildEntry = "__destroy"

// InNamespace removes dir from a child in a user namespace with plan's
// maps, and checks that it is gone.
func InNamespace(ctx context.Context, plan userns.Plan, dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("remove %q: not an absolute path", dir)
	}
	var stderr bytes.Buffer
	cmd, err := userns.Start(ctx, userns.Options{Plan: plan, Entry: ChildEntry, Args: []string{dir}, Dir: "/",
		Stderr: &stderr})
	if err != nil {
		return err
	}
	if err := cmd.Wait(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("remove in user namespace: %s", msg)
		}
		return fmt.Errorf("remove in user namespace: %w", err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s still exists after removal: %v", dir, err)
	}
	return nil
}

// ChildMain is the child's side: it becomes root of the namespace and
// removes the one absolute directory it was given. It returns the exit
// status; errors go to stderr.
func ChildMain(args []string) int {
	err := userns.Enter()
	if err == nil && (len(args) != 1 || !filepath.IsAbs(args[0])) {
		err = fmt.Errorf("want one absolute directory, got %q", args)
	}
	if err == nil {
		err = os.RemoveAll(args[0])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", ChildEntry, err)
		return 1
	}
	return 0
}
