package ocispec

import (
	"encoding/json"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestHookJSON(t *testing.T) {
	timeout, zero := 30, 0
	for _, h := range []specs.Hook{
		{Path: "/usr/share/lxc/hooks/clonehostname", Args: []string{"clonehostname", "ct", "lxc", "clone"},
			Env: []string{"LXC_NAME=ct", "PATH=/usr/bin:/bin"}},
		{Path: "/bin/sh", Args: []string{"sh", "-c", `exec x "$@" <&> ` + "\u2028\xff", "sh"}, Timeout: &timeout},
		{Path: "", Args: []string{}, Env: nil, Timeout: &zero},
	} {
		want, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendHook(nil, h); string(got) != string(want) {
			t.Errorf("appendHook(%+v) = %s, want %s", h, got, want)
		}
		checkDecodeHook(t, string(want))
	}
	for _, in := range []string{
		`{"path":"/a","args":null,"env":[],"timeout":null}`,
		`{"Path":"/a"}`,             // encoding/json matches keys without regard to case
		`{"path":"/a","path":null}`, // null leaves the string alone
		`{"path":"/a","args":["x"],"args":["y","z"]}`,
		`{"path":"/a","timeout":1.5}`, // no int
		`{"path":"/a","timeout":99999999999999999999}`,
		`{"path":"/a","extra":{"n":[1,2]}}`,
		`{"path":"/a"} x`,
		`{"path":5}`,
		`{"path":"\ud800x\u00e9"}`,
		``, `null`, `[]`,
	} {
		checkDecodeHook(t, in)
	}
}

// checkDecodeHook holds decodeHook to json.Unmarshal.
func checkDecodeHook(t *testing.T, in string) {
	t.Helper()
	var want specs.Hook
	werr := json.Unmarshal([]byte(in), &want)
	got, err := decodeHook(in)
	if (err == nil) != (werr == nil) || err == nil && !reflect.DeepEqual(got, want) {
		t.Errorf("decodeHook(%q) = %+v, %v; json.Unmarshal gives %+v, %v", in, got, err, want, werr)
	}
}

func FuzzHookJSON(f *testing.F) {
	f.Add("/p", "a\x00<", "E=v", 3, true, `{"path":"/x","args":["a"],"timeout":2}`)
	f.Fuzz(func(t *testing.T, path, arg, env string, timeout int, withTimeout bool, in string) {
		h := specs.Hook{Path: path, Args: []string{arg, path}, Env: []string{env}}
		if withTimeout {
			h.Timeout = &timeout
		}
		want, _ := json.Marshal(h)
		if got := appendHook(nil, h); string(got) != string(want) {
			t.Fatalf("appendHook(%+v) = %s, want %s", h, got, want)
		}
		checkDecodeHook(t, string(want))
		checkDecodeHook(t, in)
	})
}
