package rawproc

import "golang.org/x/sys/unix"

// Join holds everything nsenter's forked processes use, prepared beforehand:
// between the fork and the exec they may only make raw system calls, and
// write only non-pointer fields.
type Join struct {
	Pidfd, Flags uintptr
	Report       Report
	Stdio        [3]int  // written: the descriptors that become 0-2
	Tty          [3]bool // stdio i is the terminal's slave
	Base         uintptr
	Clone3       bool      // Args needs clone3 (CLONE_INTO_CGROUP); always on amd64
	Args         CloneArgs // the new process's clone
	First        CloneArgs // the intermediate's clone (PrepareJoin)
	Stacks       []byte    // the children's stacks (PrepareJoin)
	All, Old     uint64    // signal masks
	sa           [4]uint64 // a struct sigaction, zero for SIG_DFL
	// HandlersCleared: Args clones with CLONE_CLEAR_SIGHAND, so the new
	// process starts with the default handlers and only its mask is left
	// to restore (PrepareJoin).
	HandlersCleared bool

	Exec // the command, set up as init sets up the container's process

	Terminal bool
	Sock     uintptr
	Ptmx     *byte
	How      unix.OpenHow
	Winsize  unix.Winsize
	zero     int32
	Msg      unix.Msghdr
	Iov      unix.Iovec
	Text     [4]byte
	Cmsg     []byte // SCM_RIGHTS with one descriptor, written
	CmsgData int    // where in cmsg the descriptor goes
	master   uintptr

	Remount             bool
	RemountSys          bool
	Root, Proc, Sys     *byte // "/", "/proc", "/sys"
	ProcType, SysfsType *byte
}

// CloneArgs is struct clone_args of clone3(2), up to cgroup.
type CloneArgs struct {
	Flags, Pidfd, ChildTID, ParentTID, ExitSignal, Stack, StackSize, TLS, SetTID, SetTIDSize, Cgroup uint64
}

// DeviceBind holds what nsenter's Device fork uses, prepared beforehand.
type DeviceBind struct {
	Pidfd    uintptr
	Report   uintptr
	Remove   bool
	Source   *byte
	Empty    *byte // ""
	Root     *byte // "/"
	Dirs     []*byte
	Last     *byte
	How      unix.OpenHow // of a directory on the way to Target
	Target   unix.OpenHow // of Target itself, to remove it
	st       unix.Stat_t
	All, Old uint64
	rec      [3]uint64
	treeFD   uintptr
	dirFD    uintptr
}

// The steps the device fork reports.
const (
	DevDumpable = iota + 1
	DevJoinUser
	DevUnshare
	DevOpenTree
	DevJoinMount
	DevSetID
	DevRoot
	DevMkdir
	DevOpenDir
	DevCreate
	DevMove
	DevOpenTarget
	DevNotBound
	DevChdir
	DevUmount
	DevUnlink
)

// SocketJob is what socketChild uses, prepared beforehand: it may only make
// raw system calls and write non-pointer fields.
type SocketJob struct {
	Userns, Netns, Domain, Type, Proto, Sock uintptr
	All, Old                                 uint64 // signal masks
	Rec                                      [2]uint64
	Msg, FailMsg                             unix.Msghdr // with the socket, without
	Iov                                      unix.Iovec
	Rights                                   struct {
		Hdr unix.Cmsghdr
		fd  int32 // at CmsgLen(0): the header is aligned to what fd needs
	}
}

// The steps of socketChild, as rec[0] of its message.
const (
	SockOK = iota
	SockDumpable
	SockUserns
	SockNetns
	SockSocket
)
