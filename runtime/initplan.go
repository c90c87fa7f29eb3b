package runtime

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/seccomp"
	"github.com/ulxc/ulxc/userns"
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
	initFDs   = 9
)

// goAhead is what the supervisor writes on the sync pipe (userns.Release).
const goAhead = userns.GoAhead

const atFDCWD = ^uintptr(99) // AT_FDCWD, -100

// The hook kinds that run inside init, through the hook helper.
const (
	hookPreMount = iota
	hookMount
	hookStart
	hookKinds
)

var hookKindTypes = [hookKinds]HookType{HookPreMount, HookMount, HookStart}

// The kinds of a missing mount target.
const (
	kindAuto = iota // the bind source's type, else a directory
	kindDir
	kindFile
)

// initPlan is everything init does, worked out by compileInit before the
// fork: init (initchild.go) only makes the system calls. Pointers are
// only read by init; the fields it writes are marked.
type initPlan struct {
	// fds are the supervisor's descriptors that become init's 0 to
	// initFDs-1; base is above all of them.
	fds  []int // written by init
	base uintptr
	late uintptr // namespaces init unshares itself (lateNamespaces)

	rootfsPath *byte
	overlay    *overlayStep // nil: the root filesystem is a directory, bound
	sysctls    []sysctlStep
	// mounts are the spec's mounts, then the device nodes bound once a
	// tmpfs is on /dev (compileDev).
	mounts  []mountStep
	mounted []bool // written by init: mounts[i] was made
	devTmp  int    // index of the tmpfs mount on /dev, or -1
	devDir  *byte
	links   []linkStep

	console bool
	// consoleFDs are the stdio descriptors the console becomes
	// (spawnInit: all three, or a foreground start's terminals).
	consoleFDs [3]bool
	ptmx       *byte
	ttys       []rawPath // /dev/console, /dev/tty1...
	winsize    unix.Winsize
	ptyMsg     unix.Msghdr
	ptyIov     unix.Iovec
	ptyText    []byte
	ptyCmsg    []byte
	masters    []int32 // written by init, inside ptyCmsg

	newNet bool
	ifr    [40]byte // struct ifreq of lo; written by init

	// netPhase: init sends its namespaces (nsPaths, opened) on initNetFD
	// once it has made them, and waits for the go-ahead before the start
	// hooks and the exec (network.go).
	netPhase bool
	nsPaths  [2]*byte // /proc/self/ns/net, /proc/self/ns/user
	netMsg   unix.Msghdr
	netIov   unix.Iovec
	netText  []byte
	netCmsg  []byte
	netFDs   []int32 // written by init, inside netCmsg

	hooks    [hookKinds]hookStep
	expose   []*byte // LXC's rootfs mount points on the host, for mount hooks
	masked   []rawPath
	readonly []rawPath
	rootRO   bool

	hostname, domainname []byte
	rlimits              []rlimitStep

	oomPath        *byte
	oom            []byte
	setPersonality bool
	personality    uintptr
	dropCaps       []uintptr
	filter         unix.SockFprog
	filterProg     seccomp.Program
	setGroups      bool
	groups         []uint32
	uid, gid       uint32
	umask          int
	cwd            *byte
	noNewPrivs     bool
	candidates     []*byte
	argv, envp     []*byte

	allSignals, oldMask uint64

	// Constant strings.
	empty, slash, dot, tmpfs, maskData, devNull *byte

	// Written by init.
	rootfs, root, consoleSlave, exposed int
	ovlTarget                           int // the tmpfs's merged directory, or -1
	how                                 unix.OpenHow
	st                                  unix.Stat_t
	stfs                                unix.Statfs_t
	pathA, pathB                        [32]byte
	sa                                  [4]uint64
	rec                                 initReport
	poll                                unix.PollFd
	hookStatus                          int32
	marker                              [1]byte
	noWait                              unix.Timespec
	resSub, resComp                     int // what failed, for failPath
	resExtra                            uintptr
	zero                                int32

	// For describe, never read by init.
	cfg       *initConfig
	sysctlKey []string
	sysctlOwn []bool // the sysctl is the runtime's, not the spec's
	hookPaths [hookKinds][]string
}

// rawPath is a cleaned absolute path inside the container, with each of
// its prefixes and component names, for mkdirAllInRoot.
type rawPath struct {
	full     *byte
	prefixes []*byte // "/a", "/a/b", ...
	names    []*byte // "a", "b", ...
	text     []string
}

type sysctlStep struct {
	path  *byte
	value []byte
}

type mountStep struct {
	bind, optional bool
	source         *byte // bind: the source path, opened before enter
	srcFD          int   // written by init
	create         int
	dest           rawPath
	fstype, data   *byte
	altData        *byte // devpts data without gid=, or nil
	hostSys        *byte // "/sys" for a sysfs bound from the host
	flags          uintptr
	remount        uintptr // flags set by a remount after the mount
	propagation    []uintptr
	// requires is a mount that must have been made for this one to be
	// (the tmpfs on /dev, for a device node), unless one that makes it
	// needless; -1 for none.
	requires, unless int
	name             string // for messages
}

type linkStep struct{ name, target *byte }

// hookStep is the hooks of one kind, which init runs itself in turn.
type hookStep struct {
	run   bool
	progs []hookProg
}

// hookProg is one hook: the paths its exec tries (execCandidates), its
// arguments and environment, the environment once the root filesystem
// is exposed at expose[i] (mount hooks), and its time limit.
type hookProg struct {
	paths       []*byte
	argv, envp  []*byte
	exposedEnvp [][]*byte
	timeout     unix.Timespec
	limited     bool
}

type rlimitStep struct {
	resource int
	limit    unix.Rlimit
	name     string
}

// compileInit works out init's steps for cfg. expose are LXC's rootfs
// mount points on this host (lxcRootfsMounts). Every error a spec can
// cause is found here, before anything is forked.
func compileInit(cfg *initConfig, expose []string) (*initPlan, error) {
	s := cfg.Spec
	p := &initPlan{cfg: cfg, devTmp: -1, umask: -1, rootfs: -1, root: -1, consoleSlave: -1, exposed: -1, ovlTarget: -1,
		late: cfg.Unshare, newNet: cfg.NewNet, console: cfg.Console, allSignals: ^uint64(0)}
	p.empty, p.slash, p.dot = cstr(""), cstr("/"), cstr(".")
	p.tmpfs, p.maskData, p.devNull = cstr("tmpfs"), cstr("size=0,mode=0555"), cstr("/dev/null")
	p.rootfsPath = cstr(s.Root.Path)
	if err := p.compileOverlay(s); err != nil {
		return nil, err
	}

	keys := make([]string, 0, len(s.Linux.Sysctl))
	for k := range s.Linux.Sysctl {
		if !validSysctl(k) {
			return nil, fmt.Errorf("%w: sysctl %q", ErrInvalidSpec, k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := s.Linux.Sysctl[k]
		if v == "" {
			return nil, fmt.Errorf("%w: lxc.sysctl.%s has no value", ErrInvalidSpec, k)
		}
		p.sysctls = append(p.sysctls, sysctlStep{path: cstr("/proc/sys/" + strings.ReplaceAll(k, ".", "/")), value: []byte(v)})
		p.sysctlKey = append(p.sysctlKey, k)
		p.sysctlOwn = append(p.sysctlOwn, false)
	}
	if cfg.NetPhase {
		p.compileNetPhase(s)
	}

	if err := p.compileMounts(s); err != nil {
		return nil, err
	}
	if p.devTmp >= 0 {
		if err := p.compileDev(s); err != nil {
			return nil, err
		}
	}
	p.mounted = make([]bool, len(p.mounts))
	if cfg.Console {
		p.compileConsole(cfg)
	}
	if cfg.NewNet {
		copy(p.ifr[:], "lo")
	}
	if err := p.compileHooks(cfg, expose); err != nil {
		return nil, err
	}
	for _, m := range s.Linux.MaskedPaths {
		rp, err := newRawPath(m)
		if err != nil {
			return nil, err
		}
		p.masked = append(p.masked, rp)
	}
	for _, m := range s.Linux.ReadonlyPaths {
		rp, err := newRawPath(m)
		if err != nil {
			return nil, err
		}
		p.readonly = append(p.readonly, rp)
	}
	p.rootRO = s.Root.Readonly
	p.hostname, p.domainname = []byte(s.Hostname), []byte(s.Domainname)
	for _, rl := range s.Process.Rlimits {
		res, ok := rlimits[rl.Type]
		if !ok {
			return nil, fmt.Errorf("%w: unknown rlimit %q", ErrInvalidSpec, rl.Type)
		}
		p.rlimits = append(p.rlimits, rlimitStep{resource: res, limit: unix.Rlimit{Cur: rl.Soft, Max: rl.Hard}, name: rl.Type})
	}
	return p, p.compileProcess(s)
}

// compileNetPhase prepares the message that sends init's namespaces to
// the supervisor, and lets the container's ids ping: the network phase
// gives it a network to ping on, and ping sockets (which need no
// privilege) are open only to the groups in net.ipv4.ping_group_range,
// which is "1 0", nobody, in a new network namespace. The range is set
// to the container's own gids, unless the spec sets it.
func (p *initPlan) compileNetPhase(s *specs.Spec) {
	p.netPhase = true
	p.nsPaths = [2]*byte{cstr("/proc/self/ns/net"), cstr("/proc/self/ns/user")}
	p.netText = []byte("ns")
	p.netCmsg = unix.UnixRights(0, 0)
	p.netFDs = unsafe.Slice((*int32)(unsafe.Pointer(&p.netCmsg[unix.CmsgLen(0)])), 2)
	p.netIov.Base = &p.netText[0]
	p.netIov.SetLen(len(p.netText))
	p.netMsg.Iov = &p.netIov
	p.netMsg.SetIovlen(1)
	p.netMsg.Control = &p.netCmsg[0]
	p.netMsg.SetControllen(len(p.netCmsg))
	const pingKey = "net.ipv4.ping_group_range"
	if _, ok := s.Linux.Sysctl[pingKey]; ok || len(s.Linux.GIDMappings) == 0 {
		return
	}
	lo, hi := uint64(1<<32-1), uint64(0)
	for _, m := range s.Linux.GIDMappings {
		if m.Size == 0 {
			continue
		}
		lo = min(lo, uint64(m.ContainerID))
		hi = max(hi, uint64(m.ContainerID)+uint64(m.Size)-1)
	}
	if lo > hi {
		return
	}
	// The kernel reads the range in the writer's user namespace, where
	// both ends must be mapped ids; gids between them that are not are
	// simply never anyone's.
	p.sysctls = append(p.sysctls, sysctlStep{path: cstr("/proc/sys/net/ipv4/ping_group_range"),
		value: []byte(strconv.FormatUint(lo, 10) + " " + strconv.FormatUint(min(hi, 1<<31-1), 10))})
	p.sysctlKey = append(p.sysctlKey, pingKey)
	p.sysctlOwn = append(p.sysctlOwn, true)
}

// compileMounts prepares the spec's mounts, in order.
func (p *initPlan) compileMounts(s *specs.Spec) error {
	for i, mnt := range s.Mounts {
		o := parseMountOptions(mnt.Options)
		create, optional, err := mountMarkers(s, i)
		if err != nil {
			return err
		}
		if !path.IsAbs(mnt.Destination) {
			return fmt.Errorf("mount %s on %s: %w: destination is not absolute", mountName(mnt), mnt.Destination, ErrInvalidSpec)
		}
		dest, err := newRawPath(mnt.Destination)
		if err != nil {
			return err
		}
		m := mountStep{optional: optional, dest: dest, srcFD: -1, name: mountName(mnt), requires: -1, unless: -1}
		switch create {
		case createDir:
			m.create = kindDir
		case createFile:
			m.create = kindFile
		}
		m.propagation = append(m.propagation, o.propagation...)
		if isBind(mnt, o) {
			m.bind = true
			m.source = cstr(mnt.Source)
			m.flags = o.flags
			m.remount = o.flags &^ (unix.MS_BIND | unix.MS_REC)
			p.mounts = append(p.mounts, m)
			continue
		}
		fstype, source, flags := mnt.Type, mnt.Source, o.flags
		data := strings.Join(o.data, ",")
		switch fstype {
		case "proc", "sysfs", "mqueue":
			// A fresh proc or sysfs in a user namespace must be at least
			// as restricted as the host's (fs/namespace.c
			// mount_too_revealing).
			flags |= unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
		case "cgroup":
			// cgroup v1 cannot be mounted in a user namespace; the cgroup
			// namespace's view of the v2 hierarchy can.
			fstype = "cgroup2"
		}
		if source == "" {
			source = fstype
		}
		if fstype == "sysfs" && !p.newNet {
			// sysfs shows the network namespace of its mounter: without
			// our own, the kernel refuses it; bind the host's read-only.
			m.hostSys = cstr("/sys")
			m.remount = flags | unix.MS_RDONLY
		} else {
			m.source, m.fstype, m.flags, m.data = cstr(source), cstr(fstype), flags, cstr(data)
			if fstype == "devpts" && strings.Contains(data, "gid=") {
				m.altData = cstr(dropOption(data, "gid="))
			}
		}
		if mnt.Destination == "/dev" && fstype == "tmpfs" {
			p.devTmp = i
		}
		p.mounts = append(p.mounts, m)
	}
	return nil
}

// compileDev prepares what is done once a tmpfs is on /dev: binds of the
// default device nodes and of the spec's devices that the host has (after
// the spec's mounts, which may bind some of them already), and the links
// (makeDevLinks).
func (p *initPlan) compileDev(s *specs.Spec) error {
	mountOf := func(dest string) int {
		for i, m := range s.Mounts {
			if path.Clean(m.Destination) == dest {
				return i
			}
		}
		return -1
	}
	var paths []string
	for _, name := range defaultDevices {
		paths = append(paths, "/dev/"+name)
	}
	for _, d := range s.Linux.Devices {
		if hostHas(d) && !isDefault(d.Path) {
			paths = append(paths, d.Path)
		}
	}
	for _, dp := range paths {
		rp, err := newRawPath(dp)
		if err != nil {
			return err
		}
		p.mounts = append(p.mounts, mountStep{bind: true, source: cstr(dp), srcFD: -1, create: kindFile, dest: rp,
			flags: unix.MS_BIND, requires: p.devTmp, unless: mountOf(dp), name: dp})
	}
	p.devDir = cstr("/dev")
	for _, l := range devLinks {
		p.links = append(p.links, linkStep{name: cstr(l[0]), target: cstr(l[1])})
	}
	return nil
}

// compileConsole prepares /dev/console and the ttys, and the message that
// sends their masters.
func (p *initPlan) compileConsole(cfg *initConfig) {
	p.ptmx = cstr("/dev/pts/ptmx")
	names := []string{"console"}
	for i := 1; i <= cfg.TTYs; i++ {
		names = append(names, "tty"+strconv.Itoa(i))
	}
	for _, n := range names {
		rp, _ := newRawPath("/dev/" + n) // cannot fail: no NUL
		p.ttys = append(p.ttys, rp)
	}
	p.winsize = unix.Winsize{Row: cfg.ConsoleRows, Col: cfg.ConsoleCols}
	p.ptyText = []byte(strings.Join(names, ","))
	p.ptyCmsg = unix.UnixRights(make([]int, len(names))...)
	p.masters = unsafe.Slice((*int32)(unsafe.Pointer(&p.ptyCmsg[unix.CmsgLen(0)])), len(names))
	p.ptyIov.Base = &p.ptyText[0]
	p.ptyIov.SetLen(len(p.ptyText))
	p.ptyMsg.Iov = &p.ptyIov
	p.ptyMsg.SetIovlen(1)
	p.ptyMsg.Control = &p.ptyCmsg[0]
	p.ptyMsg.SetControllen(len(p.ptyCmsg))
}

// compileHooks prepares the hook helper's runs for the hooks that run in
// init: pre-mount, mount (CreateContainer) and start (StartContainer).
func (p *initPlan) compileHooks(cfg *initConfig, expose []string) error {
	s := cfg.Spec
	pre, err := preMountHooks(s)
	if err != nil {
		return err
	}
	lists := [hookKinds][]specs.Hook{hookPreMount: pre}
	if s.Hooks != nil {
		lists[hookMount], lists[hookStart] = s.Hooks.CreateContainer, s.Hooks.StartContainer
	}
	for kind, hs := range lists {
		if len(hs) == 0 {
			continue
		}
		t := hookKindTypes[kind]
		env := hookEnv{Name: cfg.Name, ConfigPath: cfg.ConfigPath, RootfsPath: s.Root.Path}
		switch kind {
		case hookPreMount, hookMount:
			// Container root may not walk the user's 0700 directories to
			// the rootfs; it may walk from init's descriptor of it, fd 3.
			env.RootfsMount = "/proc/self/fd/3"
		case hookStart:
			env.RootfsMount = "/"
		}
		h := hookStep{run: true}
		for _, hk := range hs {
			if hk.Path == "" || strings.IndexByte(hk.Path, 0) >= 0 {
				return fmt.Errorf("%w: %s hook %q", ErrInvalidSpec, t, hk.Path)
			}
			argv := hk.Args
			if len(argv) == 0 {
				argv = []string{hk.Path}
			}
			base := append(append([]string{"PATH=" + DefaultPath}, hk.Env...), env.vars(t)...)
			for _, a := range append(append([]string{}, argv...), base...) {
				if strings.IndexByte(a, 0) >= 0 {
					return fmt.Errorf("%w: %s hook %s: NUL in %q", ErrInvalidSpec, t, hk.Path, a)
				}
			}
			hp := hookProg{paths: cstrs(execCandidates(hk.Path, nil)...), argv: cstrs(argv...), envp: cstrs(base...)}
			hp.paths = hp.paths[:len(hp.paths)-1]
			if hk.Timeout != nil && *hk.Timeout > 0 {
				hp.limited, hp.timeout = true, unix.NsecToTimespec(int64(*hk.Timeout)*1e9)
			}
			if kind == hookMount {
				for _, dir := range expose {
					e := env
					e.RootfsMount = dir
					hp.exposedEnvp = append(hp.exposedEnvp, cstrs(append(append([]string{"PATH=" + DefaultPath}, hk.Env...), e.vars(t)...)...))
				}
			}
			h.progs = append(h.progs, hp)
			p.hookPaths[kind] = append(p.hookPaths[kind], hk.Path)
		}
		if kind == hookMount {
			p.expose = nil
			for _, dir := range expose {
				p.expose = append(p.expose, cstr(dir))
			}
		}
		p.hooks[kind] = h
	}
	return nil
}

// compileProcess prepares the exec of the container's process.
func (p *initPlan) compileProcess(s *specs.Spec) error {
	proc := s.Process
	if proc.OOMScoreAdj != nil {
		p.oomPath, p.oom = cstr("/proc/self/oom_score_adj"), []byte(strconv.Itoa(*proc.OOMScoreAdj))
	}
	pers, ok, err := personality(s.Linux.Personality)
	if err != nil {
		return err
	}
	p.setPersonality, p.personality = ok, uintptr(pers)
	keep, ok, err := boundingMask(proc.Capabilities)
	if err != nil {
		return err
	}
	if ok {
		for c := uintptr(0); c < 64; c++ {
			if keep&(1<<c) == 0 {
				p.dropCaps = append(p.dropCaps, c)
			}
		}
	}
	if p.filterProg, err = seccomp.Compile(s.Linux.Seccomp); err != nil {
		return fmt.Errorf("linux.seccomp: %w", err)
	}
	if len(p.filterProg) > 0 {
		p.filter = unix.SockFprog{Len: uint16(len(p.filterProg)), Filter: &p.filterProg[0]}
	}
	u := proc.User
	if len(u.AdditionalGids) > 0 {
		p.setGroups = true
		p.groups = append(p.groups, u.AdditionalGids...)
	}
	p.uid, p.gid = u.UID, u.GID
	if u.Umask != nil {
		p.umask = int(*u.Umask)
	}
	cwd := proc.Cwd
	if cwd == "" {
		cwd = "/"
	}
	p.cwd = cstr(cwd)
	p.noNewPrivs = proc.NoNewPrivileges
	if len(proc.Args) == 0 || proc.Args[0] == "" {
		return fmt.Errorf("%w: no process to run", ErrInvalidSpec)
	}
	for _, c := range execCandidates(proc.Args[0], proc.Env) {
		p.candidates = append(p.candidates, cstr(c))
	}
	for _, list := range [][]string{proc.Args, proc.Env} {
		for _, a := range list {
			if strings.IndexByte(a, 0) >= 0 {
				return fmt.Errorf("%w: NUL in %q", ErrInvalidSpec, a)
			}
		}
	}
	p.argv, p.envp = cstrs(proc.Args...), cstrs(proc.Env...)
	return nil
}

// execCandidates are the paths an exec of file tries (init's execProcess,
// an attached process): file itself when it has a slash, else file in
// each directory of the container's PATH (its own, from env, else
// DefaultPath), as execvp does.
func execCandidates(file string, env []string) []string {
	if strings.Contains(file, "/") {
		return []string{file}
	}
	dirs := DefaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			dirs = v
		}
	}
	var out []string
	for _, d := range strings.Split(dirs, ":") {
		if d == "" {
			d = "."
		}
		out = append(out, path.Join(d, file))
	}
	return out
}

// newRawPath prepares the container path unsafePath for mkdirAllInRoot.
func newRawPath(unsafePath string) (rawPath, error) {
	if strings.IndexByte(unsafePath, 0) >= 0 {
		return rawPath{}, fmt.Errorf("%w: NUL in path %q", ErrInvalidSpec, unsafePath)
	}
	clean := path.Clean("/" + unsafePath)
	rp := rawPath{full: cstr(clean)}
	if clean == "/" {
		return rp, nil
	}
	parts := strings.Split(clean[1:], "/")
	for i, name := range parts {
		prefix := "/" + strings.Join(parts[:i+1], "/")
		rp.prefixes = append(rp.prefixes, cstr(prefix))
		rp.names = append(rp.names, cstr(name))
		rp.text = append(rp.text, prefix)
	}
	return rp, nil
}

// textAt is the path component comp of rp as text (-1: the whole path).
func (rp *rawPath) textAt(comp int) string {
	if comp < 0 || comp >= len(rp.text) {
		if len(rp.text) == 0 {
			return "/"
		}
		return rp.text[len(rp.text)-1]
	}
	return rp.text[comp]
}

// cstr is s as a C string; callers have checked it has no NUL.
func cstr(s string) *byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return &b[0]
}

// cstrs is a NULL-terminated array of C strings.
func cstrs(ss ...string) []*byte {
	out := make([]*byte, 0, len(ss)+1)
	for _, s := range ss {
		out = append(out, cstr(s))
	}
	return append(out, nil)
}

// exposeCandidates are LXC's rootfs mount points that exist on this
// host, for a spec with mount hooks (compileInit).
func exposeCandidates(s *specs.Spec) []string {
	if s.Hooks == nil || len(s.Hooks.CreateContainer) == 0 {
		return nil
	}
	var out []string
	for _, pattern := range lxcRootfsMounts {
		dirs, _ := filepath.Glob(pattern)
		out = append(out, dirs...)
	}
	return out
}

// lxcRootfsMounts are where LXC mounts a container's root filesystem (the
// compiled-in default of lxc.rootfs.mount), first match wins. Mount hooks
// written for LXC need a LXC_ROOTFS_MOUNT that container root can walk and
// canonicalise: lxcfs's runs `readlink -f` on it, which fails on
// /proc/self/fd/3 (it resolves to the user's 0700 container directory).
// The move happens in the container's mount namespace, a slave of the
// host's, so the host never sees it; pivotRoot works on the root wherever
// it is mounted.
var lxcRootfsMounts = []string{"/usr/lib/*/lxc/rootfs", "/usr/lib/lxc/rootfs", "/usr/local/lib/lxc/rootfs"}

// describe turns init's report into the error the user sees.
func (p *initPlan) describe(r initReport) error {
	step, index, sub, comp := int(r[1]), int(int64(r[2])), int(r[3]), int(int64(r[4]))
	errno := syscall.Errno(r[5])
	extra := r[6]
	s := p.cfg.Spec
	wrap := func(format string, args ...any) error {
		if errno == 0 {
			return &ChildError{Msg: fmt.Sprintf(format, args...)}
		}
		return &ChildError{Msg: fmt.Sprintf(format, args...) + ": " + errno.Error(), Errno: errno}
	}
	pathOp := func(rp *rawPath) string {
		switch sub {
		case subOpen:
			return "open " + rp.textAt(comp)
		case subMkdir:
			return "mkdir " + rp.textAt(comp)
		case subCreate:
			return "create " + rp.textAt(comp)
		case subStatfs:
			return "statfs"
		case subRemount:
			return "remount " + describeFlags(uintptr(extra))
		case subPropagation:
			return "set propagation"
		}
		return ""
	}
	join := func(a, b string) string {
		if b == "" {
			return a
		}
		return a + ": " + b
	}
	// The record comes from another process: an index that does not fit
	// the plan is a malformed report, never a panic here.
	bound := -1
	switch step {
	case stSource, stMount:
		bound = len(p.mounts)
	case stSysctl:
		bound = len(p.sysctlKey)
	case stHook:
		bound = hookKinds * maxHooks(p)
	case stLink:
		bound = len(devLinks)
	case stConsole:
		bound = len(p.ttys)
	case stMask:
		bound = len(p.masked)
	case stReadonly:
		bound = len(p.readonly)
	case stRlimit:
		bound = len(p.rlimits)
	}
	if bound >= 0 && (index >= bound || index < 0 && !(step == stLink && index == -1)) ||
		step == stOOM && s.Process.OOMScoreAdj == nil || step == stExec && len(s.Process.Args) == 0 {
		return &ChildError{Msg: fmt.Sprintf("init: malformed report %v", r), Errno: errno}
	}
	switch step {
	case stFD:
		return wrap("init: place descriptor %d", index)
	case stEnter:
		switch sub {
		case subRead:
			return wrap("enter user namespace: wait for parent")
		case subGoAhead:
			return wrap("enter user namespace: no go-ahead from the parent")
		case subSetgid:
			return wrap("enter user namespace: setresgid 0")
		case subSetgroups:
			return wrap("enter user namespace: setgroups")
		case subSetuid:
			return wrap("enter user namespace: setresuid 0")
		case subDeathSignal:
			return wrap("enter user namespace: set parent-death signal")
		case subParentGone:
			return wrap("enter user namespace: parent exited")
		case subDumpable:
			return wrap("enter user namespace: set dumpable")
		}
	case stRootfs:
		return wrap("open rootfs %s", s.Root.Path)
	case stSource:
		if index >= len(s.Mounts) {
			return wrap("device %s: open", p.mounts[index].name)
		}
		m := s.Mounts[index]
		return wrap("mount %s on %s: open source", m.Source, m.Destination)
	case stUnshare:
		return wrap("new %s namespace", namespaceNames(p.late))
	case stSysctl:
		k := p.sysctlKey[index]
		v := string(p.sysctls[index].value)
		if p.sysctlOwn[index] {
			return wrap("set %s = %s (so that the container's groups may ping)", k, v)
		}
		if errno == unix.EPERM || errno == unix.EACCES || errno == unix.EROFS {
			return fmt.Errorf("%w: lxc.sysctl.%s = %s: %w", ErrSysctl, k, v, errno)
		}
		return wrap("lxc.sysctl.%s = %s", k, v)
	case stSlave:
		return wrap("make / a slave mount")
	case stHook:
		kind, i := index%hookKinds, index/hookKinds
		if i >= len(p.hookPaths[kind]) {
			return fmt.Errorf("init: malformed report %v", r)
		}
		name := fmt.Sprintf("%s hook %s", hookKindTypes[kind], p.hookPaths[kind][i])
		switch {
		case sub == subTimeout:
			return &ChildError{Msg: fmt.Sprintf("%s: still running after %ds, killed", name, p.hooks[kind].progs[i].timeout.Sec)}
		case sub == subWait && errno == 0:
			// As os/exec says it, which the hooks that run on the host use.
			ws := syscall.WaitStatus(uint32(extra))
			if ws.Signaled() {
				return &ChildError{Msg: name + ": signal: " + ws.Signal().String()}
			}
			return &ChildError{Msg: fmt.Sprintf("%s: exit status %d", name, ws.ExitStatus())}
		case sub == subExec:
			return wrap("%s: exec", name)
		case sub == subClone:
			return wrap("%s: fork", name)
		}
		return wrap("%s: wait", name)
	case stOverlay:
		return p.describeOverlay(index, sub, errno)
	case stBindRootfs:
		if sub == subClone {
			return wrap("bind rootfs: clone mount")
		}
		return wrap("bind rootfs: attach mount")
	case stMount:
		m := &p.mounts[index]
		if index >= len(s.Mounts) { // a device node (compileDev)
			if sub == subMount {
				return wrap("bind device %s", m.name)
			}
			return wrap("%s", join("device "+m.name, pathOp(&m.dest)))
		}
		op := pathOp(&m.dest)
		if sub == subMissing {
			op = "source " + s.Mounts[index].Source
		}
		return wrap("%s", join(fmt.Sprintf("mount %s on %s", m.name, s.Mounts[index].Destination), op))
	case stLink:
		if index < 0 {
			return wrap("open /dev")
		}
		return wrap("symlink /dev/%s", devLinks[index][0])
	case stConsole:
		name := p.ttys[index].textAt(-1)
		switch sub {
		case subUnlock:
			return wrap("%s: unlock pty", name)
		case subPeer:
			return wrap("%s: open pty peer", name)
		case subSize:
			return wrap("size %s", name)
		case subMount:
			return wrap("bind %s", name)
		}
		return wrap("%s", join(name, pathOp(&p.ttys[index])))
	case stSendPtys:
		return wrap("send pty masters")
	case stLoopback:
		return wrap("bring up lo")
	case stNetwork:
		switch sub {
		case subOpen:
			return wrap("network: open %s", [...]string{"/proc/self/ns/net", "/proc/self/ns/user"}[min(max(index, 0), 1)])
		case subWrite:
			return wrap("network: send namespaces to the supervisor")
		case subRead:
			return wrap("network: wait for the supervisor")
		}
		return wrap("network: no go-ahead from the supervisor")
	case stMask:
		return wrap("%s", join("mask "+p.masked[index].textAt(-1), pathOp(&p.masked[index])))
	case stReadonly:
		return wrap("%s", join("make "+p.readonly[index].textAt(-1)+" read-only", pathOp(&p.readonly[index])))
	case stPivot:
		return wrap("pivot_root")
	case stRootRO:
		return wrap("%s", join("read-only root", pathOp(&rawPath{})))
	case stHostname:
		return wrap("set hostname %q", s.Hostname)
	case stDomainname:
		return wrap("set domain name %q", s.Domainname)
	case stRlimit:
		return wrap("set %s", p.rlimits[index].name)
	case stTerminal:
		switch sub {
		case subSetsid:
			return wrap("setsid")
		case subCtty:
			return wrap("set controlling terminal")
		}
		return wrap("console stdio")
	case stOOM:
		n := *s.Process.OOMScoreAdj
		if errno == unix.EACCES || errno == unix.EPERM {
			return wrap("lxc.proc.oom_score_adj = %d: lowering the score needs root on the host", n)
		}
		return wrap("lxc.proc.oom_score_adj = %d", n)
	case stPersonality:
		return wrap("personality %#x", p.personality)
	case stBounding:
		return wrap("drop capability %d from the bounding set", index)
	case stSeccomp:
		return wrap("install seccomp filter")
	case stSetgroups:
		return wrap("setgroups")
	case stSetgid:
		return wrap("setgid %d", p.gid)
	case stSetuid:
		return wrap("setuid %d", p.uid)
	case stChdir:
		return wrap("chdir %s", cwdOf(s.Process))
	case stNoNewPrivs:
		return wrap("set no_new_privs")
	case stExec:
		file := s.Process.Args[0]
		if !strings.Contains(file, "/") && (errno == unix.ENOENT || errno == unix.ENOTDIR) {
			return &ChildError{Msg: fmt.Sprintf("exec %s: %v in $PATH", file, errno), Errno: errno}
		}
		return wrap("exec %s", file)
	}
	return &ChildError{Msg: fmt.Sprintf("init: unknown report %v", r), Errno: errno}
}

func cwdOf(p *specs.Process) string {
	if p.Cwd == "" {
		return "/"
	}
	return p.Cwd
}

// namespaceNames names the namespaces in flags, for messages.
func namespaceNames(flags uintptr) string {
	var names []string
	for _, ns := range []struct {
		flag uintptr
		name string
	}{{unix.CLONE_NEWNET, "network"}, {unix.CLONE_NEWIPC, "IPC"}, {unix.CLONE_NEWUTS, "UTS"},
		{unix.CLONE_NEWCGROUP, "cgroup"}} {
		if flags&ns.flag != 0 {
			names = append(names, ns.name)
		}
	}
	return strings.Join(names, ", ")
}

var rlimits = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}

// inRoot is how every path of the container is resolved: as if root were
// "/", absolute symlinks included, and never through /proc magic links.
const inRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// maxHooks is the most hooks of one kind.
func maxHooks(p *initPlan) int {
	n := 0
	for _, h := range p.hooks {
		n = max(n, len(h.progs))
	}
	return n
}
