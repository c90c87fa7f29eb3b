package publish

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/ulxc/ulxc/download"
)

// servedTree packs and indexes one build and serves it.
func servedTree(t *testing.T) (tree, build string, key *SigningKey, url string) {
	t.Helper()
	tree = t.TempDir()
	key = testKey(t)
	build = packBuild(t, tree, key, "default", "20240101_00:00")
	if _, err := Index(tree, IndexOptions{Key: key, Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	h, err := Handler(tree, HandlerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return tree, build, key, srv.URL
}

// get sends a request with the raw path p, as it is on the wire
// (doubled slashes and dot-dots included: Go's client would rewrite them).
func get(t *testing.T, method, url, p string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := method + " " + p + " HTTP/1.1\r\nHost: images\r\nConnection: close\r\n"
	for k, v := range hdr {
		req += k + ": " + v + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestHandler(t *testing.T) {
	tree, build, _, url := servedTree(t)
	rel := "/images/busybox/1.36/amd64/default/20240101_00:00/"
	rootfs, _ := os.ReadFile(filepath.Join(build, RootfsName))
	index, _ := os.ReadFile(filepath.Join(tree, "meta/1.0/index-user"))
	must(t, os.Symlink("/etc", filepath.Join(tree, "images/evil")))
	must(t, os.WriteFile(filepath.Join(filepath.Dir(build), ".hidden"), []byte("x"), 0o644))

	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		status             int
		ctype              string
		body               []byte
	}{
		{"index as LXC asks", "GET", "//meta/1.0/index-user", nil, 200, "text/plain; charset=utf-8", index},
		{"rootfs as LXC asks", "GET", "/" + rel + "/rootfs.tar.xz", nil, 200, "application/x-xz", rootfs},
		{"signature", "GET", rel + "rootfs.tar.xz.asc", nil, 200, "application/pgp-signature", nil},
		{"sums", "GET", rel + "SHA256SUMS", nil, 200, "text/plain; charset=utf-8", nil},
		{"range", "GET", rel + "rootfs.tar.xz", map[string]string{"Range": "bytes=10-19"}, 206, "application/x-xz", rootfs[10:20]},
		{"head", "HEAD", rel + "rootfs.tar.xz", nil, 200, "application/x-xz", []byte{}},
		{"compat index absent", "GET", "//meta/1.0/index-user.7", nil, 404, "", nil},
		{"dot-dot stays inside", "GET", "/../../../etc/passwd", nil, 404, "", nil},
		{"symlink out", "GET", "/images/evil/passwd", nil, 404, "", nil},
		{"hidden", "GET", "/images/busybox/1.36/amd64/default/.hidden", nil, 404, "", nil},
		{"directory", "GET", rel, nil, 404, "", nil},
		{"root", "GET", "/", nil, 404, "", nil},
		{"post", "POST", rel + "rootfs.tar.xz", nil, 405, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, tc.method, url, tc.path, tc.hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			}
			if tc.ctype != "" && resp.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tc.ctype)
			}
			if tc.body != nil && !bytes.Equal(body, tc.body) {
				t.Errorf("body of %d bytes, want %d", len(body), len(tc.body))
			}
			if tc.method == "HEAD" && resp.ContentLength != int64(len(rootfs)) {
				t.Errorf("HEAD Content-Length %d, want %d", resp.ContentLength, len(rootfs))
			}
			if strings.Contains(string(body), "root:") {
				t.Errorf("served the host's /etc/passwd")
			}
		})
	}
}

func TestHandlerKeyserver(t *testing.T) {
	tree, _, key, url := servedTree(t)
	// A secret key put among the public ones is never served.
	secret, _ := GenerateKey(KeyOptions{Name: "secret"})
	var b bytes.Buffer
	must(t, secret.WriteSecret(&b))
	must(t, os.WriteFile(filepath.Join(tree, "keys", secret.Fingerprint()+".asc"), b.Bytes(), 0o644))

	fpr := key.Fingerprint()
	for _, tc := range []struct {
		query  string
		status int
	}{
		{"op=get&options=mr&search=0x" + fpr, 200},
		{"op=get&search=0x" + strings.ToLower(fpr[24:]), 200},
		{"op=get&search=0x" + fpr[32:], 200},
		{"op=get&options=mr&search=0x" + secret.Fingerprint(), 404},
		{"op=get&search=0x" + strings.Repeat("AB", 20), 404},
		{"op=get&search=images", 400},
		{"op=index&search=0x" + fpr, 501},
	} {
		resp, body := get(t, "GET", url, "/pks/lookup?"+tc.query, nil)
		if resp.StatusCode != tc.status {
			t.Errorf("/pks/lookup?%s = %d, want %d", tc.query, resp.StatusCode, tc.status)
			continue
		}
		if tc.status != 200 {
			continue
		}
		if strings.Contains(string(body), "PRIVATE") || resp.Header.Get("Content-Type") != "application/pgp-keys" {
			t.Errorf("/pks/lookup?%s: %s %q", tc.query, resp.Header.Get("Content-Type"), body)
		}
		list, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(body))
		if err != nil || len(list) != 1 || fingerprintOf(list[0]) != fpr {
			t.Errorf("/pks/lookup?%s: %v, %v; want the tree's key", tc.query, list, err)
		}
	}
}

// TestServedTreeFetches: ulxc's own client takes a packed, indexed and
// served build, fetching the key from the server's keyserver path.
func TestServedTreeFetches(t *testing.T) {
	_, _, key, url := servedTree(t)
	img, err := download.Fetch(context.Background(),
		download.Request{Server: url, Dist: "busybox", Release: "1.36", Arch: "amd64", Variant: "default"},
		download.Options{CacheDir: t.TempDir(), Key: download.KeySource{Fingerprint: key.Fingerprint(), Keyserver: url, TrustDir: t.TempDir()}})
	if err != nil {
		t.Fatalf("download.Fetch from the served tree: %v", err)
	}
	if img.Build != "20240101_00:00" {
		t.Errorf("fetched build %s", img.Build)
	}
}
