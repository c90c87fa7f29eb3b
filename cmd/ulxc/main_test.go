package main

import (
	"os"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

func TestMain(m *testing.M) {
	if target := os.Getenv(ptraceProbeEnv); target != "" {
		os.Exit(ptraceProbe(target))
	}
	code := m.Run()
	testenv.Cleanup()
	os.Exit(code)
}
