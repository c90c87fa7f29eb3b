//go:build !ulxc_initfault

package runtime

// initFault is where a test build (tag ulxc_initfault) breaks
// initchild.go's rule on purpose; in every other build it is nothing.
//
//go:nosplit
//go:norace
func initFault(*Plan) {}
