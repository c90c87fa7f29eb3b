package seccomp

import (
	"errors"
	"fmt"
	"sort"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrUnsupported reports a part of a policy that Compile cannot express:
// an action, an argument operator, or a machine without syscall tables.
var ErrUnsupported = errors.New("unsupported seccomp policy")

// AUDIT_ARCH_* of <linux/audit.h>: what seccomp_data.arch says.
const (
	auditArchX8664   = 0xc000003e
	auditArchI386    = 0x40000003
	auditArchAArch64 = 0xc00000b7
	auditArchARM     = 0x40000028
)

// call is one syscall of an architecture's table, sorted by name.
type call struct {
	name string
	nr   uint32
}

// arch is an architecture whose syscalls the filter recognises: the
// machine's own and its 32-bit compat one.
type arch struct {
	name  string
	audit uint32
	calls []call
}

func (a *arch) lookup(name string) (uint32, bool) {
	i := sort.Search(len(a.calls), func(i int) bool { return a.calls[i].name >= name })
	if i < len(a.calls) && a.calls[i].name == name {
		return a.calls[i].nr, true
	}
	return 0, false
}

// Return values of a filter (<linux/seccomp.h>).
const (
	retKillProcess = 0x80000000
	retKillThread  = 0x00000000
	retTrap        = 0x00030000
	retErrno       = 0x00050000
	retLog         = 0x7ffc0000
	retAllow       = 0x7fff0000
)

// Offsets in struct seccomp_data.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// x32BIT marks the x32 syscalls of x86_64, which share its audit arch.
const x32Bit = 0x40000000

// maxInstructions is the kernel's BPF_MAXINSNS.
const maxInstructions = 4096

// Program is a compiled filter.
type Program []unix.SockFilter

// Compile turns s into a classic BPF filter for this machine's native and
// compat architectures: a syscall of another architecture, or an x32 one,
// gets ENOSYS; the rules of s are checked in order, the first that matches
// decides; the rest get s's default action. Syscall names that an
// architecture does not have are skipped for it, as runc and LXC do.
func Compile(s *specs.LinuxSeccomp) (Program, error) {
	if s == nil {
		return nil, nil
	}
	if len(native.calls) == 0 {
		return nil, fmt.Errorf("%w: no syscall table for this architecture", ErrUnsupported)
	}
	def, err := ret(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("default action: %w", err)
	}
	nb, err := block(&native, s, def)
	if err != nil {
		return nil, err
	}
	var cb []unix.SockFilter
	if compat != nil {
		if cb, err = block(compat, s, def); err != nil {
			return nil, err
		}
	}
	enosys := uint32(retErrno | uint32(unix.ENOSYS))
	p := Program{
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offArch),
		jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, native.audit, 0, 1),
		stmt(unix.BPF_JMP|unix.BPF_JA, 3), // to the native block
	}
	if compat != nil {
		p = append(p, jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, compat.audit, 0, 1),
			stmt(unix.BPF_JMP|unix.BPF_JA, uint32(1+len(nb))), // over the native block
			stmt(unix.BPF_RET|unix.BPF_K, enosys))
		p[2].K = 3
	} else {
		p = append(p, stmt(unix.BPF_RET|unix.BPF_K, enosys))
		p[2].K = 1
	}
	p = append(append(p, nb...), cb...)
	if len(p) > maxInstructions {
		return nil, fmt.Errorf("%w: %d instructions, more than the kernel's %d", ErrUnsupported, len(p), maxInstructions)
	}
	return p, nil
}

// block is the part of the filter for one architecture.
func block(a *arch, s *specs.LinuxSeccomp, def uint32) ([]unix.SockFilter, error) {
	b := []unix.SockFilter{stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offNr)}
	if a.audit == auditArchX8664 {
		b = append(b, jump(unix.BPF_JMP|unix.BPF_JGE|unix.BPF_K, x32Bit, 0, 1),
			stmt(unix.BPF_RET|unix.BPF_K, retErrno|uint32(unix.ENOSYS)))
	}
	for _, sc := range s.Syscalls {
		action, err := ret(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("syscalls %v: %w", sc.Names, err)
		}
		checks, err := argChecks(sc.Args)
		if err != nil {
			return nil, fmt.Errorf("syscalls %v: %w", sc.Names, err)
		}
		for _, name := range sc.Names {
			nr, ok := a.lookup(name)
			if !ok {
				continue
			}
			if len(checks) == 0 {
				b = append(b, jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, nr, 0, 1),
					stmt(unix.BPF_RET|unix.BPF_K, action))
				continue
			}
			// jeq nr; the checks, each jumping to the reload of the
			// syscall number when it fails; ret action; the reload.
			codes, total := make([][]unix.SockFilter, len(checks)), 0
			for i, c := range checks {
				codes[i] = c.code()
				total += len(codes[i])
			}
			b = append(b, jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, nr, 0, uint8(total+1)))
			rest := total
			for _, code := range codes {
				rest -= len(code)
				code[len(code)-1].Jf = uint8(rest + 1)
				b = append(b, code...)
			}
			b = append(b, stmt(unix.BPF_RET|unix.BPF_K, action), stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offNr))
		}
	}
	return append(b, stmt(unix.BPF_RET|unix.BPF_K, def)), nil
}

// check is one 32-bit half of an argument condition: (word & mask) == value.
type check struct {
	off         uint32
	mask, value uint32
}

// code loads the word, masks it and compares it; the caller sets where
// the comparison jumps when it fails (the last instruction's Jf).
func (c check) code() []unix.SockFilter {
	out := []unix.SockFilter{stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, c.off)}
	if c.mask != 0xffffffff {
		out = append(out, stmt(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, c.mask))
	}
	return append(out, jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, c.value, 0, 0))
}

// argChecks turns a rule's argument conditions into word checks; all must
// hold. Only SCMP_CMP_EQ and SCMP_CMP_MASKED_EQ (value the mask, valueTwo
// what the masked argument must be) can be said as equalities.
func argChecks(args []specs.LinuxSeccompArg) ([]check, error) {
	var out []check
	for _, a := range args {
		if a.Index > 5 {
			return nil, fmt.Errorf("%w: argument index %d", ErrUnsupported, a.Index)
		}
		var mask, value uint64
		switch a.Op {
		case specs.OpEqualTo:
			mask, value = ^uint64(0), a.Value
		case specs.OpMaskedEqual:
			mask, value = a.Value, a.ValueTwo
		default:
			return nil, fmt.Errorf("%w: argument operator %s", ErrUnsupported, a.Op)
		}
		off := uint32(offArgs + 8*a.Index)
		// Little-endian: the low word first (every architecture with
		// a table here).
		out = append(out, check{off, uint32(mask), uint32(value)})
		if mask>>32 != 0 || value>>32 != 0 {
			out = append(out, check{off + 4, uint32(mask >> 32), uint32(value >> 32)})
		}
	}
	return out, nil
}

// ret is the filter's return value for an action.
func ret(a specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	switch a {
	case specs.ActAllow:
		return retAllow, nil
	case specs.ActErrno:
		e := uint(unix.EPERM)
		if errnoRet != nil {
			e = *errnoRet
		}
		if e > 0xffff {
			return 0, fmt.Errorf("%w: errno %d", ErrUnsupported, e)
		}
		return retErrno | uint32(e), nil
	case specs.ActKill, specs.ActKillThread:
		return retKillThread, nil
	case specs.ActKillProcess:
		return retKillProcess, nil
	case specs.ActTrap:
		return retTrap, nil
	case specs.ActLog:
		return retLog, nil
	}
	return 0, fmt.Errorf("%w: action %s", ErrUnsupported, a)
}

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }

func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// Install loads p for the calling thread, which passes it on to what it
// execs. It needs CAP_SYS_ADMIN in the thread's user namespace, or
// no_new_privs. An empty program installs nothing.
func (p Program) Install() error {
	if len(p) == 0 {
		return nil
	}
	prog := unix.SockFprog{Len: uint16(len(p)), Filter: &p[0]}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0); err != nil {
		return fmt.Errorf("install seccomp filter: %w", err)
	}
	return nil
}
