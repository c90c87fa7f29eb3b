package rawproc

import (
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The signal forwarder of attach: while a joined process runs, the
// signals the caller would have passed on by hand (SIGINT, SIGTERM, ...)
// go to the process straight from a handler of ours, which the kernel
// calls on the Go runtime's signal stack of whichever thread it picks:
// one system call, pidfd_send_signal(forwardFD, sig), and back. Go's
// os/signal would do the same through a goroutine that waits for
// signals, on a thread of its own, and a second that forwards them:
// starting those and waking them at the end cost attach about a tenth of
// a millisecond on an idle machine, where each wakeup of another thread
// wakes an idle CPU.
//
// The Go runtime never learns of the handler: ArmForward replaces its
// dispositions of Forward.Sigs with rt_sigaction and DisarmForward puts
// them back. Nothing may use os/signal for those signals in between
// (signal.Notify would put the runtime's handler back), and the runtime
// uses none of them itself (its own are SIGURG, SIGPROF and the faults).

// forwardFD is the pidfd the handler signals; -1 when disarmed. One
// forwarder at a time per process: ArmForward claims it.
var forwardFD int32 = -1

// Forward is what ArmForward needs and what DisarmForward restores.
type Forward struct {
	// Sigs are the signals to forward; 0 ends the list.
	Sigs [4]uintptr
	old  [4]sigaction
}

// sigaction is the kernel's struct sigaction (amd64 layout; arm64 and
// the others share it, without the restorer on some).
type sigaction struct {
	handler, flags, restorer, mask uint64
}

// The sa_flags ArmForward sets: the runtime's signal stack, interrupted
// system calls restarted, and our restorer.
const (
	saOnstack  = 0x08000000
	saRestart  = 0x10000000
	saRestorer = 0x04000000
)

// ArmForward sends each signal of f.Sigs that the process receives from
// now on to the process of pidfd, until DisarmForward. It fails with
// EBUSY when another forwarder is armed, and with ENOSYS where this
// architecture has no handler (forward_other.go); nothing is changed
// then.
//
//go:nosplit
//go:norace
func ArmForward(f *Forward, pidfd int) syscall.Errno {
	handler, restorer := forwardEntries()
	if handler == 0 {
		return unix.ENOSYS
	}
	if !atomic.CompareAndSwapInt32(&forwardFD, -1, int32(pidfd)) {
		return unix.EBUSY
	}
	act := sigaction{handler: uint64(handler), flags: saOnstack | saRestart | saRestorer, restorer: uint64(restorer)}
	for i, sig := range f.Sigs {
		if sig == 0 {
			break
		}
		if _, _, e := syscall.RawSyscall6(unix.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&act)),
			uintptr(unsafe.Pointer(&f.old[i])), 8, 0, 0); e != 0 {
			f.restore(i)
			atomic.StoreInt32(&forwardFD, -1)
			return e
		}
	}
	return 0
}

// DisarmForward stops forwarding and puts back the dispositions that
// ArmForward replaced. A handler already running on another thread may
// still signal the pidfd, which is why the caller closes it only after
// this: the pidfd names the process even once it is reaped (ESRCH then),
// where a pid could name another.
//
//go:nosplit
//go:norace
func DisarmForward(f *Forward) {
	atomic.StoreInt32(&forwardFD, -1)
	f.restore(len(f.Sigs))
}

// restore puts back the first n dispositions.
//
//go:nosplit
//go:norace
func (f *Forward) restore(n int) {
	for i, sig := range f.Sigs {
		if i >= n || sig == 0 {
			break
		}
		syscall.RawSyscall6(unix.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&f.old[i])), 0, 8, 0, 0)
	}
}
