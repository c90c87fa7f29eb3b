package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	osexec "os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/netshim"
)

// MonitorEntry is the hidden verb of a daemonized container's supervisor.
// Daemon runs it as `ulxc [monitor] NAME`, which is what ps shows of it,
// as LXC's monitors show as `[lxc monitor] LXCPATH NAME`.
const MonitorEntry = "[monitor]"

// DaemonOptions configure Daemon.
type DaemonOptions struct {
	Options
	// LogPath is the monitor's log and stdio (store.Container.LogPath).
	// Default /dev/null.
	LogPath string
	// ExtraLogPath also receives the monitor's messages (--logfile);
	// default none.
	ExtraLogPath string
	// LogLevel filters the messages; default slog.LevelInfo.
	LogLevel slog.Level
	// RunLock is the container's run lock (store.Container.LockRun), which
	// the monitor inherits and holds until its teardown is over, so that
	// the container counts as running for exactly the monitor's life. The
	// caller closes its own copy once Daemon returns. Default none.
	RunLock *os.File
}

// monitorReport is what the monitor tells Daemon once init runs.
type monitorReport struct {
	State *State      `json:"state,omitempty"`
	Error *ChildError `json:"error,omitempty"`
	// Netshim is the refusal of ulxc-netshim behind Error, if one is:
	// the caller branches on it (and the CLI turns it into the fix) as
	// it would for start -F.
	Netshim *netshimReport `json:"netshim,omitempty"`
}

// netshimReport is a *netshim.HelperError on its way to Daemon.
type netshimReport struct {
	Path         string
	Request      netshim.Request
	User         string
	Code         int
	Msg          string
	NotInstalled bool `json:",omitempty"`
}

func newNetshimReport(err error) *netshimReport {
	var he *netshim.HelperError
	if !errors.As(err, &he) {
		return nil
	}
	return &netshimReport{Path: he.Path, Request: he.Request, User: he.User, Code: he.Code, Msg: he.Msg,
		NotInstalled: errors.Is(he.Err, netshim.ErrNotInstalled)}
}

// reportedError is the monitor's error with the helper's refusal behind
// it.
type reportedError struct {
	*ChildError
	helper *netshim.HelperError
}

func (e *reportedError) Unwrap() []error { return []error{e.ChildError, e.helper} }

func (r *netshimReport) err(ce *ChildError) error {
	he := &netshim.HelperError{Path: r.Path, Request: r.Request, User: r.User, Code: r.Code, Msg: r.Msg,
		Err: netshim.ErrorForExit(r.Code)}
	if r.NotInstalled {
		he.Err = netshim.ErrNotInstalled
	}
	return &reportedError{ChildError: ce, helper: he}
}

// Daemon starts the container under a monitor process of its own (setsid,
// stdio to LogPath) that outlives the caller, and returns the state once
// the container's init runs, or the error that kept it from running.
// opts.Console is implied.
func Daemon(ctx context.Context, opts DaemonOptions) (_ State, err error) {
	if err := checkSpec(opts.Spec); err != nil {
		return State{}, err
	}
	// The monitor's errors reach the caller as text: what can be known
	// here is found here.
	if err := preflightNetwork(opts.Spec); err != nil {
		return State{}, err
	}
	if _, _, err := chooseOverlay(opts.Options); err != nil {
		return State{}, err
	}
	if opts.Overlay != "" && opts.Overlay != OverlayAuto {
		// The monitor has only the spec: a choice other than the
		// default travels in it.
		s := *opts.Spec
		s.Annotations = maps.Clone(s.Annotations)
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[annotationOverlayDriver] = string(opts.Overlay)
		opts.Spec = &s
	}
	// A container with limits: leave the caller's cgroup before the
	// monitor is born, so that both are out of it (cgroup.go).
	if _, err := prepareCgroup(opts.Name, opts.Spec); err != nil {
		return State{}, err
	}
	defer func() {
		if err != nil {
			releaseCgroup()
		}
	}()
	opts.Console = true
	logPath := opts.LogPath
	if logPath == "" {
		logPath = os.DevNull
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return State{}, fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return State{}, err
	}
	defer cfgR.Close()
	repR, repW, err := os.Pipe()
	if err != nil {
		cfgW.Close()
		return State{}, err
	}
	defer repR.Close()
	cmd := osexec.Command("/proc/self/exe", MonitorEntry, opts.Name)
	cmd.Args[0] = "ulxc"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{cfgR, repW}
	if opts.RunLock != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, opts.RunLock) // fd 5: runLockFD
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	repW.Close()
	if err != nil {
		cfgW.Close()
		return State{}, fmt.Errorf("start monitor: %w", err)
	}
	mc := &monitorConfig{Name: opts.Name, ConfigPath: opts.ConfigPath, RuntimeDir: opts.RuntimeDir,
		ConsoleLogPath: opts.ConsoleLogPath, ExtraLogPath: opts.ExtraLogPath, PidFile: opts.PidFile, LogLevel: opts.LogLevel, Spec: opts.Spec,
		RunLock: opts.RunLock != nil}
	sendWire(cfgW, mc.encode())
	var rep monitorReport
	derr := json.NewDecoder(repR).Decode(&rep)
	switch {
	case derr != nil:
		// The monitor died before it could answer.
		cmd.Wait()
		return State{}, fmt.Errorf("monitor: %s (see %s)", cmd.ProcessState, logPath)
	case rep.Error != nil && rep.Netshim != nil:
		cmd.Wait()
		return State{}, rep.Netshim.err(rep.Error)
	case rep.Error != nil:
		cmd.Wait()
		return State{}, rep.Error
	}
	// The monitor lives on as a child of whoever adopts it.
	cmd.Process.Release()
	return *rep.State, nil
}

// runLockFD is DaemonOptions.RunLock in the monitor.
const runLockFD = 5

// MonitorMain is the body of `ulxc [monitor] NAME`: it starts the
// container described on fd 3, reports on fd 4, and supervises it until it
// stops. args (the name) are for ps only. after, when not nil, runs once the
// container has stopped for good and been torn down, while the monitor
// still holds the run lock (the removal of an ephemeral container).
func MonitorMain(args []string, after func(Options)) int {
	// The command name ps and top show, "exe" after an exec of
	// /proc/self/exe; /proc/self/comm names the thread group leader,
	// whatever thread runs this.
	_ = os.WriteFile("/proc/self/comm", []byte("ulxc"), 0)
	cfg := os.NewFile(3, "monitor-config")
	rep := os.NewFile(4, "monitor-report")
	// Inherited without close-on-exec: a pre-start hook that left a
	// process behind would otherwise keep Daemon waiting for the report
	// of a monitor that died.
	unix.CloseOnExec(4)
	b, err := readWire(cfg)
	cfg.Close()
	var mc *monitorConfig
	if err == nil {
		mc, err = decodeMonitorConfig(b)
	}
	if err != nil {
		mc = &monitorConfig{} // the error is reported below
	}
	if mc.RunLock {
		// Held until the monitor exits, after the teardown; inherited
		// without close-on-exec, which it needs so that no hook or
		// container process keeps the container "running".
		unix.CloseOnExec(runLockFD)
		defer os.NewFile(runLockFD, "run-lock").Close()
	}
	opts := DaemonOptions{ExtraLogPath: mc.ExtraLogPath, LogLevel: mc.LogLevel,
		Options: Options{Name: mc.Name, ConfigPath: mc.ConfigPath, RuntimeDir: mc.RuntimeDir,
			ConsoleLogPath: mc.ConsoleLogPath, PidFile: mc.PidFile, Console: true, Spec: mc.Spec}}
	var logw io.Writer = os.Stderr
	if err == nil && opts.ExtraLogPath != "" {
		if f, ferr := os.OpenFile(opts.ExtraLogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); ferr == nil {
			defer f.Close()
			logw = io.MultiWriter(os.Stderr, f)
		}
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: opts.LogLevel})).With("container", opts.Name)
	if err != nil {
		err = fmt.Errorf("monitor: read options: %w", err)
		log.Error(err.Error())
		writeReport(rep, monitorReport{Error: asChildError(err)})
		return 1
	}
	// Nobody reads our stdio but the log; init must not inherit a tty.
	opts.Options.Log = log
	opts.Options.Stderr = os.Stderr
	c, err := Start(context.Background(), opts.Options)
	if err != nil {
		log.Error("start failed", "err", err)
		writeReport(rep, monitorReport{Error: asChildError(err), Netshim: newNetshimReport(err)})
		return 1
	}
	st := c.State()
	writeReport(rep, monitorReport{State: &st})
	// A stop from outside signals init; the monitor itself ignores the
	// terminal signals of a session it no longer has.
	ignoreSignals()
	for {
		st, err := c.Wait()
		if !st.Rebooted() {
			if after != nil {
				after(opts.Options)
			}
			if err != nil {
				return 1
			}
			return 0
		}
		log.Info("container rebooting")
		if c, err = c.Restart(context.Background()); err != nil {
			log.Error("restart after reboot failed", "err", err)
			if after != nil {
				after(opts.Options)
			}
			return 1
		}
	}
}

func writeReport(w *os.File, r monitorReport) {
	json.NewEncoder(w).Encode(r)
	w.Close()
}

// asChildError flattens err for the trip to Daemon, keeping its errno
// and the hook type of a hook's failure.
func asChildError(err error) *ChildError {
	ce := &ChildError{Msg: err.Error()}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		ce.Errno = errno
	}
	if init := (*ChildError)(nil); errors.As(err, &init) {
		ce.Hook = init.Hook
	}
	return ce
}
