package runtime

import (
	"encoding/json"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestOCIState(t *testing.T) {
	for _, st := range []specs.State{
		{},
		{Version: specs.Version, ID: "ct", Status: specs.StateCreating, Pid: 1, Annotations: map[string]string{}},
		{Version: specs.Version, ID: "c<&>", Status: specs.StateRunning, Pid: -4, Bundle: "/b\xff",
			Annotations: map[string]string{"ulxc.hook.clone.0": `{"path":"/x"}`, "b": "\u2028", "a": "", "B\x01": "z"}},
	} {
		want, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendOCIState(nil, st); string(got) != string(want) {
			t.Errorf("appendOCIState(%+v) =\n%s\nwant\n%s", st, got, want)
		}
	}
}

func FuzzOCIState(f *testing.F) {
	f.Add("ct", "creating", 1, "k", "v", "k2")
	f.Fuzz(func(t *testing.T, id, status string, pid int, k, v, k2 string) {
		st := specs.State{Version: specs.Version, ID: id, Status: specs.ContainerState(status), Pid: pid,
			Annotations: map[string]string{k: v, k2: id}}
		want, _ := json.Marshal(st)
		if got := appendOCIState(nil, st); string(got) != string(want) {
			t.Fatalf("appendOCIState(%+v) = %s, want %s", st, got, want)
		}
	})
}
