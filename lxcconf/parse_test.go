package lxcconf

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// testdataDir is the absolute path of testdata, replaced by "testdata" in
// golden files so that they do not depend on the checkout's location.
func testdataDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func goldenOptions(dir string) Options {
	return Options{Vars: map[string]string{"LXC_TEMPLATE_CONFIG": filepath.Join(dir, "template")}}
}

// dump renders what a caller sees of a config: the key of every top-file
// line, the warnings, the effective view, resolved paths and networks.
func dump(c *Config, dir string) string {
	var b strings.Builder
	b.WriteString("# top file keys\n")
	for _, e := range c.Entries {
		if e.Key != "" {
			fmt.Fprintf(&b, "%d: %s = %q\n", e.Line, e.Key, e.Value)
		}
	}
	b.WriteString("# warnings\n")
	for _, w := range c.Warnings {
		fmt.Fprintf(&b, "%s\n", w)
	}
	b.WriteString("# effective\n")
	for _, e := range c.LookupPrefix("") {
		fmt.Fprintf(&b, "%s = %q  (%s:%d)\n", e.Key, e.Value, e.File, e.Line)
	}
	b.WriteString("# paths\n")
	for _, k := range []string{"lxc.rootfs.path", "lxc.mount.fstab", "lxc.seccomp.profile", "lxc.log.file"} {
		if p, ok := c.Path(k); ok {
			fmt.Fprintf(&b, "%s -> %s\n", k, p)
		}
	}
	b.WriteString("# networks\n")
	for _, n := range c.Networks() {
		keys := make([]string, 0, len(n.Keys))
		for k, v := range n.Keys {
			keys = append(keys, k+"="+v)
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "%d: type=%q link=%q name=%q hwaddr=%q flags=%q mtu=%q ipv4=%q gw4=%q ipv6=%q gw6=%q keys=%q\n",
			n.Index, n.Type, n.Link, n.Name, n.HWAddr, n.Flags, n.MTU, n.IPv4, n.IPv4Gateway, n.IPv6, n.IPv6Gateway, keys)
	}
	return strings.ReplaceAll(b.String(), dir, "testdata")
}

func goldenCases(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testdataDir(t), "*.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.conf")
	}
	return files
}

func TestGolden(t *testing.T) {
	dir := testdataDir(t)
	for _, file := range goldenCases(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".conf")
		t.Run(name, func(t *testing.T) {
			c, err := Load(file, goldenOptions(dir))
			if err != nil {
				t.Fatalf("Load(%q) = %v", file, err)
			}
			got := dump(c, dir)
			golden := strings.TrimSuffix(file, ".conf") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Load(%q) dump differs from %s:\n--- got\n%s--- want\n%s", file, golden, got, want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	dir := testdataDir(t)
	for _, file := range goldenCases(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Load(file, goldenOptions(dir))
			if err != nil {
				t.Fatalf("Load(%q) = %v", file, err)
			}
			if got := written(t, c); got != string(in) {
				t.Fatalf("WriteTo after Load(%q) =\n%s\nwant the input byte for byte:\n%s", file, got, in)
			}

			// Edits change only their own lines.
			c.Set("lxc.uts.name", "edited")
			c.Add("lxc.environment", "ADDED=1")
			got := written(t, c)
			gotLines, inLines := strings.Split(got, "\n"), strings.Split(strings.TrimSuffix(string(in), "\n"), "\n")
			changed := 0
			for i := range inLines {
				if i >= len(gotLines) || gotLines[i] != inLines[i] {
					changed++
				}
			}
			if changed > 1 {
				t.Errorf("Set and Add changed %d existing lines, want at most 1:\n%s", changed, got)
			}
			if !strings.HasSuffix(got, "lxc.environment = ADDED=1\n") {
				t.Errorf("after Add, WriteTo does not end with the added line:\n%s", got)
			}
			// What was written reads back with the edits in effect.
			c2, err := Parse(strings.NewReader(got), file, goldenOptions(dir))
			if err != nil {
				t.Fatalf("Parse(written) = %v", err)
			}
			if v, _ := c2.Get("lxc.uts.name"); v != "edited" {
				t.Errorf("Get(lxc.uts.name) after Set and reparse = %q, want %q", v, "edited")
			}
			if vs := c2.Values("lxc.environment"); len(vs) == 0 || vs[len(vs)-1] != "ADDED=1" {
				t.Errorf("Values(lxc.environment) after Add and reparse = %q, want it to end with ADDED=1", vs)
			}
		})
	}
}

func written(t testing.TB, c *Config) string {
	t.Helper()
	var b bytes.Buffer
	n, err := c.WriteTo(&b)
	if err != nil {
		t.Fatalf("WriteTo = %v", err)
	}
	if n != int64(b.Len()) {
		t.Fatalf("WriteTo = %d, wrote %d bytes", n, b.Len())
	}
	return b.String()
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		line       string
		key, value string
		kv         bool
	}{
		{"lxc.a = b", "lxc.a", "b", true},
		{"lxc.a=b", "lxc.a", "b", true},
		{"  \tlxc.a \t=\t b c \t", "lxc.a", "b c", true},
		{"lxc.a = b # not a comment", "lxc.a", "b # not a comment", true},
		{"lxc.a = \"quoted  \"", "lxc.a", "quoted  ", true},
		{"lxc.a = 'single'", "lxc.a", "single", true},
		{"lxc.a = \"unbalanced", "lxc.a", "\"unbalanced", true},
		{"lxc.a = \"mixed'", "lxc.a", "\"mixed'", true},
		{"lxc.a = \"", "lxc.a", "\"", true},
		{"lxc.a = \"\"x\"\"", "lxc.a", "\"x\"", true},
		{"lxc.a = b = c", "lxc.a", "b = c", true},
		{"lxc.a =", "lxc.a", "", true},
		{"lxc.a = b\r", "lxc.a", "b", true},
		{"# lxc.a = b", "", "", false},
		{"   # indented comment", "", "", false},
		{"", "", "", false},
		{" \t\r", "", "", false},
	}
	for _, tc := range tests {
		k, v, kv, err := parseLine(tc.line, "f", 1)
		if err != nil || k != tc.key || v != tc.value || kv != tc.kv {
			t.Errorf("parseLine(%q) = %q, %q, %v, %v, want %q, %q, %v, nil", tc.line, k, v, kv, err, tc.key, tc.value, tc.kv)
		}
	}
}

func TestSyntaxError(t *testing.T) {
	tests := []struct {
		name, input string
		line        int
		msg         string
	}{
		{"no equals", "lxc.a = b\n\nlxc.rootfs.path /var/lib\n", 3, "missing '='"},
		{"no equals, not lxc", "# ok\nrandom words\n", 2, "missing '='"},
		{"no key", "lxc.a = b\n = value\n", 2, "missing key"},
		{"nul byte", "lxc.a = b\x00c\n", 1, "NUL byte"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.input), "/etc/x/config", Options{})
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, want a *SyntaxError", tc.input, err)
			}
			if se.File != "/etc/x/config" || se.Line != tc.line || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("Parse(%q) = %+v, want /etc/x/config line %d %q", tc.input, se, tc.line, tc.msg)
			}
			want := fmt.Sprintf("/etc/x/config:%d: ", tc.line)
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Parse(%q) error = %q, want it to start with %q", tc.input, err, want)
			}
		})
	}
}

func TestSyntaxErrorInInclude(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"config":   "# top\nlxc.include = bad.conf\n",
		"bad.conf": "lxc.a = 1\nlxc.b = 2\nbroken line\n",
	})
	_, err := Load(filepath.Join(dir, "config"), Options{})
	var se *SyntaxError
	if !errors.As(err, &se) || se.File != filepath.Join(dir, "bad.conf") || se.Line != 3 {
		t.Fatalf("Load = %v, want a *SyntaxError at bad.conf:3", err)
	}
	var ie *IncludeError
	if !errors.As(err, &ie) || ie.File != filepath.Join(dir, "config") || ie.Line != 2 {
		t.Fatalf("Load = %v, want an *IncludeError at config:2", err)
	}
}

func TestWarnings(t *testing.T) {
	var got []Warning
	c, err := Parse(strings.NewReader("lxc.utsname = a\nlxc.kmsg = 0\nlxc.uts.name = b\nlxc.utsname = c\n"),
		"/c/config", Options{Warn: func(w Warning) { got = append(got, w) }})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/c/config:1: lxc.utsname: deprecated, use lxc.uts.name",
		"/c/config:2: lxc.kmsg: obsolete since LXC 3.0, ignored",
		"/c/config:4: lxc.utsname: deprecated, use lxc.uts.name",
	}
	if len(got) != len(want) {
		t.Fatalf("Warn got %q, want %q", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] || c.Warnings[i] != got[i] {
			t.Errorf("warning %d = %q (Config.Warnings %q), want %q", i, got[i], c.Warnings[i], want[i])
		}
	}
	if v, _ := c.Get("lxc.uts.name"); v != "c" {
		t.Errorf("Get(lxc.uts.name) = %q, want %q", v, "c")
	}
	if _, ok := c.Get("lxc.kmsg"); ok {
		t.Errorf("Get(lxc.kmsg) found an obsolete key, want it ignored")
	}
}

// TestUnknownKeys: a key LXC does not know fails the parse, as in LXC, with
// where it is and the known key it most likely means.
func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		config, key, suggest string
		line                 int
	}{
		{"lxc.cap.dorp = sys_admin\n", "lxc.cap.dorp", "lxc.cap.drop", 1},
		{"# c\nlxc.uts.name = a\nlxc.uts.nmae = b\n", "lxc.uts.nmae", "lxc.uts.name", 3},
		{"lcx.cap.drop = mknod\n", "lcx.cap.drop", "lxc.cap.drop", 1},
		{"lxc.net.3.tpye = veth\n", "lxc.net.3.tpye", "lxc.net.3.type", 1},
		{"lxc.cgrop2.memory.max = 1G\n", "lxc.cgrop2.memory.max", "lxc.cgroup2.memory.max", 1},
		{"lxc.hook.post-stpo = x\n", "lxc.hook.post-stpo", "lxc.hook.post-stop", 1},
		{"lxc.idmaps = u 0 1 1\n", "lxc.idmaps", "lxc.idmap", 1},
		{"lxc.future = 1\n", "lxc.future", "", 1},
		{"lxc.no.such.key = 1\n", "lxc.no.such.key", "", 1},
		{"foo = bar\n", "foo", "", 1},
	}
	for _, tc := range tests {
		_, err := Parse(strings.NewReader(tc.config), "/c/config", Options{})
		var ke *KeyError
		if !errors.As(err, &ke) || !errors.Is(err, ErrUnknownKey) || ke.File != "/c/config" || ke.Line != tc.line ||
			ke.Key != tc.key || ke.Suggest != tc.suggest {
			t.Errorf("Parse(%q) = %v, want a *KeyError for %s at /c/config:%d suggesting %q", tc.config, err, tc.key, tc.line, tc.suggest)
		}
	}
	want := "/c/config:1: lxc.cap.dorp: unknown key (did you mean lxc.cap.drop?)"
	if _, err := Parse(strings.NewReader(tests[0].config), "/c/config", Options{}); err == nil || err.Error() != want {
		t.Errorf("Parse(%q) = %v, want %q", tests[0].config, err, want)
	}
}

// TestUnknownKeyInInclude names the included file and its line.
func TestUnknownKeyInInclude(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"config":   "lxc.include = inc.conf\n",
		"inc.conf": "lxc.tty.max = 1\nlxc.pty.mxa = 1\n",
	})
	_, err := Load(filepath.Join(dir, "config"), Options{})
	var ke *KeyError
	if !errors.As(err, &ke) || ke.File != filepath.Join(dir, "inc.conf") || ke.Line != 2 || ke.Suggest != "lxc.pty.max" {
		t.Errorf("Load = %v, want a *KeyError at inc.conf:2 suggesting lxc.pty.max", err)
	}
}

func TestUnnamedWarningString(t *testing.T) {
	w := Warning{Line: 4, Msg: "m"}
	if got := w.String(); got != "line 4: m" {
		t.Errorf("Warning%+v.String() = %q, want %q", w, got, "line 4: m")
	}
}

func TestTooLarge(t *testing.T) {
	r := io.LimitReader(repeatReader('#'), maxFileSize+1)
	_, err := Parse(r, "big", Options{})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Parse(16 MiB + 1) = %v, want ErrTooLarge", err)
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "big.conf")
	if err := os.WriteFile(big, bytes.Repeat([]byte("#"), maxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"config": "lxc.include = big.conf\n"})
	if _, err := Load(filepath.Join(dir, "config"), Options{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Load(include of 16 MiB + 1) = %v, want ErrTooLarge", err)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestCRLF(t *testing.T) {
	in := "lxc.uts.name = a\r\n# comment\r\nlxc.tty.max = 4\r\n"
	c, err := Parse(strings.NewReader(in), "/x/config", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get("lxc.uts.name"); v != "a" {
		t.Errorf("Get(lxc.uts.name) = %q, want %q", v, "a")
	}
	c.Set("lxc.tty.max", "6")
	want := "lxc.uts.name = a\r\n# comment\r\nlxc.tty.max = 6\r\n"
	if got := written(t, c); got != want {
		t.Errorf("WriteTo after Set = %q, want %q", got, want)
	}
}

func TestRelativeName(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a/config": "lxc.rootfs.path = rootfs\nlxc.include = inc.conf\n", "a/inc.conf": "lxc.mount.fstab = fstab\n"})
	t.Chdir(dir)
	c, err := Load("a/config", Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Moving away must not change what the paths mean.
	t.Chdir(t.TempDir())
	if got := c.File(); got != filepath.Join(dir, "a/config") {
		t.Errorf("File() = %q, want %q", got, filepath.Join(dir, "a/config"))
	}
	if got, _ := c.Path("lxc.rootfs.path"); got != filepath.Join(dir, "a/rootfs") {
		t.Errorf("Path(lxc.rootfs.path) = %q, want %q", got, filepath.Join(dir, "a/rootfs"))
	}
	if got, _ := c.Path("lxc.mount.fstab"); got != filepath.Join(dir, "a/fstab") {
		t.Errorf("Path(lxc.mount.fstab) = %q, want %q", got, filepath.Join(dir, "a/fstab"))
	}
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
