//go:build !amd64

package rawproc

// forwardEntries: no forwarding handler here, so ArmForward returns
// ENOSYS and its callers forward through os/signal.
//
//go:nosplit
//go:norace
func forwardEntries() (handler, restorer uintptr) { return 0, 0 }
