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

var mountFlags = map[string]mountFlag{
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"nosuid":        {false, unix.MS_NOSUID},
	"suid":          {true, unix.MS_NOSUID},
	"nodev":         {false, unix.MS_NODEV},
	"dev":           {true, unix.MS_NODEV},
	"noexec":        {false, unix.MS_NOEXEC},
	"exec":          {true, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"noatime":       {false, unix.MS_NOATIME},
	"atime":         {true, unix.MS_NOATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"silent":        {false, unix.MS_SILENT},
	"loud":          {true, unix.MS_SILENT},
	"bind":          {false, unix.MS_BIND},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
	"defaults":      {false, 0},
}

var propagationFlags = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
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
		if f, ok := mountFlags[opt]; ok {
			if f.clear {
				o.flags &^= f.flag
			} else {
				o.flags |= f.flag
			}
			continue
		}
		if p, ok := propagationFlags[opt]; ok {
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
		if f&mountFlags[n].flag != 0 {
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
