package ocispec

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// seccomp reads lxc.seccomp.profile, a policy in LXC's format, into
// linux.seccomp (package seccomp compiles and installs it):
//
//	2
//	denylist [ACTION]        (or blacklist; allowlist, whitelist)
//	reject_force_umount      # umount2 with MNT_FORCE gets EACCES
//	[all]                    (or the machine's architecture)
//	kexec_load errno 1
//	NAME [ACTION] [[INDEX,VALUE,OP,VALUE2]]...
//
// ACTION is allow, kill, trap, log or "errno N". A denylist allows what it
// does not name and, like LXC, kills what it names without an action; an
// allowlist kills what it does not name (or ACTION, on its second line)
// and allows what it names. Sections for the machine's own architecture
// and [all] apply; a section for another architecture is skipped, except
// the machine's 32-bit compat one, whose numbers differ and which the
// spec cannot single out: that is refused rather than dropped. Version 1
// (syscall numbers) is refused too.
func (c *converter) seccomp() error {
	const key = "lxc.seccomp.profile"
	file, ok := c.cfg.Path(key)
	if !ok || strings.TrimSpace(file) == "" {
		return nil
	}
	s, err := readSeccompPolicy(file)
	if err != nil {
		return keyErr(key, file, ErrInvalidValue, "%v", err)
	}
	c.spec.Linux.Seccomp = s
	return nil
}

// seccompArchs are the section names of the machine's own architecture and
// of its 32-bit compat one, and the spec's names for them.
func seccompArchs() (native, compat []string, specArchs []specs.Arch) {
	switch runtime.GOARCH {
	case "amd64":
		return []string{"x86_64", "amd64", "x86-64"}, []string{"i386", "x86", "i686", "386"},
			[]specs.Arch{specs.ArchX86_64, specs.ArchX86}
	case "arm64":
		return []string{"aarch64", "arm64"}, []string{"arm", "armel", "armhf", "armv7l"},
			[]specs.Arch{specs.ArchAARCH64, specs.ArchARM}
	}
	return nil, nil, nil
}

func readSeccompPolicy(file string) (*specs.LinuxSeccomp, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	native, compat, archs := seccompArchs()
	s := &specs.LinuxSeccomp{Architectures: archs}
	sc := bufio.NewScanner(f)
	n := 0
	var lines []string
	for sc.Scan() {
		n++
		line, _, _ := strings.Cut(sc.Text(), "#")
		lines = append(lines, strings.TrimSpace(line))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	at := func(i int) string { return fmt.Sprintf("%s:%d", file, i+1) }
	if len(lines) < 2 {
		return nil, fmt.Errorf("%s: want a version and a policy type on the first two lines", file)
	}
	if lines[0] != "2" {
		return nil, fmt.Errorf("%s: version %q: ulxc reads version 2 policies", at(0), lines[0])
	}
	head := strings.Fields(lines[1])
	if len(head) == 0 {
		return nil, fmt.Errorf("%s: no policy type (denylist or allowlist)", at(1))
	}
	var ruleDefault specs.LinuxSeccompAction
	switch head[0] {
	case "denylist", "blacklist":
		s.DefaultAction, ruleDefault = specs.ActAllow, specs.ActKill
	case "allowlist", "whitelist":
		s.DefaultAction, ruleDefault = specs.ActKill, specs.ActAllow
	default:
		return nil, fmt.Errorf("%s: policy type %q: want denylist or allowlist", at(1), head[0])
	}
	if len(head) > 1 {
		act, errno, rest, err := seccompAction(head[1:])
		if err != nil || len(rest) > 0 {
			return nil, fmt.Errorf("%s: default action %q: %v", at(1), strings.Join(head[1:], " "), err)
		}
		s.DefaultAction, s.DefaultErrnoRet = act, errno
	}
	applies := true // before any section: the machine's own architecture
	for i, line := range lines[2:] {
		i += 2
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") && !strings.Contains(line, ",") {
			name := strings.ToLower(strings.Trim(line, "[]"))
			switch {
			case name == "all" || contains(native, name):
				applies = true
			case contains(compat, name):
				return nil, fmt.Errorf("%s: section %s: rules for the 32-bit compat architecture alone are not supported; use [all]", at(i), line)
			default:
				applies = false // another machine's
			}
			continue
		}
		if !applies {
			continue
		}
		if line == "reject_force_umount" {
			s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{"umount2"}, Action: specs.ActErrno,
				ErrnoRet: uintPtr(uint(unix.EACCES)), Args: []specs.LinuxSeccompArg{
					{Index: 1, Value: unix.MNT_FORCE, ValueTwo: unix.MNT_FORCE, Op: specs.OpMaskedEqual}}})
			continue
		}
		fields := strings.Fields(line)
		rule := specs.LinuxSyscall{Names: fields[:1], Action: ruleDefault}
		rest := fields[1:]
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "[") {
			act, errno, r, err := seccompAction(rest)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", at(i), err)
			}
			rule.Action, rule.ErrnoRet, rest = act, errno, r
		}
		for _, a := range rest {
			arg, err := seccompArg(a)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", at(i), err)
			}
			rule.Args = append(rule.Args, arg)
		}
		s.Syscalls = append(s.Syscalls, rule)
	}
	return s, nil
}

// seccompAction reads an action and returns the fields after it.
func seccompAction(f []string) (specs.LinuxSeccompAction, *uint, []string, error) {
	switch f[0] {
	case "allow":
		return specs.ActAllow, nil, f[1:], nil
	case "kill":
		return specs.ActKill, nil, f[1:], nil
	case "trap":
		return specs.ActTrap, nil, f[1:], nil
	case "log":
		return specs.ActLog, nil, f[1:], nil
	case "errno":
		if len(f) < 2 {
			return "", nil, nil, fmt.Errorf("errno without a number")
		}
		n, err := strconv.ParseUint(f[1], 10, 16)
		if err != nil {
			return "", nil, nil, fmt.Errorf("errno %q: not a number", f[1])
		}
		return specs.ActErrno, uintPtr(uint(n)), f[2:], nil
	}
	return "", nil, nil, fmt.Errorf("action %q: ulxc applies allow, kill, trap, log and errno N", f[0])
}

// seccompArg reads an argument condition, [INDEX,VALUE,OP] or
// [INDEX,VALUE,OP,VALUE2], OP as libseccomp names it.
func seccompArg(s string) (specs.LinuxSeccompArg, error) {
	f := strings.Split(strings.Trim(s, "[]"), ",")
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") || len(f) < 3 || len(f) > 4 {
		return specs.LinuxSeccompArg{}, fmt.Errorf("argument condition %q: want [INDEX,VALUE,OP] or [INDEX,VALUE,OP,VALUE2]", s)
	}
	var a specs.LinuxSeccompArg
	idx, err := strconv.ParseUint(strings.TrimSpace(f[0]), 10, 8)
	if err != nil || idx > 5 {
		return a, fmt.Errorf("argument condition %q: index %q is not 0 to 5", s, f[0])
	}
	a.Index = uint(idx)
	if a.Value, err = strconv.ParseUint(strings.TrimSpace(f[1]), 0, 64); err != nil {
		return a, fmt.Errorf("argument condition %q: value %q", s, f[1])
	}
	a.Op = specs.LinuxSeccompOperator(strings.TrimSpace(f[2]))
	switch a.Op {
	case specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpEqualTo, specs.OpGreaterEqual,
		specs.OpGreaterThan, specs.OpMaskedEqual:
	default:
		return a, fmt.Errorf("argument condition %q: operator %q", s, f[2])
	}
	if len(f) == 4 {
		if a.ValueTwo, err = strconv.ParseUint(strings.TrimSpace(f[3]), 0, 64); err != nil {
			return a, fmt.Errorf("argument condition %q: second value %q", s, f[3])
		}
	}
	return a, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func uintPtr(n uint) *uint { return &n }
