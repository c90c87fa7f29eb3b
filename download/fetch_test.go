package download_test

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/download/downloadtest"
	"github.com/ulxc/ulxc/image"
)

const (
	build1 = "20240101_00:00"
	build2 = "20240201_00:00"
)

// setup starts a server with opts and returns Options that trust its key
// through a keyring file and cache in a fresh directory.
func setup(t *testing.T, opts downloadtest.Options) (*downloadtest.Server, download.Options) {
	t.Helper()
	s := downloadtest.New(t, opts)
	return s, download.Options{
		CacheDir:   t.TempDir(),
		Key:        download.KeySource{Fingerprint: s.Fingerprint, Keyring: s.KeyFile},
		UserAgent:  "ulxc/test",
		RetryDelay: time.Millisecond,
	}
}

func req(s *downloadtest.Server) download.Request { return downloadtest.Image{}.Request(s) }

func rootfsPath(build string) string {
	return downloadtest.Image{Build: build}.Path() + "rootfs.tar.xz"
}

func metaPath(build string) string { return downloadtest.Image{Build: build}.Path() + "meta.tar.xz" }

func sumsPath(build string) string {
	return downloadtest.Image{Build: build}.Path() + downloadtest.SumsName
}

const indexPath = "/meta/1.0/index-user"

// listing returns every path under dir with its mode and size, or its link
// target, so that two listings differ if anything in the tree changed.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return filepath.SkipAll
		}
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		line := strings.TrimPrefix(p, dir) + " " + fi.Mode().String()
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case fi.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			line += " " + string(rune(len(data))) + string(data)
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func mustFetch(t *testing.T, r download.Request, o download.Options) *download.Image {
	t.Helper()
	img, err := download.Fetch(context.Background(), r, o)
	if err != nil {
		t.Fatalf("Fetch(%v) = %v", r, err)
	}
	return img
}

func later(d time.Duration) func() time.Time { return func() time.Time { return time.Now().Add(d) } }

func TestFetch(t *testing.T) {
	expiry := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	s, o := setup(t, downloadtest.Options{Images: []downloadtest.Image{{Expiry: expiry}}})
	img := mustFetch(t, req(s), o)
	if img.Build != build1 || !img.Validated || img.Fingerprint != s.Fingerprint || !img.Downloaded || !img.Expiry.Equal(expiry) {
		t.Errorf("Fetch = %+v, want build %s validated with %s, expiry %v", img, build1, s.Fingerprint, expiry)
	}
	if img.Arch != download.HostArch() || img.Variant != "default" {
		t.Errorf("Fetch request defaults = %+v", img.Request)
	}
	for local, remote := range map[string]string{img.Rootfs: rootfsPath(build1), img.Meta: metaPath(build1)} {
		got, err := os.ReadFile(local)
		if err != nil || !bytes.Equal(got, s.File(remote)) {
			t.Errorf("%s differs from the served %s (%v)", local, remote, err)
		}
		if _, err := os.Stat(local + ".asc"); err != nil {
			t.Errorf("signature not kept: %v", err)
		}
	}
	if filepath.Dir(img.Rootfs) != img.Dir {
		t.Errorf("Rootfs %s is not in Dir %s", img.Rootfs, img.Dir)
	}
	if ua := s.UserAgent(rootfsPath(build1)); ua != "ulxc/test" {
		t.Errorf("User-Agent = %q, want ulxc/test", ua)
	}
	if n := s.Requests(indexPath + ".7"); n != 1 {
		t.Errorf("index-user.7 requests = %d, want 1 (tried first, 404)", n)
	}
}

func TestFetchCompatIndex(t *testing.T) {
	s, o := setup(t, downloadtest.Options{Compat: true})
	mustFetch(t, req(s), o)
	if a, b := s.Requests(indexPath+".7"), s.Requests(indexPath); a != 1 || b != 0 {
		t.Errorf("requests index-user.7 = %d, index-user = %d, want 1, 0", a, b)
	}
}

func TestFetchUsesUnexpiredCacheOffline(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	first := mustFetch(t, req(s), o)
	n := s.Requests(indexPath)
	second := mustFetch(t, req(s), o)
	if s.Requests(indexPath) != n || s.Requests(rootfsPath(build1)) != 1 {
		t.Errorf("second Fetch contacted the server: index %d -> %d, rootfs %d", n, s.Requests(indexPath), s.Requests(rootfsPath(build1)))
	}
	if second.Dir != first.Dir || second.Downloaded {
		t.Errorf("second Fetch = %+v, want the cached %s", second, first.Dir)
	}
}

func TestFetchExpiredSameBuildReused(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	first := mustFetch(t, req(s), o)
	o.Now = later(31 * 24 * time.Hour)
	second := mustFetch(t, req(s), o)
	if s.Requests(indexPath) != 2 {
		t.Errorf("index requests = %d, want 2 (expired cache checks the server)", s.Requests(indexPath))
	}
	if s.Requests(rootfsPath(build1)) != 1 || second.Downloaded || second.Dir != first.Dir {
		t.Errorf("same build downloaded again: rootfs requests %d, %+v", s.Requests(rootfsPath(build1)), second)
	}
}

func TestFetchNewBuild(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	first := mustFetch(t, req(s), o)
	s.AddImage(t, downloadtest.Image{Build: build2})
	o.Now = later(31 * 24 * time.Hour)
	second := mustFetch(t, req(s), o)
	if second.Build != build2 || !second.Downloaded {
		t.Fatalf("Fetch = %+v, want build %s downloaded", second, build2)
	}
	if _, err := os.Stat(first.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("old build dir %s not pruned: %v", first.Dir, err)
	}
}

func TestFetchSelectsGreatestBuild(t *testing.T) {
	// The newer build is listed first and the older last: LXC would take
	// the first line, ulxc the greatest build.
	s, o := setup(t, downloadtest.Options{Images: []downloadtest.Image{{Build: build2}, {Build: build1}}})
	if img := mustFetch(t, req(s), o); img.Build != build2 {
		t.Fatalf("Fetch build = %s, want %s", img.Build, build2)
	}
}

func TestFetchDowngradeRefused(t *testing.T) {
	s, o := setup(t, downloadtest.Options{Images: []downloadtest.Image{{Build: build2}}})
	mustFetch(t, req(s), o)
	before := listing(t, o.CacheDir)
	// A replayed older (validly signed) index.
	s.AddImage(t, downloadtest.Image{Build: build1})
	s.SetIndex(t, "busybox;1.36;"+download.HostArch()+";default;"+build1+";"+downloadtest.Image{Build: build1}.Path()+"\n")
	o.Now = later(31 * 24 * time.Hour)
	_, err := download.Fetch(context.Background(), req(s), o)
	if !errors.Is(err, download.ErrDowngrade) {
		t.Fatalf("Fetch = %v, want ErrDowngrade", err)
	}
	if after := listing(t, o.CacheDir); !reflect.DeepEqual(before, after) {
		t.Errorf("cache changed by a refused downgrade:\n%q\n%q", before, after)
	}
	o.FlushCache = true
	if img := mustFetch(t, req(s), o); img.Build != build1 {
		t.Errorf("Fetch with FlushCache = build %s, want %s", img.Build, build1)
	}
}

func TestFetchBadSignatures(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(t *testing.T, s *downloadtest.Server, o *download.Options)
	}{
		{"tampered rootfs", func(t *testing.T, s *downloadtest.Server, o *download.Options) { s.Tamper(t, rootfsPath(build2)) }},
		{"tampered meta", func(t *testing.T, s *downloadtest.Server, o *download.Options) { s.Tamper(t, metaPath(build2)) }},
		{"tampered index", func(t *testing.T, s *downloadtest.Server, o *download.Options) { s.Tamper(t, indexPath) }},
		{"missing rootfs signature", func(t *testing.T, s *downloadtest.Server, o *download.Options) {
			s.RemoveFile(rootfsPath(build2) + ".asc")
		}},
		{"missing index signature", func(t *testing.T, s *downloadtest.Server, o *download.Options) { s.RemoveFile(indexPath + ".asc") }},
		{"wrong key", func(t *testing.T, s *downloadtest.Server, o *download.Options) {
			s.SignAll(t, downloadtest.NewKey(t, "intruder", downloadtest.KeyOptions{}), nil)
		}},
		{"sha1 signature", func(t *testing.T, s *downloadtest.Server, o *download.Options) {
			cfg := downloadtest.SignConfig(time.Now().Add(-time.Minute))
			cfg.DefaultHash = crypto.SHA1
			s.Sign(t, rootfsPath(build2), s.Key, cfg)
			s.Sign(t, sumsPath(build2), s.Key, nil) // the rootfs's signature is the one to fail
		}},
		{"expired key", func(t *testing.T, s *downloadtest.Server, o *download.Options) {
			// Valid when it signed, expired now.
			k := downloadtest.NewKey(t, "expired", downloadtest.KeyOptions{Created: time.Now().Add(-48 * time.Hour), Lifetime: 24 * time.Hour})
			s.SignAll(t, k, downloadtest.SignConfig(time.Now().Add(-36*time.Hour)))
			file := filepath.Join(t.TempDir(), "expired.asc")
			s.WriteKeyFile(t, file, k)
			o.Key = download.KeySource{Fingerprint: downloadtest.Fingerprint(k), Keyring: file}
		}},
		{"revoked key", func(t *testing.T, s *downloadtest.Server, o *download.Options) {
			// Signed before the revocation (which says "superseded"), so
			// only a check at "now" sees it.
			k := downloadtest.NewKey(t, "revoked", downloadtest.KeyOptions{})
			s.SignAll(t, k, downloadtest.SignConfig(time.Now().Add(-time.Hour)))
			downloadtest.Revoke(t, k, time.Now().Add(-30*time.Minute))
			file := filepath.Join(t.TempDir(), "revoked.asc")
			s.WriteKeyFile(t, file, k)
			o.Key = download.KeySource{Fingerprint: downloadtest.Fingerprint(k), Keyring: file}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, o := setup(t, downloadtest.Options{})
			good := o
			mustFetch(t, req(s), o)
			s.AddImage(t, downloadtest.Image{Build: build2})
			tc.breakIt(t, s, &o)
			o.Now = later(31 * 24 * time.Hour)
			before := listing(t, o.CacheDir)
			_, err := download.Fetch(context.Background(), req(s), o)
			var se *download.SignatureError
			if !errors.Is(err, download.ErrBadSignature) || !errors.As(err, &se) || se.File == "" {
				t.Fatalf("Fetch = %v, want ErrBadSignature naming the file", err)
			}
			t.Logf("Fetch = %v", err)
			if after := listing(t, o.CacheDir); !reflect.DeepEqual(before, after) {
				t.Errorf("failed Fetch changed the cache:\nbefore %q\nafter  %q", before, after)
			}
			good.Now = o.Now
			good.ForceCache = true
			if img := mustFetch(t, req(s), good); img.Build != build1 {
				t.Errorf("cached build after failure = %s, want %s", img.Build, build1)
			}
		})
	}
}

func TestFetchBadSignatureEmptyCache(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	s.Tamper(t, rootfsPath(build1))
	if _, err := download.Fetch(context.Background(), req(s), o); !errors.Is(err, download.ErrBadSignature) {
		t.Fatalf("Fetch = %v, want ErrBadSignature", err)
	}
	// Only the lock file and the image directory may remain.
	for _, l := range listing(t, o.CacheDir) {
		if strings.Contains(l, "current") || strings.Contains(l, "build.") || strings.Contains(l, ".partial") {
			t.Errorf("failed Fetch left %q", l)
		}
	}
	o.ForceCache = true
	if _, err := download.Fetch(context.Background(), req(s), o); !errors.Is(err, download.ErrNotCached) {
		t.Errorf("Fetch(ForceCache) after failure = %v, want ErrNotCached", err)
	}
}

func TestNoValidate(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	for _, p := range s.Paths() {
		if strings.HasSuffix(p, ".asc") {
			s.RemoveFile(p)
		}
	}
	var warnings []string
	nv := o
	nv.NoValidate = true
	nv.Warn = func(w string) { warnings = append(warnings, w) }
	img := mustFetch(t, req(s), nv)
	if img.Validated || len(warnings) != 1 || !strings.Contains(warnings[0], "validation") {
		t.Fatalf("Fetch(NoValidate) = %+v, warnings %q, want unvalidated with one warning", img, warnings)
	}
	mustFetch(t, req(s), nv)
	if len(warnings) != 2 {
		t.Errorf("warnings = %q, want one per use", warnings)
	}
	// A validating run does not trust the entry: not offline...
	o.ForceCache = true
	if _, err := download.Fetch(context.Background(), req(s), o); !errors.Is(err, download.ErrNotCached) {
		t.Errorf("Fetch(ForceCache) of an unvalidated entry = %v, want ErrNotCached", err)
	}
	// ...and not online: it downloads again and verifies.
	o.ForceCache = false
	if _, err := download.Fetch(context.Background(), req(s), o); !errors.Is(err, download.ErrBadSignature) {
		t.Errorf("validating Fetch without signatures = %v, want ErrBadSignature", err)
	}
	s.SignAll(t, s.Key, nil)
	img = mustFetch(t, req(s), o)
	if !img.Validated || !img.Downloaded || s.Requests(rootfsPath(build1)) != 2 {
		t.Errorf("validating Fetch = %+v, rootfs requests %d, want a new validated download", img, s.Requests(rootfsPath(build1)))
	}
}

func TestFetchResumesWithinRun(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	s.Cut(rootfsPath(build1), 100000, 1)
	img := mustFetch(t, req(s), o)
	if got, want := s.Ranges(rootfsPath(build1)), []string{"bytes=100000-"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Range headers = %q, want %q", got, want)
	}
	if got, _ := os.ReadFile(img.Rootfs); !bytes.Equal(got, s.File(rootfsPath(build1))) {
		t.Error("resumed rootfs differs from the served one")
	}
}

func TestFetchResumesNextRun(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	o.Retries = -1
	s.Cut(rootfsPath(build1), 50000, 1)
	if _, err := download.Fetch(context.Background(), req(s), o); err == nil {
		t.Fatal("Fetch with a cut connection and no retries succeeded")
	}
	o.ForceCache = true
	if _, err := download.Fetch(context.Background(), req(s), o); !errors.Is(err, download.ErrNotCached) {
		t.Fatalf("interrupted download is trusted: Fetch(ForceCache) = %v, want ErrNotCached", err)
	}
	o.ForceCache = false
	mustFetch(t, req(s), o)
	if got, want := s.Ranges(rootfsPath(build1)), []string{"bytes=50000-"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Range headers = %q, want %q", got, want)
	}
}

func TestFetchResumedFileIsVerified(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	o.Retries = -1
	s.Cut(rootfsPath(build1), 50000, 1)
	if _, err := download.Fetch(context.Background(), req(s), o); err == nil {
		t.Fatal("Fetch with a cut connection and no retries succeeded")
	}
	// The rest of the file now comes from a tampered copy.
	s.Tamper(t, rootfsPath(build1))
	if _, err := download.Fetch(context.Background(), req(s), o); !errors.Is(err, download.ErrBadSignature) {
		t.Fatalf("Fetch of a resumed tampered file = %v, want ErrBadSignature", err)
	}
}

func TestFetchRetries(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	s.Fail(indexPath, http.StatusServiceUnavailable, 2)
	mustFetch(t, req(s), o)
	if n := s.Requests(indexPath); n != 3 {
		t.Errorf("index requests = %d, want 3 (two 503s, then success)", n)
	}
	s2, o2 := setup(t, downloadtest.Options{})
	s2.Fail(rootfsPath(build1), http.StatusForbidden, 1)
	_, err := download.Fetch(context.Background(), req(s2), o2)
	var se *download.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusForbidden {
		t.Fatalf("Fetch = %v, want a 403 StatusError", err)
	}
	if n := s2.Requests(rootfsPath(build1)); n != 1 {
		t.Errorf("rootfs requests = %d, want 1 (4xx is not retried)", n)
	}
}

func TestFetchIdleTimeout(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	o.Retries = -1
	o.IdleTimeout = 100 * time.Millisecond
	s.Stall(rootfsPath(build1), 1000)
	_, err := download.Fetch(context.Background(), req(s), o)
	if err == nil || !strings.Contains(err.Error(), "no data for 100ms") {
		t.Fatalf("Fetch from a stalled server = %v, want an idle timeout", err)
	}
	o.Retries = 0
	s.Stall(rootfsPath(build1), 1000)
	mustFetch(t, req(s), o) // the retry resumes
	if got := s.Ranges(rootfsPath(build1)); len(got) != 2 || got[1] != "bytes=1000-" {
		t.Errorf("Range headers = %q, want a resume from 1000 last", got)
	}
}

func TestFetchConcurrentDownloadsOnce(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	var wg sync.WaitGroup
	imgs := make([]*download.Image, 4)
	errs := make([]error, 4)
	for i := range imgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			imgs[i], errs[i] = download.Fetch(context.Background(), req(s), o)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Fetch %d = %v", i, err)
		}
		if imgs[i].Dir != imgs[0].Dir {
			t.Errorf("Fetch %d Dir = %s, want %s", i, imgs[i].Dir, imgs[0].Dir)
		}
	}
	if n := s.Requests(rootfsPath(build1)); n != 1 {
		t.Errorf("rootfs requests = %d, want 1", n)
	}
}

func TestForceAndFlushCache(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	force := o
	force.ForceCache = true
	if _, err := download.Fetch(context.Background(), req(s), force); !errors.Is(err, download.ErrNotCached) {
		t.Fatalf("Fetch(ForceCache) on an empty cache = %v, want ErrNotCached", err)
	}
	if n := s.Requests(indexPath); n != 0 {
		t.Fatalf("ForceCache contacted the server (%d index requests)", n)
	}
	mustFetch(t, req(s), o)
	force.Now = later(365 * 24 * time.Hour) // expired, still used
	if img := mustFetch(t, req(s), force); img.Build != build1 || s.Requests(indexPath) != 1 {
		t.Errorf("Fetch(ForceCache) = %+v with %d index requests, want the cache and no network", img, s.Requests(indexPath))
	}
	flush := o
	flush.FlushCache = true
	if img := mustFetch(t, req(s), flush); !img.Downloaded || s.Requests(rootfsPath(build1)) != 2 {
		t.Errorf("Fetch(FlushCache) = %+v, rootfs requests %d, want a new download", img, s.Requests(rootfsPath(build1)))
	}
	both := o
	both.FlushCache, both.ForceCache = true, true
	if _, err := download.Fetch(context.Background(), req(s), both); err == nil {
		t.Error("Fetch(FlushCache, ForceCache) succeeded")
	}
}

func TestFetchNoMatch(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	r := req(s)
	r.Variant = "cloud"
	if _, err := download.Fetch(context.Background(), r, o); !errors.Is(err, download.ErrNoMatch) {
		t.Fatalf("Fetch(%v) = %v, want ErrNoMatch", r, err)
	}
}

func TestFetchProgress(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	var buf bytes.Buffer
	o.Progress = &buf
	mustFetch(t, req(s), o)
	out := buf.String()
	if !strings.Contains(out, "\rrootfs.tar.xz") || !strings.Contains(out, "/s") || !strings.HasSuffix(out, "\n") {
		t.Errorf("progress output = %q, want a redrawn rootfs.tar.xz line", out)
	}
}

func TestList(t *testing.T) {
	s, o := setup(t, downloadtest.Options{Images: []downloadtest.Image{
		{Dist: "alpine", Release: "3.19"}, {Variant: "mini"}, {}, {Arch: "riscv64"},
	}})
	tests := []struct {
		filter download.Request
		want   []string
	}{
		{download.Request{}, []string{"alpine", "busybox", "busybox", "busybox"}},
		{download.Request{Dist: "busybox", Variant: "mini"}, []string{"busybox/mini"}},
		{download.Request{Arch: "riscv64"}, []string{"busybox/default"}},
		{download.Request{Release: "9"}, nil},
	}
	for _, tc := range tests {
		entries, err := download.List(context.Background(), s.URL, tc.filter, o)
		if err != nil {
			t.Fatalf("List(%+v) = %v", tc.filter, err)
		}
		var got []string
		for _, e := range entries {
			if strings.Contains(strings.Join(tc.want, ""), "/") {
				got = append(got, e.Dist+"/"+e.Variant)
			} else {
				got = append(got, e.Dist)
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("List(%+v) = %q, want %q", tc.filter, got, tc.want)
		}
	}
	s.Tamper(t, indexPath)
	if _, err := download.List(context.Background(), s.URL, download.Request{}, o); !errors.Is(err, download.ErrBadSignature) {
		t.Errorf("List of a tampered index = %v, want ErrBadSignature", err)
	}
}

func TestKeySources(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	other := downloadtest.NewKey(t, "other", downloadtest.KeyOptions{})

	t.Run("keyring without the pinned key", func(t *testing.T) {
		o := o
		o.Key.Fingerprint = downloadtest.Fingerprint(other)
		if _, err := download.Fetch(context.Background(), req(s), o); !errors.Is(err, download.ErrKeyNotFound) {
			t.Fatalf("Fetch = %v, want ErrKeyNotFound", err)
		}
	})
	t.Run("short key id", func(t *testing.T) {
		o := o
		o.Key.Fingerprint = s.Fingerprint[32:]
		if _, err := download.Fetch(context.Background(), req(s), o); !errors.Is(err, download.ErrBadFingerprint) {
			t.Fatalf("Fetch = %v, want ErrBadFingerprint", err)
		}
	})
	t.Run("keyserver", func(t *testing.T) {
		o := o
		o.Key = download.KeySource{Fingerprint: s.Fingerprint, Keyserver: s.URL, TrustDir: t.TempDir()}
		mustFetch(t, req(s), o)
		if n := s.Requests("/pks/lookup"); n != 1 {
			t.Errorf("keyserver requests = %d, want 1", n)
		}
	})
	t.Run("keyserver does not have the key", func(t *testing.T) {
		o := o
		o.CacheDir = t.TempDir()
		o.Key = download.KeySource{Fingerprint: downloadtest.Fingerprint(other), Keyserver: s.URL, TrustDir: t.TempDir()}
		if _, err := download.Fetch(context.Background(), req(s), o); !errors.Is(err, download.ErrKeyNotFound) {
			t.Fatalf("Fetch = %v, want ErrKeyNotFound", err)
		}
	})
	t.Run("keyserver answers with another key", func(t *testing.T) {
		s.LieHKP(s.Key)
		defer s.LieHKP(nil)
		o := o
		o.CacheDir = t.TempDir()
		o.Key = download.KeySource{Fingerprint: downloadtest.Fingerprint(other), Keyserver: s.URL, TrustDir: t.TempDir()}
		if _, err := download.Fetch(context.Background(), req(s), o); !errors.Is(err, download.ErrKeyNotFound) {
			t.Fatalf("Fetch = %v, want ErrKeyNotFound", err)
		}
	})
	t.Run("trust store", func(t *testing.T) {
		dir := t.TempDir()
		added, err := download.AddKeys(dir, bytes.NewReader(downloadtest.ArmoredPublicKey(t, s.Key)))
		if err != nil || len(added) != 1 || added[0].Fingerprint != s.Fingerprint {
			t.Fatalf("AddKeys = %+v, %v", added, err)
		}
		o := o
		o.CacheDir = t.TempDir()
		o.Key = download.KeySource{Fingerprint: s.Fingerprint, TrustDir: dir}
		mustFetch(t, req(s), o)
		keys, err := download.ListKeys(dir)
		if err != nil || len(keys) != 2 || !keys[0].Default || keys[0].Fingerprint != download.DefaultFingerprint ||
			keys[1].Fingerprint != s.Fingerprint || keys[1].UserID == "" || keys[1].Default {
			t.Fatalf("ListKeys = %+v, %v", keys, err)
		}
	})
	t.Run("secret key refused", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := download.AddKeys(dir, bytes.NewReader(downloadtest.ArmoredSecretKey(t, other))); !errors.Is(err, download.ErrSecretKey) {
			t.Fatalf("AddKeys(secret key) = %v, want ErrSecretKey", err)
		}
		if names, _ := os.ReadDir(dir); len(names) != 0 {
			t.Errorf("AddKeys(secret key) wrote %d files", len(names))
		}
	})
	t.Run("not a key refused", func(t *testing.T) {
		dir := t.TempDir()
		sig := "-----BEGIN PGP SIGNATURE-----\n\nwsBc\n=AAAA\n-----END PGP SIGNATURE-----\n"
		for _, data := range []string{"not a key at all\n", "", sig} {
			if _, err := download.AddKeys(dir, strings.NewReader(data)); !errors.Is(err, download.ErrNotKey) {
				t.Errorf("AddKeys(%q) = %v, want ErrNotKey", data, err)
			}
		}
		if names, _ := os.ReadDir(dir); len(names) != 0 {
			t.Errorf("AddKeys(no key) wrote %d files", len(names))
		}
	})
	t.Run("default key does not verify test images", func(t *testing.T) {
		o := o
		o.CacheDir = t.TempDir()
		o.Key = download.KeySource{}
		if _, err := download.Fetch(context.Background(), req(s), o); !errors.Is(err, download.ErrBadSignature) {
			t.Fatalf("Fetch with the linuxcontainers key = %v, want ErrBadSignature", err)
		}
	})
}

func TestKeyExpiryListed(t *testing.T) {
	created := time.Now().Add(-time.Hour).Truncate(time.Second)
	k := downloadtest.NewKey(t, "short-lived", downloadtest.KeyOptions{Created: created, Lifetime: 48 * time.Hour})
	dir := t.TempDir()
	added, err := download.AddKeys(dir, bytes.NewReader(downloadtest.ArmoredPublicKey(t, k)))
	if err != nil || len(added) != 1 {
		t.Fatalf("AddKeys = %v, %v", added, err)
	}
	if want := created.Add(48 * time.Hour); !added[0].Expires.Equal(want) || !added[0].Created.Equal(created) {
		t.Errorf("AddKeys = created %v expires %v, want %v, %v", added[0].Created, added[0].Expires, created, want)
	}
}

// partials returns the partial downloads (.partial-BUILD directories and
// .part files) under the cache dir.
func partials(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, l := range listing(t, dir) {
		name, _, _ := strings.Cut(l, " ")
		if strings.Contains(name, "/.partial-") || strings.HasSuffix(name, ".part") {
			out = append(out, name)
		}
	}
	return out
}

// TestFetchSizeLimits serves files larger than their limits, announced by
// Content-Length or not: each is refused with ErrTooLarge naming the URL and
// the limit, without a retry, and leaves no partial download behind.
func TestFetchSizeLimits(t *testing.T) {
	big := func(n int) []byte { return bytes.Repeat([]byte{'x'}, n) }
	tests := []struct {
		name string
		path string // the file that is too large
		// breakIt serves it; size is the rootfs's and the result the limit.
		breakIt func(t *testing.T, s *downloadtest.Server, size int64) int64
		how     string // how the error says it was found
	}{
		{"rootfs announced", rootfsPath(build1), func(t *testing.T, s *downloadtest.Server, size int64) int64 {
			download.SetMaxRootfsBytes(t, size-1)
			return size - 1
		}, "bytes announced"},
		{"rootfs not announced", rootfsPath(build1), func(t *testing.T, s *downloadtest.Server, size int64) int64 {
			s.Chunked(rootfsPath(build1))
			download.SetMaxRootfsBytes(t, size-1)
			return size - 1
		}, "sent more"},
		{"meta", metaPath(build1), func(t *testing.T, s *downloadtest.Server, size int64) int64 {
			s.SetFile(metaPath(build1), big(32<<20+1))
			return 32 << 20
		}, "bytes announced"},
		{"meta not announced", metaPath(build1), func(t *testing.T, s *downloadtest.Server, size int64) int64 {
			s.SetFile(metaPath(build1), big(32<<20+1))
			s.Chunked(metaPath(build1))
			return 32 << 20
		}, "sent more"},
		{"index", indexPath, func(t *testing.T, s *downloadtest.Server, size int64) int64 {
			s.SetFile(indexPath, big(16<<20+1))
			return 16 << 20
		}, "bytes announced"},
		{"rootfs signature", rootfsPath(build1) + ".asc", func(t *testing.T, s *downloadtest.Server, size int64) int64 {
			s.SetFile(rootfsPath(build1)+".asc", big(64<<10+1))
			return 64 << 10
		}, "bytes announced"},
		{"SHA256SUMS", sumsPath(build1), func(t *testing.T, s *downloadtest.Server, size int64) int64 {
			s.SetFile(sumsPath(build1), big(1<<20+1))
			return 1 << 20
		}, "bytes announced"},
		{"rootfs signature not announced", rootfsPath(build1) + ".asc", func(t *testing.T, s *downloadtest.Server, size int64) int64 {
			s.SetFile(rootfsPath(build1)+".asc", big(64<<10+1))
			s.Chunked(rootfsPath(build1) + ".asc")
			return 64 << 10
		}, "sent more"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, o := setup(t, downloadtest.Options{})
			limit := tc.breakIt(t, s, int64(len(s.File(rootfsPath(build1)))))
			_, err := download.Fetch(context.Background(), req(s), o)
			if !errors.Is(err, download.ErrTooLarge) {
				t.Fatalf("Fetch = %v, want ErrTooLarge", err)
			}
			t.Logf("Fetch = %v", err)
			for _, want := range []string{s.URL + tc.path, " " + strconv.FormatInt(limit, 10) + " bytes", tc.how} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if n := s.Requests(tc.path); n != 1 {
				t.Errorf("%s requests = %d, want 1 (an oversized file is not retried)", tc.path, n)
			}
			if p := partials(t, o.CacheDir); len(p) != 0 {
				t.Errorf("refused download left %q", p)
			}
		})
	}
}

// TestFetchSizeLimitExact: a rootfs exactly as large as the limit is taken,
// announced or not.
func TestFetchSizeLimitExact(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		s, o := setup(t, downloadtest.Options{})
		if chunked {
			s.Chunked(rootfsPath(build1))
		}
		want := s.File(rootfsPath(build1))
		download.SetMaxRootfsBytes(t, int64(len(want)))
		img := mustFetch(t, req(s), o)
		if got, _ := os.ReadFile(img.Rootfs); !bytes.Equal(got, want) {
			t.Errorf("rootfs at the limit (chunked %v) differs from the served one", chunked)
		}
	}
}

// TestFetchResumePastLimit: an interrupted download is kept to resume, but
// a resumed transfer that would exceed the limit is refused before its body
// is read and the partial download removed.
func TestFetchResumePastLimit(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	o.Retries = -1
	size := int64(len(s.File(rootfsPath(build1))))
	s.Cut(rootfsPath(build1), 50000, 1)
	if _, err := download.Fetch(context.Background(), req(s), o); err == nil || errors.Is(err, download.ErrTooLarge) {
		t.Fatalf("Fetch with a cut connection = %v, want a transfer error", err)
	}
	if p := partials(t, o.CacheDir); len(p) == 0 {
		t.Fatal("an interrupted transfer left no partial download to resume")
	}
	download.SetMaxRootfsBytes(t, size-1)
	_, err := download.Fetch(context.Background(), req(s), o)
	if !errors.Is(err, download.ErrTooLarge) || !strings.Contains(err.Error(), strconv.FormatInt(size, 10)+" bytes announced") {
		t.Fatalf("resumed Fetch past the limit = %v, want ErrTooLarge for %d bytes announced", err, size)
	}
	if got, want := s.Ranges(rootfsPath(build1)), []string{"bytes=50000-"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Range headers = %q, want %q", got, want)
	}
	if p := partials(t, o.CacheDir); len(p) != 0 {
		t.Errorf("refused resume left %q", p)
	}
}

// TestFetchOnePartialPerImage: a server that cuts every transfer of ever
// newer builds leaves at most one partial download in the cache.
func TestFetchOnePartialPerImage(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	o.Retries = -1
	for _, b := range []string{build1, build2, "20240301_00:00"} {
		if b != build1 {
			s.AddImage(t, downloadtest.Image{Build: b})
		}
		s.Cut(rootfsPath(b), 50000, 1)
		if _, err := download.Fetch(context.Background(), req(s), o); err == nil {
			t.Fatalf("Fetch of %s with a cut connection succeeded", b)
		}
		if got := partialDirs(t, o.CacheDir); len(got) != 1 || filepath.Base(got[0]) != ".partial-"+b {
			t.Errorf("after the cut download of %s the cache holds partial downloads %q, want only %s's", b, got, b)
		}
	}
}

// partialDirs returns the .partial-BUILD directories under dir.
func partialDirs(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, l := range listing(t, dir) {
		name, mode, _ := strings.Cut(l, " ")
		if strings.HasPrefix(mode, "d") && strings.HasPrefix(filepath.Base(name), ".partial-") {
			out = append(out, name)
		}
	}
	return out
}

// TestMaxRootfsBytesIsUnpackLimit: the download limit is the unpack limit.
func TestMaxRootfsBytesIsUnpackLimit(t *testing.T) {
	if got, want := download.MaxRootfsBytes(), image.DefaultMaxBytes; got != want {
		t.Errorf("rootfs.tar.xz limit = %d, want image.DefaultMaxBytes = %d", got, want)
	}
}

// buildID is the build id lxc-ci gives a build started at t.
func buildID(t time.Time) string { return t.UTC().Format("20060102_15:04") }

// TestFetchStaleSignatureRefused replays a file of an older build, with its
// valid signature, under the newest build's path: refused, the cache keeps
// the older build and no partial download is left. The genuine newer build
// then fetches.
func TestFetchStaleSignatureRefused(t *testing.T) {
	now := time.Now()
	older, newer := buildID(now.Add(-20*time.Hour)), buildID(now.Add(-2*time.Hour))
	for _, file := range []string{"rootfs.tar.xz", "meta.tar.xz", "the whole build"} {
		t.Run(file, func(t *testing.T) {
			s, o := setup(t, downloadtest.Options{Images: []downloadtest.Image{{Build: older}}})
			// Published, and signed, an hour after the build started.
			s.SignAll(t, s.Key, downloadtest.SignConfig(now.Add(-19*time.Hour)))
			if img := mustFetch(t, req(s), o); img.Build != older {
				t.Fatalf("Fetch = build %s, want %s", img.Build, older)
			}
			s.AddImage(t, downloadtest.Image{Build: newer})
			// The replayed files, and the one the error must name: with
			// the whole build directory replayed, SHA256SUMS comes first.
			files, refused := []string{file}, file
			if file == "the whole build" {
				files, refused = []string{downloadtest.SumsName, "meta.tar.xz", "rootfs.tar.xz"}, downloadtest.SumsName
			}
			genuine := map[string][]byte{}
			for _, f := range files {
				oldP, newP := downloadtest.Image{Build: older}.Path()+f, downloadtest.Image{Build: newer}.Path()+f
				for _, p := range []string{newP, newP + ".asc"} {
					genuine[p] = s.File(p)
				}
				s.SetFile(newP, s.File(oldP))
				s.SetFile(newP+".asc", s.File(oldP+".asc"))
			}
			o.Now = later(31 * 24 * time.Hour)
			before := listing(t, o.CacheDir)
			_, err := download.Fetch(context.Background(), req(s), o)
			var se *download.StaleSignatureError
			if !errors.Is(err, download.ErrStaleSignature) || !errors.As(err, &se) || se.File != refused || se.Build != newer {
				t.Fatalf("Fetch of %s replayed from %s = %v, want ErrStaleSignature naming %s and %s", file, older, err, refused, newer)
			}
			t.Logf("Fetch = %v", err)
			if after := listing(t, o.CacheDir); !reflect.DeepEqual(before, after) {
				t.Errorf("refused Fetch changed the cache:\nbefore %q\nafter  %q", before, after)
			}
			for p, data := range genuine {
				s.SetFile(p, data)
			}
			if img := mustFetch(t, req(s), o); img.Build != newer {
				t.Errorf("Fetch of the genuine build = %s, want %s", img.Build, newer)
			}
		})
	}
}

// TestFetchChecksums serves a build whose files do not match its signed
// SHA256SUMS, or whose SHA256SUMS is broken: each is refused, and the cache
// keeps the previous build with no partial download.
func TestFetchChecksums(t *testing.T) {
	// replay serves build1's file name, validly signed, under build2's path.
	replay := func(s *downloadtest.Server, name string) {
		from, to := downloadtest.Image{Build: build1}.Path()+name, downloadtest.Image{Build: build2}.Path()+name
		s.SetFile(to, s.File(from))
		s.SetFile(to+".asc", s.File(from+".asc"))
	}
	sums2 := sumsPath(build2)
	tests := []struct {
		name    string
		breakIt func(t *testing.T, s *downloadtest.Server)
		is      error // nil: any error
		want    string
	}{
		{"older meta replayed", func(t *testing.T, s *downloadtest.Server) { replay(s, "meta.tar.xz") },
			download.ErrChecksum, "meta.tar.xz: checksum does not match SHA256SUMS: SHA256SUMS says "},
		{"another rootfs replayed", func(t *testing.T, s *downloadtest.Server) {
			// Every test image has the same rootfs: make build1's differ.
			s.SetFile(rootfsPath(build1), append(s.File(rootfsPath(build1)), 0))
			s.Sign(t, rootfsPath(build1), s.Key, nil)
			replay(s, "rootfs.tar.xz")
		}, download.ErrChecksum, "rootfs.tar.xz: checksum does not match SHA256SUMS"},
		{"file not listed", func(t *testing.T, s *downloadtest.Server) {
			var kept []string
			for _, l := range strings.SplitAfter(string(s.File(sums2)), "\n") {
				if !strings.HasSuffix(l, " rootfs.tar.xz\n") {
					kept = append(kept, l)
				}
			}
			s.SetFile(sums2, []byte(strings.Join(kept, "")))
			s.Sign(t, sums2, s.Key, nil)
		}, download.ErrChecksum, "rootfs.tar.xz: checksum does not match SHA256SUMS: SHA256SUMS does not list it"},
		{"tampered SHA256SUMS", func(t *testing.T, s *downloadtest.Server) { s.Tamper(t, sums2) },
			download.ErrBadSignature, "SHA256SUMS: bad signature"},
		{"unsigned SHA256SUMS", func(t *testing.T, s *downloadtest.Server) { s.RemoveFile(sums2 + ".asc") },
			download.ErrBadSignature, "SHA256SUMS: bad signature: get signature"},
		{"malformed SHA256SUMS", func(t *testing.T, s *downloadtest.Server) {
			s.SetFile(sums2, append(s.File(sums2), "rootfs.tar.xz\n"...))
			s.Sign(t, sums2, s.Key, nil)
		}, nil, "SHA256SUMS line 3: want a SHA-256 and a file name"},
		{"file listed twice", func(t *testing.T, s *downloadtest.Server) {
			s.SetFile(sums2, append(s.File(sums2), strings.Repeat("0", 64)+"  rootfs.tar.xz\n"...))
			s.Sign(t, sums2, s.Key, nil)
		}, nil, "SHA256SUMS line 3: rootfs.tar.xz listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, o := setup(t, downloadtest.Options{})
			good := o
			mustFetch(t, req(s), o)
			s.AddImage(t, downloadtest.Image{Build: build2})
			tc.breakIt(t, s)
			o.Now = later(31 * 24 * time.Hour)
			before := listing(t, o.CacheDir)
			_, err := download.Fetch(context.Background(), req(s), o)
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Fetch = %v, want %v saying %q", err, tc.is, tc.want)
			}
			t.Logf("Fetch = %v", err)
			if after := listing(t, o.CacheDir); !reflect.DeepEqual(before, after) {
				t.Errorf("failed Fetch changed the cache:\nbefore %q\nafter  %q", before, after)
			}
			good.Now = o.Now
			good.ForceCache = true
			if img := mustFetch(t, req(s), good); img.Build != build1 {
				t.Errorf("cached build after failure = %s, want %s", img.Build, build1)
			}
		})
	}
}

// TestFetchChecksumsOptional: SHA256SUMS is fetched and checked where the
// server has it, and its absence (404) is no error.
func TestFetchChecksumsOptional(t *testing.T) {
	s, o := setup(t, downloadtest.Options{})
	mustFetch(t, req(s), o)
	if a, b := s.Requests(sumsPath(build1)), s.Requests(sumsPath(build1)+".asc"); a != 1 || b != 1 {
		t.Errorf("requests SHA256SUMS = %d, SHA256SUMS.asc = %d, want 1, 1", a, b)
	}
	s, o = setup(t, downloadtest.Options{})
	s.RemoveFile(sumsPath(build1))
	s.RemoveFile(sumsPath(build1) + ".asc")
	if img := mustFetch(t, req(s), o); img.Build != build1 {
		t.Errorf("Fetch without SHA256SUMS = build %s, want %s", img.Build, build1)
	}
	if a, b := s.Requests(sumsPath(build1)), s.Requests(sumsPath(build1)+".asc"); a != 1 || b != 0 {
		t.Errorf("requests SHA256SUMS = %d, SHA256SUMS.asc = %d, want 1 (404), 0", a, b)
	}
}
