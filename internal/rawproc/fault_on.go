//go:build ulxc_initfault

package rawproc

// faultSink keeps initFault's allocation from being optimised away.
var faultSink []byte

// initFault breaks the package's rule on purpose, for the tests that
// check the rule is enforced: it allocates, which enters the Go runtime
// (TestInitRuntimeCalls must find the call; TestInitFaultKillsInit, that
// it kills init and not the supervisor).
//
//go:nosplit
//go:norace
func initFault(p *Plan) {
	faultSink = make([]byte, 64+len(p.FDs))
}
