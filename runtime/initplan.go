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
	"github.com/ulxc/ulxc/internal/rawproc"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/seccomp"
	"golang.org/x/sys/unix"
)

var hookKindTypes = [rawproc.HookKinds]HookType{HookPreMount, HookMount, HookStart}

// initPlan is init's plan and what the supervisor keeps beside it to
// describe a failure; init never reads the latter.
type initPlan struct {
	rawproc.Plan
	filterProg  seccomp.Program // what filter points to
	cfg         *initConfig
	sysctlKey   []string
	sysctlOwn   []bool // the sysctl is the runtime's, not the spec's
	hookPaths   [rawproc.HookKinds][]string
	overlayText ocispec.Overlay
}

// compileInit works out init's steps for cfg. expose are LXC's rootfs
// mount points on this host (lxcRootfsMounts). Every error a spec can
// cause is found here, before anything is forked.
func compileInit(cfg *initConfig, expose []string) (*initPlan, error) {
	s := cfg.Spec
	p := &initPlan{cfg: cfg, Plan: rawproc.Plan{DevTmp: -1, Umask: -1, Rootfs: -1, Root: -1, ConsoleSlave: -1, Exposed: -1, OvlTarget: -1,
		Late: cfg.Unshare, NewNet: cfg.NewNet, Console: cfg.Console, AllSignals: ^uint64(0)}}
	p.Empty, p.Slash, p.Dot = cstr(""), cstr("/"), cstr(".")
	p.Tmpfs, p.MaskData, p.DevNull = cstr("tmpfs"), cstr("size=0,mode=0555"), cstr("/dev/null")
	p.RootfsPath = cstr(s.Root.Path)
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
		p.Sysctls = append(p.Sysctls, rawproc.Sysctl{Path: cstr("/proc/sys/" + strings.ReplaceAll(k, ".", "/")), Value: []byte(v)})
		p.sysctlKey = append(p.sysctlKey, k)
		p.sysctlOwn = append(p.sysctlOwn, false)
	}
	if cfg.NetPhase {
		p.compileNetPhase(s)
	}

	if err := p.compileMounts(s); err != nil {
		return nil, err
	}
	if p.DevTmp >= 0 {
		if err := p.compileDev(s); err != nil {
			return nil, err
		}
	}
	p.Mounted = make([]bool, len(p.Mounts))
	if cfg.Console {
		p.compileConsole(cfg)
	}
	if cfg.NewNet {
		copy(p.Ifr[:], "lo")
	}
	if err := p.compileHooks(cfg, expose); err != nil {
		return nil, err
	}
	for _, m := range s.Linux.MaskedPaths {
		rp, err := newRawPath(m)
		if err != nil {
			return nil, err
		}
		p.Masked = append(p.Masked, rp)
	}
	for _, m := range s.Linux.ReadonlyPaths {
		rp, err := newRawPath(m)
		if err != nil {
			return nil, err
		}
		p.Readonly = append(p.Readonly, rp)
	}
	p.RootRO = s.Root.Readonly
	p.Hostname, p.Domainname = []byte(s.Hostname), []byte(s.Domainname)
	for _, rl := range s.Process.Rlimits {
		res, ok := rlimits[rl.Type]
		if !ok {
			return nil, fmt.Errorf("%w: unknown rlimit %q", ErrInvalidSpec, rl.Type)
		}
		p.Rlimits = append(p.Rlimits, rawproc.Rlimit{Resource: res, Limit: unix.Rlimit{Cur: rl.Soft, Max: rl.Hard}, Name: rl.Type})
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
	p.NetPhase = true
	p.NSPaths = [2]*byte{cstr("/proc/self/ns/net"), cstr("/proc/self/ns/user")}
	p.NetText = []byte("ns")
	p.NetCmsg = unix.UnixRights(0, 0)
	p.NetFDs = unsafe.Slice((*int32)(unsafe.Pointer(&p.NetCmsg[unix.CmsgLen(0)])), 2)
	p.NetIov.Base = &p.NetText[0]
	p.NetIov.SetLen(len(p.NetText))
	p.NetMsg.Iov = &p.NetIov
	p.NetMsg.SetIovlen(1)
	p.NetMsg.Control = &p.NetCmsg[0]
	p.NetMsg.SetControllen(len(p.NetCmsg))
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
	p.Sysctls = append(p.Sysctls, rawproc.Sysctl{Path: cstr("/proc/sys/net/ipv4/ping_group_range"),
		Value: []byte(strconv.FormatUint(lo, 10) + " " + strconv.FormatUint(min(hi, 1<<31-1), 10))})
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
		m := rawproc.Mount{Optional: optional, Dest: dest, SrcFD: -1, Name: mountName(mnt), Requires: -1, Unless: -1}
		switch create {
		case createDir:
			m.Create = rawproc.CreateDir
		case createFile:
			m.Create = rawproc.CreateFile
		}
		m.Propagation = append(m.Propagation, o.propagation...)
		if isBind(mnt, o) {
			m.Bind = true
			m.Source = cstr(mnt.Source)
			m.Flags = o.flags
			m.Remount = o.flags &^ (unix.MS_BIND | unix.MS_REC)
			p.Mounts = append(p.Mounts, m)
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
		if fstype == "sysfs" && !p.NewNet {
			// sysfs shows the network namespace of its mounter: without
			// our own, the kernel refuses it; bind the host's read-only.
			m.HostSys = cstr("/sys")
			m.Remount = flags | unix.MS_RDONLY
		} else {
			m.Source, m.Fstype, m.Flags, m.Data = cstr(source), cstr(fstype), flags, cstr(data)
			if fstype == "devpts" && strings.Contains(data, "gid=") {
				m.AltData = cstr(dropOption(data, "gid="))
			}
		}
		if mnt.Destination == "/dev" && fstype == "tmpfs" {
			p.DevTmp = i
		}
		p.Mounts = append(p.Mounts, m)
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
		p.Mounts = append(p.Mounts, rawproc.Mount{Bind: true, Source: cstr(dp), SrcFD: -1, Create: rawproc.CreateFile, Dest: rp,
			Flags: unix.MS_BIND, Requires: p.DevTmp, Unless: mountOf(dp), Name: dp})
	}
	p.DevDir = cstr("/dev")
	for _, l := range devLinks {
		p.Links = append(p.Links, rawproc.Link{Name: cstr(l[0]), Target: cstr(l[1])})
	}
	return nil
}

// compileConsole prepares /dev/console and the ttys, and the message that
// sends their masters.
func (p *initPlan) compileConsole(cfg *initConfig) {
	p.Ptmx = cstr("/dev/pts/ptmx")
	names := []string{"console"}
	for i := 1; i <= cfg.TTYs; i++ {
		names = append(names, "tty"+strconv.Itoa(i))
	}
	for _, n := range names {
		rp, _ := newRawPath("/dev/" + n) // cannot fail: no NUL
		p.Ttys = append(p.Ttys, rp)
	}
	p.Winsize = unix.Winsize{Row: cfg.ConsoleRows, Col: cfg.ConsoleCols}
	p.PtyText = []byte(strings.Join(names, ","))
	p.PtyCmsg = unix.UnixRights(make([]int, len(names))...)
	p.Masters = unsafe.Slice((*int32)(unsafe.Pointer(&p.PtyCmsg[unix.CmsgLen(0)])), len(names))
	p.PtyIov.Base = &p.PtyText[0]
	p.PtyIov.SetLen(len(p.PtyText))
	p.PtyMsg.Iov = &p.PtyIov
	p.PtyMsg.SetIovlen(1)
	p.PtyMsg.Control = &p.PtyCmsg[0]
	p.PtyMsg.SetControllen(len(p.PtyCmsg))
}

// compileHooks prepares the hook helper's runs for the hooks that run in
// init: pre-mount, mount (CreateContainer) and start (StartContainer).
func (p *initPlan) compileHooks(cfg *initConfig, expose []string) error {
	s := cfg.Spec
	pre, err := preMountHooks(s)
	if err != nil {
		return err
	}
	lists := [rawproc.HookKinds][]specs.Hook{rawproc.HooksPreMount: pre}
	if s.Hooks != nil {
		lists[rawproc.HooksMount], lists[rawproc.HooksStart] = s.Hooks.CreateContainer, s.Hooks.StartContainer
	}
	for kind, hs := range lists {
		if len(hs) == 0 {
			continue
		}
		t := hookKindTypes[kind]
		env := hookEnv{Name: cfg.Name, ConfigPath: cfg.ConfigPath, RootfsPath: s.Root.Path}
		switch kind {
		case rawproc.HooksPreMount, rawproc.HooksMount:
			// Container root may not walk the user's 0700 directories to
			// the rootfs; it may walk from init's descriptor of it, fd 3.
			env.RootfsMount = "/proc/self/fd/3"
		case rawproc.HooksStart:
			env.RootfsMount = "/"
		}
		h := rawproc.Hooks{Run: true}
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
			hp := rawproc.Hook{Paths: cstrs(execCandidates(hk.Path, nil)...), Argv: cstrs(argv...), Envp: cstrs(base...)}
			hp.Paths = hp.Paths[:len(hp.Paths)-1]
			if hk.Timeout != nil && *hk.Timeout > 0 {
				hp.Limited, hp.Timeout = true, unix.NsecToTimespec(int64(*hk.Timeout)*1e9)
			}
			if kind == rawproc.HooksMount {
				for _, dir := range expose {
					e := env
					e.RootfsMount = dir
					hp.ExposedEnvp = append(hp.ExposedEnvp, cstrs(append(append([]string{"PATH=" + DefaultPath}, hk.Env...), e.vars(t)...)...))
				}
			}
			h.Progs = append(h.Progs, hp)
			p.hookPaths[kind] = append(p.hookPaths[kind], hk.Path)
		}
		if kind == rawproc.HooksMount {
			p.Expose = nil
			for _, dir := range expose {
				p.Expose = append(p.Expose, cstr(dir))
			}
		}
		p.Hooks[kind] = h
	}
	return nil
}

// compileProcess prepares the exec of the container's process.
func (p *initPlan) compileProcess(s *specs.Spec) error {
	proc := s.Process
	if proc.OOMScoreAdj != nil {
		p.OOMPath, p.OOM = cstr("/proc/self/oom_score_adj"), []byte(strconv.Itoa(*proc.OOMScoreAdj))
	}
	pers, ok, err := personality(s.Linux.Personality)
	if err != nil {
		return err
	}
	p.SetPersonality, p.Personality = ok, uintptr(pers)
	keep, ok, err := boundingMask(proc.Capabilities)
	if err != nil {
		return err
	}
	if ok {
		for c := uintptr(0); c < 64; c++ {
			if keep&(1<<c) == 0 {
				p.DropCaps = append(p.DropCaps, c)
			}
		}
	}
	if p.filterProg, err = seccomp.Compile(s.Linux.Seccomp); err != nil {
		return fmt.Errorf("linux.seccomp: %w", err)
	}
	if len(p.filterProg) > 0 {
		p.Filter = unix.SockFprog{Len: uint16(len(p.filterProg)), Filter: &p.filterProg[0]}
	}
	u := proc.User
	if len(u.AdditionalGids) > 0 {
		p.SetGroups = true
		p.Groups = append(p.Groups, u.AdditionalGids...)
	}
	p.UID, p.GID = u.UID, u.GID
	if u.Umask != nil {
		p.Umask = int(*u.Umask)
	}
	cwd := proc.Cwd
	if cwd == "" {
		cwd = "/"
	}
	p.Cwd = cstr(cwd)
	p.NoNewPrivs = proc.NoNewPrivileges
	if len(proc.Args) == 0 || proc.Args[0] == "" {
		return fmt.Errorf("%w: no process to run", ErrInvalidSpec)
	}
	for _, c := range execCandidates(proc.Args[0], proc.Env) {
		p.Candidates = append(p.Candidates, cstr(c))
	}
	for _, list := range [][]string{proc.Args, proc.Env} {
		for _, a := range list {
			if strings.IndexByte(a, 0) >= 0 {
				return fmt.Errorf("%w: NUL in %q", ErrInvalidSpec, a)
			}
		}
	}
	p.Argv, p.Envp = cstrs(proc.Args...), cstrs(proc.Env...)
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
func newRawPath(unsafePath string) (rawproc.Path, error) {
	if strings.IndexByte(unsafePath, 0) >= 0 {
		return rawproc.Path{}, fmt.Errorf("%w: NUL in path %q", ErrInvalidSpec, unsafePath)
	}
	clean := path.Clean("/" + unsafePath)
	rp := rawproc.Path{Full: cstr(clean)}
	if clean == "/" {
		return rp, nil
	}
	parts := strings.Split(clean[1:], "/")
	for i, name := range parts {
		prefix := "/" + strings.Join(parts[:i+1], "/")
		rp.Prefixes = append(rp.Prefixes, cstr(prefix))
		rp.Names = append(rp.Names, cstr(name))
		rp.Text = append(rp.Text, prefix)
	}
	return rp, nil
}

// pathText is the path component comp of rp as text (-1: the whole path).
func pathText(rp *rawproc.Path, comp int) string {
	if comp < 0 || comp >= len(rp.Text) {
		if len(rp.Text) == 0 {
			return "/"
		}
		return rp.Text[len(rp.Text)-1]
	}
	return rp.Text[comp]
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
func (p *initPlan) describe(r rawproc.Report) error {
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
	pathOp := func(rp *rawproc.Path) string {
		switch sub {
		case rawproc.SubOpen:
			return "open " + pathText(rp, comp)
		case rawproc.SubMkdir:
			return "mkdir " + pathText(rp, comp)
		case rawproc.SubCreate:
			return "create " + pathText(rp, comp)
		case rawproc.SubStatfs:
			return "statfs"
		case rawproc.SubRemount:
			return "remount " + describeFlags(uintptr(extra))
		case rawproc.SubPropagation:
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
	case rawproc.StSource, rawproc.StMount:
		bound = len(p.Mounts)
	case rawproc.StSysctl:
		bound = len(p.sysctlKey)
	case rawproc.StHook:
		bound = rawproc.HookKinds * maxHooks(p)
	case rawproc.StLink:
		bound = len(devLinks)
	case rawproc.StConsole:
		bound = len(p.Ttys)
	case rawproc.StMask:
		bound = len(p.Masked)
	case rawproc.StReadonly:
		bound = len(p.Readonly)
	case rawproc.StRlimit:
		bound = len(p.Rlimits)
	}
	if bound >= 0 && (index >= bound || index < 0 && !(step == rawproc.StLink && index == -1)) ||
		step == rawproc.StOOM && s.Process.OOMScoreAdj == nil || step == rawproc.StExec && len(s.Process.Args) == 0 {
		return &ChildError{Msg: fmt.Sprintf("init: malformed report %v", r), Errno: errno}
	}
	switch step {
	case rawproc.StFD:
		return wrap("init: place descriptor %d", index)
	case rawproc.StEnter:
		switch sub {
		case rawproc.SubRead:
			return wrap("enter user namespace: wait for parent")
		case rawproc.SubGoAhead:
			return wrap("enter user namespace: no go-ahead from the parent")
		case rawproc.SubSetgid:
			return wrap("enter user namespace: setresgid 0")
		case rawproc.SubSetgroups:
			return wrap("enter user namespace: setgroups")
		case rawproc.SubSetuid:
			return wrap("enter user namespace: setresuid 0")
		case rawproc.SubDeathSignal:
			return wrap("enter user namespace: set parent-death signal")
		case rawproc.SubParentGone:
			return wrap("enter user namespace: parent exited")
		case rawproc.SubDumpable:
			return wrap("enter user namespace: set dumpable")
		}
	case rawproc.StRootfs:
		return wrap("open rootfs %s", s.Root.Path)
	case rawproc.StSource:
		if index >= len(s.Mounts) {
			return wrap("device %s: open", p.Mounts[index].Name)
		}
		m := s.Mounts[index]
		return wrap("mount %s on %s: open source", m.Source, m.Destination)
	case rawproc.StUnshare:
		return wrap("new %s namespace", namespaceNames(p.Late))
	case rawproc.StSysctl:
		k := p.sysctlKey[index]
		v := string(p.Sysctls[index].Value)
		if p.sysctlOwn[index] {
			return wrap("set %s = %s (so that the container's groups may ping)", k, v)
		}
		if errno == unix.EPERM || errno == unix.EACCES || errno == unix.EROFS {
			return fmt.Errorf("%w: lxc.sysctl.%s = %s: %w", ErrSysctl, k, v, errno)
		}
		return wrap("lxc.sysctl.%s = %s", k, v)
	case rawproc.StSlave:
		return wrap("make / a slave mount")
	case rawproc.StHook:
		kind, i := index%rawproc.HookKinds, index/rawproc.HookKinds
		if i >= len(p.hookPaths[kind]) {
			return fmt.Errorf("init: malformed report %v", r)
		}
		name := fmt.Sprintf("%s hook %s", hookKindTypes[kind], p.hookPaths[kind][i])
		switch {
		case sub == rawproc.SubTimeout:
			return &ChildError{Msg: fmt.Sprintf("%s: still running after %ds, killed", name, p.Hooks[kind].Progs[i].Timeout.Sec)}
		case sub == rawproc.SubWait && errno == 0:
			// As os/exec says it, which the hooks that run on the host use.
			ws := syscall.WaitStatus(uint32(extra))
			if ws.Signaled() {
				return &ChildError{Msg: name + ": signal: " + ws.Signal().String()}
			}
			return &ChildError{Msg: fmt.Sprintf("%s: exit status %d", name, ws.ExitStatus())}
		case sub == rawproc.SubExec:
			return wrap("%s: exec", name)
		case sub == rawproc.SubClone:
			return wrap("%s: fork", name)
		}
		return wrap("%s: wait", name)
	case rawproc.StOverlay:
		return p.describeOverlay(index, sub, errno)
	case rawproc.StBindRootfs:
		if sub == rawproc.SubClone {
			return wrap("bind rootfs: clone mount")
		}
		return wrap("bind rootfs: attach mount")
	case rawproc.StMount:
		m := &p.Mounts[index]
		if index >= len(s.Mounts) { // a device node (compileDev)
			if sub == rawproc.SubMount {
				return wrap("bind device %s", m.Name)
			}
			return wrap("%s", join("device "+m.Name, pathOp(&m.Dest)))
		}
		op := pathOp(&m.Dest)
		if sub == rawproc.SubMissing {
			op = "source " + s.Mounts[index].Source
		}
		return wrap("%s", join(fmt.Sprintf("mount %s on %s", m.Name, s.Mounts[index].Destination), op))
	case rawproc.StLink:
		if index < 0 {
			return wrap("open /dev")
		}
		return wrap("symlink /dev/%s", devLinks[index][0])
	case rawproc.StConsole:
		name := pathText(&p.Ttys[index], -1)
		switch sub {
		case rawproc.SubUnlock:
			return wrap("%s: unlock pty", name)
		case rawproc.SubPeer:
			return wrap("%s: open pty peer", name)
		case rawproc.SubSize:
			return wrap("size %s", name)
		case rawproc.SubMount:
			return wrap("bind %s", name)
		}
		return wrap("%s", join(name, pathOp(&p.Ttys[index])))
	case rawproc.StSendPtys:
		return wrap("send pty masters")
	case rawproc.StLoopback:
		return wrap("bring up lo")
	case rawproc.StNetwork:
		switch sub {
		case rawproc.SubOpen:
			return wrap("network: open %s", [...]string{"/proc/self/ns/net", "/proc/self/ns/user"}[min(max(index, 0), 1)])
		case rawproc.SubWrite:
			return wrap("network: send namespaces to the supervisor")
		case rawproc.SubRead:
			return wrap("network: wait for the supervisor")
		}
		return wrap("network: no go-ahead from the supervisor")
	case rawproc.StMask:
		return wrap("%s", join("mask "+pathText(&p.Masked[index], -1), pathOp(&p.Masked[index])))
	case rawproc.StReadonly:
		return wrap("%s", join("make "+pathText(&p.Readonly[index], -1)+" read-only", pathOp(&p.Readonly[index])))
	case rawproc.StPivot:
		return wrap("pivot_root")
	case rawproc.StRootRO:
		return wrap("%s", join("read-only root", pathOp(&rawproc.Path{})))
	case rawproc.StHostname:
		return wrap("set hostname %q", s.Hostname)
	case rawproc.StDomainname:
		return wrap("set domain name %q", s.Domainname)
	case rawproc.StRlimit:
		return wrap("set %s", p.Rlimits[index].Name)
	case rawproc.StTerminal:
		switch sub {
		case rawproc.SubSetsid:
			return wrap("setsid")
		case rawproc.SubCtty:
			return wrap("set controlling terminal")
		}
		return wrap("console stdio")
	case rawproc.StOOM:
		n := *s.Process.OOMScoreAdj
		if errno == unix.EACCES || errno == unix.EPERM {
			return wrap("lxc.proc.oom_score_adj = %d: lowering the score needs root on the host", n)
		}
		return wrap("lxc.proc.oom_score_adj = %d", n)
	case rawproc.StPersonality:
		return wrap("personality %#x", p.Personality)
	case rawproc.StBounding:
		return wrap("drop capability %d from the bounding set", index)
	case rawproc.StSeccomp:
		return wrap("install seccomp filter")
	case rawproc.StSetgroups:
		return wrap("setgroups")
	case rawproc.StSetgid:
		return wrap("setgid %d", p.GID)
	case rawproc.StSetuid:
		return wrap("setuid %d", p.UID)
	case rawproc.StChdir:
		return wrap("chdir %s", cwdOf(s.Process))
	case rawproc.StNoNewPrivs:
		return wrap("set no_new_privs")
	case rawproc.StExec:
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

// maxHooks is the most hooks of one kind.
func maxHooks(p *initPlan) int {
	n := 0
	for _, h := range p.Hooks {
		n = max(n, len(h.Progs))
	}
	return n
}
