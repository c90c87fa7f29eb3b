package runtime

import (
	"encoding/json"
	"time"

	"github.com/ulxc/ulxc/internal/jsonscan"
)

// decodeState decodes a state file, a JSON object that json.Marshal wrote,
// with a scanner of its own (package jsonscan) instead of encoding/json.
// json.Unmarshal builds its reflection of State (and of everything State
// holds) on first use in a process: 0.2 ms. json.Decoder's Token walk,
// which replaced it, still took 0.055 ms in a fresh process against 0.011
// ms in a warm one (ulxc attach, medians of 200): most of it was paging
// in the Decoder's code. Every attach, stop, info and ls reads a state
// first. Only the seccomp policy, present for most containers but needed
// by attach alone, goes through json.Unmarshal. TestDecodeState holds this
// to json.Unmarshal for every field of State; FuzzDecodeState for any
// input both take.
func decodeState(b []byte) (State, error) {
	var st State
	s := &jsonscan.Scanner{B: b}
	err := s.Object(func(key string) error {
		var err error
		switch key {
		case "name":
			st.Name, err = s.Text()
		case "status":
			var v string
			v, err = s.Text()
			st.Status = Status(v)
		case "pid":
			st.Pid, err = s.Int()
		case "pid_start":
			st.PidStart, err = s.Uint()
		case "supervisor":
			st.Supervisor, err = s.Int()
		case "supervisor_start":
			st.SupervisorStart, err = s.Uint()
		case "daemon":
			st.Daemon, err = s.Bool()
		case "halt_signal":
			st.HaltSignal, err = s.Int()
		case "stop_signal":
			st.StopSignal, err = s.Int()
		case "reboot_signal":
			st.RebootSignal, err = s.Int()
		case "cgroup":
			st.Cgroup, err = s.Text()
		case "cgroup_note":
			st.CgroupNote, err = s.Text()
		case "config_path":
			st.ConfigPath, err = s.Text()
		case "rootfs":
			st.Rootfs, err = s.Text()
		case "started":
			st.Started, err = scanTime(s)
		case "namespaces":
			st.Namespaces, err = s.Uint()
		case "bounding":
			if !s.Null() {
				var v uint64
				v, err = s.Uint()
				st.Bounding = &v
			}
		case "network":
			st.Network, err = scanStrings(s)
		case "last_exit":
			st.LastExit, err = scanExit(s)
		case "seccomp":
			var raw []byte
			if raw, err = s.Raw(); err == nil {
				err = json.Unmarshal(raw, &st.Seccomp)
			}
		default:
			err = s.Skip(0)
		}
		return err
	})
	if err != nil {
		return State{}, err
	}
	if err := s.Done(); err != nil {
		return State{}, err
	}
	return st, nil
}

// scanTime reads a time as time.Time's UnmarshalJSON does (RFC 3339).
func scanTime(s *jsonscan.Scanner) (time.Time, error) {
	if s.Null() {
		return time.Time{}, nil
	}
	v, err := s.Str()
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, v)
}

// scanStrings reads an array of strings; nil for a null.
func scanStrings(s *jsonscan.Scanner) ([]string, error) {
	if s.Null() {
		return nil, nil
	}
	out := []string{}
	err := s.Array(func() error {
		v, err := s.Str()
		out = append(out, v)
		return err
	})
	return out, err
}

// scanExit reads a last_exit object; nil for a null.
func scanExit(s *jsonscan.Scanner) (*ExitStatus, error) {
	if s.Null() {
		return nil, nil
	}
	var e ExitStatus
	err := s.Object(func(key string) error {
		var err error
		switch key {
		case "code":
			e.Code, err = s.Int()
		case "signal":
			e.Signal, err = s.Int()
		case "time":
			e.Time, err = scanTime(s)
		default:
			err = s.Skip(0)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}
