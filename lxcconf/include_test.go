package lxcconf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// TestRelativeRootfs is the case that once broke LXC: a relative
// lxc.rootfs resolved against the current directory instead of the config's.
func TestRelativeRootfs(t *testing.T) {
	a := t.TempDir()
	writeFiles(t, a, map[string]string{
		"config":     "lxc.rootfs = ./rootfs.test\n",
		"dir.config": "lxc.rootfs.path = dir:./rootfs.test\n",
		"ovl.config": "lxc.rootfs.path = overlay:lower:./upper\n",
		"zfs.config": "lxc.rootfs.path = zfs:pool/ct\n",
		"abs.config": "lxc.rootfs.path = /srv/rootfs\n",
	})
	t.Chdir(t.TempDir())
	tests := []struct{ file, want string }{
		{"config", filepath.Join(a, "rootfs.test")},
		{"dir.config", filepath.Join(a, "rootfs.test")},
		{"ovl.config", "overlay:" + filepath.Join(a, "lower") + ":" + filepath.Join(a, "upper")},
		{"zfs.config", "zfs:pool/ct"},
		{"abs.config", "/srv/rootfs"},
	}
	for _, tc := range tests {
		c, err := Load(filepath.Join(a, tc.file), Options{})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := c.Path("lxc.rootfs.path")
		if !ok || got != tc.want {
			t.Errorf("Path(lxc.rootfs.path) of %s = %q, %v, want %q, true", tc.file, got, ok, tc.want)
		}
		if legacy, _ := c.Path("lxc.rootfs"); legacy != got {
			t.Errorf("Path(lxc.rootfs) = %q, want the same as Path(lxc.rootfs.path) %q", legacy, got)
		}
	}
}

func TestPathOfIncludedFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"ct/config":         "lxc.include = ../shared/hooks.conf\n",
		"shared/hooks.conf": "lxc.hook.pre-start = bin/prestart --flag\nlxc.mount.fstab = fstab\n",
	})
	t.Chdir(t.TempDir())
	c, err := Load(filepath.Join(dir, "ct/config"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mustPath(t, c, "lxc.mount.fstab"), filepath.Join(dir, "shared/fstab"); got != want {
		t.Errorf("Path(lxc.mount.fstab) = %q, want %q (next to the file that says it)", got, want)
	}
	hooks := c.Lookup("lxc.hook.pre-start")
	if len(hooks) != 1 {
		t.Fatalf("Lookup(lxc.hook.pre-start) = %v, want 1 entry", hooks)
	}
	h := hooks[0]
	if h.File != filepath.Join(dir, "shared/hooks.conf") || h.Line != 1 {
		t.Errorf("Lookup(lxc.hook.pre-start) at %s:%d, want shared/hooks.conf:1", h.File, h.Line)
	}
	script, _, _ := strings.Cut(h.Value, " ")
	if got, want := h.Resolve(script), filepath.Join(dir, "shared/bin/prestart"); got != want {
		t.Errorf("Resolve(%q) = %q, want %q", script, got, want)
	}
}

func mustPath(t *testing.T, c *Config, key string) string {
	t.Helper()
	p, ok := c.Path(key)
	if !ok {
		t.Fatalf("Path(%q) not set", key)
	}
	return p
}

func TestIncludes(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"ct/config":         "lxc.include = file.conf\nlxc.include = " + filepath.Join(dir, "d") + "\nlxc.include = sub/\nlxc.tty.max = 1\n",
		"ct/file.conf":      "lxc.environment = file\n",
		"d/b.conf":          "lxc.environment = d/b\n",
		"d/a.conf":          "lxc.environment = d/a\n",
		"d/c.conf.disabled": "lxc.environment = disabled\n",
		"d/README":          "lxc.environment = readme\n",
		"d/.conf":           "lxc.environment = bare .conf\n",
		"d/nested.conf/x":   "a directory named .conf is not included\n",
		"ct/sub/z.conf":     "lxc.environment = sub/z\nlxc.tty.max = 9\n",
	})
	c, err := Load(filepath.Join(dir, "ct/config"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"file", "d/a", "d/b", "sub/z"}
	if got := c.Values("lxc.environment"); !slices.Equal(got, want) {
		t.Errorf("Values(lxc.environment) = %q, want %q", got, want)
	}
	// The top file's line comes after the include, so it wins.
	if got, _ := c.Get("lxc.tty.max"); got != "1" {
		t.Errorf("Get(lxc.tty.max) = %q, want %q", got, "1")
	}
	// Includes are not inlined into Entries.
	if len(c.Entries) != 4 {
		t.Errorf("len(Entries) = %d, want the 4 lines of the top file", len(c.Entries))
	}
	if len(c.Warnings) != 0 {
		t.Errorf("Warnings = %q, want none", c.Warnings)
	}
}

func TestIncludeErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		wantErr error
		file    string // of the include line that fails
		line    int
	}{
		{
			name:    "missing file",
			files:   map[string]string{"config": "# x\n\nlxc.include = missing.conf\n"},
			wantErr: fs.ErrNotExist, file: "config", line: 3,
		},
		{
			name:    "missing directory",
			files:   map[string]string{"config": "lxc.include = /nonexistent-ulxc-dir/\n"},
			wantErr: fs.ErrNotExist, file: "config", line: 1,
		},
		{
			name:    "self",
			files:   map[string]string{"config": "lxc.tty.max = 1\nlxc.include = config\n"},
			wantErr: ErrIncludeCycle, file: "config", line: 2,
		},
		{
			name: "cycle",
			files: map[string]string{
				"config": "lxc.include = a.conf\n",
				"a.conf": "lxc.include = b.conf\n",
				"b.conf": "\nlxc.include = a.conf\n",
			},
			wantErr: ErrIncludeCycle, file: "b.conf", line: 2,
		},
		{
			name: "cycle through a directory",
			files: map[string]string{
				"config":    "lxc.include = d/\n",
				"d/x.conf":  "lxc.include = ../config\n",
				"d/y.conf":  "lxc.tty.max = 1\n",
				"unrelated": "",
			},
			wantErr: ErrIncludeCycle, file: "d/x.conf", line: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			_, err := Load(filepath.Join(dir, "config"), Options{})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Load = %v, want %v", err, tc.wantErr)
			}
			// The innermost IncludeError names the line that failed.
			var ie *IncludeError
			for e := err; errors.As(e, &ie); e = ie.Err {
				if !errors.As(ie.Err, new(*IncludeError)) {
					break
				}
			}
			if ie == nil || ie.File != filepath.Join(dir, tc.file) || ie.Line != tc.line {
				t.Fatalf("Load = %v, want the failing include at %s:%d", err, tc.file, tc.line)
			}
			if want := fmt.Sprintf("%s:%d: include ", filepath.Join(dir, tc.file), tc.line); !strings.Contains(err.Error(), want) {
				t.Errorf("Load error %q does not contain %q", err, want)
			}
		})
	}
}

func TestIncludeSymlinkCycle(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"config": "lxc.include = alias.conf\n"})
	if err := os.Symlink("config", filepath.Join(dir, "alias.conf")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, "config"), Options{}); !errors.Is(err, ErrIncludeCycle) {
		t.Fatalf("Load(config including a symlink to itself) = %v, want ErrIncludeCycle", err)
	}
}

// A hard link is the same file under another name: files are told apart
// by device and inode, not by their resolved paths, which differ here.
func TestIncludeHardlinkCycle(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"config": "lxc.include = a.conf\n", "a.conf": "lxc.include = twin.conf\n"})
	if err := os.Link(filepath.Join(dir, "a.conf"), filepath.Join(dir, "twin.conf")); err != nil {
		t.Fatal(err)
	}
	_, err := Load(filepath.Join(dir, "config"), Options{})
	if !errors.Is(err, ErrIncludeCycle) {
		t.Fatalf("Load(a.conf including its hard link) = %v, want ErrIncludeCycle", err)
	}
	// Found at a.conf's line, not one include deeper, where twin.conf
	// includes itself by name.
	if want := filepath.Join(dir, "a.conf") + ":1: include " + filepath.Join(dir, "twin.conf") + ": " + ErrIncludeCycle.Error(); !strings.HasSuffix(err.Error(), want) {
		t.Errorf("Load error %q does not end with %q", err, want)
	}
}

func TestIncludeDepth(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"config": "lxc.include = 0.conf\n"}
	for i := range maxIncludeDepth + 1 {
		files[fmt.Sprintf("%d.conf", i)] = fmt.Sprintf("lxc.include = %d.conf\n", i+1)
	}
	files[fmt.Sprintf("%d.conf", maxIncludeDepth+1)] = "lxc.tty.max = 1\n"
	writeFiles(t, dir, files)
	if _, err := Load(filepath.Join(dir, "config"), Options{}); !errors.Is(err, ErrIncludeDepth) {
		t.Fatalf("Load(%d nested includes) = %v, want ErrIncludeDepth", maxIncludeDepth+2, err)
	}

	// One level less is fine.
	files = map[string]string{"config": "lxc.include = 1.conf\n"}
	for i := 1; i < maxIncludeDepth-1; i++ {
		files[fmt.Sprintf("%d.conf", i)] = fmt.Sprintf("lxc.include = %d.conf\n", i+1)
	}
	files[fmt.Sprintf("%d.conf", maxIncludeDepth-1)] = "lxc.tty.max = 7\n"
	dir = t.TempDir()
	writeFiles(t, dir, files)
	c, err := Load(filepath.Join(dir, "config"), Options{})
	if err != nil {
		t.Fatalf("Load(%d nested includes) = %v", maxIncludeDepth-1, err)
	}
	if v, _ := c.Get("lxc.tty.max"); v != "7" {
		t.Errorf("Get(lxc.tty.max) = %q, want %q from the deepest file", v, "7")
	}
}

func TestIncludeRelativeWithoutName(t *testing.T) {
	_, err := Parse(strings.NewReader("lxc.include = common.conf\n"), "", Options{})
	if !errors.Is(err, ErrRelativePath) {
		t.Fatalf("Parse(unnamed, relative include) = %v, want ErrRelativePath", err)
	}
}

func TestMissingStandardInclude(t *testing.T) {
	tmpl := t.TempDir()
	writeFiles(t, tmpl, map[string]string{"common.conf": "lxc.tty.max = 4\n"})
	in := "lxc.include = /usr/share/lxc/config/ulxc-test-not-installed.conf\n" +
		"lxc.include = LXC_TEMPLATE_CONFIG/common.conf\n" +
		"lxc.include = LXC_TEMPLATE_CONFIG/ulxc-test-not-installed.userns.conf\n" +
		"lxc.include = /usr/share/lxc/config/ulxc-test-not-installed.conf.d/\n"
	var warned []Warning
	opts := Options{Vars: map[string]string{"LXC_TEMPLATE_CONFIG": tmpl}, Warn: func(w Warning) { warned = append(warned, w) }}
	c, err := Parse(strings.NewReader(in), "/home/u/ct/config", opts)
	if err != nil {
		t.Fatalf("Parse = %v, want missing standard includes skipped", err)
	}
	if v, _ := c.Get("lxc.tty.max"); v != "4" {
		t.Errorf("Get(lxc.tty.max) = %q, want %q from LXC_TEMPLATE_CONFIG/common.conf", v, "4")
	}
	want := []string{
		"/home/u/ct/config:1: include /usr/share/lxc/config/ulxc-test-not-installed.conf: not installed, skipped",
		"/home/u/ct/config:3: include " + tmpl + "/ulxc-test-not-installed.userns.conf: not installed, skipped",
		"/home/u/ct/config:4: include /usr/share/lxc/config/ulxc-test-not-installed.conf.d/: not installed, skipped",
	}
	if len(warned) != len(want) {
		t.Fatalf("warnings = %q, want %q", warned, want)
	}
	for i := range want {
		if warned[i].String() != want[i] {
			t.Errorf("warning %d = %q, want %q", i, warned[i], want[i])
		}
	}
}

// TestRealLXCConfigs parses the configs the LXC package installs, the way a
// container made by lxc-create -t download includes them.
func TestRealLXCConfigs(t *testing.T) {
	const dir = "/usr/share/lxc/config"
	for _, f := range []string{"common.conf", "userns.conf"} {
		p := filepath.Join(dir, f)
		if _, err := os.Stat(p); err != nil {
			testenv.Skipf(t, "%s is not installed (apt-get install lxc): %v", p, err)
		}
	}
	for _, f := range []string{"common.conf", "userns.conf"} {
		p := filepath.Join(dir, f)
		c, err := Load(p, Options{})
		if err != nil {
			t.Fatalf("Load(%q) = %v", p, err)
		}
		in, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := written(t, c); got != string(in) {
			t.Errorf("WriteTo after Load(%q) differs from the file", p)
		}
		for _, w := range c.Warnings {
			if !strings.Contains(w.Msg, "not installed, skipped") {
				t.Errorf("Load(%q) warning %q, want none but skipped includes", p, w)
			}
		}
	}

	ct := t.TempDir()
	writeFiles(t, ct, map[string]string{"config": "# Distribution configuration\n" +
		"lxc.include = LXC_TEMPLATE_CONFIG/common.conf\n" +
		"lxc.include = LXC_TEMPLATE_CONFIG/userns.conf\n" +
		"lxc.arch = linux64\n\n# Container specific configuration\n" +
		"lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n" +
		"lxc.rootfs.path = dir:" + ct + "/rootfs\nlxc.uts.name = web\n"})
	c, err := Load(filepath.Join(ct, "config"), Options{Vars: map[string]string{"LXC_TEMPLATE_CONFIG": dir}})
	if err != nil {
		t.Fatalf("Load(download-style config) = %v", err)
	}
	// userns.conf clears what common.conf set for privileged containers.
	for _, k := range []string{"lxc.cgroup2.devices.allow", "lxc.cgroup.devices.deny", "lxc.cap.drop", "lxc.tty.dir"} {
		if vs := c.Values(k); vs != nil {
			t.Errorf("Values(%q) = %q, want nil: userns.conf clears it", k, vs)
		}
	}
	if got, _ := c.Get("lxc.tty.max"); got != "4" {
		t.Errorf("Get(lxc.tty.max) = %q, want %q from common.conf", got, "4")
	}
	if got := c.Values("lxc.mount.auto"); len(got) == 0 || got[len(got)-1] != "sys:rw" {
		t.Errorf("Values(lxc.mount.auto) = %q, want it to end with sys:rw from userns.conf", got)
	}
	if got := c.Values("lxc.idmap"); len(got) != 2 {
		t.Errorf("Values(lxc.idmap) = %q, want 2 maps", got)
	}
}

// TestIncludeExpansionBounded: no cycle, but each file includes the next ten
// times, so expanding everything would take 10^8 lines.
func TestIncludeExpansionBounded(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for i := range 8 {
		files[fmt.Sprintf("%d.conf", i)] = strings.Repeat(fmt.Sprintf("lxc.include = %d.conf\n", i+1), 10)
	}
	files["8.conf"] = "lxc.environment = x\n"
	writeFiles(t, dir, files)
	if _, err := Load(filepath.Join(dir, "0.conf"), Options{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Load(10^8 lines through includes) = %v, want ErrTooLarge", err)
	}
}

func TestTemplateVarNotSubstituted(t *testing.T) {
	c, err := Parse(strings.NewReader("lxc.include = LXC_TEMPLATE_CONFIG/ulxc-test.common.conf\n"), "/home/u/ct/config", Options{})
	if err != nil {
		t.Fatalf("Parse = %v, want the standard include skipped", err)
	}
	want := "/home/u/ct/config:1: include LXC_TEMPLATE_CONFIG/ulxc-test.common.conf: LXC_TEMPLATE_CONFIG not substituted, skipped"
	if len(c.Warnings) != 1 || c.Warnings[0].String() != want {
		t.Errorf("Warnings = %q, want [%q]", c.Warnings, want)
	}
}

// BenchmarkLoadIncludes loads a Debian-shaped config (debianShaped).
func BenchmarkLoadIncludes(b *testing.B) {
	path := debianShaped(b)
	for b.Loop() {
		if _, err := Load(path, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEditIncludes makes the edits of an ephemeral copy's config
// (clone's editConfig) to a Debian-shaped one, and writes it.
func BenchmarkEditIncludes(b *testing.B) {
	c, err := Load(debianShaped(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "config")
	for b.Loop() {
		d := c.Clone()
		d.Set("lxc.rootfs.path", "overlay:/lower:/upper")
		d.Set("lxc.rootfs.options", "userxattr")
		d.Set("lxc.uts.name", "ct-12345678")
		d.Set("lxc.ephemeral", "1")
		if _, err := d.Write(out, false); err != nil {
			b.Fatal(err)
		}
	}
}

// debianShaped writes a config shaped like a Debian container's from the
// download template, and returns its path: two standard includes, deep in
// the tree, each including a directory of conf files.
func debianShaped(b *testing.B) string {
	dir := b.TempDir()
	std := filepath.Join(dir, "usr/share/lxc/config")
	var common strings.Builder
	for i := range 20 {
		fmt.Fprintf(&common, "lxc.cgroup2.devices.allow = c 1:%d rwm\n", i)
	}
	common.WriteString("lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed\nlxc.include = " + std + "/common.conf.d/\n")
	writeFiles(b, dir, map[string]string{
		"usr/share/lxc/config/common.conf":             common.String(),
		"usr/share/lxc/config/common.conf.d/00-x.conf": "lxc.hook.mount = /usr/share/x/mount.hook\n",
		"usr/share/lxc/config/userns.conf":             "lxc.cap.drop =\nlxc.mount.auto = sys:rw\nlxc.include = " + std + "/userns.conf.d/\n",
		"usr/share/lxc/config/userns.conf.d/00-y.conf": "lxc.tty.max = 4\n",
		"home/user/.local/share/ulxc/ct/config": "lxc.include = " + std + "/common.conf\nlxc.include = " + std +
			"/userns.conf\nlxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\nlxc.uts.name = ct\n",
	})
	return filepath.Join(dir, "home/user/.local/share/ulxc/ct/config")
}
