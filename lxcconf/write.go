package lxcconf

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

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

// Write writes c's top file (WriteTo, with its edits) to name as
// WriteFile does, or as WriteFileUnsynced does when sync is false, and
// returns the config as Load would read it back from name: parsed as
// name, the files c includes not read again. A copy's config is written
// once and read back by the start that follows (clone.Into).
func (c *Config) Write(name string, sync bool) (*Config, error) {
	var b bytes.Buffer
	if _, err := c.writeTo(&b); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	src := c.src
	if src == nil {
		src = newSources(osFiles{})
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, err
	}
	written, err := parseWith(b.Bytes(), abs, Options{}, src)
	if err != nil {
		return nil, fmt.Errorf("check config: %w", err)
	}
	write := fileio.WriteAtomic
	if !sync {
		write = fileio.WriteAtomicUnsynced
	}
	if err := write(name, b.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	return written, nil
}
