package hostcheck

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    Version
		wantErr error
	}{
		{"6.18.44-fc-v669", Version{6, 18, 44, "-fc-v669"}, nil},
		{"5.10.0-28-amd64", Version{5, 10, 0, "-28-amd64"}, nil},
		{"4.19", Version{4, 19, 0, ""}, nil},
		{"6.1.0-rc1", Version{6, 1, 0, "-rc1"}, nil},
		{"6.9-rc7+", Version{6, 9, 0, "-rc7+"}, nil},
		{"3.10.0-1160.el7.x86_64", Version{3, 10, 0, "-1160.el7.x86_64"}, nil},
		{"5.15.167.4-microsoft-standard-WSL2", Version{5, 15, 167, ".4-microsoft-standard-WSL2"}, nil},
		{"4.4.302+", Version{4, 4, 302, "+"}, nil},
		{"6.8.0-1-pve\n", Version{6, 8, 0, "-1-pve"}, nil},
		{"5.4.x", Version{5, 4, 0, ".x"}, nil},
		{"", Version{}, ErrBadVersion},
		{"6", Version{}, ErrBadVersion},
		{"6.", Version{}, ErrBadVersion},
		{".5", Version{}, ErrBadVersion},
		{"v6.1", Version{}, ErrBadVersion},
		{"linux", Version{}, ErrBadVersion},
		{"99999999999.1", Version{}, ErrBadVersion},
	}
	for _, tc := range tests {
		got, err := ParseVersion(tc.in)
		if got != tc.want || !errors.Is(err, tc.wantErr) {
			t.Errorf("ParseVersion(%q) = %+v, %v, want %+v, %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestVersionAtLeast(t *testing.T) {
	tests := []struct {
		v            Version
		major, minor int
		want         bool
	}{
		{Version{5, 11, 0, ""}, 5, 11, true},
		{Version{5, 10, 200, ""}, 5, 11, false},
		{Version{6, 0, 0, ""}, 5, 11, true},
		{Version{4, 19, 0, ""}, 5, 2, false},
	}
	for _, tc := range tests {
		if got := tc.v.AtLeast(tc.major, tc.minor); got != tc.want {
			t.Errorf("%v.AtLeast(%d, %d) = %v, want %v", tc.v, tc.major, tc.minor, got, tc.want)
		}
	}
}

func TestParseConfig(t *testing.T) {
	parse := func(name string) Config {
		t.Helper()
		f, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		c, err := ParseConfig(f)
		if err != nil {
			t.Fatalf("ParseConfig(%q) = %v", name, err)
		}
		return c
	}
	plain, gz := parse("config-full"), parse("config-full.gz")
	if len(plain) != len(gz) {
		t.Errorf("ParseConfig(config-full) has %d options, the gzipped copy %d", len(plain), len(gz))
	}
	for k, v := range plain {
		if gz[k] != v {
			t.Errorf("ParseConfig(config-full.gz)[%q] = %q, want %q", k, gz[k], v)
		}
	}
	for key, want := range map[string]string{
		"CONFIG_USER_NS":                   "y",
		"CONFIG_OVERLAY_FS":                "m",
		"CONFIG_OVERLAY_FS_REDIRECT_DIR":   "n",
		"CONFIG_CC_VERSION_TEXT":           `"gcc (Debian 12.2.0-14) 12.2.0"`,
		"CONFIG_DEVPTS_MULTIPLE_INSTANCES": "",
	} {
		if got := gz[key]; got != want {
			t.Errorf("ParseConfig(config-full.gz)[%q] = %q, want %q", key, got, want)
		}
	}
}

func TestParseConfigBadGzip(t *testing.T) {
	_, err := ParseConfig(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0}))
	if err == nil || !strings.Contains(err.Error(), "gunzip") {
		t.Errorf("ParseConfig(truncated gzip) = %v, want a gunzip error", err)
	}
}

// TestParseConfigGzipLimits: a config that inflates past maxConfig is an
// error, not memory; without gzip(1) the error says to install it.
func TestParseConfigGzipLimits(t *testing.T) {
	var bomb bytes.Buffer
	zw, err := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 1<<20)
	for i := 0; i <= maxConfig>>20; i++ {
		zw.Write(zero)
	}
	zw.Close()
	if _, err := ParseConfig(bytes.NewReader(bomb.Bytes())); err == nil || !strings.Contains(err.Error(), "over") {
		t.Errorf("ParseConfig(%d bytes inflating past %d) = %v, want an error saying over", bomb.Len(), maxConfig, err)
	}
	t.Setenv("PATH", t.TempDir())
	gz, err := os.ReadFile(filepath.Join("testdata", "config-full.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseConfig(bytes.NewReader(gz)); err == nil || !strings.Contains(err.Error(), "install gzip") {
		t.Errorf("ParseConfig(gzip) without gzip in PATH = %v, want an error saying to install it", err)
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, name := range []string{"config-full", "config-full.gz", "config-no-userns"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(bytes.NewReader(b))
		if err != nil {
			return
		}
		for k := range c {
			if !strings.HasPrefix(k, "CONFIG_") {
				t.Errorf("ParseConfig(%q) has key %q", b, k)
			}
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"6.18.44-fc-v669", "5.10.0-28-amd64", "4.19", "6.1.0-rc1", "5.15.167.4-microsoft-standard-WSL2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err == nil && !strings.HasSuffix(strings.TrimSpace(s), v.Extra) {
			t.Errorf("ParseVersion(%q) = %+v: Extra is not the tail", s, v)
		}
	})
}
