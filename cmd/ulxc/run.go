package main

import (
	"github.com/ulxc/ulxc/store"
)

// openStore opens the store of -P; its warning about XDG_RUNTIME_DIR is
// printed once per ulxc command, however many stores and containers the
// command looks at.
func (e *env) openStore() (*store.Store, error) {
	s, err := store.Open(e.lxcPath)
	if err != nil {
		return nil, err
	}
	s.Warn = func(msg string) {
		if !e.runtimeWarned {
			e.runtimeWarned = true
			e.warnf("%s", msg)
		}
	}
	return s, nil
}
