package netshim

import (
	"errors"
	"fmt"
	"strings"
)

// The helper's refusals. Each has its own exit status (ExitCode), so that
// ulxc can tell them apart without parsing messages: ErrorForExit turns the
// status back into the sentinel.
var (
	// ErrUsage: the arguments are malformed, unknown or out of bounds.
	ErrUsage = errors.New("bad request")
	// ErrNamespace: descriptor 3 is not a network namespace that the
	// caller's own user namespace owns, or it is the helper's.
	ErrNamespace = errors.New("network namespace refused")
	// ErrNoQuota: the policy grants the caller no veth on the bridge.
	ErrNoQuota = errors.New("no veth quota")
	// ErrQuotaUsed: the caller has as many veths on the bridge as the
	// policy grants.
	ErrQuotaUsed = errors.New("veth quota used up")
	// ErrBridge: the bridge does not exist, or is not a bridge.
	ErrBridge = errors.New("no such bridge")
	// ErrPolicy: the policy file is unsafe or malformed; nobody gets a
	// veth until root fixes it.
	ErrPolicy = errors.New("policy file refused")
	// ErrInstall: the helper runs without what its installation gives it
	// (CAP_NET_ADMIN, its group, its state directory), or where it must
	// not run (outside the initial user namespace, as root).
	ErrInstall = errors.New("ulxc-netshim is not installed correctly")
	// ErrNotInstalled: there is no helper to run (ulxc's side only).
	ErrNotInstalled = errors.New("ulxc-netshim is not installed")
)

// Exit statuses. 1 is any other failure; 2 is what the Go runtime exits
// with on a fatal error, so no refusal uses it.
var exitCodes = []struct {
	err  error
	code int
}{
	{ErrUsage, 10},
	{ErrNamespace, 11},
	{ErrNoQuota, 12},
	{ErrQuotaUsed, 13},
	{ErrBridge, 14},
	{ErrPolicy, 15},
	{ErrInstall, 16},
}

// ExitCode is the helper's exit status for err: the refusal's own, else 1.
func ExitCode(err error) int {
	for _, e := range exitCodes {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return 1
}

// ErrorForExit returns the refusal whose exit status is code, or nil.
func ErrorForExit(code int) error {
	for _, e := range exitCodes {
		if e.code == code {
			return e.err
		}
	}
	return nil
}

// HelperError is a failed run of the helper as ulxc sees it: the request,
// the exit status, the helper's own message, and the refusal it stands
// for (nil for a plain failure).
type HelperError struct {
	Path    string
	Request Request
	User    string // the caller's login name, for the policy line in Fix
	Code    int
	Msg     string // the helper's stderr, trimmed
	Err     error  // a sentinel above, or nil
}

func (e *HelperError) Error() string {
	msg := e.Msg
	if msg == "" {
		msg = fmt.Sprintf("exit status %d", e.Code)
	}
	return fmt.Sprintf("%s: %s", e.Path, msg)
}

func (e *HelperError) Unwrap() error { return e.Err }

// Fix says what to do about the refusal, for the user and the
// administrator, or "" when there is nothing specific to say.
func (e *HelperError) Fix() string {
	br, user := e.Request.Bridge, e.User
	if user == "" {
		user = "USER"
	}
	switch {
	case errors.Is(e.Err, ErrNoQuota):
		return fmt.Sprintf("ask the administrator to grant you veths on %s: as root, add the line `%s veth %s 2` to %s", br, user, br, PolicyFile)
	case errors.Is(e.Err, ErrQuotaUsed):
		return fmt.Sprintf("stop a container that uses %s, or ask the administrator to raise your count for %s in %s", br, br, PolicyFile)
	case errors.Is(e.Err, ErrBridge) && strings.HasSuffix(e.Msg, "not a bridge"):
		// It exists: creating a bridge of that name is no fix.
		return fmt.Sprintf("%s is not a bridge: set lxc.net.N.link to a bridge your quota names (ulxc checkconfig lists them)", br)
	case errors.Is(e.Err, ErrBridge):
		return fmt.Sprintf("set lxc.net.N.link to a bridge that exists, or have root create it: ip link add %s type bridge && ip link set %s up", br, br)
	case errors.Is(e.Err, ErrPolicy):
		return fmt.Sprintf("the administrator must fix %s (owned by root, not writable by group or others, lines `USER|@GROUP veth BRIDGE COUNT`)", PolicyFile)
	case errors.Is(e.Err, ErrNotInstalled):
		return "have root install it: scripts/setup (or scripts/install-netshim) puts it in /usr/local/bin, set-group-id " + Group + " with cap_net_admin+ep"
	case errors.Is(e.Err, ErrInstall):
		return "reinstall the helper as root: scripts/setup (it runs: chgrp " + Group + " " + e.Path + " && chmod 2755 " + e.Path + " && setcap cap_net_admin+ep " + e.Path + ")"
	}
	return ""
}
