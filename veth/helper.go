package veth

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/netshim"
)

// FindHelper returns the installed ulxc-netshim: beside the running
// program (scripts/setup installs both in /usr/local/bin), else in
// /usr/local/bin or /usr/bin. Not in PATH: the helper that matters is the
// one root installed with its capability.
func FindHelper() (string, error) {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	dirs = append(dirs, "/usr/local/bin", "/usr/bin")
	for _, d := range dirs {
		p := filepath.Join(d, netshim.HelperName)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", &netshim.HelperError{Path: netshim.HelperName, User: userName(), Err: netshim.ErrNotInstalled,
		Msg: "not found beside ulxc, in /usr/local/bin or in /usr/bin"}
}

// CheckHelper reports, from its file alone, what keeps the helper at path
// from ever working: it needs CAP_NET_ADMIN, which scripts/install-netshim
// gives it as the file capability cap_net_admin+ep (a set-user-id-root
// helper has it too, and passes). The error is a *netshim.HelperError
// wrapping netshim.ErrInstall, whose Fix is the install command. What
// only a run can tell (no_new_privs, a user namespace, the state
// directory) the helper checks itself.
func CheckHelper(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return &netshim.HelperError{Path: path, User: userName(), Err: netshim.ErrNotInstalled, Msg: err.Error()}
	}
	if st.Uid == 0 && st.Mode&unix.S_ISUID != 0 {
		return nil
	}
	ok, err := NetAdminCap(path)
	if err != nil {
		return &netshim.HelperError{Path: path, User: userName(), Err: netshim.ErrInstall, Msg: err.Error()}
	}
	if !ok {
		return &netshim.HelperError{Path: path, User: userName(), Err: netshim.ErrInstall,
			Msg: netshim.ErrInstall.Error() + ": it has no cap_net_admin+ep file capability"}
	}
	return nil
}

// NetAdminCap reads the file capability of path (security.capability,
// struct vfs_cap_data, revision 2 or 3) and reports whether it grants
// CAP_NET_ADMIN, permitted and effective. No capability at all is false
// and no error.
func NetAdminCap(path string) (bool, error) {
	buf := make([]byte, 64)
	n, err := unix.Getxattr(path, "security.capability", buf)
	if errors.Is(err, unix.ENODATA) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read its capability: %w", err)
	}
	if n < 12 {
		return false, fmt.Errorf("malformed security.capability")
	}
	const (
		revisionMask = 0xff000000
		rev2         = 0x02000000
		rev3         = 0x03000000
		effective    = 0x000001
	)
	magic := binary.LittleEndian.Uint32(buf[0:])
	if rev := magic & revisionMask; rev != rev2 && rev != rev3 {
		return false, fmt.Errorf("security.capability revision %#x", rev)
	}
	permitted := binary.LittleEndian.Uint32(buf[4:])
	return magic&effective != 0 && permitted&(1<<unix.CAP_NET_ADMIN) != 0, nil
}
