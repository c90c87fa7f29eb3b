package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"

	"github.com/ulxc/ulxc/cgroup"
	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/hostcheck"
	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/netshim"
	"github.com/ulxc/ulxc/nsenter"
	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/store"
	"github.com/ulxc/ulxc/subid"
	"github.com/ulxc/ulxc/userns"
)

func TestHints(t *testing.T) {
	outside := subid.Validate([]subid.Range{{Start: 200000, Count: 65536}}, 1000, 300000, 10, "/etc/subuid")
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", subid.ErrNoRanges), "usermod --add-subuids " + freeSpan(t) + " --add-subgids " + freeSpan(t)},
		{fmt.Errorf("x: %w", userns.ErrHelperMissing), "apt-get install uidmap"},
		{fmt.Errorf("x: %w", userns.ErrHelperNotSetuid), "chmod u+s /usr/bin/newuidmap /usr/bin/newgidmap"},
		{fmt.Errorf("x: %w", outside), "-m b:0:200000:65536"},
		{&userns.StartError{Err: syscall.EPERM, Findings: []userns.Finding{{Err: userns.ErrAppArmorRestricted}}}, "apparmor_restrict_unprivileged_userns=0"},
		{&userns.StartError{Err: syscall.EPERM, Findings: []userns.Finding{{Err: userns.ErrUserNSDisabled}}}, "sysctl -w user.max_user_namespaces=15000"},
		{&userns.StartError{Err: syscall.EPERM, Findings: []userns.Finding{{Err: userns.ErrNested}}}, "run ulxc on the host"},
		{&download.SignatureError{File: "rootfs.tar.xz", Err: pgperrors.ErrKeyExpired}, "signing key has expired"},
		{&download.SignatureError{File: "rootfs.tar.xz", Err: errors.New("hash mismatch")}, "not signed by the pinned key"},
		{fmt.Errorf("x: %w", download.ErrKeyNotFound), "ulxc keys add FILE"},
		{fmt.Errorf("x: %w", download.ErrDowngrade), "--flush-cache"},
		{&download.StaleSignatureError{File: "rootfs.tar.xz", Build: "20240101_00:00"}, "a file of another build"},
		{fmt.Errorf("x: %w", download.ErrChecksum), "a file of another build"},
		{fmt.Errorf("x: %w", download.ErrTooLarge), "larger than any image needs"},
		{fmt.Errorf("x: %w", download.ErrNotCached), "without --force-cache"},
		{fmt.Errorf("x: %w", ocispec.ErrNoIDMap), "lxc.idmap = u 0 FIRST 65536"},
		{fmt.Errorf("x: %w", ocispec.ErrUnsafePath), "relative to the rootfs"},
		{&lxcconf.IncludeError{File: "c", Line: 1, Path: "x", Err: fs.ErrNotExist}, "lxc.include line"},
		{fmt.Errorf("x: %w", lxcconf.ErrIncludeCycle), "includes the file that includes it"},
		{fmt.Errorf("x: %w", hostcheck.ErrMissing), "ulxc checkconfig' again"},
		{fmt.Errorf("x: %w", image.ErrDynamicBusybox), "apt-get install busybox-static"},
		{&image.IDError{Kind: "uid", ID: 70000, MapSize: 65536}, "give it 65536 ids"},
		{fmt.Errorf("x: %w", image.ErrInsecurePath), "corrupt or malicious"},
		{fmt.Errorf("x: %w", image.ErrLimit), "unpack limits"},
		{fmt.Errorf("x: %w", store.ErrExist), "ulxc destroy NAME"},
		{fmt.Errorf("x: %w", store.ErrRunning), "ulxc stop NAME"},
		{fmt.Errorf("x: %w, but %w", store.ErrRunning, store.ErrUnreachable), "kill its monitor"},
		{fmt.Errorf("x: %w", runtime.ErrCgroupLimits), "Delegate=yes"},
		{fmt.Errorf("x: %w", runtime.ErrHelperMissing), "apt-get install passt slirp4netns"},
		{fmt.Errorf("x: %w", runtime.ErrTunUnusable), "chmod 0666 /dev/net/tun"},
		{fmt.Errorf("x: %w", ocispec.ErrNoUserNet), "lxc.net.0.type = pasta"},
		{fmt.Errorf("x: %w", download.ErrNoMatch), "ulxc images --server"},
		{fmt.Errorf("start web: lxc.net.0: %w", &netshim.HelperError{Path: "/usr/local/bin/ulxc-netshim", Request: netshim.Request{Bridge: "lxcbr0"}, User: "alice", Err: netshim.ErrNoQuota}), "add the line `alice veth lxcbr0 2` to /etc/ulxc/usernet"},
		{fmt.Errorf("start web: lxc.net.0: %w", &netshim.HelperError{Path: "ulxc-netshim", Err: netshim.ErrNotInstalled}), "scripts/setup"},
		{fmt.Errorf("x: %w", runtime.ErrNoCgroup), "Delegate=yes"},
		{fmt.Errorf("x: %w", runtime.ErrFrozen), "ulxc unfreeze NAME"},
		{fmt.Errorf("x: %w: %w", runtime.ErrCgroupLimits, &cgroup.BusyError{Dir: "/cg", Procs: []cgroup.Proc{{Pid: 7, Comm: "sh"}}}), "empty cgroup of its own"},
		{fmt.Errorf("x: %w: %w", runtime.ErrCgroupLimits, cgroup.ErrNoController), "Delegate=cpu cpuset io memory pids"},
		{&nsenter.JoinError{Step: "setns", Errno: syscall.EPERM}, "owner of its user namespace"},
	}
	for _, tc := range tests {
		got := strings.Join(hints(tc.err), "\n")
		if !strings.Contains(got, tc.want) {
			t.Errorf("hints(%q) = %q, want one containing %q", tc.err, got, tc.want)
		}
	}
	if got := hints(syscall.ENOENT); len(got) != 0 {
		t.Errorf("hints(%q) = %q, want none", syscall.ENOENT, got)
	}
}
