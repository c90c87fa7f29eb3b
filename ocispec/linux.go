package ocispec

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ulxc/ulxc/userns"
)

// idmaps sets linux.uidMappings and gidMappings from lxc.idmap.
func (c *converter) idmaps() error {
	for _, v := range c.cfg.Values("lxc.idmap") {
		maps, err := userns.ParseLXC(strings.TrimSpace(v))
		if err != nil {
			return &KeyError{Key: "lxc.idmap", Value: v, Err: errors.Join(ErrInvalidValue, err)}
		}
		for _, m := range maps {
			id := specs.LinuxIDMapping{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size}
			if m.Kind == userns.UID {
				c.spec.Linux.UIDMappings = append(c.spec.Linux.UIDMappings, id)
			} else {
				c.spec.Linux.GIDMappings = append(c.spec.Linux.GIDMappings, id)
			}
		}
	}
	var missing []string
	if len(c.spec.Linux.UIDMappings) == 0 {
		missing = append(missing, "u")
	}
	if len(c.spec.Linux.GIDMappings) == 0 {
		missing = append(missing, "g")
	}
	if len(missing) > 0 {
		return keyErr("lxc.idmap", strings.Join(c.cfg.Values("lxc.idmap"), "; "), ErrNoIDMap,
			"no %s lines: ulxc never runs a container unmapped; add 'lxc.idmap = u 0 100000 65536' and 'lxc.idmap = g 0 100000 65536' with your subordinate ranges (ulxc create writes them)",
			strings.Join(missing, " or "))
	}
	return nil
}

// mapsGID reports whether container gid id is mapped.
func (c *converter) mapsGID(id uint32) bool {
	for _, m := range c.spec.Linux.GIDMappings {
		if id >= m.ContainerID && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return true
		}
	}
	return false
}

// namespaceName maps LXC's namespace names to OCI's.
func namespaceName(name string) (specs.LinuxNamespaceType, bool) {
	switch name {
	case "user":
		return specs.UserNamespace, true
	case "mnt":
		return specs.MountNamespace, true
	case "pid":
		return specs.PIDNamespace, true
	case "uts":
		return specs.UTSNamespace, true
	case "ipc":
		return specs.IPCNamespace, true
	case "net":
		return specs.NetworkNamespace, true
	case "cgroup":
		return specs.CgroupNamespace, true
	case "time":
		return specs.TimeNamespace, true
	}
	return "", false
}

// namespaces sets linux.namespaces and the hostname.
func (c *converter) namespaces() error {
	for _, key := range c.cfg.Keys("lxc.namespace.share.") {
		v, _ := c.cfg.Get(key)
		if strings.TrimSpace(v) == "" {
			continue
		}
		return keyErr(key, v, ErrUnsupported, "ulxc cannot join another container's or process's namespace at start")
	}
	keep := map[specs.LinuxNamespaceType]bool{}
	for _, w := range c.words("lxc.namespace.keep") {
		t, ok := namespaceName(w)
		if !ok {
			return keyErr("lxc.namespace.keep", w, ErrInvalidValue, "unknown namespace")
		}
		switch t {
		case specs.UserNamespace, specs.MountNamespace, specs.PIDNamespace:
			return keyErr("lxc.namespace.keep", w, ErrUnsupported, "a rootless container needs its own %s namespace", w)
		}
		keep[t] = true
	}
	hostNet, err := c.network()
	if err != nil {
		return err
	}
	if hostNet {
		keep[specs.NetworkNamespace] = true
	}
	c.hostNet = keep[specs.NetworkNamespace]
	c.keepUTS = keep[specs.UTSNamespace]
	for _, t := range []specs.LinuxNamespaceType{specs.UserNamespace, specs.MountNamespace, specs.PIDNamespace,
		specs.UTSNamespace, specs.IPCNamespace, specs.NetworkNamespace, specs.CgroupNamespace} {
		if !keep[t] {
			c.spec.Linux.Namespaces = append(c.spec.Linux.Namespaces, specs.LinuxNamespace{Type: t})
		}
	}
	if !c.keepUTS {
		c.spec.Hostname = c.opts.Name
		if v, ok := c.get("lxc.uts.name"); ok {
			c.spec.Hostname = v
		}
	}
	return nil
}

// network reads lxc.net.N.*: it reports whether the host's network
// namespace is shared (type none) and records veth, pasta and slirp4netns
// interfaces as annotations.
func (c *converter) network() (hostNet bool, err error) {
	byIndex := map[int][]string{}
	for _, key := range c.cfg.Keys("lxc.net.") {
		num, _, _ := strings.Cut(strings.TrimPrefix(key, "lxc.net."), ".")
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 {
			return false, keyErr(key, "", ErrInvalidValue, "not an lxc.net.N key")
		}
		byIndex[n] = append(byIndex[n], key)
	}
	indices := make([]int, 0, len(byIndex))
	for n := range byIndex {
		indices = append(indices, n)
	}
	sort.Ints(indices)
	for _, n := range indices {
		typeKey := "lxc.net." + strconv.Itoa(n) + ".type"
		typ, _ := c.get(typeKey)
		switch typ {
		case "empty":
		case "none":
			if len(indices) > 1 {
				return false, keyErr(typeKey, typ, ErrInvalidValue, "type none shares the host's network and allows no other interface")
			}
			hostNet = true
		case NetVeth:
			keys := byIndex[n]
			sort.Strings(keys)
			for _, key := range keys {
				vals := c.cfg.Values(key)
				for i := range vals {
					vals[i] = strings.TrimSpace(vals[i])
				}
				if v := strings.Join(vals, ","); v != "" {
					c.ann["ulxc.net."+strings.TrimPrefix(key, "lxc.net.")] = v
					if strings.HasSuffix(key, ".veth.pair") {
						// ulxc-netshim names the host end itself.
						c.unapplied[key] = true
					}
				}
			}
		case NetPasta, NetSlirp4netns:
			if err := c.userModeNet(n, typ, byIndex[n]); err != nil {
				return false, err
			}
		case "":
			return false, keyErr(typeKey, "", ErrInvalidValue, "lxc.net.%d is configured but has no type", n)
		default:
			return false, keyErr(typeKey, typ, ErrUnsupported, "network type %q (ulxc knows empty, none, veth, pasta and slirp4netns)", typ)
		}
	}
	return hostNet, nil
}

// cgroups sets linux.resources.unified from lxc.cgroup2.* and records the
// cgroup v1 keys and device lists it cannot apply.
func (c *converter) cgroups() error {
	unified := map[string]string{}
	for _, key := range c.cfg.Keys("lxc.cgroup2.") {
		file := strings.TrimPrefix(key, "lxc.cgroup2.")
		if file == "devices.allow" || file == "devices.deny" {
			if v := strings.Join(nonEmpty(c.cfg.Values(key)), ";"); v != "" {
				c.ann["ulxc.cgroup2."+file] = v
				c.unapplied[key] = true
			}
			continue
		}
		v, ok := c.get(key)
		if !ok {
			continue
		}
		if strings.ContainsAny(file, "/") || strings.HasPrefix(file, ".") {
			return keyErr(key, v, ErrInvalidValue, "%q is not a cgroup file name", file)
		}
		unified[file] = v
	}
	if len(unified) > 0 {
		c.spec.Linux.Resources = &specs.LinuxResources{Unified: unified}
	}
	for _, key := range c.cfg.Keys("lxc.cgroup.") {
		if v := strings.Join(nonEmpty(c.cfg.Values(key)), ";"); v != "" {
			c.ann["ulxc.cgroup."+strings.TrimPrefix(key, "lxc.cgroup.")] = v
			if !strings.HasPrefix(key, "lxc.cgroup.dir") && key != "lxc.cgroup.relative" {
				c.unapplied[key] = true
			}
		}
	}
	return nil
}

func nonEmpty(vals []string) []string {
	var out []string
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// linuxMisc sets sysctls, the personality and the OOM score.
func (c *converter) linuxMisc() error {
	for _, key := range c.cfg.Keys("lxc.sysctl.") {
		v, ok := c.get(key)
		if !ok {
			continue
		}
		if c.spec.Linux.Sysctl == nil {
			c.spec.Linux.Sysctl = map[string]string{}
		}
		c.spec.Linux.Sysctl[strings.TrimPrefix(key, "lxc.sysctl.")] = v
	}
	if v, ok := c.get("lxc.arch"); ok {
		switch v {
		// LXC's lxc_config_parse_arch: 32-bit names ask for PER_LINUX32.
		case "linux32", "x86", "i386", "i486", "i586", "i686", "athlon", "mips", "mipsel",
			"arm", "armel", "armhf", "armv7l", "armv7a", "powerpc", "ppc":
			c.spec.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
		case "linux64", "x86_64", "amd64", "arm64", "aarch64", "ppc64", "ppc64el", "ppc64le",
			"mips64", "mips64el", "s390x", "riscv64", "loongarch64":
		default:
			return keyErr("lxc.arch", v, ErrUnsupported, "architecture")
		}
	}
	for _, key := range c.cfg.Keys("lxc.proc.") {
		v, ok := c.get(key)
		if !ok {
			continue
		}
		if key != "lxc.proc.oom_score_adj" {
			c.unapplied[key] = true
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < -1000 || n > 1000 {
			return keyErr(key, v, ErrInvalidValue, "not a number from -1000 to 1000")
		}
		c.spec.Process.OOMScoreAdj = &n
	}
	return nil
}
