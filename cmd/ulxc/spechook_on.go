//go:build ulxc_spechook

package main

import (
	"encoding/json"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// dumpSpec writes s, the spec a supervisor runs (kind "foreground": the
// one start -F hands runtime.Start; "monitor": the one the monitor
// decoded from its wire), as JSON to $ULXC_TEST_SPEC_DUMP.kind. Only in
// the build of TestSpecIsWhatStartRuns (tag ulxc_spechook): the ulxc that
// users run has no such hook.
func dumpSpec(kind string, s *specs.Spec) {
	p := os.Getenv("ULXC_TEST_SPEC_DUMP")
	if p == "" || s == nil {
		return
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err == nil {
		// Whole or not at all: the test reads the file as soon as it
		// exists, and once read half of one (a loaded CI run).
		tmp := p + "." + kind + ".tmp"
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, p+"."+kind)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ulxc: test hook: dump the spec: %v\n", err)
	}
}
