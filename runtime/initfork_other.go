//go:build !amd64

package runtime

import (
	"syscall"
	"unsafe"

	"github.com/ulxc/ulxc/nsenter"
	"golang.org/x/sys/unix"
)

// sharedMemoryFork: elsewhere init is a plain fork, on a copy of the
// supervisor's memory and stack (initfork_amd64.s has the faster way).
const sharedMemoryFork = false

// ownStack: elsewhere init continues on its copy of the supervisor's
// stack, with the supervisor's thread-local block (startChild returns into
// Go code there). Nothing makes a breach of initchild.go's rule fault
// there; the objdump test checks the rule on amd64's code only.
const ownStack = false

// startChild clones init; the child runs childEntry and never returns.
//
//go:nosplit
//go:norace
func startChild(p *rawPlan, args *nsenter.CloneArgs) (uintptr, syscall.Errno) {
	pid, _, e := syscall.RawSyscall(unix.SYS_CLONE3, uintptr(unsafe.Pointer(args)), unsafe.Sizeof(*args), 0)
	if e != 0 || pid != 0 {
		return pid, e
	}
	childEntry(p)
	return 0, 0 // not reached
}
