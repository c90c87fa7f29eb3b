package hostcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/userns"
)

// OverlayProbeEntry is the hidden verb the program re-executes itself as
// for the overlay probe: the child calls userns.Enter, then
// ProbeOverlayChild with its one argument.
const OverlayProbeEntry = "__probe-overlay"

// probeTimeout bounds the whole probe: a child that hangs must not hang
// checkconfig.
const probeTimeout = 30 * time.Second

// ErrInitialNamespace means ProbeOverlayChild was run outside a new user
// namespace, where its mounts would land on the host.
var ErrInitialNamespace = errors.New("not inside a new user namespace")

// ProbeOverlayChild is the child side of the overlay probe. It runs as root
// of a new user and mount namespace whose root owns dir, an empty scratch
// directory. It mounts overlayfs with userxattr over lower, upper and work
// directories in dir, writes a new file, modifies a lower file (copy-up)
// and deletes one (whiteout), checks the upper layer, unmounts and empties
// dir. Its error names the failing step and keeps the kernel's error.
func ProbeOverlayChild(dir string) (err error) {
	if b, rerr := os.ReadFile("/proc/self/uid_map"); rerr != nil {
		return fmt.Errorf("probe overlay: %w", rerr)
	} else if strings.Join(strings.Fields(string(b)), " ") == "0 0 4294967295" {
		return fmt.Errorf("probe overlay: %w", ErrInitialNamespace)
	}
	// Nothing mounted here may propagate back to the parent namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("probe overlay: make / private: %w", err)
	}
	// Relative layer paths (resolved against the working directory at
	// mount time) need no escaping of ',' or ':' in dir.
	if err := os.Chdir(dir); err != nil {
		return fmt.Errorf("probe overlay: %w", err)
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"prepare layers", prepareLayers},
		{"mount overlay", func() error {
			return unix.Mount("overlay", "merged", "overlay", 0, "lowerdir=lower,upperdir=upper,workdir=work,userxattr")
		}},
		{"write a new file", func() error { return os.WriteFile("merged/new", []byte("new\n"), 0o644) }},
		{"modify a lower file", func() error { return appendFile("merged/file", "more\n") }},
		{"delete a lower file", func() error { return os.Remove("merged/sub/gone") }},
		{"check the upper layer", checkUpper},
	}
	mounted := false
	defer func() {
		if mounted {
			if uerr := unix.Unmount("merged", unix.MNT_DETACH); uerr != nil && err == nil {
				err = fmt.Errorf("probe overlay: unmount: %w", uerr)
			}
		}
		if rerr := emptyDir("."); rerr != nil && err == nil {
			err = fmt.Errorf("probe overlay: clean up: %w", rerr)
		}
	}()
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("probe overlay: %s: %w", s.name, err)
		}
		mounted = mounted || s.name == "mount overlay"
	}
	return nil
}

func prepareLayers() error {
	for _, d := range []string{"lower", "lower/sub", "upper", "work", "merged"} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile("lower/file", []byte("lower\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile("lower/sub/gone", []byte("gone\n"), 0o644)
}

func appendFile(name, s string) (err error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	_, err = f.WriteString(s)
	return err
}

// checkUpper verifies that the changes landed in the upper layer and the
// lower layer is untouched.
func checkUpper() error {
	for name, want := range map[string]string{"upper/new": "new\n", "upper/file": "lower\nmore\n", "lower/file": "lower\n"} {
		got, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, []byte(want)) {
			return fmt.Errorf("%s holds %q, want %q", name, got, want)
		}
	}
	if _, err := os.Stat("merged/sub/gone"); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("merged/sub/gone still visible after removal (%v)", err)
	}
	return nil
}

// emptyDir removes everything in dir but dir itself.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}

// checkOverlay creates a mapped user and mount namespace and runs the
// overlay probe in it: two rows, the namespace trial and the overlay mount.
func checkOverlay(ctx context.Context, opts Options, blocker *Result) []Result {
	trial := Result{Group: "userns", Name: "mapped user namespace (trial)", Mandatory: true}
	overlay := Result{Group: "overlay", Name: "overlayfs in a user namespace (userxattr)"}
	notTried := func(why, fix string) []Result {
		trial.Status, trial.Detail, trial.Fix, trial.Mandatory = Warn, "not tried: "+why, fix, false
		overlay.Status, overlay.Detail, overlay.Fix = Warn, "not tried: "+why, fix
		return []Result{trial, overlay}
	}
	switch {
	case opts.SkipProbe:
		return notTried("skipped", "run the check without skipping the probe")
	case blocker != nil:
		return notTried(fmt.Sprintf("user namespaces are unusable (%s: %s)", blocker.Name, blocker.Detail),
			"fix the rows above, then check again")
	case opts.UID != uint32(os.Getuid()):
		return notTried(fmt.Sprintf("checking user %s while running as uid %d", opts.User, os.Getuid()),
			"run the check as "+opts.User)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()

	plan, err := userns.NewPlan(userns.PlanOptions{
		Purpose: userns.ForExec, UID: opts.UID, GID: opts.GID,
		SubUIDFile: opts.SubUIDFile, SubGIDFile: opts.SubGIDFile,
	})
	if err != nil {
		trial.Status, trial.Detail, trial.Fix = Missing, err.Error(), "correct the subordinate id files named above"
		overlay.Status, overlay.Detail, overlay.Fix = Warn, "not tried: no id maps", "fix the rows above, then check again"
		return []Result{trial, overlay}
	}
	parent := opts.OverlayDir
	if parent == "" {
		parent = os.TempDir()
	}
	dir, err := os.MkdirTemp(parent, "ulxc-probe-")
	if err != nil {
		return notTried(err.Error(), "make "+parent+" writable, or point the probe at another directory")
	}
	defer os.RemoveAll(dir)

	var stderr bytes.Buffer
	cmd, err := userns.Start(ctx, userns.Options{
		Plan:       plan,
		Cloneflags: syscall.CLONE_NEWNS,
		Entry:      OverlayProbeEntry,
		Args:       []string{dir},
		Env:        []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"},
		Stderr:     &stderr,
	})
	if err != nil {
		trial.Status, trial.Detail, trial.Fix = Missing, err.Error(), startFix(err)
		overlay.Status, overlay.Detail, overlay.Fix = Warn, "not tried: no user namespace", "fix the trial namespace first"
		return []Result{trial, overlay}
	}
	trial.Status = OK
	trial.Detail = "maps " + formatMaps(plan.Maps) + " written and verified"
	if plan.Single {
		trial.Status = Warn
		trial.Detail = "only the single mapping " + formatMaps(plan.Maps) + " (no subordinate ids or no usable newuidmap): setgroups and chown to other ids fail inside"
		trial.Fix = "apply the subid and newuidmap fixes above"
	}
	if err := cmd.Wait(); err != nil {
		msg := strings.TrimSpace(strings.ReplaceAll(stderr.String(), "\n", "; "))
		if msg == "" {
			msg = err.Error()
		}
		if ctx.Err() != nil {
			msg = "timed out: " + msg
		}
		overlay.Status, overlay.Detail = Missing, msg
		overlay.Fix = "ephemeral containers need overlayfs with userxattr in a user namespace (Linux 5.11+); install fuse-overlayfs as a fallback"
		return []Result{trial, overlay}
	}
	overlay.Status, overlay.Detail = OK, "mounted, wrote, copied up and removed a file under "+parent
	return []Result{trial, overlay}
}

// startFix picks the fix of the first diagnosis behind a failed Start.
func startFix(err error) string {
	var se *userns.StartError
	if errors.As(err, &se) {
		for _, f := range se.Findings {
			if f.Fix != "" {
				return f.Fix
			}
		}
	}
	return "apply the fixes of the userns rows above; the error names the step that failed"
}

func formatMaps(maps []userns.Map) string {
	s := make([]string, len(maps))
	for i, m := range maps {
		s[i] = userns.FormatLXC(m)
	}
	return strings.Join(s, ", ")
}
