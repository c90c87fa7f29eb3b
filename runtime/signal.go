package runtime

import (
	"os/signal"
	"syscall"
)

// ignoreSignals makes the monitor immune to the hangup and interrupt of a
// terminal it was started from.
func ignoreSignals() { signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE) }
