package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/download/downloadtest"
	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// testCA makes a CA and a server certificate for 127.0.0.1 signed by it,
// PEM-encoded.
func testCA(t *testing.T) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: fmt.Sprintf("ulxc test CA %d", os.Getpid())},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// installCA adds caPEM to the system's trust store (what LXC's wget
// trusts) until the test ends.
func installCA(t *testing.T, caPEM []byte) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "needs root to add a test CA to the system trust store (LXC 5's client speaks HTTPS only and trusts only that)")
	}
	if _, err := exec.LookPath("update-ca-certificates"); err != nil {
		testenv.Skipf(t, "update-ca-certificates is not installed (apt-get install ca-certificates): %v", err)
	}
	name := filepath.Join("/usr/local/share/ca-certificates", fmt.Sprintf("ulxc-test-%d-%d.crt", os.Getpid(), time.Now().UnixNano()))
	if err := os.WriteFile(name, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	update := func() error {
		out, err := exec.Command("update-ca-certificates").CombinedOutput()
		if err != nil {
			return fmt.Errorf("update-ca-certificates: %v: %s", err, out)
		}
		return nil
	}
	t.Cleanup(func() {
		os.Remove(name)
		// update-ca-certificates drops a removed local CA from the bundle
		// but leaves its links in /etc/ssl/certs (NAME.pem and the hash
		// link to it) dangling: remove them first.
		pemName := strings.TrimSuffix(filepath.Base(name), ".crt") + ".pem"
		links, _ := filepath.Glob("/etc/ssl/certs/*")
		for _, l := range links {
			if target, err := os.Readlink(l); err == nil && (filepath.Base(l) == pemName || target == pemName) {
				os.Remove(l)
			}
		}
		if err := update(); err != nil {
			t.Error(err)
		}
		if b, _ := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); strings.Contains(string(b), strings.TrimSpace(string(caPEM))) {
			t.Errorf("the test CA is still in /etc/ssl/certs/ca-certificates.crt")
		}
		links, _ = filepath.Glob("/etc/ssl/certs/*")
		for _, l := range links {
			if target, err := os.Readlink(l); err == nil && strings.Contains(target, strings.TrimSuffix(pemName, ".pem")) {
				t.Errorf("%s -> %s is left in the system store", l, target)
			}
		}
	})
	if err := update(); err != nil {
		t.Fatal(err)
	}
}

// TestLXCCreatesFromPackedTree: LXC 5's own client, lxc-create -t download
// run as the unprivileged user, creates a container from a tree that
// image pack and image index made and image serve serves over HTTPS (a
// test CA in the system store), excluding the image's device node as its
// excludes-user says; ulxc then starts that container.
func TestLXCCreatesFromPackedTree(t *testing.T) {
	for _, tool := range []string{"lxc-create", "wget"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, "%s is not installed (apt-get install lxc wget): %v", tool, err)
		}
	}
	caPEM, certPEM, keyPEM := testCA(t)
	installCA(t, caPEM)
	u := testenv.SubIDUser(t)
	srv := downloadtest.New(t, downloadtest.Options{Images: []downloadtest.Image{{Devices: []downloadtest.Device{{Path: "dev/net/tun", Major: 10, Minor: 200}}}}})
	h := newImageHome(t, u, srv)
	h.mustCreate(t, h.createArgs("src")...)
	key, _ := genKey(t, h.Home, "images")
	tree := filepath.Join(h.Dir, "tree")
	h.MustRun(t, "image", "pack", "src", "-d", "busybox", "-r", "1.36", "--sign-key", key, "-o", tree)
	h.MustRun(t, "image", "index", tree)
	url := serveTree(t, h.Home, tree, "--tls-cert", h.WriteFile(t, "tls/cert.pem", string(certPEM)), "--tls-key", h.WriteFile(t, "tls/key.pem", string(keyPEM)))

	start, count := runtimetest.SubRange(t, u)
	h.WriteFile(t, ".config/lxc/default.conf", strings.Join([]string{
		"lxc.idmap = u 0 " + itoa(start) + " " + itoa(count),
		"lxc.idmap = g 0 " + itoa(start) + " " + itoa(count),
		"lxc.net.0.type = empty",
	}, "\n")+"\n")
	create := h.Exec(t, nil, "lxc-create", "-n", "c1", "-t", "download", "--",
		"-d", "busybox", "-r", "1.36", "-a", download.HostArch(), "--server", strings.TrimPrefix(url, "https://"))
	r := testenv.RunCmd(t, create)
	t.Logf("lxc-create: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	if r.Code != 0 {
		t.Fatalf("lxc-create from the packed tree as %s: exit %d", u.Name, r.Code)
	}
	lxcpath := filepath.Join(h.Dir, ".local/share/lxc")
	if b, err := os.ReadFile(filepath.Join(lxcpath, "c1/rootfs/etc/hostname")); err != nil || string(b) != "c1\n" {
		t.Errorf("c1's /etc/hostname = %q, %v; want c1 (LXC substituted the template)", b, err)
	}
	if _, err := os.Lstat(filepath.Join(lxcpath, "c1/rootfs/dev/net/tun")); !os.IsNotExist(err) {
		t.Errorf("c1 has /dev/net/tun (%v): excludes-user should have kept it out", err)
	}
	conf, _ := os.ReadFile(filepath.Join(lxcpath, "c1/config"))
	if !strings.Contains(string(conf), "lxc.include = /usr/share/lxc/config/userns.conf") {
		t.Errorf("c1's config lacks the image's config-user:\n%s", conf)
	}
	if r := h.Run(t, "-P", lxcpath, "start", "c1"); r.Code != 0 {
		t.Fatalf("ulxc start of LXC's c1: exit %d: %s", r.Code, r.Stderr)
	}
	t.Cleanup(func() { h.Run(t, "-P", lxcpath, "stop", "-k", "c1") })
	if r := h.MustRun(t, "-P", lxcpath, "attach", "c1", "--", "hostname"); r.Stdout != "c1\n" {
		t.Errorf("hostname in c1 = %q, want c1", r.Stdout)
	}
}
