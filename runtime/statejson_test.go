package runtime

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestDecodeState holds decodeState to json.Unmarshal: a State with every
// field set (a field added to State and not to decodeState fails here),
// nulls, unknown keys, and malformed files, which must be errors.
func TestDecodeState(t *testing.T) {
	var full State
	fill(reflect.ValueOf(&full).Elem(), 0)
	full.Started = time.Date(2026, 12, 4, 8, 3, 10, 123456789, time.UTC)
	full.LastExit.Time = time.Date(2026, 12, 4, 8, 0, 0, 0, time.FixedZone("x", 3600))
	full.Pid, full.PidStart, full.Namespaces = 4242, 1<<40, 0x7e020000
	b, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, in string }{
		{"every field", string(b)},
		{"nulls", `{"name":"a","last_exit":null,"network":null,"seccomp":null}`},
		{"unknown keys", `{"name":"a","future":{"x":[1,2,{"y":null}]},"pid":7,"later":"z"}`},
		{"exit without time", `{"last_exit":{"code":137,"signal":9,"new":true}}`},
		{"empty", `{}`},
	} {
		var want State
		if err := json.Unmarshal([]byte(tc.in), &want); err != nil {
			t.Fatalf("%s: json.Unmarshal: %v", tc.name, err)
		}
		got, err := decodeState([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: decodeState: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decodeState =\n%+v\nwant (json.Unmarshal)\n%+v", tc.name, got, want)
		}
	}
	var missed []string
	got, _ := decodeState(b)
	lost("State", reflect.ValueOf(full), reflect.ValueOf(got), &missed)
	if len(missed) > 0 {
		t.Errorf("decodeState lost %s", strings.Join(missed, ", "))
	}
	for _, bad := range []string{``, `[]`, `{"pid":"7"}`, `{"pid":1.5}`, `{"daemon":1}`, `{"name":`, `{"started":"yesterday"}`,
		`{"network":["a",1]}`, `{"last_exit":[]}`, `{} {}`, `{"pid_start":-1}`, `null`} {
		if _, err := decodeState([]byte(bad)); err == nil {
			t.Errorf("decodeState(%q) = nil error, want one", bad)
		}
	}
}

// FuzzDecodeState: no input panics, and what both decoders take, they
// read alike.
func FuzzDecodeState(f *testing.F) {
	f.Add(`{"name":"a","status":"RUNNING","pid":1,"last_exit":{"code":1},"network":["x"],"seccomp":{"defaultAction":"SCMP_ACT_ALLOW"}}`)
	f.Add(`{"started":"2026-12-04T08:03:10Z","namespaces":12}`)
	f.Fuzz(func(t *testing.T, in string) {
		got, err := decodeState([]byte(in))
		var want State
		if err != nil || json.Unmarshal([]byte(in), &want) != nil {
			return
		}
		// json.Unmarshal matches keys without regard to case and takes
		// the last of repeated keys; the state file has neither.
		if strings.ToLower(in) == in && !reflect.DeepEqual(got, want) && !strings.Contains(in, `\`) {
			var keys map[string]json.RawMessage
			if json.Unmarshal([]byte(in), &keys) == nil && len(keys) == strings.Count(in, `":`) {
				t.Errorf("decodeState(%q) = %+v, json.Unmarshal = %+v", in, got, want)
			}
		}
	})
}
