package main

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ulxc/ulxc/lifecycle"
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

// containerSpec returns the container name of -P's store and the spec a
// start of it with opts runs (lifecycle.Spec).
func (e *env) containerSpec(name string, opts lifecycle.Options) (*store.Container, *specs.Spec, error) {
	s, err := e.openStore()
	if err != nil {
		return nil, nil, err
	}
	return lifecycle.Spec(s, name, opts)
}

// runtimeDir returns the runtime directory of the container name: the one
// its current or last run uses, whatever XDG_RUNTIME_DIR says here.
func (e *env) runtimeDir(name string) (string, error) {
	s, err := e.openStore()
	if err != nil {
		return "", err
	}
	c, err := s.Get(name)
	if err != nil {
		return "", err
	}
	run, err := c.FindRun()
	if err != nil {
		return "", err
	}
	return run.Dir, nil
}
