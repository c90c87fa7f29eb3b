package main

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/netshim"
)

func main() {
	// Before anything else: no core dump, no ptrace, no /proc/PID/mem or
	// pidfd_getfd of this process by its caller, and nothing it could
	// exec would gain privileges (it execs nothing).
	if unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0) != nil ||
		unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != nil {
		os.Exit(1)
	}
	// The environment is the caller's: nothing below may read it. (The Go
	// runtime has parsed GODEBUG and friends already; doc.go says what
	// that leaves.)
	os.Clearenv()
	var args []string
	if len(os.Args) > 1 {
		args = os.Args[1:]
	}
	reply, err := netshim.Serve(args, netshim.NetnsFD)
	if err != nil {
		os.Stderr.WriteString("ulxc-netshim: " + err.Error() + "\n")
		os.Exit(netshim.ExitCode(err))
	}
	if _, err := os.Stdout.WriteString(reply.String()); err != nil {
		os.Exit(1)
	}
}
