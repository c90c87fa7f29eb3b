package rawproc

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
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

// nsenter's two forks (join.go) share the caller's memory here too
// (CLONE_VM|CLONE_VFORK) and run on stacks and thread-local blocks of
// their own. Copying the attaching process's page tables twice, faulting
// on each page written afterwards, and waiting for the intermediate to
// exit were a third of what ulxc attach cost.
//
// Sharing the memory opens nothing to the container: the intermediate
// makes that memory non-dumpable before it joins anything, and it belongs
// to the caller's user namespace, over which the container's root holds
// no capability; so no process of the container may ptrace either child,
// open its /proc/PID/mem or take its descriptors, as with a copy. The new
// process gets memory of its own at its exec. The caller's thread waits
// (CLONE_VFORK) until the intermediate is gone, and the intermediate
// until the new process has exec'd or failed, so the stacks and the Join
// outlive their use.

// joinStackSize is each child's stack; the nosplit chain of join.go
// needs well under a page of it. The thread-local block sits
// joinTLSOffset bytes into the stack's low end, where the stack never
// reaches: its g is nil, so any use of the Go runtime faults in the child
// instead of running on the caller's memory. Two of them, 16 bytes short
// of 32 KiB, are one small object for the allocator: 32 KiB would be a
// large one, whose first allocation in a process (attach's, every time)
// faulted in three pages of the runtime's span bookkeeping.
const (
	joinStackSize = 16<<10 - 16
	joinTLSOffset = 2048
)

// cloneIntermediate and cloneJoined are in fork_amd64.s: clone3 with
// args; the child calls intermediate(j) or joined(j) on args' stack and
// never returns.
func cloneIntermediate(args *CloneArgs, size uintptr, j *Join) (pid uintptr, errno uintptr)
func cloneJoined(args *CloneArgs, size uintptr, j *Join) (pid uintptr, errno uintptr)

// intermediate and joined are called from fork_amd64.s only here: this
// makes the calls visible to the tools that look for unused code.
var _, _ = intermediate, joined

// PrepareJoin gives each of nsenter's forks a stack and a thread-local
// block of its own in j.Stacks, and the flags that share the caller's
// memory. j.Args must be set (CLONE_PARENT, and the cgroup).
func PrepareJoin(j *Join) {
	j.Stacks = make([]byte, 2*joinStackSize)
	base := uintptr(unsafe.Pointer(unsafe.SliceData(j.Stacks)))
	j.First = CloneArgs{Flags: unix.CLONE_VM | unix.CLONE_VFORK | unix.CLONE_SETTLS, ExitSignal: uint64(unix.SIGCHLD),
		Stack: uint64(base), StackSize: joinStackSize, TLS: uint64(base + joinTLSOffset)}
	j.Clone3 = true
	// CLONE_CLEAR_SIGHAND (Linux 5.5; joining by pidfd needs 5.8): the
	// new process starts with the default handlers, an ignored signal
	// staying ignored, as RestoreSignals would leave it.
	j.Args.Flags |= unix.CLONE_VM | unix.CLONE_VFORK | unix.CLONE_SETTLS | unix.CLONE_CLEAR_SIGHAND
	j.HandlersCleared = true
	j.Args.Stack, j.Args.StackSize = uint64(base+joinStackSize), joinStackSize
	j.Args.TLS = uint64(base + joinStackSize + joinTLSOffset)
}

// A hook that init runs shares init's memory the same way, on a stack of
// its own in init's (Plan.HookArgs): a plain fork copied the page tables
// of the supervisor, whose memory init shares, and then faulted on every
// page either wrote, and the exec dropped a copy that big: about 0.5 ms
// a hook (an ephemeral Debian start with its clone hook, 15.37 against
// 14.71 ms, 30 interleaved runs). Init waits (CLONE_VFORK) until the
// hook has exec'd or failed, so that init's memory, which the hook's
// stack and p.hook are part of, is not written by both at once; the one
// hook init leaves running (an ephemeral copy's last clone hook) keeps
// its stack, p.hook and p.hookReport until init has waited for it
// (awaitCloneHook).

// forkHook is in fork_amd64.s: clone3 with args, p.HookArgs, whose
// child becomes the hook p.hook; it returns the pid once the hook has
// exec'd or failed (at once, without CLONE_VFORK in args).
func forkHook(args *CloneArgs, size uintptr, j *Plan) (pid uintptr, errno uintptr)

var _ = hookEntry

// forkIntermediate starts the intermediate, which joins the namespaces,
// and returns its pid once it has exited (CLONE_VFORK).
//
//go:nosplit
//go:norace
func forkIntermediate(j *Join) (uintptr, syscall.Errno) {
	pid, e := cloneIntermediate(&j.First, unsafe.Sizeof(j.First), j)
	return pid, syscall.Errno(e)
}

// forkJoined starts the new process from the intermediate and returns
// once it has exec'd or failed.
//
//go:nosplit
//go:norace
func forkJoined(j *Join) (uintptr, syscall.Errno) {
	pid, e := cloneJoined(&j.Args, unsafe.Sizeof(j.Args), j)
	return pid, syscall.Errno(e)
}
