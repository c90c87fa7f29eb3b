package lxcconf

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// keyClass says how the parser treats a key.
type keyClass int

const (
	classModern    keyClass = iota
	classLegacy             // renamed; translated with a warning
	classObsolete           // removed from LXC without a replacement; ignored with a warning
	classUnknown            // not an LXC key: a KeyError
	classNoNet              // an unindexed lxc.network.* key before any lxc.network.type
	classClearOnly          // a family root such as lxc.cgroup2: only an empty value means something
)

// The key tables are built on first use, not at package init: ulxc
// attach never parses a config, and building the maps cost every start
// of the program about 0.02 ms.

// legacyKeys maps the names LXC 3.0 removed to the ones that replaced them,
// as lxc-update-config rewrites them.
var legacyKeys = sync.OnceValue(func() map[string]string {
	return map[string]string{
		"lxc.id_map":              "lxc.idmap",
		"lxc.rootfs":              "lxc.rootfs.path",
		"lxc.utsname":             "lxc.uts.name",
		"lxc.tty":                 "lxc.tty.max",
		"lxc.pts":                 "lxc.pty.max",
		"lxc.devttydir":           "lxc.tty.dir",
		"lxc.console":             "lxc.console.path",
		"lxc.loglevel":            "lxc.log.level",
		"lxc.logfile":             "lxc.log.file",
		"lxc.syslog":              "lxc.log.syslog",
		"lxc.haltsignal":          "lxc.signal.halt",
		"lxc.rebootsignal":        "lxc.signal.reboot",
		"lxc.stopsignal":          "lxc.signal.stop",
		"lxc.init_cmd":            "lxc.init.cmd",
		"lxc.init_uid":            "lxc.init.uid",
		"lxc.init_gid":            "lxc.init.gid",
		"lxc.aa_profile":          "lxc.apparmor.profile",
		"lxc.aa_allow_incomplete": "lxc.apparmor.allow_incomplete",
		"lxc.se_context":          "lxc.selinux.context",
		"lxc.seccomp":             "lxc.seccomp.profile",
		"lxc.mount":               "lxc.mount.fstab",
		"lxc.limit":               "lxc.prlimit",
		"lxc.network":             "lxc.net",
	}
})

// obsoleteKeys were removed from LXC with nothing to replace them.
var obsoleteKeys = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"lxc.pivotdir":       true,
		"lxc.kmsg":           true,
		"lxc.rootfs.backend": true,
	}
})

// modernKeys are the exact keys of lxc.container.conf(5) and LXC's
// config_jump_table. Families with free subkeys are in familyPrefixes.
var modernKeys = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"lxc.arch": true, "lxc.apparmor.profile": true, "lxc.apparmor.allow_incomplete": true,
		"lxc.apparmor.allow_nesting": true, "lxc.apparmor.raw": true, "lxc.autodev": true,
		"lxc.autodev.tmpfs.size": true, "lxc.cap.drop": true, "lxc.cap.keep": true,
		"lxc.cgroup.dir": true, "lxc.cgroup.dir.container": true, "lxc.cgroup.dir.container.inner": true,
		"lxc.cgroup.dir.monitor": true, "lxc.cgroup.dir.monitor.pivot": true, "lxc.cgroup.relative": true,
		"lxc.console.buffer.size": true, "lxc.console.logfile": true, "lxc.console.path": true,
		"lxc.console.rotate": true, "lxc.console.size": true, "lxc.sched.core": true,
		"lxc.environment": true, "lxc.environment.runtime": true, "lxc.environment.hooks": true,
		"lxc.ephemeral": true, "lxc.execute.cmd": true, "lxc.group": true, "lxc.hook.version": true,
		"lxc.idmap": true, "lxc.include": true, "lxc.init.cmd": true, "lxc.init.cwd": true,
		"lxc.init.gid": true, "lxc.init.groups": true, "lxc.init.uid": true, "lxc.keyring.session": true,
		"lxc.log.file": true, "lxc.log.level": true, "lxc.log.syslog": true,
		"lxc.monitor.unshare": true, "lxc.monitor.signal.pdeath": true,
		"lxc.mount.auto": true, "lxc.mount.entry": true, "lxc.mount.fstab": true,
		"lxc.namespace.clone": true, "lxc.namespace.keep": true,
		"lxc.time.offset.boot": true, "lxc.time.offset.monotonic": true, "lxc.no_new_privs": true,
		"lxc.pty.max": true, "lxc.rootfs.managed": true, "lxc.rootfs.mount": true,
		"lxc.rootfs.options": true, "lxc.rootfs.path": true, "lxc.seccomp.allow_nesting": true,
		"lxc.seccomp.notify.cookie": true, "lxc.seccomp.notify.proxy": true, "lxc.seccomp.profile": true,
		"lxc.selinux.context": true, "lxc.selinux.context.keyring": true,
		"lxc.signal.halt": true, "lxc.signal.reboot": true, "lxc.signal.stop": true,
		"lxc.start.auto": true, "lxc.start.delay": true, "lxc.start.order": true,
		"lxc.tty.dir": true, "lxc.tty.max": true, "lxc.uts.name": true,
	}
})

// hookNames are the lxc.hook.NAME lists.
var hookNames = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"pre-start": true, "start-host": true, "pre-mount": true, "mount": true, "autodev": true,
		"start": true, "stop": true, "post-stop": true, "clone": true, "destroy": true,
	}
})

// sharedNamespaces are the NAME of lxc.namespace.share.NAME.
var sharedNamespaces = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"cgroup": true, "ipc": true, "mnt": true, "net": true, "pid": true, "time": true,
		"user": true, "uts": true,
	}
})

// netKeys are the subkeys of lxc.net.N; true marks the lists.
var netKeys = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"type": false, "flags": false, "link": false, "name": false, "hwaddr": false, "mtu": false,
		"l2proxy": false, "macvlan.mode": false, "ipvlan.mode": false, "ipvlan.isolation": false,
		"vlan.id": false, "script.up": false, "script.down": false,
		"ipv4.address": true, "ipv4.gateway": false, "ipv6.address": true, "ipv6.gateway": false,
		"veth.mode": false, "veth.pair": false, "veth.n_rxqueues": false, "veth.n_txqueues": false,
		"veth.ipv4.route": true, "veth.ipv6.route": true, "veth.vlan.id": false,
		"veth.vlan.tagged.id": true,
		// ulxc's own: port forwards into a pasta or slirp4netns interface.
		"forward": true,
	}
})

// legacyNetKeys are network subkeys renamed with lxc.network -> lxc.net.
var legacyNetKeys = sync.OnceValue(func() map[string]string {
	return map[string]string{
		"ipv4": "ipv4.address",
		"ipv6": "ipv6.address",
	}
})

// familyPrefixes take any non-empty subkey (a cgroup file, a resource name,
// a sysctl): LXC validates those only when the container starts.
var familyPrefixes = []string{"lxc.cgroup.", "lxc.cgroup2.", "lxc.prlimit.", "lxc.sysctl.", "lxc.proc."}

// clearRoots are keys whose empty value clears a whole family, and which
// take no other value.
var clearRoots = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"lxc.cgroup": true, "lxc.cgroup2": true, "lxc.prlimit": true, "lxc.sysctl": true,
		"lxc.proc": true, "lxc.hook": true, "lxc.net": true,
	}
})

// listKeys repeat: every value is kept, in order, until an empty value clears them.
var listKeys = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"lxc.idmap": true, "lxc.mount.entry": true, "lxc.mount.auto": true, "lxc.environment": true,
		"lxc.environment.runtime": true, "lxc.environment.hooks": true, "lxc.cap.drop": true,
		"lxc.cap.keep": true, "lxc.include": true, "lxc.group": true, "lxc.apparmor.raw": true,
		"lxc.namespace.clone": true, "lxc.namespace.keep": true, "lxc.init.groups": true,
	}
})

// Canonical returns the modern name of an LXC key and whether LXC knows the
// key at all. Legacy names (lxc.rootfs, lxc.id_map, lxc.network.0.ipv4,
// lxc.limit.nofile...) are translated; modern names are returned unchanged.
// An unindexed legacy network key (lxc.network.link) means the interface
// opened by the last lxc.network.type, which only the parser knows; out of
// context Canonical names interface 0. Keys that LXC removed without a
// replacement (lxc.pivotdir) and keys it never had are reported unknown.
func Canonical(key string) (modern string, known bool) {
	m, class := canonical(key, 0)
	return m, class == classModern || class == classLegacy || class == classClearOnly
}

// canonical classifies key; net is the interface an unindexed legacy network
// key belongs to, or -1 when no lxc.network.type opened one.
func canonical(key string, net int) (string, keyClass) {
	if m, ok := legacyKeys()[key]; ok {
		return m, classLegacy
	}
	if obsoleteKeys()[key] {
		return key, classObsolete
	}
	if modernKeys()[key] {
		return key, classModern
	}
	if clearRoots()[key] {
		return key, classClearOnly
	}
	if rest, ok := strings.CutPrefix(key, "lxc.network."); ok {
		return legacyNetKey(key, rest, net)
	}
	if rest, ok := strings.CutPrefix(key, "lxc.net."); ok {
		return netKey(key, rest)
	}
	if rest, ok := strings.CutPrefix(key, "lxc.limit."); ok && rest != "" {
		return "lxc.prlimit." + rest, classLegacy
	}
	if rest, ok := strings.CutPrefix(key, "lxc.hook."); ok && hookNames()[rest] {
		return key, classModern
	}
	if rest, ok := strings.CutPrefix(key, "lxc.namespace.share."); ok && sharedNamespaces()[rest] {
		return key, classModern
	}
	for _, p := range familyPrefixes {
		if rest, ok := strings.CutPrefix(key, p); ok && rest != "" {
			return key, classModern
		}
	}
	return key, classUnknown
}

// netKey classifies lxc.net.REST.
func netKey(key, rest string) (string, keyClass) {
	idx, sub, ok := splitNetIndex(rest)
	if !ok {
		return key, classUnknown
	}
	if sub == "" {
		return "lxc.net." + idx, classClearOnly
	}
	if m, ok := legacyNetKeys()[sub]; ok {
		// LXC 2.1 spelled the addresses lxc.net.N.ipv4 for a while.
		return "lxc.net." + idx + "." + m, classLegacy
	}
	if _, ok := netKeys()[sub]; !ok {
		return key, classUnknown
	}
	return "lxc.net." + idx + "." + sub, classModern
}

// legacyNetKey classifies lxc.network.REST.
func legacyNetKey(key, rest string, net int) (string, keyClass) {
	idx, sub, ok := splitNetIndex(rest)
	if !ok {
		// Unindexed: the interface opened by the last lxc.network.type.
		if net < 0 {
			return key, classNoNet
		}
		idx, sub = strconv.Itoa(net), rest
	}
	if sub == "" {
		return "lxc.net." + idx, classLegacy
	}
	if m, ok := legacyNetKeys()[sub]; ok {
		sub = m
	}
	if _, ok := netKeys()[sub]; !ok {
		return key, classUnknown
	}
	return "lxc.net." + idx + "." + sub, classLegacy
}

// splitNetIndex splits "N.sub" or "N" into the index, normalised to plain
// decimal so that lxc.net.01 and lxc.net.1 are one interface, and the subkey.
func splitNetIndex(s string) (idx, sub string, ok bool) {
	num, sub, _ := strings.Cut(s, ".")
	if num == "" || strings.Trim(num, "0123456789") != "" {
		return "", "", false
	}
	n, err := strconv.ParseUint(num, 10, 31)
	if err != nil {
		return "", "", false
	}
	return strconv.FormatUint(n, 10), sub, true
}

// netIndex returns N of a canonical lxc.net.N.* key.
func netIndex(key string) (int, string, bool) {
	rest, ok := strings.CutPrefix(key, "lxc.net.")
	if !ok {
		return 0, "", false
	}
	num, sub, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, "", false
	}
	return n, sub, true
}

// isList reports whether a canonical key accumulates values.
func isList(key string) bool {
	if listKeys()[key] {
		return true
	}
	if rest, ok := strings.CutPrefix(key, "lxc.hook."); ok {
		return hookNames()[rest]
	}
	if _, sub, ok := netIndex(key); ok {
		return netKeys()[sub]
	}
	// Cgroup settings are a list in LXC: lxc.cgroup2.devices.allow repeats.
	// For a file such as memory.max the last value is the one written last,
	// which is what Get returns.
	for _, p := range []string{"lxc.cgroup2.", "lxc.cgroup."} {
		if strings.HasPrefix(key, p) {
			return !modernKeys()[key]
		}
	}
	return false
}

// clears reports whether an empty value of root removes key.
func clears(root, key string) bool {
	if root == key {
		return true
	}
	if _, sub, ok := netIndex(root); !clearRoots()[root] && (!ok || sub != "") {
		return false
	}
	if len(key) <= len(root) || key[len(root)] != '.' || !strings.HasPrefix(key, root) {
		return false
	}
	// lxc.cgroup clears the controller settings, not lxc.cgroup.dir*;
	// lxc.hook clears the hook lists, not lxc.hook.version.
	return !modernKeys()[key]
}

// ErrUnknownKey is a key that LXC does not know. LXC refuses such a config,
// and so does ulxc: a misspelled key would otherwise be silently ignored,
// lxc.cap.dorp dropping nothing.
var ErrUnknownKey = errors.New("unknown key")

// KeyError is an unknown key, where it is, and the known key it most
// likely means.
type KeyError struct {
	File    string
	Line    int
	Key     string
	Suggest string // the nearest known key, "" when none is near
}

// Error returns "FILE:LINE: KEY: unknown key (did you mean SUGGEST?)".
func (e *KeyError) Error() string {
	msg := position(e.File, e.Line) + ": " + e.Key + ": unknown key"
	if e.Suggest != "" {
		msg += " (did you mean " + e.Suggest + "?)"
	}
	return msg
}

// Unwrap returns ErrUnknownKey.
func (e *KeyError) Unwrap() error { return ErrUnknownKey }

// nearestKey returns the known key closest to the unknown key by edit
// distance (a swap of two neighbours counts as one edit), or "" when none
// is within 2 edits: typing mistakes, not guesses. Keys with a free part
// (lxc.net.N.*, lxc.cgroup2.*...) are compared with that part kept.
func nearestKey(key string) string {
	cands := make([]string, 0, len(modernKeys())+len(hookNames())+len(netKeys())+16)
	for k := range modernKeys() {
		cands = append(cands, k)
	}
	for h := range hookNames() {
		cands = append(cands, "lxc.hook."+h)
	}
	for ns := range sharedNamespaces() {
		cands = append(cands, "lxc.namespace.share."+ns)
	}
	parts := strings.SplitN(key, ".", 4)
	if len(parts) >= 3 {
		// lxc.nett.0.type, lxc.net.0.tpye: the index kept.
		idx, sub := parts[2], strings.Join(parts[3:], ".")
		for n := range netKeys() {
			cands = append(cands, "lxc.net."+idx+"."+n)
		}
		if sub == "" {
			for n := range netKeys() {
				cands = append(cands, "lxc.net.0."+n)
			}
		}
		// lxc.cgrop2.memory.max: the subkey kept.
		rest := strings.Join(parts[2:], ".")
		for _, p := range familyPrefixes {
			cands = append(cands, p+rest)
		}
	}
	slices.Sort(cands) // ties go to the first in order, whatever the maps say
	best, bestD := "", 3
	for _, c := range cands {
		if d := editDistance(key, c, bestD); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b
// (insertions, deletions, substitutions and swaps of neighbours), or limit
// when it is limit or more.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit)
}
