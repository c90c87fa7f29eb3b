package userns

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// syncFD is the child's end of the sync pipe: ExtraFiles[0].
const syncFD = 3

// Enter must be the first call of every child entry point that Start runs.
// It waits for the parent's go-ahead on fd 3 (EOF means the parent gave up
// or died), becomes root of the namespace (setresgid, setgroups unless
// /proc/self/setgroups says deny or there are no supplementary groups,
// setresuid, on all threads), re-arms the
// parent-death signal that the credential change cleared, and clears the
// ambient and inheritable capabilities so nothing the child execs later can
// keep capabilities across a switch to another user.
//
// Enter locks the calling goroutine to its thread: call it from the
// goroutine that will exec.
func Enter() error {
	runtime.LockOSThread()
	ppid := os.Getppid()
	sync := os.NewFile(syncFD, "userns-sync")
	if sync == nil {
		return errors.New("enter user namespace: no sync pipe on fd 3")
	}
	var b [1]byte
	_, err := io.ReadFull(sync, b[:])
	sync.Close()
	if err != nil {
		return fmt.Errorf("enter user namespace: wait for parent: %w", err)
	}
	if b[0] != goAhead {
		return fmt.Errorf("enter user namespace: parent sent %q", b[0])
	}
	if err := syscall.Setresgid(0, 0, 0); err != nil {
		return fmt.Errorf("enter user namespace: setresgid 0: %w", err)
	}
	// setgroups signals every thread, like the set*id calls: skip it
	// when there are no supplementary groups to drop.
	if groups, err := syscall.Getgroups(); (err != nil || len(groups) > 0) && setgroupsAllowed() {
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("enter user namespace: setgroups: %w", err)
		}
	}
	if err := syscall.Setresuid(0, 0, 0); err != nil {
		return fmt.Errorf("enter user namespace: setresuid 0: %w", err)
	}
	// A credential change clears the parent-death signal.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("enter user namespace: set parent-death signal: %w", err)
	}
	if os.Getppid() != ppid {
		return errors.New("enter user namespace: parent exited")
	}
	if err := ClearCaps(); err != nil {
		return fmt.Errorf("enter user namespace: %w", err)
	}
	return nil
}

func setgroupsAllowed() bool {
	b, err := os.ReadFile("/proc/self/setgroups")
	return err != nil || !bytes.HasPrefix(b, []byte("deny"))
}

// ClearCaps empties the ambient and inheritable sets, on every thread when
// the runtime can (no cgo), and always on this locked thread, so that
// nothing the process execs keeps capabilities across a switch to another
// user. Enter calls it; so does any other entry point that was started
// with ambient capabilities.
func ClearCaps() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	_, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0)
	if errno == 0 {
		hdr.Pid = 0
		_, _, errno = syscall.AllThreadsSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
		runtime.KeepAlive(&data)
	}
	if errno != 0 && errno != syscall.ENOTSUP {
		return fmt.Errorf("clear capabilities on all threads: %w", errno)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("clear inheritable capabilities: %w", err)
	}
	return nil
}
