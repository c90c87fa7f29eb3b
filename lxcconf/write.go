package lxcconf

import (
	"bytes"
	"fmt"
	"os"

	"github.com/ulxc/ulxc/internal/fileio"
)

// WriteFile writes conf, a whole config, to name: first it checks that
// conf parses, then it writes it atomically (a synced temporary file
// renamed over name, mode 0644), so that a config that would not load is
// never written and a reader never sees half of one. The rename is the
// commit of a create or a copy.
func WriteFile(name string, conf []byte) error { return writeFile(name, conf, fileio.WriteAtomic) }

// WriteFileUnsynced is WriteFile without syncing the file: for the config
// of an ephemeral container, which a crash leaves as no container anyway
// (fileio.WriteAtomicUnsynced).
func WriteFileUnsynced(name string, conf []byte) error {
	return writeFile(name, conf, fileio.WriteAtomicUnsynced)
}

func writeFile(name string, conf []byte, write func(string, []byte, os.FileMode) error) error {
	if _, err := Parse(bytes.NewReader(conf), name, Options{}); err != nil {
		return fmt.Errorf("check config: %w", err)
	}
	if err := write(name, conf, 0o644); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}
