package rawproc

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Msg names a step that can fail, for the report of a forked process.
// The process never holds a message's text: its caller keeps the texts
// (runtime's compileInit, for init; nsenter, for its forks), worked out
// when it prepared the data, and reads the index back. The steps every
// caller has are the constants below; a caller numbers the steps of its
// own items (a mount, a sysctl, a hook) from FixedMsgs on, and puts each
// one's number beside it in the data.
type Msg uint32

// The fixed steps. Their texts are the callers' (runtime's initMessages,
// nsenter's stepName).
const (
	MsgNone    Msg = iota
	MsgPid         // not a failure: join's intermediate reports the new pid (Arg)
	MsgPlaceFD     // Arg: the descriptor's place
	MsgSetsid
	MsgEnterRead
	MsgEnterGoAhead
	MsgEnterSetgid
	MsgEnterSetgroups
	MsgEnterSetuid
	MsgDeathSignal
	MsgParentGone
	MsgEnterDumpable
	MsgRootfs
	MsgUnshare
	MsgSlave
	MsgBindRootfsClone
	MsgBindRootfsAttach
	MsgDevDir
	MsgSendPtys
	MsgLoopback
	MsgNetOpenNet
	MsgNetOpenUser
	MsgNetSend
	MsgNetRead
	MsgNetGoAhead
	MsgStopNSSend
	MsgPivot
	MsgRootRO
	MsgHostname
	MsgDomainname
	MsgCtty
	MsgConsoleStdio
	MsgOOM
	MsgPersonality
	MsgOverlayTmpfs
	MsgOverlayMount
	MsgOverlayHostname
	MsgFuseOpen
	MsgFuseMount
	MsgFuseSend
	// The exec steps (Exec), which init and nsenter's join share.
	MsgBounding // Arg: the capability
	MsgSeccomp
	MsgSetgroups
	MsgSetgid
	MsgSetuid
	MsgDumpable
	MsgChdir
	MsgNoNewPrivs
	MsgExec // Arg: the candidate path that failed last
	// nsenter's join.
	MsgSetns
	MsgClone
	MsgDup // Arg: the stdio descriptor
	MsgPtmx
	MsgPtyUnlock
	MsgPtySize
	MsgPtyPeer
	MsgPtySend
	MsgUnshareMount
	MsgRemount // Arg: 0 / as a slave, 1 proc, 2 sysfs
	FixedMsgs
)

// Op is what a step was doing when it failed, where it does more than
// one thing: what it did to a path (Arg: the path's component, -1 for
// all of it, or the flags of a remount), or to a hook.
type Op uint32

const (
	OpNone Op = iota
	OpOpen
	OpMkdir
	OpCreate
	OpStatfs
	OpRemount // Arg: the flags
	OpPropagation
	OpSource // open the bind source
	OpBind
	OpUnlock
	OpPeer
	OpSize
	OpFork
	OpExec
	OpWait    // Arg: the wait status, when the errno is 0
	OpTimeout // Arg: the time limit in seconds
)

// Failure is the record a forked process writes on its report
// descriptor: the step that failed, the errno, what it was doing and an
// argument (see Op and the Msg constants). Nothing else is in it: what
// the step was working on is the caller's, under the same Msg.
type Failure struct {
	Msg, Op uint32
	Errno   uint64
	Arg     uint64
}

// Report is where a forked process reports: its descriptor and the
// status it exits with after a failure.
type Report struct {
	FD, Status uintptr
	rec        Failure
}

// fail writes the failure and exits.
//
//go:nosplit
//go:norace
func (r *Report) fail(msg Msg, op Op, arg uintptr, errno syscall.Errno) {
	r.rec = Failure{Msg: uint32(msg), Op: uint32(op), Errno: uint64(errno), Arg: uint64(arg)}
	r.write()
	for {
		syscall.RawSyscall6(unix.SYS_EXIT_GROUP, r.Status, 0, 0, 0, 0, 0)
	}
}

// write writes the record as it is (MsgPid).
//
//go:nosplit
//go:norace
func (r *Report) write() {
	syscall.RawSyscall6(unix.SYS_WRITE, r.FD, uintptr(unsafe.Pointer(&r.rec)), unsafe.Sizeof(r.rec), 0, 0, 0)
}
