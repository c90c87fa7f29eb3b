package netshim

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseState(t *testing.T) {
	in := "1001 7 br0 ulxc00000001\n" +
		"garbage\n" +
		"1002 7 br0 ulxc0000\n" + // torn by a killed helper
		"1001 8 br1 ulxc00000002\n" +
		"-1 7 br0 ulxc00000003\n" +
		"1001 7 br/0 ulxc00000004\n"
	got := parseState([]byte(in))
	want := []entry{
		{UID: 1001, Netns: 7, Bridge: "br0", HostIf: "ulxc00000001"},
		{UID: 1002, Netns: 7, Bridge: "br0", HostIf: "ulxc0000"},
		{UID: 1001, Netns: 8, Bridge: "br1", HostIf: "ulxc00000002"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseState = %+v, want %+v", got, want)
	}
	var b strings.Builder
	for _, e := range want {
		b.WriteString(e.String())
	}
	if again := parseState([]byte(b.String())); !reflect.DeepEqual(again, want) {
		t.Errorf("parseState(String()) = %+v, want %+v", again, want)
	}
}

func TestCullAndCount(t *testing.T) {
	entries := []entry{
		{UID: 1001, Netns: 7, Bridge: "br0", HostIf: "gone1"},
		{UID: 1001, Netns: 7, Bridge: "br0", HostIf: "here1"},
		{UID: 1001, Netns: 8, Bridge: "br0", HostIf: "gone2"}, // another namespace: not ours to judge
		{UID: 1002, Netns: 7, Bridge: "br0", HostIf: "here2"},
		{UID: 1001, Netns: 7, Bridge: "br1", HostIf: "here3"},
	}
	exists := func(name string) (bool, error) { return !strings.HasPrefix(name, "gone"), nil }
	got, err := cull(entries, 7, exists)
	if err != nil {
		t.Fatal(err)
	}
	if want := []entry{entries[1], entries[2], entries[3], entries[4]}; !reflect.DeepEqual(got, want) {
		t.Fatalf("cull = %+v, want %+v", got, want)
	}
	if n := used(got, 1001, 7, "br0"); n != 1 {
		t.Errorf("used(1001, 7, br0) = %d, want 1", n)
	}
	if n := used(got, 1001, 8, "br0"); n != 1 {
		t.Errorf("used(1001, 8, br0) = %d, want 1", n)
	}
	boom := errors.New("netlink down")
	if _, err := cull(entries, 7, func(string) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Errorf("cull with a failing lookup = %v, want %v", err, boom)
	}
}

// TestStateWrite: the file is rewritten in place, shorter or longer.
func TestStateWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), StateName)
	if err := os.WriteFile(path, []byte(strings.Repeat("x", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := &state{f: f, path: path}
	defer s.Close()
	want := []entry{{UID: 1, Netns: 2, Bridge: "br0", HostIf: "ulxc0"}, {UID: 3, Netns: 4, Bridge: "br1", HostIf: "ulxc1"}}
	if err := s.write(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.read()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read after write = %+v, %v; want %+v", got, err, want)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "1 2 br0 ulxc0\n3 4 br1 ulxc1\n" {
		t.Errorf("file = %q", data)
	}
}
