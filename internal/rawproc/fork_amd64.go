package rawproc

import (
	"syscall"
	"unsafe"
)

// SharedMemoryFork: on amd64 init is cloned with CLONE_VM (cloneVM).
// Copying the supervisor's page tables, and then faulting on every page
// it writes while init runs, cost the supervisor a few hundred
// microseconds per start.
const SharedMemoryFork = true

// OwnStack: init runs on a stack and a thread-local block of its own
// (forkInit), whether or not it shares the supervisor's memory.
const OwnStack = true

// cloneVM is in fork_amd64.s.
func cloneVM(args *CloneArgs, size uintptr, p *Plan) (pid uintptr, errno uintptr)

// StartChild clones init; the child runs childEntry on args.stack.
func StartChild(p *Plan, args *CloneArgs) (uintptr, syscall.Errno) {
	pid, e := cloneVM(args, unsafe.Sizeof(*args), p)
	return pid, syscall.Errno(e)
}

// childEntry is called from cloneVM's assembly only: this makes the call
// visible to the tools that look for unused code.
var _ = childEntry
