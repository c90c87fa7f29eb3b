package rawproc

// forwardHandler and forwardRestorer are in forward_amd64.s: the
// kernel's entry points (C calling convention), never called from Go.
func forwardHandler()
func forwardRestorer()

// forwardEntries returns their addresses, taken in assembly: a Go func
// value of either would be the address of a wrapper for Go's calling
// convention.
func forwardEntries() (handler, restorer uintptr)

// The two are reached from the kernel only: this makes them visible to
// the tools that look for unused code.
var _, _ = forwardHandler, forwardRestorer
