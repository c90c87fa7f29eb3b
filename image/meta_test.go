package image

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestReadMeta(t *testing.T) {
	data := tarOf(t,
		reg("config", "lxc.arch = x86_64\n"),
		reg("config-user", "lxc.include = LXC_TEMPLATE_CONFIG/debian.userns.conf\n"),
		reg("config-user.3", "ignored"),
		reg("./excludes-user", "./dev/null\n\n./dev/zero\n"),
		reg("templates", "/etc/hostname\n/etc/hosts\n"),
		reg("expiry", "1717171717\n"),
		reg("create-message", "hello\n"),
		reg("unknown", "x"),
		dirm("somedir/", 0o755),
	)
	m, err := ReadMeta(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadMeta: %v", err)
	}
	want := &Meta{
		Config:        "lxc.arch = x86_64\n",
		ConfigUser:    "lxc.include = LXC_TEMPLATE_CONFIG/debian.userns.conf\n",
		ExcludesUser:  []string{"./dev/null", "./dev/zero"},
		Templates:     []string{"/etc/hostname", "/etc/hosts"},
		Expiry:        time.Unix(1717171717, 0),
		CreateMessage: "hello\n",
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("ReadMeta = %+v, want %+v", m, want)
	}
}

func TestReadMetaErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"huge member", tarOf(t, reg("config", strings.Repeat("x", maxMetaMember+1))), ErrMetaTooLarge},
		{"bad expiry", tarOf(t, reg("expiry", "tomorrow")), nil},
		{"not a tar", []byte("garbage that is not a tar archive at all, long enough to fill a header block? no"), nil},
	}
	var many []member
	for i := range maxMetaEntries + 1 {
		many = append(many, reg("x"+strings.Repeat("y", i%10), ""))
	}
	tests = append(tests, struct {
		name string
		data []byte
		want error
	}{"too many members", tarOf(t, many...), ErrMetaTooLarge})
	for _, tc := range tests {
		_, err := ReadMeta(bytes.NewReader(tc.data))
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("ReadMeta(%s) = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func FuzzReadMeta(f *testing.F) {
	f.Add(tarOf(f, reg("templates", "/etc/hostname\n"), reg("expiry", "12")))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadMeta(bytes.NewReader(data))
		if err == nil && m == nil {
			t.Errorf("ReadMeta returned neither meta nor error")
		}
	})
}
