//go:build !cgo

package nsenter

import (
	"errors"
	"testing"
)

func TestStartWithoutCgo(t *testing.T) {
	if _, err := Start(Options{Pidfd: 1, Namespaces: 1, Entry: "x"}); !errors.Is(err, ErrNoCgo) {
		t.Errorf("Start in a build without cgo = %v, want %v", err, ErrNoCgo)
	}
}
