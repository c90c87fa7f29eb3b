package lxcconf

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSet(t *testing.T) {
	tests := []struct {
		name, in, key, value, want string
	}{
		{"replace in place", "# c\nlxc.uts.name = a\nlxc.tty.max = 1\n", "lxc.uts.name", "b", "# c\nlxc.uts.name = b\nlxc.tty.max = 1\n"},
		{"keep layout", "  lxc.uts.name\t=\ta\n", "lxc.uts.name", "b", "  lxc.uts.name\t=\tb\n"},
		{"no spaces", "lxc.uts.name=a\n", "lxc.uts.name", "b", "lxc.uts.name=b\n"},
		{"last occurrence", "lxc.uts.name = a\nlxc.uts.name = b\n", "lxc.uts.name", "c", "lxc.uts.name = a\nlxc.uts.name = c\n"},
		{"legacy spelling kept", "lxc.utsname = a\n", "lxc.uts.name", "b", "lxc.utsname = b\n"},
		{"legacy input", "lxc.uts.name = a\n", "lxc.utsname", "b", "lxc.uts.name = b\n"},
		{"append", "lxc.tty.max = 1\n", "lxc.uts.name", "b", "lxc.tty.max = 1\nlxc.uts.name = b\n"},
		{"append legacy as modern", "", "lxc.rootfs", "/r", "lxc.rootfs.path = /r\n"},
		{"append after cleared", "lxc.uts.name = a\nlxc.uts.name =\n", "lxc.uts.name", "b", "lxc.uts.name = a\nlxc.uts.name =\nlxc.uts.name = b\n"},
		{"empty value", "lxc.uts.name = a\n", "lxc.uts.name", "", "lxc.uts.name =\n"},
		{"into empty value", "lxc.tty.dir =\nlxc.tty.dir = lxc\n", "lxc.tty.dir", "x", "lxc.tty.dir =\nlxc.tty.dir = x\n"},
		{"spaces quoted", "lxc.uts.name = a\n", "lxc.environment", " A=1 ", "lxc.uts.name = a\nlxc.environment = \" A=1 \"\n"},
		{"quotes quoted", "lxc.init.cmd = a\n", "lxc.init.cmd", `"x"`, "lxc.init.cmd = \"\"x\"\"\n"},
		{"hash kept", "lxc.init.cmd = a\n", "lxc.init.cmd", "/bin/sh -c 'echo #1'", "lxc.init.cmd = /bin/sh -c 'echo #1'\n"},
		{"no final newline", "lxc.uts.name = a", "lxc.uts.name", "b", "lxc.uts.name = b"},
		{"append to no final newline", "lxc.uts.name = a", "lxc.tty.max", "1", "lxc.uts.name = a\nlxc.tty.max = 1\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.in), "/c/config", Options{})
			if err != nil {
				t.Fatal(err)
			}
			c.Set(tc.key, tc.value)
			if got := written(t, c); got != tc.want {
				t.Errorf("Set(%q, %q) on %q wrote %q, want %q", tc.key, tc.value, tc.in, got, tc.want)
			}
			want, wantOK := tc.value, tc.value != ""
			if got, ok := c.Get(tc.key); got != want || ok != wantOK {
				t.Errorf("Get(%q) after Set = %q, %v, want %q, %v", tc.key, got, ok, want, wantOK)
			}
			// What was written means the same once read again.
			c2, err := Parse(strings.NewReader(written(t, c)), "/c/config", Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := c2.Get(tc.key); got != want || ok != wantOK {
				t.Errorf("Get(%q) after write and reparse = %q, %v, want %q, %v", tc.key, got, ok, want, wantOK)
			}
		})
	}
}

func TestSetOverridesInclude(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"config":   "lxc.tty.max = 1\nlxc.include = inc.conf\n# end\n",
		"inc.conf": "lxc.tty.max = 2\n",
	})
	c, err := Load(filepath.Join(dir, "config"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get("lxc.tty.max"); v != "2" {
		t.Fatalf("Get(lxc.tty.max) = %q, want %q from the include", v, "2")
	}
	c.Set("lxc.tty.max", "3")
	// Rewriting line 1 would not win over the include that follows it.
	want := "lxc.tty.max = 1\nlxc.include = inc.conf\n# end\nlxc.tty.max = 3\n"
	if got := written(t, c); got != want {
		t.Errorf("Set(lxc.tty.max, 3) wrote %q, want %q", got, want)
	}
	if v, _ := c.Get("lxc.tty.max"); v != "3" {
		t.Errorf("Get(lxc.tty.max) after Set = %q, want %q", v, "3")
	}
}

func TestAddUnset(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"config":   "lxc.include = inc.conf\n# maps\nlxc.idmap = u 0 1 1\nlxc.id_map = g 0 1 1\nlxc.uts.name = x\n",
		"inc.conf": "lxc.idmap = u 5 5 5\n",
	})
	c, err := Load(filepath.Join(dir, "config"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Unset("lxc.idmap")
	if got, want := written(t, c), "lxc.include = inc.conf\n# maps\nlxc.uts.name = x\n"; got != want {
		t.Errorf("Unset(lxc.idmap) wrote %q, want %q", got, want)
	}
	if got, want := c.Values("lxc.idmap"), []string{"u 5 5 5"}; !slices.Equal(got, want) {
		t.Errorf("Values(lxc.idmap) after Unset = %q, want %q from the include", got, want)
	}
	c.Add("lxc.idmap", "")
	c.Add("lxc.idmap", "u 0 100000 65536")
	c.Add("lxc.id_map", "g 0 100000 65536")
	want := "lxc.include = inc.conf\n# maps\nlxc.uts.name = x\nlxc.idmap =\nlxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n"
	if got := written(t, c); got != want {
		t.Errorf("Add wrote %q, want %q", got, want)
	}
	if got, want := c.Values("lxc.idmap"), []string{"u 0 100000 65536", "g 0 100000 65536"}; !slices.Equal(got, want) {
		t.Errorf("Values(lxc.idmap) after Add = %q, want %q", got, want)
	}
	for i, e := range c.Entries {
		if e.Line != i+1 {
			t.Errorf("Entries[%d].Line = %d, want %d", i, e.Line, i+1)
		}
	}
}

func TestAddInclude(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"config": "lxc.uts.name = x\n", "net.conf": "lxc.net.0.type = empty\n"})
	c, err := Load(filepath.Join(dir, "config"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Add("lxc.include", "net.conf")
	if got := c.Networks(); len(got) != 1 || got[0].Type != "empty" {
		t.Errorf("Networks() after Add(lxc.include, net.conf) = %+v, want the included interface", got)
	}
	// An include that does not exist yet is written, with a warning.
	c.Add("lxc.include", "later.conf")
	if _, err := c.WriteTo(new(strings.Builder)); err != nil {
		t.Errorf("WriteTo after Add of a missing include = %v", err)
	}
	if n := len(c.Warnings); n != 1 || !strings.Contains(c.Warnings[0].Msg, "later.conf") {
		t.Errorf("Warnings = %q, want one about later.conf", c.Warnings)
	}
}

func TestInvalidEdit(t *testing.T) {
	tests := []struct{ key, value string }{
		{"", "x"},
		{"lxc.a b", "x"},
		{"lxc.a=b", "x"},
		{"#lxc.a", "x"},
		{"lxc.a", "two\nlines"},
		{"lxc.a", "cr\r"},
		{"lxc.a", "nul\x00"},
	}
	for _, tc := range tests {
		for _, op := range []string{"set", "add"} {
			c, err := Parse(strings.NewReader("lxc.uts.name = x\n"), "/c", Options{})
			if err != nil {
				t.Fatal(err)
			}
			if op == "set" {
				c.Set(tc.key, tc.value)
			} else {
				c.Add(tc.key, tc.value)
			}
			if len(c.Entries) != 1 {
				t.Errorf("%s(%q, %q) changed Entries to %+v", op, tc.key, tc.value, c.Entries)
			}
			if _, err := c.WriteTo(new(strings.Builder)); !errors.Is(err, ErrInvalidEdit) {
				t.Errorf("%s(%q, %q): WriteTo = %v, want ErrInvalidEdit", op, tc.key, tc.value, err)
			}
		}
	}
}

func TestZeroConfig(t *testing.T) {
	var c Config
	c.Set("lxc.uts.name", "x")
	c.Add("lxc.idmap", "u 0 1 1")
	if got, want := written(t, &c), "lxc.uts.name = x\nlxc.idmap = u 0 1 1\n"; got != want {
		t.Errorf("zero Config after Set and Add wrote %q, want %q", got, want)
	}
	if v, _ := c.Get("lxc.uts.name"); v != "x" {
		t.Errorf("Get(lxc.uts.name) = %q, want %q", v, "x")
	}
}

// TestSetAt: one value of a list key changes, the others and the layout
// stay; an index that is no key line is an error at WriteTo.
func TestSetAt(t *testing.T) {
	c, err := Parse(strings.NewReader("# c\nlxc.mount.entry = /a a none bind 0 0\nlxc.mount.entry=/b b none bind 0 0\n"), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.SetAt(2, "/c c none bind 0 0")
	var b strings.Builder
	if _, err := c.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if want := "# c\nlxc.mount.entry = /a a none bind 0 0\nlxc.mount.entry=/c c none bind 0 0\n"; b.String() != want {
		t.Errorf("SetAt(2) wrote %q, want %q", b.String(), want)
	}
	if got := c.Values("lxc.mount.entry"); len(got) != 2 || got[1] != "/c c none bind 0 0" {
		t.Errorf("Values after SetAt = %q", got)
	}
	c.SetAt(0, "x")
	if _, err := c.WriteTo(&b); !errors.Is(err, ErrInvalidEdit) {
		t.Errorf("SetAt(0) on a comment: WriteTo = %v, want ErrInvalidEdit", err)
	}
}

// TestClone: a clone's edits do not reach the original, nor the
// original's the clone, and both keep reading what they include.
func TestClone(t *testing.T) {
	dir := t.TempDir()
	inc := filepath.Join(dir, "common.conf")
	if err := os.WriteFile(inc, []byte("lxc.tty.max = 4\nlxc.mount.entry = a b none bind 0 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Parse(strings.NewReader("lxc.include = "+inc+"\nlxc.uts.name = a\n"), filepath.Join(dir, "config"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Clone()
	d.Set("lxc.uts.name", "b")
	d.Add("lxc.mount.entry", "c d none bind 0 0")
	c.Set("lxc.tty.max", "8")
	if v, _ := c.Get("lxc.uts.name"); v != "a" {
		t.Errorf("the original's lxc.uts.name = %q after the clone's Set, want a", v)
	}
	if got := c.Values("lxc.mount.entry"); len(got) != 1 {
		t.Errorf("the original's mount entries = %q after the clone's Add, want one", got)
	}
	if v, _ := d.Get("lxc.tty.max"); v != "4" {
		t.Errorf("the clone's lxc.tty.max = %q after the original's Set, want 4 (from the include)", v)
	}
	if got := written(t, d); got != "lxc.include = "+inc+"\nlxc.uts.name = b\nlxc.mount.entry = c d none bind 0 0\n" {
		t.Errorf("the clone wrote %q", got)
	}
}

// TestConfigWrite: Write writes the edited top file atomically and
// returns what Load reads back from the new name (paths resolve against
// it); a config that would not load is not written.
func TestConfigWrite(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "common.conf"), []byte("lxc.tty.max = 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	orig := filepath.Join(dir, "a", "config")
	if err := os.MkdirAll(filepath.Dir(orig), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := Parse(strings.NewReader("lxc.include = "+filepath.Join(dir, "common.conf")+"\nlxc.mount.fstab = fstab\n"), orig, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Set("lxc.uts.name", "b")
	name := filepath.Join(dir, "b", "config")
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sync := range []bool{true, false} {
		w, err := c.Write(name, sync)
		if err != nil {
			t.Fatalf("Write(sync %v): %v", sync, err)
		}
		loaded, err := Load(name, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"lxc.uts.name", "lxc.tty.max", "lxc.mount.fstab"} {
			wv, _ := w.Get(k)
			lv, _ := loaded.Get(k)
			if wv != lv || wv == "" {
				t.Errorf("Write(sync %v) returned %s = %q, Load reads %q", sync, k, wv, lv)
			}
		}
		if p, _ := w.Path("lxc.mount.fstab"); p != filepath.Join(dir, "b", "fstab") {
			t.Errorf("lxc.mount.fstab of the written config resolves to %q, want it next to %s", p, name)
		}
	}
	before, _ := os.ReadFile(name)
	c.Add("lxc.include", filepath.Join(dir, "missing.conf"))
	if _, err := c.Write(name, true); err == nil {
		t.Errorf("Write of a config that includes a missing file succeeded")
	}
	if after, _ := os.ReadFile(name); string(after) != string(before) {
		t.Errorf("a failed Write changed %s:\n%s", name, after)
	}
}
