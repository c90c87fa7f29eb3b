// Package jsonscan reads and writes JSON as encoding/json does, without
// its reflection: json.Marshal and json.Unmarshal build their view of a
// type on its first use in a process, 0.05-0.2 ms each, which a
// program that lives for milliseconds (ulxc start, attach) pays every
// time. Decoders are written per type with Scanner; the tests of each
// hold it to encoding/json.
package jsonscan

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Scanner reads JSON values from B, from offset I on, as
// encoding/json would decode them into the types its methods return.
// Strings are unescaped as json.Unmarshal does, invalid UTF-8 and lone
// surrogates becoming U+FFFD. A JSON null reads as the zero value where
// json.Unmarshal leaves the field alone, which for a new value is the
// same. Object keys are matched as they are: a decoder that meets a key
// it does not know leaves the input to json.Unmarshal, which matches
// them without regard to case.
type Scanner struct {
	B []byte
	I int
}

// maxDepth bounds the nesting Skip follows, as encoding/json's 10000 does.
const maxDepth = 1000

// WS skips white space.
func (s *Scanner) WS() {
	for s.I < len(s.B) {
		switch s.B[s.I] {
		case ' ', '\t', '\n', '\r':
			s.I++
		default:
			return
		}
	}
}

// Peek returns the next byte after white space, 0 at the end.
func (s *Scanner) Peek() byte {
	if s.WS(); s.I < len(s.B) {
		return s.B[s.I]
	}
	return 0
}

// Found describes what the scanner is looking at, for an error.
func (s *Scanner) Found(want string) error {
	if s.Peek() == 0 {
		return fmt.Errorf("unexpected end, want %s", want)
	}
	end := min(s.I+10, len(s.B))
	return fmt.Errorf("found %q at offset %d, want %s", s.B[s.I:end], s.I, want)
}

// Delim consumes c, the next byte after white space.
func (s *Scanner) Delim(c byte) error {
	if s.Peek() != c {
		return s.Found(strconv.QuoteRune(rune(c)))
	}
	s.I++
	return nil
}

// Literal consumes word (true, false, null) when it comes next.
func (s *Scanner) Literal(word string) bool {
	if s.Peek() != word[0] || len(s.B)-s.I < len(word) || string(s.B[s.I:s.I+len(word)]) != word {
		return false
	}
	s.I += len(word)
	return true
}

// Null consumes a null when it comes next.
func (s *Scanner) Null() bool { return s.Literal("null") }

// Object reads an object, calling member for each key with the scanner at
// its value, which member must consume.
func (s *Scanner) Object(member func(key string) error) error {
	if err := s.Delim('{'); err != nil {
		return err
	}
	if s.Peek() == '}' {
		s.I++
		return nil
	}
	for {
		key, err := s.Str()
		if err != nil {
			return err
		}
		if err := s.Delim(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
		switch s.Peek() {
		case ',':
			s.I++
		case '}':
			s.I++
			return nil
		default:
			return s.Found(`',' or '}'`)
		}
	}
}

// Array reads an array, calling elem with the scanner at each element.
func (s *Scanner) Array(elem func() error) error {
	if err := s.Delim('['); err != nil {
		return err
	}
	if s.Peek() == ']' {
		s.I++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch s.Peek() {
		case ',':
			s.I++
		case ']':
			s.I++
			return nil
		default:
			return s.Found(`',' or ']'`)
		}
	}
}

// Str reads a string.
func (s *Scanner) Str() (string, error) {
	if s.Peek() != '"' {
		return "", s.Found("a string")
	}
	s.I++
	start := s.I
	// The common case: nothing to unescape or replace.
	for s.I < len(s.B) {
		c := s.B[s.I]
		if c == '"' {
			s.I++
			return string(s.B[start : s.I-1]), nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		s.I++
	}
	out := append([]byte(nil), s.B[start:s.I]...)
	for s.I < len(s.B) {
		c := s.B[s.I]
		switch {
		case c == '"':
			s.I++
			return string(out), nil
		case c < 0x20:
			return "", fmt.Errorf("control character %#x in a string at offset %d", c, s.I)
		case c == '\\':
			r, err := s.escape()
			if err != nil {
				return "", err
			}
			out = utf8.AppendRune(out, r)
		case c < utf8.RuneSelf:
			out = append(out, c)
			s.I++
		default:
			r, size := utf8.DecodeRune(s.B[s.I:])
			out = utf8.AppendRune(out, r) // utf8.RuneError where invalid
			s.I += size
		}
	}
	return "", errors.New("unexpected end in a string")
}

// Text reads a string value; "" for a null.
func (s *Scanner) Text() (string, error) {
	if s.Null() {
		return "", nil
	}
	return s.Str()
}

// escape reads the escape sequence at s.I.
func (s *Scanner) escape() (rune, error) {
	if s.I+1 >= len(s.B) {
		return 0, errors.New("unexpected end in a string")
	}
	c := s.B[s.I+1]
	s.I += 2
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
		r, ok := s.hex4(s.I)
		if !ok {
			return 0, fmt.Errorf(`bad \u escape at offset %d`, s.I-2)
		}
		s.I += 4
		if !utf16.IsSurrogate(r) {
			return r, nil
		}
		// A pair makes one rune; a lone half is U+FFFD, and what
		// follows it is read on its own.
		if s.I+1 < len(s.B) && s.B[s.I] == '\\' && s.B[s.I+1] == 'u' {
			if r2, ok := s.hex4(s.I + 2); ok {
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					s.I += 6
					return d, nil
				}
			}
		}
		return utf8.RuneError, nil
	}
	return 0, fmt.Errorf("bad escape %q at offset %d", `\`+string(c), s.I-2)
}

// hex4 reads the four hex digits at offset at.
func (s *Scanner) hex4(at int) (rune, bool) {
	if at+4 > len(s.B) {
		return 0, false
	}
	var r rune
	for _, c := range s.B[at : at+4] {
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

// Number reads a number's text, checked against JSON's grammar:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *Scanner) Number() (string, error) {
	s.WS()
	start := s.I
	digits := func() int {
		n := 0
		for s.I < len(s.B) && '0' <= s.B[s.I] && s.B[s.I] <= '9' {
			s.I++
			n++
		}
		return n
	}
	if s.I < len(s.B) && s.B[s.I] == '-' {
		s.I++
	}
	lead := s.I
	if n := digits(); n == 0 || n > 1 && s.B[lead] == '0' {
		s.I = start
		return "", s.Found("a number")
	}
	if s.I < len(s.B) && s.B[s.I] == '.' {
		s.I++
		if digits() == 0 {
			s.I = start
			return "", s.Found("a number")
		}
	}
	if s.I < len(s.B) && (s.B[s.I] == 'e' || s.B[s.I] == 'E') {
		s.I++
		if s.I < len(s.B) && (s.B[s.I] == '+' || s.B[s.I] == '-') {
			s.I++
		}
		if digits() == 0 {
			s.I = start
			return "", s.Found("a number")
		}
	}
	return string(s.B[start:s.I]), nil
}

// Int reads a number into an int, as json.Unmarshal does: an error for a
// fraction, an exponent or an overflow. A null leaves 0.
func (s *Scanner) Int() (int, error) {
	if s.Null() {
		return 0, nil
	}
	n, err := s.Number()
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(n)
}

// Uint reads a number into a uint64, as Int does.
func (s *Scanner) Uint() (uint64, error) {
	if s.Null() {
		return 0, nil
	}
	n, err := s.Number()
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(n, 10, 64)
}

// Bool reads true or false; false for a null.
func (s *Scanner) Bool() (bool, error) {
	switch {
	case s.Literal("true"):
		return true, nil
	case s.Literal("false"), s.Null():
		return false, nil
	}
	return false, s.Found("true or false")
}

// Raw reads any value and returns its text.
func (s *Scanner) Raw() ([]byte, error) {
	s.WS()
	start := s.I
	if err := s.Skip(0); err != nil {
		return nil, err
	}
	return s.B[start:s.I], nil
}

// Skip reads any value, checking it, at nesting depth.
func (s *Scanner) Skip(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d at offset %d", maxDepth, s.I)
	}
	switch s.Peek() {
	case '{':
		return s.Object(func(string) error { return s.Skip(depth + 1) })
	case '[':
		return s.Array(func() error { return s.Skip(depth + 1) })
	case '"':
		_, err := s.Str()
		return err
	case 't', 'f', 'n':
		if s.Literal("true") || s.Literal("false") || s.Null() {
			return nil
		}
		return s.Found("a value")
	}
	_, err := s.Number()
	return err
}

// Done reports an error unless only white space follows.
func (s *Scanner) Done() error {
	if s.WS(); s.I < len(s.B) {
		return errors.New("data after the value")
	}
	return nil
}
