package rawproc

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// tryExec execs each of paths in turn with argv and envp (both
// NULL-terminated), as execvp tries each directory of PATH: one that is
// missing or unusable moves on, and the first other error stops. It
// returns only when none worked: the errno that says best why (the first
// EACCES, else the first error) and the index of the path it came from.
//
//go:nosplit
//go:norace
func tryExec(paths, argv, envp []*byte) (syscall.Errno, uintptr) {
	var last syscall.Errno = unix.ENOENT
	var at uintptr
	for i := 0; i < len(paths); i++ {
		_, _, e := syscall.RawSyscall6(unix.SYS_EXECVE, uintptr(unsafe.Pointer(paths[i])),
			uintptr(unsafe.Pointer(unsafe.SliceData(argv))), uintptr(unsafe.Pointer(unsafe.SliceData(envp))), 0, 0, 0)
		switch e {
		case unix.ENOENT, unix.ENOTDIR, unix.ESTALE, unix.ELOOP, unix.ENAMETOOLONG:
			if i == 0 {
				last, at = e, uintptr(i)
			}
			continue
		case unix.EACCES:
			last, at = e, uintptr(i)
			continue
		}
		return e, uintptr(i)
	}
	return last, at
}

// Exec is how a forked process becomes the command it runs once it is
// in its namespaces and has its stdio: the same steps in the same order
// for a container's init (Plan.Exec) and for a process that joins a
// running container (Join.Exec), becomeUser then execute.
type Exec struct {
	// Bounding drops from the bounding set every capability that Keep
	// does not hold.
	Bounding bool
	Keep     uint64
	// Filter is the seccomp filter (Len 0: none).
	Filter unix.SockFprog
	// SetGroups sets the supplementary groups to Groups (none: cleared).
	SetGroups bool
	Groups    []uint32
	UID, GID  uint32
	SetUmask  bool
	Umask     uint32
	// Dir is the working directory; DirElse, unless nil, is tried when
	// Dir cannot be entered.
	Dir, DirElse *byte
	NoNewPrivs   bool
	// Paths are the files the exec tries in turn (tryExec); Argv and
	// Envp are NULL-terminated.
	Paths, Argv, Envp []*byte
}

// becomeUser drops the bounding set, installs the seccomp filter for a
// user other than root, and becomes the user. The bounding set needs
// CAP_SETPCAP and the filter, for a user other than root, CAP_SYS_ADMIN:
// both come while the process is still root of the user namespace (or
// its owner). The change of credentials makes the process non-dumpable
// (fs.suid_dumpable) unless that is set to 1 for debugging: it is said
// again, until the exec.
//
//go:nosplit
//go:norace
func (x *Exec) becomeUser(r *Report) {
	if x.Bounding {
		for c := uintptr(0); c < 64; c++ {
			if x.Keep&(1<<c) != 0 {
				continue
			}
			_, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0, 0, 0, 0)
			if e == unix.EINVAL {
				break // capabilities the kernel does not know are not there
			}
			if e != 0 {
				r.fail(MsgBounding, 0, c, e)
			}
		}
	}
	if x.UID != 0 {
		x.installFilter(r)
	}
	if x.SetGroups {
		groups := x.Groups
		if _, _, e := syscall.RawSyscall6(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(unsafe.Pointer(unsafe.SliceData(groups))),
			0, 0, 0, 0); e != 0 {
			r.fail(MsgSetgroups, 0, 0, e)
		}
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_SETRESGID, uintptr(x.GID), uintptr(x.GID), uintptr(x.GID), 0, 0, 0); e != 0 {
		r.fail(MsgSetgid, 0, 0, e)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_SETRESUID, uintptr(x.UID), uintptr(x.UID), uintptr(x.UID), 0, 0, 0); e != 0 {
		r.fail(MsgSetuid, 0, 0, e)
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 0, 0, 0, 0, 0); e != 0 {
		r.fail(MsgDumpable, 0, 0, e)
	}
}

// execute sets the umask, enters the directory, sets no_new_privs, marks
// every descriptor but 0-2 close-on-exec (the report's too: its EOF says
// the exec worked), installs the seccomp filter for root (last, so that
// it binds as little of the set-up as can be) and execs the command.
//
//go:nosplit
//go:norace
func (x *Exec) execute(r *Report) {
	if x.SetUmask {
		syscall.RawSyscall6(unix.SYS_UMASK, uintptr(x.Umask), 0, 0, 0, 0, 0)
	}
	_, _, e := syscall.RawSyscall6(unix.SYS_CHDIR, uintptr(unsafe.Pointer(x.Dir)), 0, 0, 0, 0, 0)
	if e != 0 && x.DirElse != nil {
		_, _, e = syscall.RawSyscall6(unix.SYS_CHDIR, uintptr(unsafe.Pointer(x.DirElse)), 0, 0, 0, 0, 0)
	}
	if e != 0 {
		r.fail(MsgChdir, 0, 0, e)
	}
	if x.NoNewPrivs {
		if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); e != 0 {
			r.fail(MsgNoNewPrivs, 0, 0, e)
		}
	}
	syscall.RawSyscall6(unix.SYS_CLOSE_RANGE, 3, ^uintptr(0), unix.CLOSE_RANGE_CLOEXEC, 0, 0, 0)
	if x.UID == 0 {
		x.installFilter(r)
	}
	e, at := tryExec(x.Paths, x.Argv, x.Envp)
	r.fail(MsgExec, 0, at, e)
}

//go:nosplit
//go:norace
func (x *Exec) installFilter(r *Report) {
	if x.Filter.Len == 0 {
		return
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER,
		uintptr(unsafe.Pointer(&x.Filter)), 0, 0, 0); e != 0 {
		r.fail(MsgSeccomp, 0, 0, e)
	}
}
