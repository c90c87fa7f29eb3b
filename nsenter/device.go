package nsenter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"github.com/ulxc/ulxc/internal/rawproc"
	"golang.org/x/sys/unix"
)

// DeviceOptions configure Device.
type DeviceOptions struct {
	// Pidfd names the process whose user and mount namespaces are used:
	// a container's init. Required.
	Pidfd int
	// Source is the host's device node, an absolute path, resolved by
	// the caller's view of the filesystem. Required to add.
	Source string
	// Target is where the node appears inside, relative to the mount
	// namespace's root ("dev/net/tun"): a clean path without "..".
	// Required.
	Target string
	// Remove unmounts Target and removes the empty file it was mounted
	// on, instead of adding. Default: add.
	Remove bool
}

// ErrDeviceExists reports a Target that exists already inside.
var ErrDeviceExists = errors.New("already exists in the container")

// ErrNotBound reports a Target to remove that is not a bound device node.
var ErrNotBound = errors.New("not a device node bound by ulxc device add")

// Device binds a host device node into the mount namespace of a running
// process, or removes such a bind: lxc-device for a rootless container.
// Nothing can make a device node in a user namespace (mknod), and a bind
// mount of the host's node needs a mount namespace that sees the host's
// /dev and that the container's user namespace owns: a fork of this
// process joins the container's user namespace, unshares a mount
// namespace (a copy of the host's, owned by the container's user
// namespace, where it may mount) and clones the node there as a detached
// mount (open_tree); then it joins the container's mount namespace,
// becomes root of the user namespace, creates an empty file at Target
// (directories as needed, never following a symlink: the container chose
// what is there) and moves the mount onto it (move_mount). Raw system
// calls from the fork to its exit, as for Start (doc.go).
func Device(opts DeviceOptions) error {
	d, err := newDevice(opts)
	if err != nil {
		return err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer repR.Close()
	d.Report = repW.Fd()
	pid, err := d.fork()
	repW.Close()
	runtime.KeepAlive(d)
	if err != nil {
		return fmt.Errorf("nsenter: fork: %w", err)
	}
	rerr := readDeviceReport(repR, d)
	var ws unix.WaitStatus
	for {
		_, werr := unix.Wait4(pid, &ws, 0, nil)
		if werr != unix.EINTR {
			break
		}
	}
	if rerr != nil {
		return rerr
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return fmt.Errorf("nsenter: device: the forked process ended with %v", ws)
	}
	return nil
}

// device is what the forked process uses, and the options it was made
// from, for its report.
type device struct {
	rawproc.DeviceBind
	opts DeviceOptions
}

func newDevice(opts DeviceOptions) (*device, error) {
	clean := path.Clean(opts.Target)
	if opts.Target == "" || clean != opts.Target || path.IsAbs(clean) || clean == "." ||
		strings.HasPrefix(clean, "../") || clean == ".." {
		return nil, fmt.Errorf("nsenter: device target %q: want a clean relative path", opts.Target)
	}
	if !opts.Remove && !path.IsAbs(opts.Source) {
		return nil, fmt.Errorf("nsenter: device source %q: want an absolute path", opts.Source)
	}
	d := &device{opts: opts, DeviceBind: rawproc.DeviceBind{Pidfd: uintptr(opts.Pidfd), Remove: opts.Remove, All: ^uint64(0)}}
	parts := strings.Split(clean, "/")
	var err error
	for _, p := range parts[:len(parts)-1] {
		b, err := syscall.BytePtrFromString(p)
		if err != nil {
			return nil, fmt.Errorf("nsenter: device target %q: %w", opts.Target, err)
		}
		d.Dirs = append(d.Dirs, b)
	}
	if d.Last, err = syscall.BytePtrFromString(parts[len(parts)-1]); err != nil {
		return nil, fmt.Errorf("nsenter: device target %q: %w", opts.Target, err)
	}
	if !opts.Remove {
		if d.Source, err = syscall.BytePtrFromString(opts.Source); err != nil {
			return nil, fmt.Errorf("nsenter: device source %q: %w", opts.Source, err)
		}
	}
	d.Empty = &[]byte{0}[0]
	d.Root, _ = syscall.BytePtrFromString("/")
	// Inside the container's mount namespace, whose root is the
	// container's: no symlink, no magic link, nothing above the start.
	res := uint64(unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_BENEATH)
	d.How = unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: res}
	d.Target = unix.OpenHow{Flags: unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: res}
	return d, nil
}

func (d *device) stepName(step, index uint64) string {
	dir := func() string {
		parts := strings.Split(d.opts.Target, "/")
		return strings.Join(parts[:min(int(index)+1, len(parts))], "/")
	}
	switch step {
	case rawproc.DevDumpable:
		return "make the process non-dumpable"
	case rawproc.DevJoinUser:
		return "join the user namespace"
	case rawproc.DevUnshare:
		return "unshare a mount namespace"
	case rawproc.DevOpenTree:
		return "clone the mount of " + d.opts.Source
	case rawproc.DevJoinMount:
		return "join the mount namespace"
	case rawproc.DevSetID:
		return "become root of the user namespace"
	case rawproc.DevRoot:
		return "open the container's root"
	case rawproc.DevMkdir:
		return "make directory /" + dir()
	case rawproc.DevOpenDir:
		return "open directory /" + dir()
	case rawproc.DevCreate:
		return "create /" + d.opts.Target
	case rawproc.DevMove:
		return "mount " + d.opts.Source + " on /" + d.opts.Target
	case rawproc.DevOpenTarget:
		return "open /" + d.opts.Target
	case rawproc.DevChdir:
		return "enter the directory of /" + d.opts.Target
	case rawproc.DevUmount:
		return "unmount /" + d.opts.Target
	case rawproc.DevUnlink:
		return "remove /" + d.opts.Target
	}
	return ""
}

// readDeviceReport reads the fork's one record, if any: EOF alone is
// success.
func readDeviceReport(r io.Reader, d *device) error {
	var rec [24]byte
	if _, err := io.ReadFull(r, rec[:]); err != nil {
		if err == io.EOF {
			return nil
		}
		return fmt.Errorf("nsenter: read report: %w", err)
	}
	step, errno := binary.NativeEndian.Uint64(rec[:8]), syscall.Errno(binary.NativeEndian.Uint64(rec[8:]))
	index := binary.NativeEndian.Uint64(rec[16:])
	switch {
	case step == rawproc.DevCreate && errno == unix.EEXIST:
		return fmt.Errorf("/%s: %w", d.opts.Target, ErrDeviceExists)
	case step == rawproc.DevNotBound:
		return fmt.Errorf("/%s: %w", d.opts.Target, ErrNotBound)
	case step == rawproc.DevOpenTarget && errno == unix.ENOENT:
		return fmt.Errorf("/%s: %w", d.opts.Target, ErrNotBound)
	}
	name := d.stepName(step, index)
	if name == "" {
		return fmt.Errorf("nsenter: malformed report %x", rec)
	}
	return &JoinError{Step: name, Errno: errno}
}

// fork forks the process that does the work, every signal blocked (see
// join.fork), and returns its pid.
func (d *device) fork() (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	if _, _, e := syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
		uintptr(unsafe.Pointer(&d.All)), uintptr(unsafe.Pointer(&d.Old)), 8, 0, 0); e != 0 {
		return 0, e
	}
	pid, e := rawproc.ForkDevice(&d.DeviceBind)
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&d.Old)), 0, 8, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(pid), nil
}
