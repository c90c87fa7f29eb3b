package template

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/userns"
)

// ChildEntry is the hidden verb that ChildMain serves: cmd/ulxc dispatches
// it before parsing any flags.
const ChildEntry = "__template"

// The child's operations.
const (
	opUnpack  = "unpack"  // unpack the tar stream on fd 4 into Dir/rootfs.partial
	opBusybox = "busybox" // build the busybox system in Dir/rootfs.partial
	// opBusyboxLayer builds the busybox system in Dir/rootfs.partial
	// without the container's name: a shared layer.
	opBusyboxLayer = "busybox-layer"
	// opUpper makes Dir/overlay/delta and Dir/overlay/work over the
	// layer Lower and applies the templates through the overlay, so
	// that the container's name lands in its upper layer.
	opUpper = "upper"
)

// childReadSize is the child's read buffer on fd 4.
const childReadSize = 1 << 20

// maxTrailing bounds what may follow the end of the archive: tar pads to
// its record size (10 KiB by default, at most a few MiB with -b).
const maxTrailing = 16 << 20

// rootfsFD is where the child finds the rootfs, as an uncompressed tar
// stream (a pipe from the parent's decoder, or the kept tar in the cache):
// userns.Options.ExtraFiles[0].
const rootfsFD = 4

// job is what the parent asks of the child, as JSON on its stdin.
type job struct {
	Op        string            `json:"op"`
	Dir       string            `json:"dir"`
	Excludes  []string          `json:"excludes,omitempty"`
	IDMapSize uint32            `json:"id_map_size,omitempty"`
	Templates []string          `json:"templates,omitempty"`
	Vars      map[string]string `json:"vars,omitempty"`
	Busybox   string            `json:"busybox,omitempty"`
	Lower     string            `json:"lower,omitempty"`
}

// reply is the child's answer, as JSON on its stdout.
type reply struct {
	Report   image.Report `json:"report"`
	Locked   bool         `json:"locked,omitempty"`
	Warnings []string     `json:"warnings,omitempty"`
	Error    string       `json:"error,omitempty"`
	// Kind names the sentinel the error matched, so that errors.Is works
	// in the parent too.
	Kind string `json:"kind,omitempty"`
}

// sentinels are the errors of the child that callers branch on.
var sentinels = map[string]error{
	"insecure-path":   image.ErrInsecurePath,
	"limit":           image.ErrLimit,
	"unmapped-id":     image.ErrUnmappedID,
	"dynamic-busybox": image.ErrDynamicBusybox,
}

// childError is an error the child reported.
type childError struct {
	msg string
	err error // a sentinel, or nil
}

func (e *childError) Error() string { return e.msg }
func (e *childError) Unwrap() error { return e.err }

// runChild runs j in a child in a new user namespace with plan's maps;
// rootfs, when not nil, becomes its fd 4 and is closed in the parent once
// the child started.
func runChild(ctx context.Context, plan userns.Plan, j job, rootfs *os.File) (reply, error) {
	in, err := json.Marshal(j)
	if err != nil {
		return reply{}, err
	}
	var files []*os.File
	if rootfs != nil {
		files = append(files, rootfs)
	}
	var stdout, stderr bytes.Buffer
	var clone uintptr
	if j.Op == opUpper {
		// The overlay it mounts stays in its own mount namespace.
		clone = unix.CLONE_NEWNS
	}
	cmd, err := userns.Start(ctx, userns.Options{
		Plan: plan, Entry: ChildEntry, Dir: "/", Cloneflags: clone,
		Stdin: bytes.NewReader(in), Stdout: &stdout, Stderr: &stderr,
		ExtraFiles: files,
	})
	if rootfs != nil {
		// The child has its own copy: a writer to a pipe gets EPIPE as
		// soon as the child is gone.
		rootfs.Close()
	}
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
		if ctx.Err() != nil {
			werr = ctx.Err()
		}
		return reply{}, fmt.Errorf("%s in user namespace: %w%s", j.Op, werr, prefixed(": ", msg))
	}
	if r.Error != "" {
		return r, &childError{msg: r.Error, err: sentinels[r.Kind]}
	}
	if werr != nil {
		return r, fmt.Errorf("%s in user namespace: %w", j.Op, werr)
	}
	return r, nil
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + strings.ReplaceAll(s, "\n", "; ")
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

func childMain() reply {
	if err := userns.Enter(); err != nil {
		return failed(reply{}, err)
	}
	var j job
	if err := json.NewDecoder(io.LimitReader(os.Stdin, 16<<20)).Decode(&j); err != nil {
		return failed(reply{}, fmt.Errorf("read job: %w", err))
	}
	if !filepath.IsAbs(j.Dir) {
		return failed(reply{}, fmt.Errorf("job directory %q is not absolute", j.Dir))
	}
	r := reply{}
	var err error
	switch j.Op {
	case opUnpack:
		err = j.unpack(&r)
	case opBusybox:
		err = j.busybox(&r)
	case opBusyboxLayer:
		var root string
		if root, err = j.partial(); err == nil {
			err = image.Busybox(root, j.Busybox)
		}
	case opUpper:
		err = j.upper()
	default:
		err = fmt.Errorf("unknown operation %q", j.Op)
	}
	return failed(r, err)
}

// failed records err, if any, in r.
func failed(r reply, err error) reply {
	if err == nil {
		return r
	}
	r.Error = err.Error()
	for kind, s := range sentinels {
		if errors.Is(err, s) {
			r.Kind = kind
		}
	}
	return r
}

// partial makes the directory the rootfs is built in, owned by the
// namespace's root.
func (j *job) partial() (string, error) {
	p := filepath.Join(j.Dir, partialName)
	if err := os.Mkdir(p, 0o755); err != nil {
		return "", err
	}
	return p, nil
}

func (j *job) unpack(r *reply) error {
	f := os.NewFile(rootfsFD, "rootfs.tar")
	if f == nil {
		return errors.New("no rootfs tar on fd 4")
	}
	defer f.Close()
	root, err := j.partial()
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(f, childReadSize)
	r.Report, err = image.Unpack(context.Background(), br, root, image.Options{
		Excludes:  j.Excludes,
		IDMapSize: j.IDMapSize,
		Warn:      func(w string) { r.Warnings = append(r.Warnings, w) },
	})
	if err != nil {
		return fmt.Errorf("unpack rootfs: %w", err)
	}
	// Read the padding after the end-of-archive blocks too, so that the
	// parent's writer sees the whole stream taken, not a closed pipe. A
	// bomb hidden after the end is refused, not read for ever.
	n, err := io.Copy(io.Discard, io.LimitReader(br, maxTrailing+1))
	if err != nil {
		return fmt.Errorf("unpack rootfs: read past the archive: %w", err)
	}
	if n > maxTrailing {
		return fmt.Errorf("unpack rootfs: %w: more than %d bytes after the end of the archive", image.ErrLimit, maxTrailing)
	}
	// lxc-download makes /dev/pts for the devpts mount.
	if err := image.MkdirInRoot(root, "dev/pts"); err != nil {
		return err
	}
	if err := image.ApplyTemplates(root, j.Templates, j.Vars); err != nil {
		return err
	}
	if r.Locked, err = image.LockRootPassword(root); err != nil {
		return fmt.Errorf("lock root password: %w", err)
	}
	return nil
}

func (j *job) busybox(r *reply) error {
	root, err := j.partial()
	if err != nil {
		return err
	}
	if err := image.Busybox(root, j.Busybox); err != nil {
		return fmt.Errorf("busybox template: %w", err)
	}
	return image.ApplyTemplates(root, image.BusyboxTemplates(), j.Vars)
}

// upper makes the container's upper layer (with the owner and mode of
// the layer's root, which it covers) and workdir, mounts the overlay on
// Dir/rootfs in this namespace and applies the templates through it.
func (j *job) upper() error {
	if !filepath.IsAbs(j.Lower) || strings.ContainsAny(j.Lower+j.Dir, ",:\\") {
		return fmt.Errorf("overlay layers %q, %q: want absolute paths without ',' ':' or '\\'", j.Lower, j.Dir)
	}
	overlayDir, upper, work, mountPoint := upperDirs(j.Dir)
	var st unix.Stat_t
	if err := unix.Stat(j.Lower, &st); err != nil {
		return fmt.Errorf("stat %s: %w", j.Lower, err)
	}
	for _, d := range []string{overlayDir, upper, work, mountPoint} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	for _, d := range []string{overlayDir, mountPoint} {
		if err := os.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.Lchown(upper, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if err := unix.Chmod(upper, st.Mode&0o7777); err != nil {
		return err
	}
	if len(j.Templates) == 0 {
		return nil
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	opts := "lowerdir=" + j.Lower + ",upperdir=" + upper + ",workdir=" + work + ",userxattr"
	if err := unix.Mount("overlay", mountPoint, "overlay", 0, opts); err != nil {
		return ocispec.OverlayMountError(j.Lower+" on "+upper, err, "create the container with -B dir")
	}
	defer unix.Unmount(mountPoint, unix.MNT_DETACH)
	return image.ApplyTemplates(mountPoint, j.Templates, j.Vars)
}
