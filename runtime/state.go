package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Status is a container's state, with LXC's names.
type Status string

// The states a container is reported in.
const (
	Stopped  Status = "STOPPED"
	Starting Status = "STARTING"
	Running  Status = "RUNNING"
	Stopping Status = "STOPPING" // init is gone, its supervisor is cleaning up
	Frozen   Status = "FROZEN"   // running, its cgroup frozen (freeze.go)
)

// ErrNotRunning reports an operation on a container that does not run.
var ErrNotRunning = errors.New("container is not running")

// Files in a container's runtime directory.
const (
	stateFile   = "state.json"
	exitFile    = "exit.json"
	controlFile = "control.sock"
)

// State is what a supervisor records about a running container, checked
// against the kernel when read.
type State struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Pid is the host pid of the container's init; PidStart its start
	// time (clock ticks after boot, /proc/PID/stat field 22), which tells
	// it from a later process that reuses the pid.
	Pid      int    `json:"pid,omitempty"`
	PidStart uint64 `json:"pid_start,omitempty"`
	// Supervisor is the pid of the monitor (or of `ulxc start -F`).
	Supervisor      int    `json:"supervisor,omitempty"`
	SupervisorStart uint64 `json:"supervisor_start,omitempty"`
	Daemon          bool   `json:"daemon,omitempty"`
	HaltSignal      int    `json:"halt_signal,omitempty"`
	StopSignal      int    `json:"stop_signal,omitempty"`   // 0: SIGKILL
	RebootSignal    int    `json:"reboot_signal,omitempty"` // 0: SIGINT
	// Cgroup is the container's cgroup directory, or "" with CgroupNote
	// saying why there is none.
	Cgroup     string    `json:"cgroup,omitempty"`
	CgroupNote string    `json:"cgroup_note,omitempty"`
	ConfigPath string    `json:"config_path,omitempty"`
	Rootfs     string    `json:"rootfs,omitempty"`
	Started    time.Time `json:"started,omitzero"`
	// LastExit is how the previous run ended, when known.
	LastExit *ExitStatus `json:"last_exit,omitempty"`
	// Seccomp is the container's syscall policy, which attach gives the
	// attached process too.
	Seccomp *specs.LinuxSeccomp `json:"seccomp,omitempty"`
	// Network describes the interfaces of the network phase, one each:
	// "eth0: pasta, pid 1234".
	Network []string `json:"network,omitempty"`
	// Namespaces are the CLONE_NEW* flags of the namespaces init made
	// (the others are the supervisor's): attach joins them without
	// comparing them with its own. 0 in a state from before the field.
	Namespaces uint64 `json:"namespaces,omitempty"`
	// Bounding is the bounding set init was given (a mask of capability
	// numbers), which attach gives the attached process; nil when the
	// spec asked for none, and in a state from before the field, where
	// attach reads init's from /proc.
	Bounding *uint64 `json:"bounding,omitempty"`
}

// ExitStatus is how a container's init ended.
type ExitStatus struct {
	Code   int       `json:"code"`             // exit code, or 128+signal
	Signal int       `json:"signal,omitempty"` // the signal that killed it
	Time   time.Time `json:"time,omitzero"`
}

// Rebooted reports whether init ended by asking for a reboot. reboot(2)
// in a pid namespace other than the host's does not reboot anything: the
// kernel kills the namespace's init and makes its exit status "killed by
// SIGHUP" for LINUX_REBOOT_CMD_RESTART, "killed by SIGINT" for POWER_OFF
// and HALT (kernel/pid_namespace.c, reboot_pid_ns). Nothing else can end
// init by SIGHUP: the kernel drops a signal sent to a namespace's init
// that has no handler for it, from inside or outside. As LXC does, the
// supervisor starts a rebooted container again (Container.Restart); a
// powered-off one stays stopped.
func (s ExitStatus) Rebooted() bool { return s.Signal == int(unix.SIGHUP) }

// Check reads the state of the container whose runtime directory is dir
// and checks it against the kernel: the recorded init must still be the
// same process. A state left behind by a supervisor that was killed is
// removed (state file, control socket and the container's empty cgroup),
// and the container reported STOPPED with its last exit status.
func Check(dir string) (State, error) { return check(dir, true, false) }

// CheckStatus is Check without the last exit status (State.LastExit),
// for a caller that only asks whether the container runs: start, which
// spares decoding the exit file (the first use of encoding/json costs
// about 0.1 ms).
func CheckStatus(dir string) (State, error) { return check(dir, false, false) }

// CheckHeld is Check for a container whose supervisor is known to live,
// because it holds the container's run lock (package store): a container
// whose init does not run (yet, or any more) is STARTING or STOPPING,
// never STOPPED, and nothing in dir is removed: a state left there by an
// earlier run is the new supervisor's to replace, and removing it could
// race with the new one being written.
func CheckHeld(dir string) (State, error) { return check(dir, true, true) }

func check(dir string, lastExit, held bool) (State, error) {
	st, err := readState(dir)
	if errors.Is(err, os.ErrNotExist) {
		// No state: never started, or stopped; with the lock held, a
		// supervisor that has not recorded init yet (or, for a few
		// microseconds, one that has just removed its state).
		st = State{Status: Stopped}
		if held {
			st.Status = Starting
		}
		if lastExit {
			st.LastExit = readExit(dir)
		}
		return st, nil
	}
	if err != nil {
		return State{}, err
	}
	switch {
	case alive(st.Pid, st.PidStart):
		if st.Status != Starting {
			st.Status = Running
			if IsFrozen(st) {
				st.Status = Frozen
			}
		}
		return st, nil
	case alive(st.Supervisor, st.SupervisorStart):
		st.Status = Stopping
		return st, nil
	case held:
		// The state of an earlier run, whose supervisor is gone: a new
		// one holds the lock and has not recorded its init yet.
		st := State{Name: st.Name, Status: Starting}
		if lastExit {
			st.LastExit = readExit(dir)
		}
		return st, nil
	}
	// Neither init nor its supervisor exists: a stale state. The
	// container's cgroup is empty now that its pid namespace is gone.
	_ = os.Remove(filepath.Join(dir, controlFile))
	if st.Cgroup != "" {
		_ = os.Remove(st.Cgroup)
	}
	_ = os.Remove(filepath.Join(dir, stateFile))
	st = State{Name: st.Name, Status: Stopped}
	if lastExit {
		st.LastExit = readExit(dir)
	}
	return st, nil
}

func readState(dir string) (State, error) {
	b, err := readSmall(filepath.Join(dir, stateFile), 1<<20)
	if err != nil {
		return State{}, err
	}
	st, err := decodeState(b)
	if err != nil {
		return State{}, fmt.Errorf("read state %s: %w", filepath.Join(dir, stateFile), err)
	}
	return st, nil
}

func readExit(dir string) *ExitStatus {
	b, err := os.ReadFile(filepath.Join(dir, exitFile))
	if err != nil {
		return nil
	}
	var e ExitStatus
	if json.Unmarshal(b, &e) != nil {
		return nil
	}
	return &e
}

// writeJSON writes v to dir/name atomically (temporary file, rename).
func writeJSON(dir, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

// alive reports whether pid is still the process that started at start,
// and not a zombie: a process whose parent died lingers as one until the
// host's init reaps it, which some inits do late.
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	state, s, err := procStat(pid)
	return err == nil && s == start && state != 'Z' && state != 'X'
}

// startTime returns when pid started, in clock ticks after boot.
func startTime(pid int) (uint64, error) {
	_, s, err := procStat(pid)
	return s, err
}

func procStat(pid int) (state byte, start uint64, err error) {
	b, err := readSmall("/proc/"+strconv.Itoa(pid)+"/stat", 4096)
	if err != nil {
		return 0, 0, err
	}
	return parseStat(b)
}

// ErrBadStat reports a /proc/PID/stat that cannot be parsed.
var ErrBadStat = errors.New("malformed /proc/PID/stat")

// parseStat extracts the state (field 3) and the start time (field 22)
// from the text of /proc/PID/stat. The command name (field 2) may hold
// spaces and parentheses, so the fields are counted from its last ')'.
func parseStat(b []byte) (state byte, start uint64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, ErrBadStat
	}
	f := strings.Fields(string(b[i+1:]))
	const field = 22 - 3 // fields after ')' start with field 3
	if len(f) <= field || len(f[0]) != 1 {
		return 0, 0, ErrBadStat
	}
	n, err := strconv.ParseUint(f[field], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: start time %q", ErrBadStat, f[field])
	}
	return f[0][0], n, nil
}

// pidfdOf opens a pidfd for pid and checks that it is still the process
// that started at start: from then on, signals through the pidfd cannot
// reach a process that reused the pid.
func pidfdOf(pid int, start uint64) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return -1, ErrNotRunning
		}
		return -1, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	if !alive(pid, start) {
		unix.Close(fd)
		return -1, ErrNotRunning
	}
	return fd, nil
}

// runningInit returns the state of the running container of dir and a
// pidfd of its init; ErrNotRunning when it does not run, and ErrFrozen
// when it is frozen, unless frozenOK. The pidfd is taken first and init's
// start time checked after it, as pidfdOf does: that one look at
// /proc/PID/stat is Check's liveness test too. Any other case (no state,
// init gone, a stale state to clear, a container still starting) is
// Check's to tell.
func runningInit(dir string, frozenOK bool) (State, int, error) {
	st, err := readState(dir)
	if err == nil && st.Status != Starting && st.Pid > 0 {
		if pidfd, err := pidfdOf(st.Pid, st.PidStart); err == nil {
			st.Status = Running
			if IsFrozen(st) {
				st.Status = Frozen
			}
			if st.Status == Frozen && !frozenOK {
				unix.Close(pidfd)
				return State{}, -1, ErrFrozen
			}
			return st, pidfd, nil
		}
	}
	if st, err = Check(dir); err != nil {
		return State{}, -1, err
	}
	switch {
	case st.Status == Frozen && !frozenOK:
		return State{}, -1, ErrFrozen
	case st.Status != Running && st.Status != Frozen:
		return State{}, -1, fmt.Errorf("%w (%s)", ErrNotRunning, st.Status)
	}
	pidfd, err := pidfdOf(st.Pid, st.PidStart)
	if err != nil {
		return State{}, -1, err
	}
	return st, pidfd, nil
}

// pidfdExited reports whether the process of pidfd has exited (a zombie
// included), without waiting.
func pidfdExited(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0
}

// waitPidfd waits until the process of pidfd exits or timeout passes
// (negative: no limit); it reports whether it exited.
func waitPidfd(fd int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		ms := -1
		if timeout >= 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return false
			}
			ms = int(left/time.Millisecond) + 1
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false
		}
		if n > 0 {
			return true
		}
	}
}
