package netshim

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Where the installation puts things. The helper opens these and no other
// file; none comes from its caller.
const (
	// PolicyFile grants the quotas: root's, lxc-usernet format.
	PolicyFile = "/etc/ulxc/usernet"
	// StateDir holds the quota state (StateName), root:Group, mode 0770.
	StateDir = "/run/ulxc"
	// Group is the helper's set-group-id group, which alone may write
	// the state.
	Group = "ulxcnet"
	// HelperName is the installed helper's file name.
	HelperName = "ulxc-netshim"
)

// The paths Serve uses. Tests link a helper whose policy and state live in
// a directory of their own (go build -ldflags -X); an installed helper
// has the constants above.
var (
	policyFile = PolicyFile
	stateDir   = StateDir
)

// The account files, read directly: a static helper has no NSS.
const (
	passwdFile = "/etc/passwd"
	groupFile  = "/etc/group"
)

// Serve performs one request of the helper: unsafeArgs are its arguments
// without argv[0], netnsFD its inherited descriptor of the container's
// network namespace. It checks, in order, the arguments, the namespace
// (before the helper has opened a file that could take descriptor 3 when
// the caller passed none), where and how it runs, the policy, the bridge
// and the quota, and creates nothing unless all pass. The error wraps one of the refusals (ExitCode).
func Serve(unsafeArgs []string, netnsFD int) (Reply, error) {
	req, err := ParseArgs(unsafeArgs)
	if err != nil {
		return Reply{}, err
	}
	uid := uint32(os.Getuid())
	if uid == 0 {
		return Reply{}, fmt.Errorf("%w: run by root, who needs no helper: ulxc runs it as the container's owner", ErrUsage)
	}
	if err := CheckNetns(netnsFD, uid); err != nil {
		return Reply{}, err
	}
	if err := checkPrivilege(); err != nil {
		return Reply{}, err
	}
	allowance, who, err := allowance(uid, req.Bridge)
	if err != nil {
		return Reply{}, err
	}
	c, err := Dial()
	if err != nil {
		return Reply{}, err
	}
	defer c.Close()
	br, err := c.LinkByName(req.Bridge)
	switch {
	case errors.Is(err, unix.ENODEV):
		return Reply{}, fmt.Errorf("%w: there is no interface %s", ErrBridge, req.Bridge)
	case err != nil:
		return Reply{}, err
	case br.Kind != "bridge":
		return Reply{}, fmt.Errorf("%w: %s is a %s, not a bridge", ErrBridge, req.Bridge, kindName(br.Kind))
	case req.MTU > br.MTU:
		return Reply{}, fmt.Errorf("%w: --mtu %d is larger than bridge %s's %d", ErrUsage, req.MTU, br.Name, br.MTU)
	}
	return create(c, req, br, uid, who, allowance, netnsFD)
}

func kindName(kind string) string {
	if kind == "" {
		return "device"
	}
	return kind
}

// checkPrivilege refuses to work without CAP_NET_ADMIN (a helper installed
// without its file capability, or run with no_new_privs) or outside the
// initial user namespace, where the file capability gives power over the
// caller's own namespaces only and quotas would count in a network
// namespace the caller made.
func checkPrivilege() error {
	m, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInstall, err)
	}
	if f := strings.Fields(string(m)); len(f) != 3 || f[0] != "0" || f[1] != "0" || f[2] != "4294967295" {
		return fmt.Errorf("%w: it runs only in the initial user namespace", ErrInstall)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("%w: capget: %v", ErrInstall, err)
	}
	if data[0].Effective&(1<<unix.CAP_NET_ADMIN) == 0 {
		return fmt.Errorf("%w: it runs without CAP_NET_ADMIN (its file capability is missing, or no_new_privs is set)", ErrInstall)
	}
	return nil
}

// allowance reads the policy and the account files and returns uid's quota
// on bridge and the user's name. The policy must be root's and writable by
// root alone, as must its directory.
func allowance(uid uint32, bridge string) (int, string, error) {
	data, err := readPolicy(policyFile)
	if errors.Is(err, os.ErrNotExist) {
		return 0, "", fmt.Errorf("%w: there is no %s", ErrNoQuota, policyFile)
	}
	if err != nil && !errors.Is(err, ErrPolicy) {
		err = fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	if err != nil {
		return 0, "", err
	}
	rules, err := ParsePolicy(data)
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", policyFile, err)
	}
	passwd, err := readAll(passwdFile)
	if err != nil {
		return 0, "", err
	}
	group, err := readAll(groupFile)
	if err != nil {
		return 0, "", err
	}
	id := LookupIdentity(passwd, group, uid)
	if id.Name == "" {
		return 0, "", fmt.Errorf("%w: uid %d is not in %s (ulxc-netshim reads no other user database)", ErrNoQuota, uid, passwdFile)
	}
	n := Allowance(rules, id, bridge)
	if n == 0 {
		return 0, "", fmt.Errorf("%w: %s grants %s no veth on %s", ErrNoQuota, policyFile, id.Name, bridge)
	}
	return n, id.Name, nil
}

func readPolicy(path string) ([]byte, error) {
	dir, err := os.OpenFile(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	if err := rootOnly(dir, filepath.Dir(path)); err != nil {
		return nil, err
	}
	fd, err := unix.Openat(int(dir.Fd()), filepath.Base(path), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if err := rootOnly(f, path); err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrPolicy, path)
	}
	return readLimited(f, path)
}

// rootOnly refuses a file or directory that anyone but root may change.
func rootOnly(f *os.File, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrPolicy, path, err)
	}
	if st.Uid != 0 {
		return fmt.Errorf("%w: %s is owned by uid %d, not root", ErrPolicy, path, st.Uid)
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by group or others (mode %#o): chmod go-w %s", ErrPolicy, path, st.Mode&0o777, path)
	}
	return nil
}

func readAll(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, path)
}

func readLimited(f *os.File, path string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, maxPolicy+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxPolicy {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxPolicy)
	}
	return data, nil
}

// create makes the pair under the state lock. The entry is recorded before
// the pair exists: a helper killed between the two leaves an entry whose
// interface is missing, which the next request culls, never an interface
// the quota does not count.
func create(c *Conn, req Request, br Link, uid uint32, who string, allowance, netnsFD int) (Reply, error) {
	st, err := openState(stateDir)
	if err != nil {
		return Reply{}, err
	}
	defer st.Close()
	cookie, err := c.NetnsCookie()
	if err != nil {
		return Reply{}, err
	}
	entries, err := st.read()
	if err != nil {
		return Reply{}, err
	}
	if entries, err = cull(entries, cookie, linkExists(c)); err != nil {
		return Reply{}, err
	}
	if n := used(entries, uid, cookie, req.Bridge); n >= allowance {
		return Reply{}, fmt.Errorf("%w: %s has %d of %d veths on %s", ErrQuotaUsed, who, n, allowance, req.Bridge)
	}
	host, err := hostName(c)
	if err != nil {
		return Reply{}, err
	}
	mac := req.HWAddr
	if mac.IsZero() {
		mac = randomMAC()
	}
	// A host end with the highest possible first octet: a bridge takes
	// the lowest MAC address of its ports as its own, and must not change
	// it (and every neighbour's ARP cache) when a container comes (LXC
	// does the same).
	hostMAC := randomMAC()
	hostMAC[0] = 0xfe
	mtu := req.MTU
	if mtu == 0 {
		mtu = br.MTU
	}
	entries = append(entries, entry{UID: uid, Netns: cookie, Bridge: req.Bridge, HostIf: host})
	if err := st.write(entries); err != nil {
		return Reply{}, err
	}
	// The host end gets the bridge's MTU whatever the request says: a
	// smaller one would lower the bridge's own for every port.
	err = c.NewVeth(Veth{Name: host, HWAddr: hostMAC, MTU: br.MTU, Master: br.Index,
		PeerName: req.Name, PeerHWAddr: mac, PeerMTU: mtu, PeerNetnsFD: netnsFD})
	if err != nil {
		if werr := st.write(entries[:len(entries)-1]); werr != nil {
			return Reply{}, errors.Join(err, werr)
		}
		return Reply{}, err
	}
	return Reply{HostIf: host, HWAddr: mac}, nil
}

// hostName picks a free name "ulxc" and eight random hex digits. Only the
// helper makes such names, under the state lock, so a free one stays free.
func hostName(c *Conn) (string, error) {
	for range 8 {
		var b [4]byte
		random(b[:])
		name := "ulxc" + hex.EncodeToString(b[:])
		_, err := c.LinkByName(name)
		if errors.Is(err, unix.ENODEV) {
			return name, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("no free interface name after 8 tries")
}
