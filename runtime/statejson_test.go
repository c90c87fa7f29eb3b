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
		{"escapes", `{"name":"a\"b\\c\/\b\f\n\r\t\u00e9\u20AC\ud83d\ude00","cgroup":"\ud800x\udc00\ud800\u0041","rootfs":"\u0000"}`},
		{"invalid UTF-8", "{\"name\":\"a\xffb\xc3\",\"network\":[\"\xe2\x82\",\"\xf0\x9f\x98\x80\"]}"},
		{"null values", `{"name":null,"status":null,"pid":null,"pid_start":null,"daemon":null,"started":null,"last_exit":{"code":null,"time":null}}`},
		{"white space", " \t\r\n{ \"pid\" : 7 , \"network\" : [ ] , \"x\" : { } }\n"},
		{"numbers skipped", `{"x":[-0,0.5,1e3,-1.25E-7,true,false,null,"s"],"pid":0}`},
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
		`{"network":["a",1]}`, `{"last_exit":[]}`, `{} {}`, `{"pid_start":-1}`, `null`,
		`{"name":"a\x01"}`, `{"name":"\q"}`, `{"name":"\u12"}`, `{"x":01}`, `{"x":1.}`, `{"x":-}`, `{"x":1e}`, `{"x":tru}`,
		`{"pid":1,}`, `{,}`, `{"a" 1}`, `{"x":[1,]}`, `{"x":[1 2]}`, `{"name":"a"`, `{"x":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`} {
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
		// json.Unmarshal matches keys without regard to case (and
		// escaped ones unescaped) and takes the last of repeated keys;
		// the state file has neither.
		if strings.ToLower(in) == in && !reflect.DeepEqual(got, want) {
			var keys map[string]json.RawMessage
			if json.Unmarshal([]byte(in), &keys) == nil && len(keys) == strings.Count(in, `":`) {
				t.Errorf("decodeState(%q) = %+v, json.Unmarshal = %+v", in, got, want)
			}
		}
	})
}
