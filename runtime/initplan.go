package runtime

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/internal/rawproc"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/seccomp"
	"github.com/ulxc/ulxc/userns"
	"golang.org/x/sys/unix"
)

var hookKindTypes = [rawproc.HookKinds]HookType{HookPreMount, HookClone, HookMount, HookStart}

// initPlan is init's plan and what the supervisor keeps beside it to
// describe a failure and read what init sends; init never reads the
// latter.
type initPlan struct {
	rawproc.Plan
	filterProg seccomp.Program // what filter points to
	cfg        *initConfig
	msgs       []initMsg   // by rawproc.Msg
	stopKinds  []int       // the namespaces in StopNS, by their index in nsKinds
	fuse       *fuseLayers // the layers fuse-overlayfs serves, with Overlay.Fuse
}

// compileInit works out init's steps for cfg. expose are LXC's rootfs
// mount points on this host (lxcRootfsMounts). Every error a spec can
// cause is found here, before anything is forked.
func compileInit(cfg *initConfig, expose []string) (*initPlan, error) {
	s := cfg.Spec
	p := &initPlan{cfg: cfg, Plan: rawproc.Plan{DevTmp: -1, Rootfs: -1, Root: -1, ConsoleSlave: -1, Exposed: -1, OvlTarget: -1,
		Late: cfg.Unshare, NewNet: cfg.NewNet, Console: cfg.Console, AllSignals: ^uint64(0), GoAhead: userns.GoAhead}}
	p.Empty, p.Slash, p.Dot = cstr(""), cstr("/"), cstr(".")
	p.Tmpfs, p.MaskData, p.DevNull = cstr("tmpfs"), cstr("size=0,mode=0555"), cstr("/dev/null")
	p.RootfsPath = cstr(s.Root.Path)
	p.msgs = make([]initMsg, rawproc.FixedMsgs, 2*rawproc.FixedMsgs)
	copy(p.msgs, initMessages[:])
	p.setMsg(rawproc.MsgRootfs, "open rootfs "+s.Root.Path, msgPlain)
	p.setMsg(rawproc.MsgUnshare, "new "+namespaceNames(cfg.Unshare)+" namespace", msgPlain)
	p.setMsg(rawproc.MsgHostname, fmt.Sprintf("set hostname %q", s.Hostname), msgPlain)
	p.setMsg(rawproc.MsgDomainname, fmt.Sprintf("set domain name %q", s.Domainname), msgPlain)
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
		p.Sysctls = append(p.Sysctls, rawproc.Sysctl{Path: cstr("/proc/sys/" + strings.ReplaceAll(k, ".", "/")), Value: []byte(v),
			Msg: p.addMsg(initMsg{text: "lxc.sysctl." + k + " = " + v, kind: msgSysctl})})
	}
	if hs, err := ocispec.AnnotatedHooks(s, string(HookStop)); err == nil && len(hs) > 0 {
		p.compileStopNS()
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
	p.MaskMsg = rawproc.Msg(len(p.msgs))
	for _, m := range s.Linux.MaskedPaths {
		rp, err := newRawPath(m)
		if err != nil {
			return nil, err
		}
		p.Masked = append(p.Masked, rp)
		p.addMsg(initMsg{text: "mask " + pathText(rp.Text, -1), path: rp.Text})
	}
	p.ReadonlyMsg = rawproc.Msg(len(p.msgs))
	for _, m := range s.Linux.ReadonlyPaths {
		rp, err := newRawPath(m)
		if err != nil {
			return nil, err
		}
		p.Readonly = append(p.Readonly, rp)
		p.addMsg(initMsg{text: "make " + pathText(rp.Text, -1) + " read-only", path: rp.Text})
	}
	p.RootRO = s.Root.Readonly
	p.Hostname, p.Domainname = []byte(s.Hostname), []byte(s.Domainname)
	for _, rl := range s.Process.Rlimits {
		res, ok := rlimitResource(rl.Type)
		if !ok {
			return nil, fmt.Errorf("%w: unknown rlimit %q", ErrInvalidSpec, rl.Type)
		}
		p.Rlimits = append(p.Rlimits, rawproc.Rlimit{Resource: res, Limit: unix.Rlimit{Cur: rl.Soft, Max: rl.Hard},
			Msg: p.addMsg(initMsg{text: "set " + rl.Type})})
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
	prepareNSSend(&p.NetNS, []string{"net", "user"}, "ns", rawproc.MsgNetOpenNet, rawproc.MsgNetSend)
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
	value := strconv.FormatUint(lo, 10) + " " + strconv.FormatUint(min(hi, 1<<31-1), 10)
	p.Sysctls = append(p.Sysctls, rawproc.Sysctl{Path: cstr("/proc/sys/net/ipv4/ping_group_range"), Value: []byte(value),
		Msg: p.addMsg(initMsg{text: "set " + pingKey + " = " + value + " (so that the container's groups may ping)"})})
}

// compileStopNS prepares the message that sends init's namespaces to
// the supervisor for the stop hooks (receiveStopNamespaces).
func (p *initPlan) compileStopNS() {
	p.stopKinds = stopNamespaceKinds()
	open := rawproc.Msg(len(p.msgs))
	var names []string
	for _, i := range p.stopKinds {
		names = append(names, nsKinds[i].proc)
		p.addMsg(initMsg{text: "stop hooks: open /proc/self/ns/" + nsKinds[i].proc})
	}
	prepareNSSend(&p.StopNS, names, "stop", open, rawproc.MsgStopNSSend)
}

// prepareNSSend prepares s, a message that sends init's namespaces
// /proc/self/ns/NAME for each of names, with text, in place: the message
// points into s.
func prepareNSSend(s *rawproc.NSSend, names []string, text string, open, send rawproc.Msg) {
	for _, n := range names {
		s.Paths = append(s.Paths, cstr("/proc/self/ns/"+n))
	}
	prepareSend(s, len(names), text, send)
	s.OpenMsg = open
}

// prepareSend prepares s, a message of n descriptors with text, in
// place, for descriptors init opens itself.
func prepareSend(s *rawproc.NSSend, n int, text string, send rawproc.Msg) {
	s.Text = []byte(text)
	s.Cmsg = unix.UnixRights(make([]int, n)...)
	s.FDs = unsafe.Slice((*int32)(unsafe.Pointer(&s.Cmsg[unix.CmsgLen(0)])), n)
	s.Iov.Base = &s.Text[0]
	s.Iov.SetLen(len(s.Text))
	s.Msg.Iov = &s.Iov
	s.Msg.SetIovlen(1)
	s.Msg.Control = &s.Cmsg[0]
	s.Msg.SetControllen(len(s.Cmsg))
	s.SendMsg = send
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
		m := rawproc.Mount{Optional: optional, Dest: dest, SrcFD: -1, Requires: -1, Unless: -1,
			Msg: p.addMsg(initMsg{text: "mount " + mountName(mnt) + " on " + mnt.Destination, path: dest.Text, source: mnt.Source})}
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
			Flags: unix.MS_BIND, Requires: p.DevTmp, Unless: mountOf(dp),
			Msg: p.addMsg(initMsg{text: "bind device " + dp, path: rp.Text, source: dp})})
	}
	p.DevDir = cstr("/dev")
	for _, l := range devLinks {
		p.Links = append(p.Links, rawproc.Link{Name: cstr(l[0]), Target: cstr(l[1]), Msg: p.addMsg(initMsg{text: "symlink /dev/" + l[0]})})
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
	p.TtyMsg = rawproc.Msg(len(p.msgs))
	for _, n := range names {
		rp, _ := newRawPath("/dev/" + n) // cannot fail: no NUL
		p.Ttys = append(p.Ttys, rp)
		p.addMsg(initMsg{text: "/dev/" + n, path: rp.Text})
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
// init: pre-mount, an ephemeral copy's clone hooks (cloneHooks), mount
// (CreateContainer) and start (StartContainer).
func (p *initPlan) compileHooks(cfg *initConfig, expose []string) error {
	s := cfg.Spec
	pre, err := preMountHooks(s)
	if err != nil {
		return err
	}
	clone, srcName, err := cloneHooks(s)
	if err != nil {
		return err
	}
	if len(clone) > 0 {
		// The clone hooks' mount namespaces go to the supervisor (the
		// message's failures are never reported: sendCloneNS), and the
		// hooks enter the caller's directory by its path (ownRoot).
		prepareNSSend(&p.CloneNS, []string{"mnt"}, "clone", rawproc.MsgNone, rawproc.MsgNone)
		if dir, err := os.Getwd(); err == nil && strings.IndexByte(dir, 0) < 0 {
			p.CloneDir = cstr(dir)
		}
	}
	lists := [rawproc.HookKinds][]specs.Hook{rawproc.HooksPreMount: pre, rawproc.HooksClone: clone}
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
		case rawproc.HooksClone:
			// Fd 3 is the mounted root here (forkHooks); LXC_ROOTFS_PATH
			// is the root as the config names it, as CloneHooks has it.
			env.RootfsMount, env.SrcName = "/proc/self/fd/3", srcName
			if o, ok := ocispec.SpecOverlay(s); ok {
				env.RootfsPath = o.String()
			}
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
			// Not the caller's environment, which CloneHooks passes on
			// the host: what a hook leaves running inside is container
			// root's to read.
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
			hp.Msg = p.addMsg(initMsg{text: fmt.Sprintf("%s hook %s", t, hk.Path), hook: t})
			h.Progs = append(h.Progs, hp)
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
		p.setMsg(rawproc.MsgOOM, "lxc.proc.oom_score_adj = "+strconv.Itoa(*proc.OOMScoreAdj), msgOOM)
	}
	pers, ok, err := personality(s.Linux.Personality)
	if err != nil {
		return err
	}
	p.SetPersonality, p.Personality = ok, uintptr(pers)
	p.setMsg(rawproc.MsgPersonality, fmt.Sprintf("personality %#x", p.Personality), msgPlain)
	keep, ok, err := boundingMask(proc.Capabilities)
	if err != nil {
		return err
	}
	p.Exec.Bounding, p.Exec.Keep = ok, keep
	if p.filterProg, err = seccomp.Compile(s.Linux.Seccomp); err != nil {
		return fmt.Errorf("linux.seccomp: %w", err)
	}
	if len(p.filterProg) > 0 {
		p.Exec.Filter = unix.SockFprog{Len: uint16(len(p.filterProg)), Filter: &p.filterProg[0]}
	}
	u := proc.User
	if len(u.AdditionalGids) > 0 {
		p.Exec.SetGroups = true
		p.Exec.Groups = append(p.Exec.Groups, u.AdditionalGids...)
	}
	p.Exec.UID, p.Exec.GID = u.UID, u.GID
	p.setMsg(rawproc.MsgSetgid, "setgid "+strconv.FormatUint(uint64(u.GID), 10), msgPlain)
	p.setMsg(rawproc.MsgSetuid, "setuid "+strconv.FormatUint(uint64(u.UID), 10), msgPlain)
	if u.Umask != nil {
		p.Exec.SetUmask, p.Exec.Umask = true, *u.Umask
	}
	cwd := proc.Cwd
	if cwd == "" {
		cwd = "/"
	}
	p.Exec.Dir = cstr(cwd)
	p.setMsg(rawproc.MsgChdir, "chdir "+cwd, msgPlain)
	p.Exec.NoNewPrivs = proc.NoNewPrivileges
	if len(proc.Args) == 0 || proc.Args[0] == "" {
		return fmt.Errorf("%w: no process to run", ErrInvalidSpec)
	}
	for _, c := range execCandidates(proc.Args[0], proc.Env) {
		p.Exec.Paths = append(p.Exec.Paths, cstr(c))
	}
	for _, list := range [][]string{proc.Args, proc.Env} {
		for _, a := range list {
			if strings.IndexByte(a, 0) >= 0 {
				return fmt.Errorf("%w: NUL in %q", ErrInvalidSpec, a)
			}
		}
	}
	p.Exec.Argv, p.Exec.Envp = cstrs(proc.Args...), cstrs(proc.Env...)
	p.setMsg(rawproc.MsgExec, "exec "+proc.Args[0], msgExec)
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
		out = append(out, globOneStar(pattern)...)
	}
	return out
}

// globOneStar is filepath.Glob for a pattern whose only metacharacter is
// one "*" that stands for a whole path component (lxcRootfsMounts): the
// paths that exist (Lstat), in order. Only the star's directory is read.
// Glob reads every directory the star matches too, to find the next
// component in it, and /usr/lib/* holds the 1,100 entries of the
// multiarch directory: that was 1.3 ms of every start with a mount hook
// (Debian's config has lxcfs's).
func globOneStar(pattern string) []string {
	dir, rest, ok := strings.Cut(pattern, "/*/")
	if !ok {
		if _, err := os.Lstat(pattern); err != nil {
			return nil
		}
		return []string{pattern}
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	sort.Strings(names)
	var out []string
	for _, n := range names {
		p := dir + "/" + n + "/" + rest
		if _, err := os.Lstat(p); err == nil {
			out = append(out, p)
		}
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

// rlimitResource is the resource of an OCI rlimit type. This package's
// lookup tables are switches, not maps: a package map is built when the
// program starts, by every ulxc command, attach and ls included.
func rlimitResource(typ string) (int, bool) {
	switch typ {
	case "RLIMIT_AS":
		return unix.RLIMIT_AS, true
	case "RLIMIT_CORE":
		return unix.RLIMIT_CORE, true
	case "RLIMIT_CPU":
		return unix.RLIMIT_CPU, true
	case "RLIMIT_DATA":
		return unix.RLIMIT_DATA, true
	case "RLIMIT_FSIZE":
		return unix.RLIMIT_FSIZE, true
	case "RLIMIT_LOCKS":
		return unix.RLIMIT_LOCKS, true
	case "RLIMIT_MEMLOCK":
		return unix.RLIMIT_MEMLOCK, true
	case "RLIMIT_MSGQUEUE":
		return unix.RLIMIT_MSGQUEUE, true
	case "RLIMIT_NICE":
		return unix.RLIMIT_NICE, true
	case "RLIMIT_NOFILE":
		return unix.RLIMIT_NOFILE, true
	case "RLIMIT_NPROC":
		return unix.RLIMIT_NPROC, true
	case "RLIMIT_RSS":
		return unix.RLIMIT_RSS, true
	case "RLIMIT_RTPRIO":
		return unix.RLIMIT_RTPRIO, true
	case "RLIMIT_RTTIME":
		return unix.RLIMIT_RTTIME, true
	case "RLIMIT_SIGPENDING":
		return unix.RLIMIT_SIGPENDING, true
	case "RLIMIT_STACK":
		return unix.RLIMIT_STACK, true
	}
	return 0, false
}
