package userns

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/subid"
)

// The caller in these tests: uid 4242 and gid 4343, which have no names,
// so the subordinate id files below match them by number.
const testUID, testGID = 4242, 4343

func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// goodHelper returns a path that passes CheckHelper: a root-owned setuid
// file when the test runs as root, else the system's newuidmap.
func goodHelper(t *testing.T) string {
	t.Helper()
	if os.Geteuid() == 0 {
		return writeFile(t, t.TempDir(), "newidmap", "#!/bin/sh\nexit 1\n", 0o755|os.ModeSetuid)
	}
	p, err := CheckHelper("/usr/bin/newuidmap")
	if err != nil {
		testenv.Skipf(t, "needs root (to make a setuid fake helper) or a working /usr/bin/newuidmap: %v", err)
	}
	return p
}

func TestNewPlan(t *testing.T) {
	dir := t.TempDir()
	subuid := writeFile(t, dir, "subuid", "4242:200000:65536\n", 0o644)
	subgid := writeFile(t, dir, "subgid", "4343:300000:1000\n4343:400000:100000\n", 0o644)
	empty := writeFile(t, dir, "empty", "# nobody\n", 0o644)
	broken := writeFile(t, dir, "broken", "4242:1\n", 0o644)
	helper := goodHelper(t)
	notSetuid := writeFile(t, dir, "plain", "#!/bin/sh\n", 0o755)
	missing := filepath.Join(dir, "missing")
	lxcMaps := []Map{{UID, 0, 200000, 65536}, {GID, 0, 300000, 1000}}

	tests := []struct {
		name    string
		opts    PlanOptions
		want    []Map // nil: don't compare
		single  bool
		warning []string // substrings of Warning; nil: want none
		wantErr error    // errors.Is target
		errType any      // errors.As target
		anyErr  bool     // want some error
	}{
		{name: "exec default", opts: PlanOptions{},
			want: []Map{{UID, 0, 4242, 1}, {UID, 1, 200000, 65536},
				{GID, 0, 4343, 1}, {GID, 1, 300000, 1000}, {GID, 1001, 400000, 100000}}},
		{name: "container default", opts: PlanOptions{Purpose: ForContainer},
			want: []Map{{UID, 0, 200000, 65536}, {GID, 0, 300000, 1000}, {GID, 1000, 400000, 64536}}},
		{name: "config", opts: PlanOptions{Config: lxcMaps}, want: lxcMaps},
		{name: "explicit wins", opts: PlanOptions{Config: lxcMaps,
			Explicit: []Map{{UID, 0, 200005, 10}, {GID, 0, 400000, 10}}},
			want: []Map{{UID, 0, 200005, 10}, {GID, 0, 400000, 10}}},
		{name: "map self", opts: PlanOptions{Explicit: lxcMaps, MapSelf: true},
			want: append(append([]Map{}, lxcMaps...), Map{UID, 65536, 4242, 1}, Map{GID, 1000, 4343, 1})},
		{name: "map self already mapped", opts: PlanOptions{MapSelf: true},
			want: []Map{{UID, 0, 4242, 1}, {UID, 1, 200000, 65536},
				{GID, 0, 4343, 1}, {GID, 1, 300000, 1000}, {GID, 1001, 400000, 100000}}},
		{name: "explicit own ids need no helper", opts: PlanOptions{
			Explicit: []Map{{UID, 0, 4242, 1}, {GID, 0, 4343, 1}}, NewUIDMap: missing},
			want: []Map{{UID, 0, 4242, 1}, {GID, 0, 4343, 1}}, single: true},
		{name: "no subuid falls back", opts: PlanOptions{SubUIDFile: empty},
			want: []Map{{UID, 0, 4242, 1}, {GID, 0, 4343, 1}}, single: true,
			warning: []string{"no subordinate ids", "uid 4242", "setgroups", "EINVAL",
				"usermod --add-subuids 100000-165535 --add-subgids 100000-165535 4242"}},
		{name: "missing subid files fall back", opts: PlanOptions{SubUIDFile: missing, SubGIDFile: missing},
			single: true, warning: []string{"usermod"}},
		{name: "config without subids falls back", opts: PlanOptions{Config: lxcMaps, SubGIDFile: empty},
			single: true, warning: []string{"usermod"}},
		{name: "helper missing falls back", opts: PlanOptions{NewGIDMap: missing},
			single: true, warning: []string{"apt-get install uidmap"}},
		{name: "helper not setuid falls back", opts: PlanOptions{NewUIDMap: notSetuid},
			single: true, warning: []string{"chmod u+s /usr/bin/newuidmap"}},
		{name: "explicit outside", opts: PlanOptions{Explicit: []Map{{UID, 0, 300000, 10}, {GID, 0, 300000, 10}}},
			errType: new(*subid.OutsideError)},
		{name: "explicit without subids", opts: PlanOptions{SubUIDFile: empty,
			Explicit: []Map{{UID, 0, 200000, 10}, {GID, 0, 300000, 10}}}, wantErr: subid.ErrNoRanges},
		{name: "explicit helper missing", opts: PlanOptions{NewUIDMap: missing, Explicit: lxcMaps},
			wantErr: ErrHelperMissing},
		{name: "explicit helper not setuid", opts: PlanOptions{NewGIDMap: notSetuid, Explicit: lxcMaps},
			wantErr: ErrHelperNotSetuid},
		{name: "config outside", opts: PlanOptions{Config: []Map{{UID, 0, 100000, 65536}, {GID, 0, 300000, 10}}},
			errType: new(*subid.OutsideError)},
		{name: "explicit no gid map", opts: PlanOptions{Explicit: lxcMaps[:1]}, wantErr: ErrInvalidMap},
		{name: "bad purpose", opts: PlanOptions{Purpose: Purpose(9)}, anyErr: true},
		{name: "broken subuid", opts: PlanOptions{SubUIDFile: broken}, errType: new(*subid.SyntaxError)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.UID, o.GID = testUID, testGID
			o.SubUIDFile = cmpOr(o.SubUIDFile, subuid)
			o.SubGIDFile = cmpOr(o.SubGIDFile, subgid)
			o.NewUIDMap = cmpOr(o.NewUIDMap, helper)
			o.NewGIDMap = cmpOr(o.NewGIDMap, helper)
			p, err := NewPlan(o)
			switch {
			case tc.anyErr:
				if err == nil {
					t.Fatalf("NewPlan(%+v) = %+v, want an error", o, p)
				}
				return
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("NewPlan(%+v) error = %v, want %v", o, err, tc.wantErr)
				}
				return
			case tc.errType != nil:
				if !errors.As(err, tc.errType) {
					t.Fatalf("NewPlan(%+v) error = %v, want %T", o, err, tc.errType)
				}
				return
			case err != nil:
				t.Fatalf("NewPlan(%+v) error = %v", o, err)
			}
			if tc.want != nil && !reflect.DeepEqual(p.Maps, tc.want) {
				t.Errorf("NewPlan(%+v).Maps = %v, want %v", o, p.Maps, tc.want)
			}
			if p.Single != tc.single {
				t.Errorf("NewPlan(%+v).Single = %v, want %v", o, p.Single, tc.single)
			}
			if tc.single && tc.warning != nil && !reflect.DeepEqual(p.Maps, []Map{{UID, 0, 4242, 1}, {GID, 0, 4343, 1}}) {
				t.Errorf("fallback Maps = %v, want 0->4242, 0->4343", p.Maps)
			}
			if tc.warning == nil && p.Warning != "" {
				t.Errorf("NewPlan(%+v).Warning = %q, want none", o, p.Warning)
			}
			for _, w := range tc.warning {
				if !strings.Contains(p.Warning, w) {
					t.Errorf("NewPlan(%+v).Warning = %q, want it to contain %q", o, p.Warning, w)
				}
			}
			if !p.Single && (p.NewUIDMap != helper || p.NewGIDMap != helper) {
				t.Errorf("NewPlan helpers = %q, %q, want %q", p.NewUIDMap, p.NewGIDMap, helper)
			}
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestCheckHelper(t *testing.T) {
	dir := t.TempDir()
	if _, err := CheckHelper(filepath.Join(dir, "nope")); !errors.Is(err, ErrHelperMissing) {
		t.Errorf("CheckHelper(missing) = %v, want ErrHelperMissing", err)
	}
	if _, err := CheckHelper("ulxc-no-such-helper"); !errors.Is(err, ErrHelperMissing) {
		t.Errorf("CheckHelper(not in PATH) = %v, want ErrHelperMissing", err)
	}
	if _, err := CheckHelper(dir); !errors.Is(err, ErrHelperMissing) {
		t.Errorf("CheckHelper(directory) = %v, want ErrHelperMissing", err)
	}
	plain := writeFile(t, dir, "plain", "", 0o755)
	if _, err := CheckHelper(plain); !errors.Is(err, ErrHelperNotSetuid) {
		t.Errorf("CheckHelper(plain file) = %v, want ErrHelperNotSetuid", err)
	}
	good := goodHelper(t)
	if p, err := CheckHelper(good); err != nil || p != good {
		t.Errorf("CheckHelper(%q) = %q, %v, want it back", good, p, err)
	}
}
