package image

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestFilterConfigGenuine: what real images' config-user holds, in the
// shapes distrobuilder writes (LXC_TEMPLATE_CONFIG already substituted),
// and the busybox template's own lines, are kept as they are.
func TestFilterConfigGenuine(t *testing.T) {
	for _, text := range []string{
		// lxc-ci's images at compatibility level 5 (the unsuffixed file).
		"lxc.include = /usr/share/lxc/config/common.conf\nlxc.include = /usr/share/lxc/config/userns.conf\nlxc.arch = x86_64\n",
		// Before that, each distribution's pair; with comments and blanks.
		"# Distribution configuration\nlxc.include = /usr/share/lxc/config/debian.common.conf\n\nlxc.include = /usr/share/lxc/config/debian.userns.conf\r\nlxc.arch = linux64\n",
		"lxc.include = /usr/share/lxc/config/ubuntu-cloud.common.conf\nlxc.include = /usr/share/lxc/config/ubuntu-cloud.userns.conf\nlxc.arch = aarch64\n",
		"lxc.include = \"/usr/share/lxc/config/openwrt.common.conf\"\nlxc.arch = i686\n",
		BusyboxConfig(),
		// Legacy spellings of allowed keys.
		"lxc.haltsignal = SIGPWR\nlxc.init_cmd = /sbin/init\n",
		"lxc.init.cwd = /srv\nlxc.init.uid = 1000\nlxc.init.gid = 1000\nlxc.signal.stop = SIGKILL\n",
	} {
		kept, dropped := FilterConfig(text)
		want := strings.Split(strings.TrimRight(strings.ReplaceAll(text, "\r", ""), "\n"), "\n")
		if !slices.Equal(kept, want) || len(dropped) != 0 {
			t.Errorf("FilterConfig(%q) = %q, %v; want every line kept", text, kept, dropped)
		}
	}
}

// TestFilterConfigHostile: a signed image's config that reaches for the
// host, the user's account or the container's confinement. Every line is
// dropped, with a warning naming its key and line number, and nothing
// follows from a dropped line.
func TestFilterConfigHostile(t *testing.T) {
	lines := []string{
		// What issue 14 names.
		"lxc.start.auto = 1",
		"lxc.start.delay = 0",
		"lxc.start.order = -100",
		"lxc.mount.auto = proc:rw sys:rw cgroup:rw",
		"lxc.cgroup2.memory.max = 1",
		"lxc.cgroup2.devices.allow = a",
		"lxc.cgroup.devices.allow = c *:* rwm",
		"lxc.cgroup.dir = ../../system.slice",
		"lxc.sysctl.net.ipv4.ip_forward = 1",
		"lxc.include = /usr/share/lxc/config/nesting.conf",
		"lxc.include = /usr/share/lxc/config/oci.common.conf",
		"lxc.include = /usr/share/lxc/config/gentoo.moresecure.conf",
		"lxc.include = /usr/share/lxc/config/common.conf.d/",
		"lxc.include = /usr/share/lxc/config/common.seccomp",
		"lxc.include = /usr/share/lxc/config",
		"lxc.include = /usr/share/lxc/config/../../../../home/u/.ssh/config",
		"lxc.include = /usr/share/lxc/config//common.conf",
		"lxc.include = /usr/share/lxc/config/./common.conf",
		"lxc.include = /etc/lxc/default.conf",
		"lxc.include = common.conf",
		"lxc.include = /usr/share/lxc/config/common.conf /etc/passwd",
		// Hooks and mounts of host paths.
		"lxc.hook.pre-start = /bin/sh -c 'id > ~/PWNED'",
		"lxc.hook.start-host = /bin/true",
		"lxc.hook.version = 1",
		"lxc.hook = /bin/true",
		"lxc.mount.entry = /home/u home/u none bind,create=dir 0 0",
		"lxc.mount.entry = /run/user/1000 run/host none rbind 0 0",
		"lxc.mount.fstab = /etc/fstab",
		"lxc.mount = /etc/fstab",
		// The rest of what a config can say that an image has no say in.
		"lxc.idmap = u 0 1000 1",
		"lxc.id_map = u 0 1000 1",
		"lxc.rootfs.path = dir:/",
		"lxc.rootfs = /",
		"lxc.uts.name = other",
		"lxc.net.0.type = none",
		"lxc.network.type = none",
		"lxc.namespace.keep = net",
		"lxc.namespace.share.net = other",
		"lxc.environment = SSH_AUTH_SOCK",
		"lxc.environment = LD_PRELOAD=/tmp/x.so",
		"lxc.prlimit.nofile = unlimited",
		"lxc.proc.oom_score_adj = -1000",
		"lxc.cap.drop =",
		"lxc.cap.keep = sys_admin",
		"lxc.apparmor.profile = unconfined",
		"lxc.aa_profile = unconfined",
		"lxc.seccomp.profile =",
		"lxc.no_new_privs = 0",
		"lxc.autodev = 0",
		"lxc.tty.max = 100000",
		"lxc.pty.max = 100000",
		"lxc.console.path = /dev/tty1",
		"lxc.console.logfile = /home/u/.bashrc",
		"lxc.log.file = /home/u/.profile",
		"lxc.monitor.unshare = 0",
		"lxc.ephemeral = 1",
		"lxc.keyring.session = 0",
		"lxc.time.offset.boot = 1000s",
		"ulxc.anything = 1",
		"garbage",
		"= value",
		// A second line hidden behind a '\r' (LXC ends lines there too),
		// and a terminal escape in a comment.
		"lxc.arch = x86_64\rlxc.hook.pre-start = /bin/sh",
		"# \rlxc.hook.pre-start = /bin/sh",
		"# \x1b]0;owned\x07",
		"lxc.start.auto\u202e = 1",
	}
	text := strings.Join(lines, "\n") + "\n"
	kept, dropped := FilterConfig(text)
	if len(kept) != 0 {
		t.Errorf("FilterConfig kept %q of a hostile config", kept)
	}
	if len(dropped) != len(lines) {
		t.Fatalf("FilterConfig dropped %d lines, want %d", len(dropped), len(lines))
	}
	for i, d := range dropped {
		line := strings.Trim(lines[i], " \t\r")
		key, _, hasEq := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if d.Line != i+1 || d.Text != line {
			t.Errorf("dropped %+v, want line %d %q", d, i+1, line)
		}
		msg := d.String()
		if !strings.Contains(msg, fmt.Sprintf("line %d ", i+1)) || (hasEq && key != "" && !strings.ContainsAny(line, "\r\x1b\u202e") && !strings.Contains(msg, key+":")) {
			t.Errorf("warning %q does not name line %d and key %q", msg, i+1, key)
		}
		if strings.ContainsAny(msg, "\r\x1b\x07\u202e") {
			t.Errorf("warning %q carries a control character to the user's terminal", msg)
		}
	}
}

// TestFilterConfigMixed: a genuine config with hostile lines between its
// own keeps the genuine lines in order and numbers the dropped ones.
func TestFilterConfigMixed(t *testing.T) {
	text := "lxc.include = /usr/share/lxc/config/common.conf\nlxc.start.auto = 1\nlxc.include = /usr/share/lxc/config/userns.conf\nlxc.sysctl.kernel.msgmax = 1\nlxc.arch = x86_64\n"
	kept, dropped := FilterConfig(text)
	want := []string{"lxc.include = /usr/share/lxc/config/common.conf", "lxc.include = /usr/share/lxc/config/userns.conf", "lxc.arch = x86_64"}
	if !slices.Equal(kept, want) {
		t.Errorf("FilterConfig kept %q, want %q", kept, want)
	}
	if len(dropped) != 2 || dropped[0].Line != 2 || dropped[0].Key != "lxc.start.auto" || dropped[1].Line != 4 || dropped[1].Key != "lxc.sysctl.kernel.msgmax" {
		t.Errorf("FilterConfig dropped %+v, want lxc.start.auto on line 2 and lxc.sysctl.kernel.msgmax on line 4", dropped)
	}
}
