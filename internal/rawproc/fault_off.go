//go:build !ulxc_initfault

package rawproc

// initFault is where a test build (tag ulxc_initfault) breaks
// the package's rule on purpose; in every other build it is nothing.
//
//go:nosplit
//go:norace
func initFault(*Plan) {}
