package cgroup

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func addSeeds(f *testing.F, prefix string) {
	names, err := filepath.Glob(filepath.Join("testdata", prefix+"*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseMountinfo(f *testing.F) {
	addSeeds(f, "mountinfo-")
	f.Fuzz(func(t *testing.T, b []byte) {
		mp, err := ParseMountinfo(bytes.NewReader(b))
		if err == nil && mp == "" {
			t.Errorf("ParseMountinfo(%q) = \"\", nil", b)
		}
	})
}

func FuzzParseProcCgroup(f *testing.F) {
	addSeeds(f, "cgroup-")
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProcCgroup(bytes.NewReader(b))
		if err == nil && (!strings.HasPrefix(p, "/") || strings.Contains(p, "/../")) {
			t.Errorf("ParseProcCgroup(%q) = %q, want a clean absolute path", b, p)
		}
	})
}
