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
