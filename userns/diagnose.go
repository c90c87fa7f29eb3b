package userns

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Sentinels that Diagnose finds behind a failure to create or map a user
// namespace.
var (
	ErrUserNSDisabled     = errors.New("unprivileged user namespaces are disabled")
	ErrAppArmorRestricted = errors.New("AppArmor restricts unprivileged user namespaces")
	ErrNested             = errors.New("already inside a user namespace: newuidmap cannot map subordinate ids from here")
)

// Finding is one fact about the machine that explains (or rules out) a
// user namespace failure.
type Finding struct {
	Name   string // what was checked, e.g. "user.max_user_namespaces"
	Status string // "fail" for a finding that explains a failure
	Detail string // what was found
	Fix    string // the command or change that fixes it
	Err    error  // the matching sentinel (ErrUserNSDisabled...), or nil
}

// procSys is where the sysctls live; tests point it elsewhere.
var procSys = "/proc/sys"

// selfUIDMap is read by Nested; tests point it elsewhere.
var selfUIDMap = "/proc/self/uid_map"

func readInt(name string) (int, error) {
	b, err := os.ReadFile(procSys + "/" + name)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s/%s: %w", procSys, name, err)
	}
	return n, nil
}

// MaxUserNamespaces returns user.max_user_namespaces; 0 disables user
// namespaces for everyone.
func MaxUserNamespaces() (int, error) { return readInt("user/max_user_namespaces") }

// UnprivilegedClone returns kernel.unprivileged_userns_clone, a Debian and
// Ubuntu patch: 0 disables user namespaces for unprivileged users. exists
// is false on kernels without the patch.
func UnprivilegedClone() (val int, exists bool) {
	n, err := readInt("kernel/unprivileged_userns_clone")
	return n, err == nil
}

// AppArmorRestricted returns kernel.apparmor_restrict_unprivileged_userns
// (Ubuntu 23.10+): when set, a process without an AppArmor profile that
// allows `userns,` gets a namespace without capabilities, so map writes and
// everything after them fail with EPERM.
func AppArmorRestricted() (restricted bool, exists bool) {
	n, err := readInt("kernel/apparmor_restrict_unprivileged_userns")
	return err == nil && n != 0, err == nil
}

// Nested reports whether this process already runs inside a user namespace
// other than the initial one, whose uid_map is "0 0 4294967295".
func Nested() (bool, error) {
	b, err := os.ReadFile(selfUIDMap)
	if err != nil {
		return false, err
	}
	return strings.Join(strings.Fields(string(b)), " ") != "0 0 4294967295", nil
}

// Diagnose returns the findings that explain why a user namespace could not
// be created or mapped. It is meant to run after a failure: on a healthy
// machine it returns nothing.
func Diagnose() []Finding {
	var out []Finding
	if n, err := MaxUserNamespaces(); err == nil && n == 0 {
		out = append(out, Finding{
			Name: "user.max_user_namespaces", Status: "fail", Detail: "is 0",
			Fix: "sysctl -w user.max_user_namespaces=15000 (as root; persist it in /etc/sysctl.d/)",
			Err: ErrUserNSDisabled,
		})
	}
	if n, ok := UnprivilegedClone(); ok && n == 0 {
		out = append(out, Finding{
			Name: "kernel.unprivileged_userns_clone", Status: "fail", Detail: "is 0",
			Fix: "sysctl -w kernel.unprivileged_userns_clone=1 (as root; persist it in /etc/sysctl.d/)",
			Err: ErrUserNSDisabled,
		})
	}
	if r, ok := AppArmorRestricted(); ok && r {
		out = append(out, Finding{
			Name: "kernel.apparmor_restrict_unprivileged_userns", Status: "fail", Detail: "is 1",
			Fix: "install an AppArmor profile for ulxc that allows `userns,` (as root), or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
			Err: ErrAppArmorRestricted,
		})
	}
	if nested, err := Nested(); err == nil && nested {
		out = append(out, Finding{
			Name: "nested user namespace", Status: "fail", Detail: "/proc/self/uid_map is not the initial 0 0 4294967295",
			Fix: "run ulxc outside the enclosing container, or map only ids the enclosing namespace has (-m b:0:UID:1)",
			Err: ErrNested,
		})
	}
	return out
}

// StartError is a failure of Start together with the findings that explain
// it. It unwraps to the failure and to each finding's sentinel.
type StartError struct {
	Err      error
	Findings []Finding
}

func (e *StartError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	for _, f := range e.Findings {
		fmt.Fprintf(&b, "; %s %s", f.Name, f.Detail)
		if f.Err != nil {
			fmt.Fprintf(&b, ": %v", f.Err)
		}
	}
	return b.String()
}

// Unwrap returns the failure and the findings' sentinels.
func (e *StartError) Unwrap() []error {
	errs := []error{e.Err}
	for _, f := range e.Findings {
		if f.Err != nil {
			errs = append(errs, f.Err)
		}
	}
	return errs
}

// diagnosed wraps err with the findings of Diagnose, if any.
func diagnosed(err error) error {
	if fs := Diagnose(); len(fs) > 0 {
		return &StartError{Err: err, Findings: fs}
	}
	return err
}
