package cgroup

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// Options says whose cgroup Probe looks at. The zero value probes this
// process as the current user.
type Options struct {
	// ProcRoot is where procfs is mounted; default "/proc". Probe reads
	// PROCROOT/self/mountinfo and PROCROOT/self/cgroup.
	ProcRoot string
	// User names the caller in fixes; default: the current user. UID is
	// the caller's uid and is read only when User is set.
	User string
	UID  uint32
}

// Status is what Probe found: where cgroup2 is, where this process sits in
// it and whether the caller may manage that cgroup.
type Status struct {
	Mountpoint string    // the cgroup2 mount; "" when there is none
	Path       string    // this process's cgroup, relative to Mountpoint
	Delegated  Delegated // filled once Mountpoint and Path are known

	// Err is nil when the cgroup is delegated; otherwise it wraps
	// ErrNoCgroup2, ErrNotDelegated, or the error that stopped the probe.
	Err error
	// Reason says for humans why the cgroup is not usable, and Fix how
	// to make it so; both are empty when Err is nil.
	Reason, Fix string
}

// Probe finds the cgroup2 hierarchy and this process's cgroup in it and
// reports whether the caller may manage that cgroup. It never fails: what
// it could not find is in Status.Err.
func Probe(opts Options) Status {
	procRoot := opts.ProcRoot
	if procRoot == "" {
		procRoot = "/proc"
	}
	name, uid := opts.User, opts.UID
	if name == "" {
		name, uid = currentUser()
	}
	var s Status
	mp, err := mountpointIn(procRoot)
	if err != nil {
		s.Err = err
		if errors.Is(err, ErrNoCgroup2) {
			s.Reason = "no cgroup2 hierarchy is mounted (a cgroup v1 only host): limits and freeze are unavailable"
			s.Fix = "boot with systemd.unified_cgroup_hierarchy=1 (or cgroup_no_v1=all) to get cgroup v2"
		}
		return s
	}
	s.Mountpoint = mp
	if s.Path, err = currentIn(procRoot); err != nil {
		s.Err = err
		if errors.Is(err, ErrNoCgroup2) {
			s.Reason = "this process is not in the cgroup2 hierarchy"
		}
		return s
	}
	s.Delegated, s.Err = Delegation(filepath.Join(mp, s.Path))
	if errors.Is(s.Err, ErrNotDelegated) {
		s.Reason, s.Fix = whyNotDelegated(mp, s.Path, name, uid)
	}
	return s
}

// whyNotDelegated explains the usual cases: a login session outside the
// user manager's delegated subtree, or no user manager at all (su, sudo,
// cron, no lingering).
func whyNotDelegated(mountpoint, own, name string, uid uint32) (reason, fix string) {
	u := strconv.FormatUint(uint64(uid), 10)
	svc := "/user.slice/user-" + u + ".slice/user@" + u + ".service"
	d, err := Delegation(filepath.Join(mountpoint, svc))
	switch {
	case err == nil && d.OK():
		return fmt.Sprintf("this process runs in %s, outside %s, the cgroup systemd delegates to %s", own, svc, name),
			"run ulxc in a delegated scope: systemd-run --user --scope -p Delegate=yes ulxc ..."
	case errors.Is(err, ErrNotDelegated):
		return fmt.Sprintf("systemd does not delegate %s to %s", svc, name),
			"as root: systemctl edit user@.service, add [Service] Delegate=yes, and log in again"
	case errors.Is(err, os.ErrNotExist):
		return fmt.Sprintf("cgroup %s is not %s's and no systemd user manager runs for uid %d (su, sudo, cron or no lingering)", own, name, uid),
			fmt.Sprintf("loginctl enable-linger %s and log in again, or have an admin chown a cgroup to %s and run ulxc from inside it", name, name)
	default:
		return fmt.Sprintf("cgroup %s is not writable by %s", own, name),
			fmt.Sprintf("have an admin delegate a cgroup to %s (systemd Delegate=yes, or chown) and run ulxc from inside it", name)
	}
}

func currentUser() (string, uint32) {
	uid := uint32(os.Getuid())
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		return u.Username, uid
	}
	return strconv.FormatUint(uint64(uid), 10), uid
}
