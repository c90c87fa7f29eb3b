// Package downloadtest serves real, signed LXC image trees over httptest for
// the tests of package download and of the commands built on it.
//
// New builds, in Go, a busybox rootfs.tar.xz (from the host's static
// /bin/busybox) and a meta.tar.xz per image, lists them in the build's
// SHA256SUMS, signs all three and the meta/1.0/index-user index with a key
// generated for the test, and serves them on a loopback address. Methods change the tree after signing (tamper,
// re-sign with another key or hash) or the server's behaviour (fail or cut a
// response), and count requests per path so tests can assert what was
// downloaded. An HKP endpoint (/pks/lookup) serves the public key.
package downloadtest

import (
	"bytes"
	"crypto"
	_ "crypto/sha1" // SHA-1 signatures, made on purpose to be refused
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/ulxc/ulxc/download"
)

// Image describes one image build on the server.
type Image struct {
	Dist    string // default "busybox"
	Release string // default "1.36"
	Arch    string // default download.HostArch()
	Variant string // default "default"
	Build   string // default "20240101_00:00"
	// Expiry goes into meta.tar.xz; default 30 days from now.
	Expiry time.Time
	// CreateMessage goes into meta.tar.xz; default "Have fun with busybox".
	CreateMessage string
	// ConfigUser is meta.tar.xz's config-user; default what a real image
	// holds (GenuineConfigUser).
	ConfigUser string
	// Devices are character device nodes added to the rootfs and not
	// listed in excludes-user, as an image ships nodes it means the
	// container to have; default none.
	Devices []Device
}

// Device is a character device node of an image's rootfs.
type Device struct {
	Path         string // "dev/net/tun"
	Major, Minor int64
}

// GenuineConfigUser is the config-user of a real image of arch (a Debian
// architecture name), in the shape distrobuilder writes for LXC's
// download servers: LXC's common and userns configurations, then the
// architecture.
func GenuineConfigUser(arch string) string {
	return "lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.include = LXC_TEMPLATE_CONFIG/userns.conf\nlxc.arch = " + arch + "\n"
}

func (i Image) withDefaults() Image {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&i.Dist, "busybox")
	def(&i.Release, "1.36")
	def(&i.Arch, download.HostArch())
	def(&i.Variant, "default")
	def(&i.Build, "20240101_00:00")
	def(&i.CreateMessage, "Have fun with busybox")
	def(&i.ConfigUser, GenuineConfigUser(i.Arch))
	if i.Expiry.IsZero() {
		i.Expiry = time.Now().Add(30 * 24 * time.Hour)
	}
	return i
}

// Path is the image's build directory on the server.
func (i Image) Path() string {
	i = i.withDefaults()
	return fmt.Sprintf("/images/%s/%s/%s/%s/%s/", i.Dist, i.Release, i.Arch, i.Variant, i.Build)
}

// Request returns the download request for the image on s.
func (i Image) Request(s *Server) download.Request {
	i = i.withDefaults()
	return download.Request{Server: s.URL, Dist: i.Dist, Release: i.Release, Arch: i.Arch, Variant: i.Variant}
}

// Options configure New.
type Options struct {
	// Images are published; default one Image{}.
	Images []Image
	// Compat also publishes index-user.7 (real servers do not).
	Compat bool
}

// Server is a running image server.
type Server struct {
	// URL is http://127.0.0.1:PORT.
	URL string
	// Key signs everything; KeyFile holds its armored public key and
	// Fingerprint its 40-hex-digit fingerprint.
	Key         *openpgp.Entity
	KeyFile     string
	Fingerprint string

	compat bool

	mu       sync.Mutex
	files    map[string][]byte // server path -> content
	images   []Image
	requests map[string]int
	ranges   map[string][]string
	agents   map[string]string
	faults   map[string][]fault
	chunked  map[string]bool
	hkp      []*openpgp.Entity
	hkpLie   *openpgp.Entity
}

type fault struct {
	status int   // answer with this status, or
	cut    int64 // send this many bytes of the body, then drop the connection
	stall  bool  // (with cut) then wait for the client to give up
}

// New starts a server with opts' images, closed when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{
		compat: opts.Compat, Key: NewKey(t, "ulxc test images", KeyOptions{}),
		files: map[string][]byte{}, requests: map[string]int{}, ranges: map[string][]string{}, agents: map[string]string{}, faults: map[string][]fault{},
		chunked: map[string]bool{},
	}
	s.Fingerprint = Fingerprint(s.Key)
	s.KeyFile = filepath.Join(t.TempDir(), "images.asc")
	s.WriteKeyFile(t, s.KeyFile, s.Key)
	s.hkp = []*openpgp.Entity{s.Key}
	images := opts.Images
	if len(images) == 0 {
		images = []Image{{}}
	}
	for _, img := range images {
		s.AddImage(t, img)
	}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// AddImage builds, signs and publishes img and rewrites the signed index.
func (s *Server) AddImage(t testing.TB, img Image) {
	t.Helper()
	img = img.withDefaults()
	rootfs := busyboxRootfs(t, img.Devices)
	meta := metaTarball(t, img)
	s.mu.Lock()
	s.images = append(s.images, img)
	s.mu.Unlock()
	p := img.Path()
	s.SetFile(p+"rootfs.tar.xz", rootfs)
	s.SetFile(p+"meta.tar.xz", meta)
	s.SetFile(p+SumsName, []byte(sumLine(rootfs, "rootfs.tar.xz")+sumLine(meta, "meta.tar.xz")))
	s.Sign(t, p+"rootfs.tar.xz", s.Key, nil)
	s.Sign(t, p+"meta.tar.xz", s.Key, nil)
	s.writeIndex(t)
}

// SumsName is the checksum file of every build directory, which lxc-ci
// publishes beside the tarballs and signs like them: "SHA256  NAME" lines
// for rootfs.tar.xz and meta.tar.xz.
const SumsName = "SHA256SUMS"

func sumLine(data []byte, name string) string {
	return fmt.Sprintf("%x  %s\n", sha256.Sum256(data), name)
}

// renewSum rewrites the line of the file at p in its directory's
// SHA256SUMS, if that lists it, and reports whether it did.
func (s *Server) renewSum(p string) bool {
	dir, name := path.Split(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.files[dir+SumsName]
	if !ok || name == SumsName {
		return false
	}
	lines := strings.SplitAfter(string(old), "\n")
	found := false
	for i, l := range lines {
		if _, n, _ := strings.Cut(strings.TrimSuffix(l, "\n"), "  "); n == name {
			lines[i], found = sumLine(s.files[p], name), true
		}
	}
	if found {
		s.files[dir+SumsName] = []byte(strings.Join(lines, ""))
	}
	return found
}

func (s *Server) writeIndex(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	var b strings.Builder
	for _, i := range s.images {
		fmt.Fprintf(&b, "%s;%s;%s;%s;%s;%s\n", i.Dist, i.Release, i.Arch, i.Variant, i.Build, i.Path())
	}
	s.mu.Unlock()
	s.SetIndex(t, b.String())
}

// SetIndex publishes text as the index (and index-user.7 with Compat),
// signed with the server's key.
func (s *Server) SetIndex(t testing.TB, text string) {
	t.Helper()
	names := []string{"/meta/1.0/index-user"}
	if s.compat {
		names = append(names, "/meta/1.0/index-user.7")
	}
	for _, n := range names {
		s.SetFile(n, []byte(text))
		s.Sign(t, n, s.Key, nil)
	}
}

// SetFile publishes data at the server path p (without signing it).
func (s *Server) SetFile(p string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[p] = append([]byte(nil), data...)
}

// RemoveFile unpublishes the server path p.
func (s *Server) RemoveFile(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.files, p)
}

// File returns the content at the server path p.
func (s *Server) File(p string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.files[p]...)
}

// Tamper flips one byte in the middle of the file at p, after signing.
func (s *Server) Tamper(t testing.TB, p string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.files[p]
	if len(b) == 0 {
		t.Fatalf("downloadtest: tamper %s: no such file", p)
	}
	b[len(b)/2] ^= 0x01
}

// Sign writes p+".asc", an armored detached signature of p by key. cfg
// (nil for defaults) sets the signature time and hash; a cfg whose
// DefaultHash is SHA-1 makes a SHA-1 signature, which go-crypto itself
// would refuse to write. Like a publisher, Sign also renews p's line in
// its build directory's SHA256SUMS, when that lists it, and signs
// SHA256SUMS again with key and cfg: only SetFile and Tamper change a file
// behind SHA256SUMS's back.
func (s *Server) Sign(t testing.TB, p string, key *openpgp.Entity, cfg *packet.Config) {
	t.Helper()
	if cfg == nil {
		cfg = &packet.Config{Time: func() time.Time { return time.Now().Add(-time.Minute) }}
	}
	data := s.File(p)
	var buf bytes.Buffer
	var err error
	if cfg.DefaultHash == crypto.SHA1 {
		err = signSHA1(&buf, key, data, cfg)
	} else {
		err = openpgp.ArmoredDetachSign(&buf, []*openpgp.Entity{key}, bytes.NewReader(data), &openpgp.SignParams{Config: cfg})
	}
	if err != nil {
		t.Fatalf("downloadtest: sign %s: %v", p, err)
	}
	s.SetFile(p+".asc", buf.Bytes())
	if s.renewSum(p) {
		s.Sign(t, path.Dir(p)+"/"+SumsName, key, cfg)
	}
}

func signSHA1(w *bytes.Buffer, key *openpgp.Entity, data []byte, cfg *packet.Config) error {
	sig := &packet.Signature{
		Version: 4, SigType: packet.SigTypeBinary, PubKeyAlgo: key.PrimaryKey.PubKeyAlgo, Hash: crypto.SHA1,
		CreationTime: cfg.Now(), IssuerKeyId: &key.PrimaryKey.KeyId,
	}
	// The salt notation go-crypto adds by default has no SHA-1 size.
	noSalt := false
	c := *cfg
	c.NonDeterministicSignaturesViaNotation = &noSalt
	cfg = &c
	h, err := sig.PrepareSign(cfg)
	if err != nil {
		return err
	}
	h.Write(data)
	if err := sig.Sign(h, key.PrivateKey, cfg); err != nil {
		return err
	}
	aw, err := armor.Encode(w, openpgp.SignatureType, nil)
	if err != nil {
		return err
	}
	if err := sig.Serialize(aw); err != nil {
		return err
	}
	return aw.Close()
}

// SignAll re-signs every published file (index and tarballs) with key.
func (s *Server) SignAll(t testing.TB, key *openpgp.Entity, cfg *packet.Config) {
	t.Helper()
	for _, p := range s.Paths() {
		if !strings.HasSuffix(p, ".asc") {
			s.Sign(t, p, key, cfg)
		}
	}
}

// Paths lists the published server paths.
func (s *Server) Paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for p := range s.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Fail makes the next n requests for p answer status.
func (s *Server) Fail(p string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[p] = append(s.faults[p], fault{status: status})
	}
}

// Cut makes the next n requests for p send only the first after bytes of
// the answer's body and then drop the connection.
func (s *Server) Cut(p string, after int64, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[p] = append(s.faults[p], fault{cut: after})
	}
}

// Stall makes the next request for p send the first after bytes of the
// body and then send nothing more until the client gives up.
func (s *Server) Stall(p string, after int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[p] = append(s.faults[p], fault{cut: after, stall: true})
}

// Chunked makes every later GET of p answer 200 with the whole file in
// chunked encoding: no Content-Length announces its size, and Range
// requests are ignored.
func (s *Server) Chunked(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chunked[p] = true
}

// Requests returns how many GETs p received.
func (s *Server) Requests(p string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[p]
}

// Ranges returns the Range headers the GETs of p carried, in order.
func (s *Server) Ranges(p string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges[p]...)
}

// UserAgent returns the User-Agent of the last GET of p.
func (s *Server) UserAgent(p string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.agents[p]
}

// LieHKP makes the HKP endpoint answer every lookup with key.
func (s *Server) LieHKP(key *openpgp.Entity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hkpLie = key
}

// PublishKey makes the HKP endpoint serve key as well.
func (s *Server) PublishKey(key *openpgp.Entity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hkp = append(s.hkp, key)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// Real clients send "//meta/..." (LXC joins "https://host/" and "/path").
	p := path.Clean("/" + r.URL.Path)
	if strings.HasSuffix(r.URL.Path, "/") && p != "/" {
		p += "/"
	}
	if p == "/pks/lookup" {
		s.serveHKP(w, r)
		return
	}
	s.mu.Lock()
	s.requests[p]++
	s.agents[p] = r.UserAgent()
	if rg := r.Header.Get("Range"); rg != "" {
		s.ranges[p] = append(s.ranges[p], rg)
	}
	var f *fault
	if q := s.faults[p]; len(q) > 0 {
		f, s.faults[p] = &q[0], q[1:]
	}
	data, ok := s.files[p]
	chunked := s.chunked[p]
	s.mu.Unlock()
	switch {
	case f != nil && f.status != 0:
		http.Error(w, http.StatusText(f.status), f.status)
	case !ok:
		http.NotFound(w, r)
	case f != nil:
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:min(int64(len(data)), f.cut)])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		if f.stall {
			<-r.Context().Done()
		}
		panic(http.ErrAbortHandler) // drops the connection mid-body
	case chunked:
		w.WriteHeader(http.StatusOK)
		for len(data) > 0 {
			n := min(len(data), 32<<10)
			if _, err := w.Write(data[:n]); err != nil {
				return
			}
			data = data[n:]
			// A flushed response without Content-Length goes chunked.
			if fl, ok := w.(http.Flusher); ok {
				fl.Flush()
			}
		}
	default:
		http.ServeContent(w, r, path.Base(p), time.Time{}, bytes.NewReader(data))
	}
}

func (s *Server) serveHKP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	want := strings.ToUpper(strings.TrimPrefix(strings.ToLower(q.Get("search")), "0x"))
	if q.Get("op") != "get" || len(want) != 40 {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests["/pks/lookup"]++
	keys := append([]*openpgp.Entity(nil), s.hkp...)
	lie := s.hkpLie
	s.mu.Unlock()
	for _, k := range keys {
		if lie != nil {
			k = lie
		} else if Fingerprint(k) != want {
			continue
		}
		b, err := armoredPublicKey(k)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/pgp-keys")
		w.Write(b)
		return
	}
	http.NotFound(w, r)
}

// WriteKeyFile writes key's armored public key to name.
func (s *Server) WriteKeyFile(t testing.TB, name string, key *openpgp.Entity) {
	t.Helper()
	if err := os.WriteFile(name, ArmoredPublicKey(t, key), 0o644); err != nil {
		t.Fatal(err)
	}
}
