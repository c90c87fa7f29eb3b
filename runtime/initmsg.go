package runtime

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"github.com/ulxc/ulxc/internal/rawproc"
	"golang.org/x/sys/unix"
)

// initMsg is what a failure of one of init's steps is called, worked out
// with the plan: init reports only the step's number (rawproc.Msg), what
// it was doing (rawproc.Op) and an errno, and describe puts them together.
type initMsg struct {
	text   string
	path   []string // the prefixes of the path the step works on, for an Op on it
	source string   // a bind's source, for OpSource
	kind   msgKind
	hook   HookType // the type of a hook's step (ChildError.Hook)
}

// msgKind is what describe does beyond text, op and errno.
type msgKind uint8

const (
	msgPlain   msgKind = iota
	msgArg             // text has a %d for the report's argument
	msgSysctl          // one of the spec's sysctls: a refusal is ErrSysctl
	msgOOM             // the OOM score: a refusal needs root on the host
	msgExec            // the container's process: a bare name not found is "in $PATH"
	msgOverlay         // the overlay's mount: a refusal is ErrOverlay
	msgFuseDev         // init's open of /dev/fuse: a refusal needs the host's root
)

// initMessages are the texts of init's fixed steps; compileInit adds
// those that name something of the spec, and one per item of the plan.
var initMessages = [rawproc.FixedMsgs]initMsg{
	rawproc.MsgPlaceFD:          {text: "init: place descriptor %d", kind: msgArg},
	rawproc.MsgSetsid:           {text: "setsid"},
	rawproc.MsgEnterRead:        {text: "enter user namespace: wait for parent"},
	rawproc.MsgEnterGoAhead:     {text: "enter user namespace: no go-ahead from the parent"},
	rawproc.MsgEnterSetgid:      {text: "enter user namespace: setresgid 0"},
	rawproc.MsgEnterSetgroups:   {text: "enter user namespace: setgroups"},
	rawproc.MsgEnterSetuid:      {text: "enter user namespace: setresuid 0"},
	rawproc.MsgDeathSignal:      {text: "enter user namespace: set parent-death signal"},
	rawproc.MsgParentGone:       {text: "enter user namespace: parent exited"},
	rawproc.MsgEnterDumpable:    {text: "enter user namespace: set dumpable"},
	rawproc.MsgSlave:            {text: "make / a slave mount"},
	rawproc.MsgBindRootfsClone:  {text: "bind rootfs: clone mount"},
	rawproc.MsgBindRootfsAttach: {text: "bind rootfs: attach mount"},
	rawproc.MsgDevDir:           {text: "open /dev"},
	rawproc.MsgSendPtys:         {text: "send pty masters"},
	rawproc.MsgLoopback:         {text: "bring up lo"},
	rawproc.MsgNetOpenNet:       {text: "network: open /proc/self/ns/net"},
	rawproc.MsgNetOpenUser:      {text: "network: open /proc/self/ns/user"},
	rawproc.MsgNetSend:          {text: "network: send namespaces to the supervisor"},
	rawproc.MsgNetRead:          {text: "network: wait for the supervisor"},
	rawproc.MsgNetGoAhead:       {text: "network: no go-ahead from the supervisor"},
	rawproc.MsgStopNSSend:       {text: "stop hooks: send namespaces to the supervisor"},
	rawproc.MsgPivot:            {text: "pivot_root"},
	rawproc.MsgRootRO:           {text: "read-only root", path: []string{"/"}},
	rawproc.MsgCtty:             {text: "set controlling terminal"},
	rawproc.MsgConsoleStdio:     {text: "console stdio"},
	rawproc.MsgOverlayTmpfs:     {text: "make the tmpfs upper layer"},
	rawproc.MsgOverlayHostname:  {text: "write /etc/hostname of the overlay"},
	rawproc.MsgBounding:         {text: "drop capability %d from the bounding set", kind: msgArg},
	rawproc.MsgSeccomp:          {text: "install seccomp filter"},
	rawproc.MsgSetgroups:        {text: "setgroups"},
	rawproc.MsgDumpable:         {text: "make the process non-dumpable"},
	rawproc.MsgNoNewPrivs:       {text: "set no_new_privs"},
}

// setMsg sets the text of the fixed step m.
func (p *initPlan) setMsg(m rawproc.Msg, text string, kind msgKind) {
	p.msgs[m] = initMsg{text: text, kind: kind}
}

// addMsg adds the message of a step of the plan's own and returns its
// number.
func (p *initPlan) addMsg(m initMsg) rawproc.Msg {
	p.msgs = append(p.msgs, m)
	return rawproc.Msg(len(p.msgs) - 1)
}

// opTexts are what describe says a step was doing (rawproc.Op), after
// the step's text; an op on a path names the path's component.
var opTexts = [...]string{
	rawproc.OpOpen: "open", rawproc.OpMkdir: "mkdir", rawproc.OpCreate: "create", rawproc.OpStatfs: "statfs",
	rawproc.OpRemount: "remount", rawproc.OpPropagation: "set propagation", rawproc.OpSource: "open source",
	rawproc.OpBind: "bind", rawproc.OpUnlock: "unlock pty", rawproc.OpPeer: "open pty peer",
	rawproc.OpSize: "set window size", rawproc.OpFork: "fork", rawproc.OpExec: "exec", rawproc.OpWait: "wait",
}

// describe turns init's report into the error the user sees; a hook's
// failure says which type of hook failed (ChildError.Hook).
func (p *initPlan) describe(f rawproc.Failure) error {
	err := p.describeStep(f)
	if ce, ok := err.(*ChildError); ok && uint64(f.Msg) < uint64(len(p.msgs)) {
		ce.Hook = p.msgs[f.Msg].hook
	}
	return err
}

func (p *initPlan) describeStep(f rawproc.Failure) error {
	errno := syscall.Errno(f.Errno)
	// The record comes from another process: a number that does not fit
	// the plan is a malformed report, never a panic here.
	if uint64(f.Msg) >= uint64(len(p.msgs)) || p.msgs[f.Msg].text == "" || f.Op > uint32(rawproc.OpTimeout) {
		return &ChildError{Msg: fmt.Sprintf("init: malformed report %+v", f), Errno: errno}
	}
	m := &p.msgs[f.Msg]
	text := m.text
	if m.kind == msgArg {
		text = strings.Replace(text, "%d", strconv.FormatUint(f.Arg, 10), 1)
	}
	switch op := rawproc.Op(f.Op); op {
	case rawproc.OpNone:
	case rawproc.OpOpen, rawproc.OpMkdir, rawproc.OpCreate:
		if m.path != nil {
			text += ": " + opTexts[op] + " " + pathText(m.path, int(int64(f.Arg)))
		}
	case rawproc.OpRemount:
		text += ": remount " + describeFlags(uintptr(f.Arg))
	case rawproc.OpSource:
		text += ": open source " + m.source
	case rawproc.OpTimeout:
		return &ChildError{Msg: fmt.Sprintf("%s: still running after %ds, killed", text, f.Arg)}
	case rawproc.OpWait:
		if errno != 0 {
			text += ": wait"
			break
		}
		// As os/exec says it, which the hooks that run on the host use.
		ws := syscall.WaitStatus(uint32(f.Arg))
		if ws.Signaled() {
			return &ChildError{Msg: text + ": signal: " + ws.Signal().String()}
		}
		return &ChildError{Msg: fmt.Sprintf("%s: exit status %d", text, ws.ExitStatus())}
	default:
		text += ": " + opTexts[op]
	}
	switch {
	case errno == 0:
		return &ChildError{Msg: text}
	case m.kind == msgSysctl && (errno == unix.EPERM || errno == unix.EACCES || errno == unix.EROFS):
		return fmt.Errorf("%w: %s: %w", ErrSysctl, text, errno)
	case m.kind == msgOOM && (errno == unix.EACCES || errno == unix.EPERM):
		text += ": lowering the score needs root on the host"
	case m.kind == msgExec && (errno == unix.ENOENT || errno == unix.ENOTDIR) && !strings.Contains(p.cfg.Spec.Process.Args[0], "/"):
		return &ChildError{Msg: fmt.Sprintf("%s: %v in $PATH", text, errno), Errno: errno}
	case m.kind == msgFuseDev && (errno == unix.EACCES || errno == unix.EPERM):
		text += ": " + errno.Error() + ": container root may not open it; as root: chmod 0666 " + fuseDevice + ", as stock Debian has it"
		return &ChildError{Msg: text, Errno: errno}
	case m.kind == msgOverlay && overlayRefused(errno):
		return fmt.Errorf("%w: %s: %w: %s", ErrOverlay, text, errno, overlayRefusal)
	}
	return &ChildError{Msg: text + ": " + errno.Error(), Errno: errno}
}

// parseFailure reads a rawproc.Failure record.
func parseFailure(b []byte) (rawproc.Failure, bool) {
	var f rawproc.Failure
	if len(b) < int(unsafe.Sizeof(f)) {
		return f, false
	}
	f.Msg = binary.NativeEndian.Uint32(b)
	f.Op = binary.NativeEndian.Uint32(b[4:])
	f.Errno = binary.NativeEndian.Uint64(b[8:])
	f.Arg = binary.NativeEndian.Uint64(b[16:])
	return f, true
}

// pathText is the path component comp of a path's prefixes (-1: the
// whole path).
func pathText(prefixes []string, comp int) string {
	if comp < 0 || comp >= len(prefixes) {
		if len(prefixes) == 0 {
			return "/"
		}
		return prefixes[len(prefixes)-1]
	}
	return prefixes[comp]
}
