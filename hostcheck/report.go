package hostcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// Status is the verdict on one item.
type Status string

// The verdicts. A Missing item that is Mandatory makes Report.OK false.
const (
	OK      Status = "ok"
	Missing Status = "missing"
	Warn    Status = "warn"
)

// Label returns the status as checkconfig prints it: "OK", "MISSING" or
// "WARN".
func (s Status) Label() (string, error) {
	switch s {
	case OK:
		return "OK", nil
	case Missing:
		return "MISSING", nil
	case Warn:
		return "WARN", nil
	default:
		return "", fmt.Errorf("unknown status %q", string(s))
	}
}

// Result is one checked item.
type Result struct {
	Group     string `json:"group"` // "kernel", "userns", "subid", ...
	Name      string `json:"name"`
	Status    Status `json:"status"`
	Detail    string `json:"detail,omitempty"` // what was found
	Fix       string `json:"fix,omitempty"`    // one line, for non-OK items
	Mandatory bool   `json:"mandatory"`
}

// Report is the outcome of Run.
type Report struct {
	Results []Result
}

// OK reports whether no mandatory item is missing.
func (r Report) OK() bool {
	for _, res := range r.Results {
		if res.Mandatory && res.Status == Missing {
			return false
		}
	}
	return true
}

// Missing returns the mandatory items that are missing.
func (r Report) Missing() []Result {
	var out []Result
	for _, res := range r.Results {
		if res.Mandatory && res.Status == Missing {
			out = append(out, res)
		}
	}
	return out
}

// MarshalJSON writes {"ok": bool, "results": [...]}; these field names are
// stable.
func (r Report) MarshalJSON() ([]byte, error) {
	results := r.Results
	if results == nil {
		results = []Result{}
	}
	return json.Marshal(struct {
		OK      bool     `json:"ok"`
		Results []Result `json:"results"`
	}{r.OK(), results})
}

// Options says what to check and where to look. The zero value checks this
// machine for the current user.
type Options struct {
	// ProcRoot is where procfs is mounted; default "/proc". The kernel
	// release, sysctls, namespaces, uid_map and cgroups are read below it.
	ProcRoot string
	// KernelConfig is the kernel config file, plain or gzipped; default
	// PROCROOT/config.gz, then /boot/config-RELEASE.
	KernelConfig string
	// SubUIDFile and SubGIDFile default to subid.UIDFile and
	// subid.GIDFile.
	SubUIDFile, SubGIDFile string
	// LXCDefault is LXC's default.conf; default
	// ${XDG_CONFIG_HOME:-~/.config}/lxc/default.conf.
	LXCDefault string
	// User is the user whose setup is checked; default the current
	// user. UID and GID are read only when User is set.
	User     string
	UID, GID uint32
	// OverlayDir is where the overlay probe makes its scratch directory;
	// default os.TempDir(). Point it at the filesystem that will hold the
	// containers.
	OverlayDir string
	// Netshim is the ulxc-netshim to check; default veth.FindHelper's.
	// NetshimPolicy is its policy; default netshim.PolicyFile.
	Netshim, NetshimPolicy string
	// SkipProbe leaves out the user namespace trial and the overlay probe,
	// which re-execute this program as OverlayProbeEntry; default false.
	SkipProbe bool
	// LookPath finds the user-mode network helpers and fuse-overlayfs;
	// default exec.LookPath.
	LookPath func(string) (string, error)
	// TunDevice is the tun device they open; default /dev/net/tun.
	TunDevice string
	// FuseDevice is the FUSE device container root opens for
	// fuse-overlayfs; default /dev/fuse.
	FuseDevice string
}

func (o Options) withDefaults() Options {
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	if o.User == "" {
		o.UID, o.GID = uint32(os.Getuid()), uint32(os.Getgid())
		o.User = strconv.FormatUint(uint64(o.UID), 10)
		if u, err := user.LookupId(o.User); err == nil {
			o.User = u.Username
		}
	}
	return o
}

// Run checks the machine and returns one Result per item, in a fixed order.
func Run(ctx context.Context, opts Options) Report {
	opts = opts.withDefaults()
	var r Report
	add := func(res ...Result) { r.Results = append(r.Results, res...) }
	add(checkKernel(opts)...)
	userns := checkUserns(opts)
	add(userns...)
	add(checkHelpers()...)
	ids := checkSubIDs(opts)
	add(ids.results...)
	add(checkLXCDefault(opts, ids)...)
	add(checkOverlay(ctx, opts, blocking(userns))...)
	add(checkFuse(opts)...)
	add(checkCgroup(opts)...)
	add(checkNetshim(opts)...)
	add(checkUserNet(opts)...)
	return r
}

// blocking returns the first mandatory missing result, or nil.
func blocking(rs []Result) *Result {
	for i := range rs {
		if rs[i].Mandatory && rs[i].Status == Missing {
			return &rs[i]
		}
	}
	return nil
}

// ErrMissing means a mandatory item is missing: containers cannot run.
var ErrMissing = errors.New("mandatory items missing")

// MissingError lists the mandatory items that are missing. It matches
// ErrMissing.
type MissingError struct {
	Items []Result
}

func (e *MissingError) Error() string {
	names := make([]string, len(e.Items))
	for i, r := range e.Items {
		names[i] = r.Group + ": " + r.Name
	}
	return fmt.Sprintf("%d %v: %s", len(e.Items), ErrMissing, strings.Join(names, "; "))
}

func (e *MissingError) Unwrap() error { return ErrMissing }

// Err returns a *MissingError when a mandatory item is missing, else nil.
func (r Report) Err() error {
	if m := r.Missing(); len(m) > 0 {
		return &MissingError{Items: m}
	}
	return nil
}
