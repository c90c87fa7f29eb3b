package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// decodeState decodes a state file by walking its tokens. json.Unmarshal
// builds its reflection of State (and of everything State holds) on first
// use in a process, 0.2 ms that every attach, start, stop and ls paid,
// against 0.03 ms for the walk. Only the seccomp policy, present for most
// containers but needed by attach alone, goes through json.Unmarshal.
// TestDecodeState holds this to json.Unmarshal for every field of State.
func decodeState(b []byte) (State, error) {
	var st State
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := expectDelim(d, '{'); err != nil {
		return State{}, err
	}
	for d.More() {
		key, err := stringToken(d)
		if err != nil {
			return State{}, err
		}
		var serr error
		switch key {
		case "name":
			st.Name, serr = stringToken(d)
		case "status":
			var s string
			s, serr = stringToken(d)
			st.Status = Status(s)
		case "pid":
			st.Pid, serr = intToken(d)
		case "pid_start":
			st.PidStart, serr = uintToken(d)
		case "supervisor":
			st.Supervisor, serr = intToken(d)
		case "supervisor_start":
			st.SupervisorStart, serr = uintToken(d)
		case "daemon":
			st.Daemon, serr = boolToken(d)
		case "halt_signal":
			st.HaltSignal, serr = intToken(d)
		case "stop_signal":
			st.StopSignal, serr = intToken(d)
		case "reboot_signal":
			st.RebootSignal, serr = intToken(d)
		case "cgroup":
			st.Cgroup, serr = stringToken(d)
		case "cgroup_note":
			st.CgroupNote, serr = stringToken(d)
		case "config_path":
			st.ConfigPath, serr = stringToken(d)
		case "rootfs":
			st.Rootfs, serr = stringToken(d)
		case "started":
			st.Started, serr = timeToken(d)
		case "namespaces":
			st.Namespaces, serr = uintToken(d)
		case "network":
			st.Network, serr = stringsToken(d)
		case "last_exit":
			st.LastExit, serr = exitToken(d)
		case "seccomp":
			serr = d.Decode(&st.Seccomp)
		default:
			var skip json.RawMessage
			serr = d.Decode(&skip)
		}
		if serr != nil {
			return State{}, fmt.Errorf("%q: %w", key, serr)
		}
	}
	if err := expectDelim(d, '}'); err != nil {
		return State{}, err
	}
	if _, err := d.Token(); err == nil {
		return State{}, errors.New("data after the state")
	}
	return st, nil
}

func exitToken(d *json.Decoder) (*ExitStatus, error) {
	if null, err := openToken(d, '{'); null || err != nil {
		return nil, err
	}
	var e ExitStatus
	for d.More() {
		key, err := stringToken(d)
		if err != nil {
			return nil, err
		}
		switch key {
		case "code":
			e.Code, err = intToken(d)
		case "signal":
			e.Signal, err = intToken(d)
		case "time":
			e.Time, err = timeToken(d)
		default:
			var skip json.RawMessage
			err = d.Decode(&skip)
		}
		if err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
	}
	return &e, expectDelim(d, '}')
}

// openToken reads the opening delimiter of an object or array, or a null
// in its place (null reports true).
func openToken(d *json.Decoder, want json.Delim) (null bool, err error) {
	t, err := d.Token()
	if err != nil {
		return false, err
	}
	if t == nil {
		return true, nil
	}
	if got, ok := t.(json.Delim); !ok || got != want {
		return false, fmt.Errorf("found %v, want %q", t, want)
	}
	return false, nil
}

func expectDelim(d *json.Decoder, want json.Delim) error {
	t, err := d.Token()
	if err != nil {
		return err
	}
	if got, ok := t.(json.Delim); !ok || got != want {
		return fmt.Errorf("found %v, want %q", t, want)
	}
	return nil
}

func stringToken(d *json.Decoder) (string, error) {
	t, err := d.Token()
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", fmt.Errorf("found %v, want a string", t)
	}
	return s, nil
}

func stringsToken(d *json.Decoder) ([]string, error) {
	if null, err := openToken(d, '['); null || err != nil {
		return nil, err
	}
	out := []string{}
	for d.More() {
		s, err := stringToken(d)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, expectDelim(d, ']')
}

func numberToken(d *json.Decoder) (string, error) {
	t, err := d.Token()
	if err != nil {
		return "", err
	}
	n, ok := t.(json.Number)
	if !ok {
		return "", fmt.Errorf("found %v, want a number", t)
	}
	return string(n), nil
}

func intToken(d *json.Decoder) (int, error) {
	s, err := numberToken(d)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(s)
}

func uintToken(d *json.Decoder) (uint64, error) {
	s, err := numberToken(d)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(s, 10, 64)
}

func boolToken(d *json.Decoder) (bool, error) {
	t, err := d.Token()
	if err != nil {
		return false, err
	}
	v, ok := t.(bool)
	if !ok {
		return false, fmt.Errorf("found %v, want true or false", t)
	}
	return v, nil
}

func timeToken(d *json.Decoder) (time.Time, error) {
	s, err := stringToken(d)
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, s)
}
