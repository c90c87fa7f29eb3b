package userns

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeProc points the sysctl and uid_map readers at a temporary tree.
func fakeProc(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	oldSys, oldMap := procSys, selfUIDMap
	procSys, selfUIDMap = filepath.Join(dir, "sys"), filepath.Join(dir, "uid_map")
	t.Cleanup(func() { procSys, selfUIDMap = oldSys, oldMap })
}

const initialMap = "         0          0 4294967295\n"

func TestDiagnose(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []error
	}{
		{"healthy", map[string]string{"sys/user/max_user_namespaces": "15000\n", "uid_map": initialMap}, nil},
		{"healthy debian", map[string]string{"sys/user/max_user_namespaces": "15000\n",
			"sys/kernel/unprivileged_userns_clone": "1\n", "sys/kernel/apparmor_restrict_unprivileged_userns": "0\n",
			"uid_map": initialMap}, nil},
		{"max 0", map[string]string{"sys/user/max_user_namespaces": "0\n", "uid_map": initialMap},
			[]error{ErrUserNSDisabled}},
		{"clone 0", map[string]string{"sys/user/max_user_namespaces": "10\n",
			"sys/kernel/unprivileged_userns_clone": "0\n", "uid_map": initialMap}, []error{ErrUserNSDisabled}},
		{"apparmor", map[string]string{"sys/kernel/apparmor_restrict_unprivileged_userns": "1\n", "uid_map": initialMap},
			[]error{ErrAppArmorRestricted}},
		{"nested", map[string]string{"uid_map": "0 1000 1\n"}, []error{ErrNested}},
		{"everything", map[string]string{"sys/user/max_user_namespaces": "0\n",
			"sys/kernel/apparmor_restrict_unprivileged_userns": "1\n", "uid_map": "0 100000 65536\n"},
			[]error{ErrUserNSDisabled, ErrAppArmorRestricted, ErrNested}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fakeProc(t, tc.files)
			got := Diagnose()
			if len(got) != len(tc.want) {
				t.Fatalf("Diagnose() = %+v, want %v", got, tc.want)
			}
			for i, f := range got {
				if f.Err != tc.want[i] || f.Status != "fail" || f.Fix == "" || f.Name == "" {
					t.Errorf("Diagnose()[%d] = %+v, want a fail finding for %v with a fix", i, f, tc.want[i])
				}
			}
			start := diagnosed(errors.New("clone: operation not permitted"))
			for _, w := range tc.want {
				if !errors.Is(start, w) {
					t.Errorf("diagnosed error %v does not match %v", start, w)
				}
			}
			if !strings.HasPrefix(start.Error(), "clone: operation not permitted") {
				t.Errorf("diagnosed error = %q, want it to start with the failure", start)
			}
		})
	}
}

func TestSysctlReaders(t *testing.T) {
	fakeProc(t, map[string]string{"sys/user/max_user_namespaces": "42\n", "uid_map": initialMap})
	if n, err := MaxUserNamespaces(); n != 42 || err != nil {
		t.Errorf("MaxUserNamespaces() = %d, %v, want 42", n, err)
	}
	if _, ok := UnprivilegedClone(); ok {
		t.Errorf("UnprivilegedClone() exists = true, want false without the file")
	}
	if r, ok := AppArmorRestricted(); r || ok {
		t.Errorf("AppArmorRestricted() = %v, %v, want false, false without the file", r, ok)
	}
	if n, err := Nested(); n || err != nil {
		t.Errorf("Nested() = %v, %v, want false", n, err)
	}
	fakeProc(t, map[string]string{"sys/user/max_user_namespaces": "lots\n"})
	if _, err := MaxUserNamespaces(); err == nil {
		t.Errorf("MaxUserNamespaces() of %q = nil error, want one", "lots")
	}
	if _, err := Nested(); err == nil {
		t.Errorf("Nested() without uid_map = nil error, want one")
	}
}
