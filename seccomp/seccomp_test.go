package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// run evaluates p on a seccomp_data: the classic BPF that Compile emits.
func run(t *testing.T, p Program, audit, nr uint32, args ...uint64) uint32 {
	t.Helper()
	data := make([]byte, 64)
	binary.LittleEndian.PutUint32(data[offNr:], nr)
	binary.LittleEndian.PutUint32(data[offArch:], audit)
	for i, a := range args {
		binary.LittleEndian.PutUint64(data[offArgs+8*i:], a)
	}
	var acc uint32
	for pc := 0; pc < len(p); pc++ {
		in := p[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			acc = binary.LittleEndian.Uint32(data[in.K:])
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			acc &= in.K
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(in.K)
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K:
			if acc == in.K {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K:
			if acc >= in.K {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		default:
			t.Fatalf("instruction %d: unknown code %#x", pc, in.Code)
		}
	}
	t.Fatalf("fell off the end of the program")
	return 0
}

func errnoRet(n uint) *uint { return &n }

// lxcCommon is LXC's common.seccomp as ocispec converts it.
func lxcCommon() *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"umount2"}, Action: specs.ActErrno, ErrnoRet: errnoRet(uint(unix.EACCES)),
			Args: []specs.LinuxSeccompArg{{Index: 1, Value: unix.MNT_FORCE, ValueTwo: unix.MNT_FORCE, Op: specs.OpMaskedEqual}}},
		{Names: []string{"kexec_load", "open_by_handle_at", "init_module", "finit_module", "delete_module"},
			Action: specs.ActErrno, ErrnoRet: errnoRet(1)},
	}}
}

func TestCompileDecides(t *testing.T) {
	if len(native.calls) == 0 {
		t.Skip("no syscall table for " + runtime.GOARCH + ": Compile refuses every policy here")
	}
	p, err := Compile(lxcCommon())
	if err != nil {
		t.Fatal(err)
	}
	nr := func(a *arch, name string) uint32 {
		n, ok := a.lookup(name)
		if !ok {
			t.Fatalf("%s has no %s", a.name, name)
		}
		return n
	}
	eperm, eacces, enosys := uint32(retErrno|1), uint32(retErrno|uint32(unix.EACCES)), uint32(retErrno|uint32(unix.ENOSYS))
	archs := []*arch{&native}
	if compat != nil {
		archs = append(archs, compat)
	}
	for _, a := range archs {
		for _, tc := range []struct {
			call string
			args []uint64
			want uint32
		}{
			{"kexec_load", nil, eperm},
			{"delete_module", nil, eperm},
			{"getpid", nil, retAllow},
			{"umount2", []uint64{0, unix.MNT_FORCE}, eacces},
			{"umount2", []uint64{0, unix.MNT_FORCE | unix.MNT_DETACH}, eacces},
			{"umount2", []uint64{0, unix.MNT_DETACH}, retAllow},
		} {
			if got := run(t, p, a.audit, nr(a, tc.call), tc.args...); got != tc.want {
				t.Errorf("%s %s%v: %#x, want %#x", a.name, tc.call, tc.args, got, tc.want)
			}
		}
	}
	if got := run(t, p, 0xdeadbeef, 1); got != enosys {
		t.Errorf("an unknown architecture: %#x, want ENOSYS %#x", got, enosys)
	}
	if native.audit == auditArchX8664 {
		if got := run(t, p, native.audit, x32Bit|nr(&native, "kexec_load")); got != enosys {
			t.Errorf("x32 kexec_load: %#x, want ENOSYS %#x", got, enosys)
		}
	}
	// An allowlist: only what it names, the rest killed.
	allow := &specs.LinuxSeccomp{DefaultAction: specs.ActKillProcess,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid", "no_such_call"}, Action: specs.ActAllow}}}
	if p, err = Compile(allow); err != nil {
		t.Fatal(err)
	}
	if got := run(t, p, native.audit, nr(&native, "getpid")); got != retAllow {
		t.Errorf("allowlist getpid: %#x, want allow", got)
	}
	if got := run(t, p, native.audit, nr(&native, "mkdirat")); got != retKillProcess {
		t.Errorf("allowlist mkdirat: %#x, want kill", got)
	}
}

func TestCompileRefuses(t *testing.T) {
	for _, s := range []*specs.LinuxSeccomp{
		{DefaultAction: specs.ActNotify},
		{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActTrace}}},
		{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: specs.OpGreaterThan}}}}},
		{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 6, Value: 1, Op: specs.OpEqualTo}}}}},
	} {
		if _, err := Compile(s); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Compile(%+v) = %v, want ErrUnsupported", s, err)
		}
	}
}

// TestInstall loads the filter in a child (it cannot be removed) and makes
// the calls it denies.
func TestInstall(t *testing.T) {
	if os.Getenv("SECCOMP_TEST_CHILD") == "1" {
		installChild()
		return
	}
	if len(native.calls) == 0 {
		t.Skip("no syscall table for " + runtime.GOARCH)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestInstall$")
	cmd.Env = append(os.Environ(), "SECCOMP_TEST_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func installChild() {
	runtime.LockOSThread()
	s := lxcCommon()
	s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno})
	p, err := Compile(s)
	if err == nil {
		err = unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	}
	if err == nil {
		err = p.Install()
	}
	if err != nil {
		fmt.Println("install:", err)
		os.Exit(1)
	}
	dir, _ := os.MkdirTemp("", "seccomp") // denied too: falls back to ""
	fail := func(format string, a ...any) { fmt.Printf(format+"\n", a...); os.Exit(1) }
	if err := unix.Mkdirat(unix.AT_FDCWD, "/tmp/seccomp-test-never", 0o700); !errors.Is(err, unix.EPERM) {
		fail("mkdirat under the filter: %v, want EPERM", err)
	}
	if err := unix.Unmount("/nonexistent-seccomp-test", unix.MNT_FORCE); !errors.Is(err, unix.EACCES) {
		fail("umount2 MNT_FORCE under the filter: %v, want EACCES", err)
	}
	if err := unix.Unmount("/nonexistent-seccomp-test", 0); errors.Is(err, unix.EACCES) {
		fail("umount2 without MNT_FORCE under the filter: %v, want it let through", err)
	}
	if dir != "" {
		fail("MkdirTemp under the filter made %s", dir)
	}
	if unix.Getpid() <= 0 {
		fail("getpid")
	}
	os.Exit(0)
}
