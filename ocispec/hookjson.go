package ocispec

import (
	"encoding/json"
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/internal/jsonscan"
)

// The hooks that have no OCI list are annotations holding a hook as
// json.Marshal writes it. Convert writes them and the runtime reads them
// (AnnotatedHooks) in every start with such a hook, an ephemeral copy's
// clone hook among them: encoding/json's first use of specs.Hook cost
// 0.05 ms on each side (tmark, in a fresh process). TestHookJSON and
// FuzzHookJSON hold these to encoding/json.

// appendHook appends h as json.Marshal writes it.
func appendHook(b []byte, h specs.Hook) []byte {
	b = append(b, `{"path":`...)
	b = jsonscan.AppendString(b, h.Path)
	if len(h.Args) > 0 {
		b = jsonscan.AppendStrings(append(b, `,"args":`...), h.Args)
	}
	if len(h.Env) > 0 {
		b = jsonscan.AppendStrings(append(b, `,"env":`...), h.Env)
	}
	if h.Timeout != nil {
		b = jsonscan.AppendInt(append(b, `,"timeout":`...), *h.Timeout)
	}
	return append(b, '}')
}

// decodeHook decodes a hook as json.Unmarshal does, which it leaves what
// it does not read itself to: a key it does not know or spells otherwise
// (encoding/json matches keys without regard to case), or what it finds
// malformed (for encoding/json's own error).
func decodeHook(v string) (specs.Hook, error) {
	var h specs.Hook
	s := &jsonscan.Scanner{B: []byte(v)}
	err := s.Object(func(key string) error {
		var err error
		switch key {
		case "path":
			if !s.Null() { // which leaves the path as it was
				h.Path, err = s.Str()
			}
		case "args":
			h.Args, err = scanStrings(s, h.Args)
		case "env":
			h.Env, err = scanStrings(s, h.Env)
		case "timeout":
			if s.Null() {
				h.Timeout = nil
				return nil
			}
			var n int
			n, err = s.Int()
			h.Timeout = &n
		default:
			return errUnknownKey
		}
		return err
	})
	if err == nil {
		err = s.Done()
	}
	if err != nil {
		h = specs.Hook{}
		err = json.Unmarshal([]byte(v), &h)
	}
	return h, err
}

// errUnknownKey sends decodeHook to encoding/json.
var errUnknownKey = errors.New("unknown key")

// scanStrings reads an array of strings into old's place as
// json.Unmarshal does: nil for a null.
func scanStrings(s *jsonscan.Scanner, old []string) ([]string, error) {
	if s.Null() {
		return nil, nil
	}
	out := old[:0]
	if out == nil {
		out = []string{}
	}
	err := s.Array(func() error {
		v, err := s.Str()
		out = append(out, v)
		return err
	})
	return out, err
}
