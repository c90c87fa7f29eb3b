package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/userns"
)

// DiskUsageEntry is the hidden verb of the child that measures a root
// filesystem inside a user namespace (RootfsUsage, DiskUsageMain).
const DiskUsageEntry = "__du"

// RootfsUsage measures the root filesystem of s from a child in a new
// user namespace with the container's id maps plus the caller's own ids
// (as destroy's removal), so that directories owned by container ids,
// which the caller may not read on the host (a 0700 /root), are measured
// too. The child gets the root as an O_PATH descriptor opened here with
// the caller's credentials and takes no path.
func RootfsUsage(ctx context.Context, s *specs.Spec) (TreeSize, error) {
	if s.Root == nil || s.Root.Path == "" {
		return TreeSize{}, errors.New("disk usage: the spec has no root filesystem")
	}
	size, err := rootfsUsage(ctx, s)
	if err != nil {
		return TreeSize{}, fmt.Errorf("disk usage of %s: %w", s.Root.Path, err)
	}
	return size, nil
}

func rootfsUsage(ctx context.Context, s *specs.Spec) (TreeSize, error) {
	var maps []userns.Map
	if s.Linux != nil {
		maps = specMaps(s)
	}
	plan, err := userns.NewPlan(userns.PlanOptions{Config: maps, Purpose: userns.ForContainer, MapSelf: true})
	if err != nil {
		return TreeSize{}, fmt.Errorf("id maps: %w", err)
	}
	fd, err := openDir(unix.AT_FDCWD, s.Root.Path, unix.O_PATH)
	if err != nil {
		return TreeSize{}, err
	}
	root := os.NewFile(uintptr(fd), s.Root.Path)
	defer root.Close()
	var stdout, stderr bytes.Buffer
	cmd, err := userns.Start(ctx, userns.Options{Plan: plan, Entry: DiskUsageEntry, Dir: "/",
		Stdout: &stdout, Stderr: &stderr, ExtraFiles: []*os.File{root}})
	if err != nil {
		return TreeSize{}, err
	}
	if err := cmd.Wait(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return TreeSize{}, fmt.Errorf("in user namespace: %s", msg)
		}
		return TreeSize{}, fmt.Errorf("in user namespace: %w", err)
	}
	return parseTreeSize(stdout.String())
}

// duRootFD is where the child finds the root: fd 3 is userns's sync pipe,
// fd 4 the first of Options.ExtraFiles.
const duRootFD = 4

// DiskUsageMain is the body of `ulxc __du`: it becomes root of the user
// namespace RootfsUsage made, walks the directory of fd 4 and prints the
// TreeSize on stdout for the parent. It returns the exit status; errors go
// to stderr.
func DiskUsageMain(args []string) int {
	size, err := diskUsageChild(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", DiskUsageEntry, err)
		return 1
	}
	fmt.Printf("%d %d %d %d\n", size.Bytes, size.Unreadable, size.TooDeep, size.OtherFS)
	return 0
}

func diskUsageChild(args []string) (TreeSize, error) {
	if err := userns.Enter(); err != nil {
		return TreeSize{}, err
	}
	if len(args) != 0 {
		return TreeSize{}, fmt.Errorf("want no arguments, got %q", args)
	}
	// The credential change in Enter made the process non-dumpable
	// already; say so rather than rely on it. It runs as container
	// root's host id, but in the host's pid namespace, where nothing of
	// the container's can name it.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return TreeSize{}, fmt.Errorf("prctl PR_SET_DUMPABLE: %w", err)
	}
	fd, err := openDir(duRootFD, ".", 0)
	if err != nil {
		return TreeSize{}, fmt.Errorf("open root: %w", err)
	}
	defer unix.Close(fd)
	return newWalker().walk(fd)
}

// parseTreeSize reads what DiskUsageMain printed.
func parseTreeSize(out string) (TreeSize, error) {
	var s TreeSize
	n, err := fmt.Sscanf(out, "%d %d %d %d\n", &s.Bytes, &s.Unreadable, &s.TooDeep, &s.OtherFS)
	if err != nil || n != 4 || s.Bytes < 0 || s.Unreadable < 0 || s.TooDeep < 0 || s.OtherFS < 0 {
		return TreeSize{}, fmt.Errorf("child printed %q, want four counts", out)
	}
	return s, nil
}
