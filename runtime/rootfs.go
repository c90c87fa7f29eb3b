package runtime

import (
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountFlag is one mount option that is a flag rather than data.
type mountFlag struct {
	clear bool
	flag  uintptr
}

// mountFlags are the mount options that are flags, in a slice rather than
// a map (rlimitResource says why).
var mountFlags = [...]struct {
	name string
	mountFlag
}{
	{"ro", mountFlag{false, unix.MS_RDONLY}},
	{"rw", mountFlag{true, unix.MS_RDONLY}},
	{"nosuid", mountFlag{false, unix.MS_NOSUID}},
	{"suid", mountFlag{true, unix.MS_NOSUID}},
	{"nodev", mountFlag{false, unix.MS_NODEV}},
	{"dev", mountFlag{true, unix.MS_NODEV}},
	{"noexec", mountFlag{false, unix.MS_NOEXEC}},
	{"exec", mountFlag{true, unix.MS_NOEXEC}},
	{"sync", mountFlag{false, unix.MS_SYNCHRONOUS}},
	{"async", mountFlag{true, unix.MS_SYNCHRONOUS}},
	{"dirsync", mountFlag{false, unix.MS_DIRSYNC}},
	{"noatime", mountFlag{false, unix.MS_NOATIME}},
	{"atime", mountFlag{true, unix.MS_NOATIME}},
	{"nodiratime", mountFlag{false, unix.MS_NODIRATIME}},
	{"diratime", mountFlag{true, unix.MS_NODIRATIME}},
	{"relatime", mountFlag{false, unix.MS_RELATIME}},
	{"norelatime", mountFlag{true, unix.MS_RELATIME}},
	{"strictatime", mountFlag{false, unix.MS_STRICTATIME}},
	{"nostrictatime", mountFlag{true, unix.MS_STRICTATIME}},
	{"silent", mountFlag{false, unix.MS_SILENT}},
	{"loud", mountFlag{true, unix.MS_SILENT}},
	{"bind", mountFlag{false, unix.MS_BIND}},
	{"rbind", mountFlag{false, unix.MS_BIND | unix.MS_REC}},
	{"defaults", mountFlag{false, 0}},
}

// mountFlagOf is the flag of the mount option opt, if it is one.
func mountFlagOf(opt string) (mountFlag, bool) {
	for _, f := range mountFlags {
		if f.name == opt {
			return f.mountFlag, true
		}
	}
	return mountFlag{}, false
}

// propagationOf is the propagation flag of the mount option opt, if it is
// one.
func propagationOf(opt string) (uintptr, bool) {
	switch opt {
	case "private":
		return unix.MS_PRIVATE, true
	case "rprivate":
		return unix.MS_PRIVATE | unix.MS_REC, true
	case "shared":
		return unix.MS_SHARED, true
	case "rshared":
		return unix.MS_SHARED | unix.MS_REC, true
	case "slave":
		return unix.MS_SLAVE, true
	case "rslave":
		return unix.MS_SLAVE | unix.MS_REC, true
	case "unbindable":
		return unix.MS_UNBINDABLE, true
	case "runbindable":
		return unix.MS_UNBINDABLE | unix.MS_REC, true
	}
	return 0, false
}

// createKind is what a missing mount target is made as.
type createKind string

const (
	createAuto createKind = ""     // the bind source's type, else a directory
	createDir  createKind = "dir"  // create=dir
	createFile createKind = "file" // create=file
)

// mountOptions is a spec mount's options, sorted out.
type mountOptions struct {
	flags       uintptr
	propagation []uintptr
	data        []string
}

// parseMountOptions splits OCI mount options into flags, propagation and
// fs-specific data.
func parseMountOptions(opts []string) mountOptions {
	var o mountOptions
	for _, opt := range opts {
		if f, ok := mountFlagOf(opt); ok {
			if f.clear {
				o.flags &^= f.flag
			} else {
				o.flags |= f.flag
			}
			continue
		}
		if p, ok := propagationOf(opt); ok {
			o.propagation = append(o.propagation, p)
			continue
		}
		if opt != "" {
			o.data = append(o.data, opt)
		}
	}
	return o
}

func describeFlags(f uintptr) string {
	var out []string
	for _, n := range []string{"ro", "nosuid", "nodev", "noexec", "noatime", "nodiratime", "relatime"} {
		if m, _ := mountFlagOf(n); f&m.flag != 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return "rw"
	}
	return strings.Join(out, ",")
}

func mountName(mnt specs.Mount) string {
	if mnt.Type != "" && mnt.Type != "bind" && mnt.Type != "none" {
		return mnt.Type
	}
	return mnt.Source
}

func isBind(mnt specs.Mount, o mountOptions) bool {
	return mnt.Type == "bind" || o.flags&unix.MS_BIND != 0
}

func dropOption(data, prefix string) string {
	var keep []string
	for _, o := range strings.Split(data, ",") {
		if !strings.HasPrefix(o, prefix) {
			keep = append(keep, o)
		}
	}
	return strings.Join(keep, ",")
}
