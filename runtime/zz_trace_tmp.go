package runtime

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

var traceOn = os.Getenv("ULXC_TRACE") != ""

// TraceMark prints CLOCK_MONOTONIC us. TEMPORARY.
func TraceMark(what string) {
	if !traceOn {
		return
	}
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	fmt.Fprintf(os.Stderr, "T %d %d %s\n", ts.Nano()/1000, os.Getpid(), what)
}
