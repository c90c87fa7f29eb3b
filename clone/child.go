package clone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/userns"
	"golang.org/x/sys/unix"
)

// ChildEntry is the hidden verb that ChildMain serves: cmd/ulxc dispatches
// it before parsing any flags.
const ChildEntry = "__clone"

// The child's operations.
const (
	opCopy     = "copy"     // copy the source tree into Dir/rootfs.partial
	opSnapshot = "snapshot" // make Dir/overlay/delta and Dir/overlay/work (and copy an overlay source's upper layer)
	opIdentity = "identity" // only the identity edits (rename)
)

// Names in the new container's directory.
const (
	partialName = "rootfs.partial"
	upperName   = "overlay/delta" // LXC 4 and 5's upper layer; its workdir is overlay/work
	sourceName  = ".ulxc-source"
)

// job is what the parent asks of the child, as JSON on its stdin.
type job struct {
	Op  string `json:"op"`
	Dir string `json:"dir"` // the new container's directory
	// Source is the original's root filesystem: one directory, or an
	// overlay's layers top first (its upper layer, then its lowers).
	Source []string `json:"source"`
	// Lower are the new snapshot's lower layers (opSnapshot).
	Lower []string `json:"lower,omitempty"`
	// CopyUpper, for a snapshot of an overlay, is the original's upper
	// layer, whose contents become the new upper layer's.
	CopyUpper string `json:"copy_upper,omitempty"`
	// Rootfs, for opIdentity, is the container's root: one directory,
	// or overlay layers as Lower with Upper.
	Rootfs []string `json:"rootfs,omitempty"`
	Upper  string   `json:"upper,omitempty"`
	// OldName and NewName drive the identity edits; NewName "" keeps.
	OldName string `json:"old_name"`
	NewName string `json:"new_name,omitempty"`
	// Key is appended to ~KeyUser/.ssh/authorized_keys (opSnapshot).
	KeyUser string `json:"key_user,omitempty"`
	Key     string `json:"key,omitempty"`
	// HomeOwner, for keep-id, gets the user's home (and the key).
	HomeOwner *owner `json:"home_owner,omitempty"`
}

// owner is who a user's home is given to: namespace ids of this child.
type owner struct {
	User     string `json:"user"`
	UID, GID uint32
}

// reply is the child's answer, as JSON on its stdout.
type reply struct {
	Skipped []string `json:"skipped,omitempty"` // entries not copied (sockets, devices)
	Xattrs  []string `json:"xattrs,omitempty"`  // xattr names the copy could not set
	Error   string   `json:"error,omitempty"`
}

// runChild runs j in a child in a new user and mount namespace with
// plan's maps.
func runChild(ctx context.Context, plan userns.Plan, j job) (reply, error) {
	in, err := json.Marshal(j)
	if err != nil {
		return reply{}, err
	}
	var stdout, stderr bytes.Buffer
	cmd, err := userns.Start(ctx, userns.Options{Plan: plan, Entry: ChildEntry, Dir: "/", Cloneflags: unix.CLONE_NEWNS,
		Stdin: bytes.NewReader(in), Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		return reply{}, err
	}
	werr := cmd.Wait()
	var r reply
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if werr == nil {
			werr = fmt.Errorf("bad reply: %w", err)
		}
		if msg != "" {
			return reply{}, fmt.Errorf("%s in user namespace: %w: %s", j.Op, werr, strings.ReplaceAll(msg, "\n", "; "))
		}
		return reply{}, fmt.Errorf("%s in user namespace: %w", j.Op, werr)
	}
	if r.Error != "" {
		return r, errors.New(r.Error)
	}
	if werr != nil {
		return r, fmt.Errorf("%s in user namespace: %w", j.Op, werr)
	}
	return r, nil
}

// ChildMain is the child's side: it becomes root of the namespace, reads
// its job from stdin, does it and writes its reply to stdout. It returns
// the exit status.
func ChildMain(args []string) int {
	r := childMain()
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintf(os.Stderr, "ulxc: error: %s: %v\n", ChildEntry, err)
		return 1
	}
	if r.Error != "" {
		return 1
	}
	return 0
}

func childMain() (r reply) {
	defer func() {
		if e := recover(); e != nil {
			r.Error = fmt.Sprint(e)
		}
	}()
	if err := userns.Enter(); err != nil {
		r.Error = err.Error()
		return r
	}
	var j job
	if err := json.NewDecoder(io.LimitReader(os.Stdin, 1<<20)).Decode(&j); err != nil {
		r.Error = fmt.Sprintf("read job: %v", err)
		return r
	}
	if err := j.run(&r); err != nil {
		r.Error = err.Error()
	}
	return r
}

func (j *job) run(r *reply) error {
	for _, p := range append(append(append([]string{j.Dir, j.CopyUpper, j.Upper}, j.Source...), j.Lower...), j.Rootfs...) {
		if p != "" && !filepath.IsAbs(p) {
			return fmt.Errorf("job path %q is not absolute", p)
		}
	}
	// Mounts made here stay in the child's namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	switch j.Op {
	case opCopy:
		return j.copy(r)
	case opSnapshot:
		return j.snapshot(r)
	case opIdentity:
		return j.identityOnly()
	}
	return fmt.Errorf("unknown operation %q", j.Op)
}

// openSource opens the original's root: the directory itself, or a
// read-only overlay of its layers mounted in this namespace.
func (j *job) openSource() (int, error) {
	dir := j.Source[0]
	if len(j.Source) > 1 {
		dir = filepath.Join(j.Dir, sourceName)
		if err := os.Mkdir(dir, 0o700); err != nil {
			return -1, err
		}
		opts := "lowerdir=" + strings.Join(j.Source, ":") + ",userxattr"
		if err := unix.Mount("overlay", dir, "overlay", unix.MS_RDONLY, opts); err != nil {
			return -1, ocispec.OverlayMountError(strings.Join(j.Source, ":")+" (read-only)", err,
				"a snapshot is read through overlayfs; copy its original instead")
		}
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", dir, err)
	}
	return fd, nil
}

// copy makes the full copy in Dir/rootfs.partial and its identity edits.
func (j *job) copy(r *reply) error {
	src, err := j.openSource()
	if err != nil {
		return err
	}
	defer func() {
		unix.Close(src)
		if len(j.Source) > 1 {
			dir := filepath.Join(j.Dir, sourceName)
			_ = unix.Unmount(dir, unix.MNT_DETACH)
			_ = os.Remove(dir)
		}
	}()
	dst := filepath.Join(j.Dir, partialName)
	if err := copyInto(src, dst, r); err != nil {
		return err
	}
	return j.identity(dst)
}

// copyInto copies the tree src into the new directory dst.
func copyInto(src int, dst string, r *reply) error {
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	d, err := unix.Open(dst, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(d)
	tc, err := copyTree(src, d)
	r.Skipped = append(r.Skipped, tc.skipped...)
	for n := range tc.xattrs {
		r.Xattrs = append(r.Xattrs, n)
	}
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	return nil
}

// snapshot makes the upper layer (the owner and mode of the top lower
// layer's root, which it becomes) and the workdir, and the identity edits
// through an overlay mounted on Dir/rootfs.
func (j *job) snapshot(r *reply) error {
	upper := filepath.Join(j.Dir, upperName)
	if err := os.Mkdir(filepath.Dir(upper), 0o755); err != nil {
		return err
	}
	if j.CopyUpper != "" {
		src, err := unix.Open(j.CopyUpper, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", j.CopyUpper, err)
		}
		err = copyInto(src, upper, r)
		unix.Close(src)
		if err != nil {
			return err
		}
	} else {
		var st unix.Stat_t
		if err := unix.Stat(j.Lower[0], &st); err != nil {
			return fmt.Errorf("stat %s: %w", j.Lower[0], err)
		}
		if err := os.Mkdir(upper, 0o700); err != nil {
			return err
		}
		if err := os.Lchown(upper, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
		if err := unix.Chmod(upper, st.Mode&0o7777); err != nil {
			return err
		}
	}
	if err := os.Mkdir(filepath.Join(filepath.Dir(upper), ocispec.OverlayWorkName), 0o700); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(j.Dir, "rootfs"), 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if j.NewName == "" && j.Key == "" && j.HomeOwner == nil {
		return nil
	}
	root, err := mountOverlay(j.Lower, upper, j.Dir)
	if err != nil {
		return err
	}
	if err := j.identity(root); err != nil {
		return err
	}
	if o := j.HomeOwner; o != nil {
		if err := chownHome(root, o); err != nil {
			return fmt.Errorf("give the home of %s to your own ids: %w", o.User, err)
		}
	}
	if j.Key != "" {
		if err := installKey(root, j.KeyUser, j.Key, j.HomeOwner); err != nil {
			return fmt.Errorf("install the SSH key of %s: %w", j.KeyUser, err)
		}
	}
	return nil
}

// identityOnly makes the identity edits of an existing container.
func (j *job) identityOnly() error {
	if len(j.Rootfs) == 0 {
		return errors.New("no rootfs")
	}
	root := j.Rootfs[0]
	if j.Upper != "" {
		var err error
		if root, err = mountOverlay(j.Rootfs, j.Upper, j.Dir); err != nil {
			return err
		}
	}
	return j.identity(root)
}

// mountOverlay mounts lower under upper on dir/rootfs in this namespace,
// with the workdir beside upper, and returns the mount point.
func mountOverlay(lower []string, upper, dir string) (string, error) {
	target := filepath.Join(dir, "rootfs")
	work := filepath.Join(filepath.Dir(upper), ocispec.OverlayWorkName)
	opts := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + upper + ",workdir=" + work + ",userxattr"
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		return "", ocispec.OverlayMountError(strings.Join(lower, ":")+" on "+upper, err, "make a full copy instead (-B dir)")
	}
	return target, nil
}
