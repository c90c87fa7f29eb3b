//go:build !amd64

package rawproc

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SharedMemoryFork: elsewhere init is a plain fork, on a copy of the
// supervisor's memory and stack (fork_amd64.s has the faster way).
const SharedMemoryFork = false

// OwnStack: elsewhere init continues on its copy of the supervisor's
// stack, with the supervisor's thread-local block (StartChild returns into
// Go code there). Nothing makes a breach of the package's rule fault
// there; the objdump test checks the rule on amd64's code only.
const OwnStack = false

// StartChild clones init; the child runs childEntry and never returns.
// It is not nosplit: its stack check runs at its entry, before the clone,
// and its frame is then off the nosplit budget of init's chain, which
// runs on the caller's stack here and did not fit (arm64).
//
//go:norace
func StartChild(p *Plan, args *CloneArgs) (uintptr, syscall.Errno) {
	pid, _, e := syscall.RawSyscall(unix.SYS_CLONE3, uintptr(unsafe.Pointer(args)), unsafe.Sizeof(*args), 0)
	if e != 0 || pid != 0 {
		return pid, e
	}
	childEntry(p)
	return 0, 0 // not reached
}

// forkHook forks the hook p.hook, in a mount namespace of its own when
// args asks for one: the child becomes the hook. Of args only that flag
// counts here; the signature is amd64's.
//
//go:nosplit
//go:norace
func forkHook(args *CloneArgs, _ uintptr, p *Plan) (uintptr, uintptr) {
	pid, _, e := syscall.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD)|uintptr(args.Flags&unix.CLONE_NEWNS), 0, 0, 0, 0, 0)
	if e != 0 || pid != 0 {
		return pid, uintptr(e)
	}
	hookEntry(p)
	return 0, 0 // not reached
}

// PrepareJoin has nothing to prepare for plain forks.
func PrepareJoin(*Join) {}

// forkIntermediate forks; the child joins the namespaces and never
// returns.
//
//go:nosplit
//go:norace
func forkIntermediate(j *Join) (uintptr, syscall.Errno) {
	pid, _, e := syscall.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 || pid != 0 {
		return pid, e
	}
	intermediate(j)
	return 0, 0 // not reached
}

// forkJoined forks the new process from the intermediate: the child
// becomes the command and never returns, the intermediate gets its pid.
//
//go:nosplit
//go:norace
func forkJoined(j *Join) (uintptr, syscall.Errno) {
	var pid uintptr
	var e syscall.Errno
	if j.Clone3 {
		pid, _, e = syscall.RawSyscall(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&j.Args)), unsafe.Sizeof(j.Args), 0)
	} else {
		pid, _, e = syscall.RawSyscall6(unix.SYS_CLONE, unix.CLONE_PARENT|uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	}
	if e != 0 || pid != 0 {
		return pid, e
	}
	joined(j)
	return 0, 0 // not reached
}
