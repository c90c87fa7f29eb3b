package lxcconf

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultPath returns the user's LXC default config,
// ${XDG_CONFIG_HOME:-$HOME/.config}/lxc/default.conf, or "" when neither
// variable gives an absolute directory. The XDG base directory spec says to
// ignore a relative XDG_CONFIG_HOME.
func DefaultPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(dir) {
		home := os.Getenv("HOME")
		if !filepath.IsAbs(home) {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "lxc", "default.conf")
}

// LoadDefault loads DefaultPath. A missing file gives an empty Config named
// after DefaultPath, with no error, so that Set, Add and WriteTo can create
// it; any other error (a syntax error, a missing include) is returned.
func LoadDefault(opts Options) (*Config, error) {
	path := DefaultPath()
	if path != "" {
		c, err := Load(path, opts)
		if !errors.Is(err, fs.ErrNotExist) || isIncludeError(err) {
			return c, err
		}
	}
	return &Config{file: path, opts: opts, src: newSources(osFiles{})}, nil
}

func isIncludeError(err error) bool {
	var ie *IncludeError
	return errors.As(err, &ie)
}
