package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeState decodes a state file, a JSON object that json.Marshal wrote,
// with a scanner of its own (jsonScanner) instead of encoding/json.
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
	s := jsonScanner{b: b}
	err := s.object(func(key string) error {
		var err error
		switch key {
		case "name":
			st.Name, err = s.text()
		case "status":
			var v string
			v, err = s.text()
			st.Status = Status(v)
		case "pid":
			st.Pid, err = s.int()
		case "pid_start":
			st.PidStart, err = s.uint()
		case "supervisor":
			st.Supervisor, err = s.int()
		case "supervisor_start":
			st.SupervisorStart, err = s.uint()
		case "daemon":
			st.Daemon, err = s.bool()
		case "halt_signal":
			st.HaltSignal, err = s.int()
		case "stop_signal":
			st.StopSignal, err = s.int()
		case "reboot_signal":
			st.RebootSignal, err = s.int()
		case "cgroup":
			st.Cgroup, err = s.text()
		case "cgroup_note":
			st.CgroupNote, err = s.text()
		case "config_path":
			st.ConfigPath, err = s.text()
		case "rootfs":
			st.Rootfs, err = s.text()
		case "started":
			st.Started, err = s.time()
		case "namespaces":
			st.Namespaces, err = s.uint()
		case "bounding":
			if !s.null() {
				var v uint64
				v, err = s.uint()
				st.Bounding = &v
			}
		case "network":
			st.Network, err = s.strs()
		case "last_exit":
			st.LastExit, err = s.exit()
		case "seccomp":
			var raw []byte
			if raw, err = s.raw(); err == nil {
				err = json.Unmarshal(raw, &st.Seccomp)
			}
		default:
			err = s.skip(0)
		}
		return err
	})
	if err != nil {
		return State{}, err
	}
	if s.ws(); s.i < len(s.b) {
		return State{}, errors.New("data after the state")
	}
	return st, nil
}

// jsonScanner reads JSON values from b, from offset i on, as
// encoding/json would decode them into the types its methods return.
// Strings are unescaped as json.Unmarshal does, invalid UTF-8 and lone
// surrogates becoming U+FFFD. A JSON null reads as the zero value where
// json.Unmarshal leaves the field alone, which for a new State is the
// same.
type jsonScanner struct {
	b []byte
	i int
}

// maxDepth bounds the nesting skip follows, as encoding/json's 10000 does.
const maxDepth = 1000

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, 0 at the end.
func (s *jsonScanner) peek() byte {
	if s.ws(); s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// found describes what the scanner is looking at, for an error.
func (s *jsonScanner) found(want string) error {
	if s.peek() == 0 {
		return fmt.Errorf("unexpected end, want %s", want)
	}
	end := min(s.i+10, len(s.b))
	return fmt.Errorf("found %q at offset %d, want %s", s.b[s.i:end], s.i, want)
}

func (s *jsonScanner) delim(c byte) error {
	if s.peek() != c {
		return s.found(strconv.QuoteRune(rune(c)))
	}
	s.i++
	return nil
}

// literal consumes word (true, false, null) when it comes next.
func (s *jsonScanner) literal(word string) bool {
	if s.peek() != word[0] || len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// null consumes a null when it comes next.
func (s *jsonScanner) null() bool { return s.literal("null") }

// object reads an object, calling member for each key with the scanner at
// its value, which member must consume.
func (s *jsonScanner) object(member func(key string) error) error {
	if err := s.delim('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if err := s.delim(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.found(`',' or '}'`)
		}
	}
}

// array reads an array, calling elem with the scanner at each element.
func (s *jsonScanner) array(elem func() error) error {
	if err := s.delim('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.found(`',' or ']'`)
		}
	}
}

// str reads a string.
func (s *jsonScanner) str() (string, error) {
	if s.peek() != '"' {
		return "", s.found("a string")
	}
	s.i++
	start := s.i
	// The common case: nothing to unescape or replace.
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '"' {
			s.i++
			return string(s.b[start : s.i-1]), nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		s.i++
	}
	out := append([]byte(nil), s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return string(out), nil
		case c < 0x20:
			return "", fmt.Errorf("control character %#x in a string at offset %d", c, s.i)
		case c == '\\':
			r, err := s.escape()
			if err != nil {
				return "", err
			}
			out = utf8.AppendRune(out, r)
		case c < utf8.RuneSelf:
			out = append(out, c)
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			out = utf8.AppendRune(out, r) // utf8.RuneError where invalid
			s.i += size
		}
	}
	return "", errors.New("unexpected end in a string")
}

// text reads a string value; "" for a null.
func (s *jsonScanner) text() (string, error) {
	if s.null() {
		return "", nil
	}
	return s.str()
}

// escape reads the escape sequence at s.i.
func (s *jsonScanner) escape() (rune, error) {
	if s.i+1 >= len(s.b) {
		return 0, errors.New("unexpected end in a string")
	}
	c := s.b[s.i+1]
	s.i += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, ok := s.hex4(s.i)
		if !ok {
			return 0, fmt.Errorf(`bad \u escape at offset %d`, s.i-2)
		}
		s.i += 4
		if !utf16.IsSurrogate(r) {
			return r, nil
		}
		// A pair makes one rune; a lone half is U+FFFD, and what
		// follows it is read on its own.
		if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
			if r2, ok := s.hex4(s.i + 2); ok {
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					s.i += 6
					return d, nil
				}
			}
		}
		return utf8.RuneError, nil
	}
	return 0, fmt.Errorf("bad escape %q at offset %d", `\`+string(c), s.i-2)
}

// hex4 reads the four hex digits at offset at.
func (s *jsonScanner) hex4(at int) (rune, bool) {
	if at+4 > len(s.b) {
		return 0, false
	}
	var r rune
	for _, c := range s.b[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a number's text, checked against JSON's grammar:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScanner) number() (string, error) {
	s.ws()
	start := s.i
	digits := func() int {
		n := 0
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	lead := s.i
	if n := digits(); n == 0 || n > 1 && s.b[lead] == '0' {
		s.i = start
		return "", s.found("a number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			s.i = start
			return "", s.found("a number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			s.i = start
			return "", s.found("a number")
		}
	}
	return string(s.b[start:s.i]), nil
}

// int reads a number into an int, as json.Unmarshal does: an error for a
// fraction, an exponent or an overflow. A null leaves 0.
func (s *jsonScanner) int() (int, error) {
	if s.null() {
		return 0, nil
	}
	n, err := s.number()
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(n)
}

// uint reads a number into a uint64, as int does.
func (s *jsonScanner) uint() (uint64, error) {
	if s.null() {
		return 0, nil
	}
	n, err := s.number()
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(n, 10, 64)
}

func (s *jsonScanner) bool() (bool, error) {
	switch {
	case s.literal("true"):
		return true, nil
	case s.literal("false"), s.null():
		return false, nil
	}
	return false, s.found("true or false")
}

// time reads a time as time.Time's UnmarshalJSON does (RFC 3339).
func (s *jsonScanner) time() (time.Time, error) {
	if s.null() {
		return time.Time{}, nil
	}
	v, err := s.str()
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, v)
}

// strs reads an array of strings; nil for a null.
func (s *jsonScanner) strs() ([]string, error) {
	if s.null() {
		return nil, nil
	}
	out := []string{}
	err := s.array(func() error {
		v, err := s.str()
		out = append(out, v)
		return err
	})
	return out, err
}

// exit reads a last_exit object; nil for a null.
func (s *jsonScanner) exit() (*ExitStatus, error) {
	if s.null() {
		return nil, nil
	}
	var e ExitStatus
	err := s.object(func(key string) error {
		var err error
		switch key {
		case "code":
			e.Code, err = s.int()
		case "signal":
			e.Signal, err = s.int()
		case "time":
			e.Time, err = s.time()
		default:
			err = s.skip(0)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// raw reads any value and returns its text.
func (s *jsonScanner) raw() ([]byte, error) {
	s.ws()
	start := s.i
	if err := s.skip(0); err != nil {
		return nil, err
	}
	return s.b[start:s.i], nil
}

// skip reads any value, checking it, at nesting depth.
func (s *jsonScanner) skip(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d at offset %d", maxDepth, s.i)
	}
	switch s.peek() {
	case '{':
		return s.object(func(string) error { return s.skip(depth + 1) })
	case '[':
		return s.array(func() error { return s.skip(depth + 1) })
	case '"':
		_, err := s.str()
		return err
	case 't', 'f', 'n':
		if s.literal("true") || s.literal("false") || s.null() {
			return nil
		}
		return s.found("a value")
	}
	_, err := s.number()
	return err
}
