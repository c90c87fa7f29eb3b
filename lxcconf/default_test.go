package lxcconf

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
)

func TestDefaultPath(t *testing.T) {
	tests := []struct{ xdg, home, want string }{
		{"/x/cfg", "/home/u", "/x/cfg/lxc/default.conf"},
		{"", "/home/u", "/home/u/.config/lxc/default.conf"},
		{"relative/cfg", "/home/u", "/home/u/.config/lxc/default.conf"},
		{"", "", ""},
		{"", "relative", ""},
	}
	for _, tc := range tests {
		t.Setenv("XDG_CONFIG_HOME", tc.xdg)
		t.Setenv("HOME", tc.home)
		if got := DefaultPath(); got != tc.want {
			t.Errorf("DefaultPath() with XDG_CONFIG_HOME=%q HOME=%q = %q, want %q", tc.xdg, tc.home, got, tc.want)
		}
	}
}

func TestLoadDefault(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	path := filepath.Join(home, ".config/lxc/default.conf")

	c, err := LoadDefault(Options{})
	if err != nil {
		t.Fatalf("LoadDefault() without the file = %v, want an empty Config", err)
	}
	if c.File() != path || len(c.Entries) != 0 || c.Values("lxc.idmap") != nil {
		t.Fatalf("LoadDefault() without the file = %+v, want an empty Config named %s", c, path)
	}
	if got := written(t, c); got != "" {
		t.Errorf("WriteTo of an empty default = %q, want nothing", got)
	}

	writeFiles(t, home, map[string]string{".config/lxc/default.conf": "lxc.include = net.conf\nlxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n",
		".config/lxc/net.conf": "lxc.net.0.type = empty\n"})
	c, err = LoadDefault(Options{})
	if err != nil {
		t.Fatalf("LoadDefault() = %v", err)
	}
	if got, want := c.Values("lxc.idmap"), []string{"u 0 100000 65536", "g 0 100000 65536"}; !slices.Equal(got, want) {
		t.Errorf("LoadDefault().Values(lxc.idmap) = %q, want %q", got, want)
	}
	if n := c.Networks(); len(n) != 1 || n[0].Type != "empty" {
		t.Errorf("LoadDefault().Networks() = %+v, want the included interface", n)
	}

	// A missing include is an error, not a missing default.conf.
	writeFiles(t, home, map[string]string{".config/lxc/default.conf": "lxc.include = gone.conf\n"})
	_, err = LoadDefault(Options{})
	var ie *IncludeError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &ie) {
		t.Errorf("LoadDefault() with a missing include = %v, want an *IncludeError", err)
	}
}
