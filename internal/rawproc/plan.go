package rawproc

import (
	"golang.org/x/sys/unix"
)

// The descriptors init has once placeFDs ran.
const (
	syncFD      = 3 // read: the go-ahead once the id maps are written (userns)
	initStateFD = 4 // read: the OCI state, the stdin of hooks; /dev/null without hooks
	initErrorFD = 5 // write: a report, or EOF when the exec worked
	initPtyFD   = 6 // unix socket: the pty masters (only with a console)
	initHookFD  = 7 // write: the output of hooks, which the supervisor reads; /dev/null without hooks
	// unix socket, only for the network phase (network.go): init sends
	// its network and user namespaces, and reads the go-ahead once the
	// supervisor has set the interfaces up
	initNetFD = 8
	InitFDs   = 9
)

const atFDCWD = ^uintptr(99) // AT_FDCWD, -100

// The hook kinds that run inside init, through the hook helper, in the
// order init runs them. Clone hooks are an ephemeral copy's
// lxc.hook.clone, run once its root is mounted (runtime's compileHooks).
const (
	HooksPreMount = iota
	HooksClone
	HooksMount
	HooksStart
	HookKinds
)

// The kinds of a missing mount target.
const (
	CreateAuto = iota // the bind source's type, else a directory
	CreateDir
	CreateFile
)

// Plan is everything init does, worked out by runtime's compileInit
// before the fork: init (init.go) only makes the system calls. Pointers
// are only read by init; the fields it writes are marked.
type Plan struct {
	// FDs are the supervisor's descriptors that become init's 0 to
	// InitFDs-1; Base is above all of them.
	FDs  []int // written by init
	Base uintptr
	Late uintptr // namespaces init unshares itself (lateNamespaces)

	RootfsPath *byte
	Overlay    *Overlay // nil: the root filesystem is a directory, bound
	Sysctls    []Sysctl
	// mounts are the spec's mounts, then the device nodes bound once a
	// tmpfs is on /dev (compileDev).
	Mounts  []Mount
	Mounted []bool // written by init: mounts[i] was made
	DevTmp  int    // index of the tmpfs mount on /dev, or -1
	DevDir  *byte
	Links   []Link

	Console bool
	// consoleFDs are the stdio descriptors the console becomes
	// (spawnInit: all three, or a foreground start's terminals).
	ConsoleFDs [3]bool
	Ptmx       *byte
	Ttys       []Path // /dev/console, /dev/tty1...
	TtyMsg     Msg    // the step of Ttys[0]; Ttys[i]'s is TtyMsg+i
	Winsize    unix.Winsize
	PtyMsg     unix.Msghdr
	PtyIov     unix.Iovec
	PtyText    []byte
	PtyCmsg    []byte
	Masters    []int32 // written by init, inside ptyCmsg

	NewNet bool
	Ifr    [40]byte // struct ifreq of lo; written by init

	// NetPhase: init sends its network and user namespaces (NetNS) on
	// initNetFD once it has made them, and waits for the go-ahead before
	// the start hooks and the exec (runtime's network.go).
	NetPhase bool
	NetNS    NSSend
	// StopNS, unless it has no Paths, are the namespaces init sends on
	// initNetFD before NetNS, for the stop hooks: the supervisor keeps
	// them until init has exited.
	StopNS NSSend
	// CloneNS, unless it has no Paths, is the mount namespace of a clone
	// hook, which the hook sends on initNetFD before its exec
	// (sendCloneNS): the supervisor keeps it until init has exec'd, so
	// that the hook's exit does not tear it down while init waits.
	CloneNS NSSend
	// CloneDir is the caller's working directory, which a clone hook
	// enters by its path in its own mount namespace (ownRoot).
	CloneDir *byte

	Hooks    [HookKinds]Hooks
	Expose   []*byte // LXC's rootfs mount points on the host, for mount hooks
	Masked   []Path
	Readonly []Path
	// The steps of Masked[0] and Readonly[0]; the i-th's is the first's
	// plus i.
	MaskMsg, ReadonlyMsg Msg
	RootRO               bool

	Hostname, Domainname []byte
	Rlimits              []Rlimit

	OOMPath        *byte
	OOM            []byte
	SetPersonality bool
	Personality    uintptr
	// Exec is the container's process: its bounding set, seccomp filter,
	// ids, directory, and what is exec'd.
	Exec Exec

	AllSignals, OldMask uint64
	// HandlersCleared: init was cloned with CLONE_CLEAR_SIGHAND, so it and
	// its hooks have the default handlers, an ignored signal staying
	// ignored, and only the mask is left to restore before an exec.
	HandlersCleared bool
	// HookArgs, where its Stack is set, clones each hook from init on
	// that stack of its own, sharing init's memory until the hook's exec
	// (forkHook); otherwise a hook is a plain fork.
	HookArgs CloneArgs
	// GoAhead is the byte the supervisor writes on the sync pipe once
	// the id maps are written (userns.Release), and on the network
	// socket once the network phase is done.
	GoAhead byte

	// Constant strings.
	Empty, Slash, Dot, Tmpfs, MaskData, DevNull *byte

	// Written by init.
	Rootfs, Root, ConsoleSlave, Exposed int
	OvlTarget                           int // the tmpfs's merged directory, or -1
	how                                 unix.OpenHow
	st                                  unix.Stat_t
	stfs                                unix.Statfs_t
	pathA, pathB                        [32]byte
	sa                                  [4]uint64
	Report                              Report // where init reports a failure (on initErrorFD)
	poll                                unix.PollFd
	hookStatus                          int32
	hook                                hookJob // the hook forkHook starts
	hookReport                          Report  // where it reports, beside init's own Report
	cloneHook                           hookRun // the clone hook left running (awaitCloneHook)
	nameAfterHooks                      bool    // the copy's name is written once the clone hooks are done
	marker                              [1]byte
	noWait                              unix.Timespec
	resOp                               Op // what failed, for failPath
	resArg                              uintptr
	zero                                int32
}

// NSSend is a message of init's namespaces to the supervisor: init opens
// Paths (/proc/self/ns/...) itself, puts the descriptors in FDs (inside
// Cmsg, an SCM_RIGHTS message) and sends Msg, whose data is Text.
type NSSend struct {
	Paths   []*byte
	FDs     []int32 // written by init
	Msg     unix.Msghdr
	Iov     unix.Iovec
	Text    []byte
	Cmsg    []byte
	OpenMsg Msg // the step of opening Paths[0]; Paths[i]'s is OpenMsg+i
	SendMsg Msg
}

// Path is a cleaned absolute path inside the container, with each of
// its prefixes and component names, for resolveInRoot.
type Path struct {
	Full     *byte
	Prefixes []*byte  // "/a", "/a/b", ...
	Names    []*byte  // "a", "b", ...
	Text     []string // the prefixes as text, for the caller's messages; never read here
}

// Sysctl is a value written to a file of /proc/sys.
type Sysctl struct {
	Path  *byte
	Value []byte
	Msg   Msg
}

type Mount struct {
	Bind, Optional bool
	Source         *byte // bind: the source path, opened before enter
	SrcFD          int   // written by init
	Create         int
	Dest           Path
	Fstype, Data   *byte
	AltData        *byte // devpts data without gid=, or nil
	HostSys        *byte // "/sys" for a sysfs bound from the host
	Flags          uintptr
	Remount        uintptr // flags set by a remount after the mount
	Propagation    []uintptr
	// requires is a mount that must have been made for this one to be
	// (the tmpfs on /dev, for a device node), unless one that makes it
	// needless; -1 for none.
	Requires, Unless int
	Msg              Msg
}

// Link is a symbolic link made in /dev.
type Link struct {
	Name, Target *byte
	Msg          Msg
}

// Hooks are the hooks of one kind, which init runs itself in turn.
type Hooks struct {
	Run   bool
	Progs []Hook
}

// Hook is one hook: the paths its exec tries (tryExec), its
// arguments and environment, the environment once the root filesystem
// is exposed at expose[i] (mount hooks), and its time limit.
type Hook struct {
	Paths       []*byte
	Argv, Envp  []*byte
	ExposedEnvp [][]*byte
	Timeout     unix.Timespec
	Limited     bool
	Msg         Msg
}

// Rlimit is a resource limit set on init.
type Rlimit struct {
	Resource int
	Limit    unix.Rlimit
	Msg      Msg
}

// inRoot is how every path of the container is resolved: as if root were
// "/", absolute symlinks included, and never through /proc magic links.
const inRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// Overlay is the overlay root filesystem of a plan (ocispec's
// ulxc.rootfs.overlay.* annotations), which init mounts in place of the
// bind of the root filesystem (mountOverlay).
//
// The layers live under the user's 0700 directories, which container
// root may not walk, so init opens them before it enters the namespace,
// as it opens the root filesystem, and gives overlayfs their descriptors
// as /proc/self/fd/N: each is placed at a fixed descriptor number
// (InitFDs+i, placed before anything else is opened), so that the
// option strings are worked out here. A tmpfs upper layer is made by
// init itself, inside the namespace (it is container root's), attached
// on the mount point, with the overlay mounted on a directory of it.
type Overlay struct {
	Dirs   []*byte // the host paths opened before enter: the lowers, then upper and work unless tmpfs
	FDs    int     // descriptors from InitFDs on that the step holds (dirs, and 2 more for a tmpfs)
	Tmpfs  bool
	Lower  *byte // "/proc/self/fd/8:/proc/self/fd/9"...
	Upper  *byte
	Work   *byte
	UpFD   int // the fixed descriptors of a tmpfs's upper and work
	WorkFD int
	// Constant strings for the system calls.
	FsOverlay, FsTmpfs, KeyLower, KeyUpper, KeyWork, KeyUserxattr, KeyMode, Mode755 *byte
	NameUpper, NameWork, NameMerged                                                 *byte
	// hostname, with a tmpfs upper layer, is written to /etc/hostname
	// of the new root when that is a regular file: the name a copy has
	// (LXC's lxc-copy -e -t does the same in a pre-mount script).
	HostnameFile *byte
	Hostname     []byte
	// LayerMsg is the step of opening Dirs[0]; Dirs[i]'s is LayerMsg+i.
	LayerMsg Msg

	// Fuse, when set, mounts a FUSE file system in place of overlayfs
	// (mountFuse), which runtime's supervisor has fuse-overlayfs serve:
	// init opens FuseDev as container root, writes its number into
	// FuseFDText (FuseValues[0] points there), mounts with the options
	// FuseKeys/FuseValues and the flags FuseFlags, and sends the
	// descriptor on initNetFD (FuseSend, whose FDs[0] it fills). Dirs
	// is then empty: the layers are the supervisor's to open, not
	// init's.
	Fuse       bool
	FuseFDText [12]byte // written by init
	FuseDev    *byte
	FsFuse     *byte
	FuseKeys   [6]*byte
	FuseValues [6]*byte
	FuseFlags  [2]*byte
	FuseSend   NSSend
}

// ExecMarker is the byte init writes on its error pipe once it has done
// everything but the exec of the container's process.
const ExecMarker = 0xE5
