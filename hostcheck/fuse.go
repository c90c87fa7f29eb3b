package hostcheck

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
)

// checkFuse reports what the fallback of overlay roots needs where the
// kernel refuses overlayfs in a user namespace: fuse-overlayfs, and a
// FUSE device that container root, a subordinate id and not the user,
// may open (so its mode is read: opening it as the user would prove
// nothing about container root). Neither is mandatory: where the kernel
// mounts overlayfs, nothing uses them.
func checkFuse(opts Options) []Result {
	look := opts.LookPath
	if look == nil {
		look = exec.LookPath
	}
	prog := Result{Group: "overlay", Name: "fuse-overlayfs"}
	if p, err := look("fuse-overlayfs"); err == nil {
		prog.Status, prog.Detail = OK, p+" (serves overlay roots where the kernel refuses overlayfs in a user namespace)"
	} else {
		prog.Status = Warn
		prog.Detail = "not installed: where the kernel refuses overlayfs in a user namespace, snapshots, ephemeral copies and -B overlay containers do not start"
		prog.Fix = "as root: apt-get install fuse-overlayfs"
	}
	dev := opts.FuseDevice
	if dev == "" {
		dev = "/dev/fuse"
	}
	r := Result{Group: "overlay", Name: dev}
	fi, err := os.Stat(dev)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.Status, r.Detail = Warn, "missing: fuse-overlayfs cannot serve an overlay root"
		r.Fix = "as root: modprobe fuse"
	case err != nil:
		r.Status, r.Detail = Warn, err.Error()
		r.Fix = "as root: make " + dev + " the FUSE device, mode 0666"
	case fi.Mode().Perm()&0o006 != 0o006:
		r.Status = Warn
		r.Detail = fmt.Sprintf("mode %04o: container root (a subordinate id) may not open it, so fuse-overlayfs cannot serve an overlay root", fi.Mode().Perm())
		r.Fix = "as root: chmod 0666 " + dev + " (stock Debian's mode, which udev sets at boot: its 50-udev-default.rules says KERNEL==\"fuse\", MODE=\"0666\")"
	default:
		r.Status, r.Detail = OK, fmt.Sprintf("mode %04o: container root may open it for fuse-overlayfs", fi.Mode().Perm())
	}
	return []Result{prog, r}
}
