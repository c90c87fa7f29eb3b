package publish

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// HandlerOptions configure Handler.
type HandlerOptions struct {
	// Log receives one line per request: method, path, status, bytes;
	// default: none.
	Log func(string)
}

// Handler serves the tree at tree as LXC's image servers do (see the
// package documentation): GET and HEAD of its regular files, paths with
// doubled slashes as LXC's client sends them ("//meta/1.0/index-user"),
// Range requests, Last-Modified, and the content types real servers
// send; and, at /pks/lookup?op=get&search=0xFINGERPRINT, the armored
// public keys of TREE/keys/ that match a fingerprint or a 16 or 8 digit
// key id, as an HKP keyserver answers dirmngr. Hidden files and
// directories are never served, nor anything outside the tree, symlinks
// included. The handler holds the tree open; Close releases it.
func Handler(tree string, opts HandlerOptions) (*Server, error) {
	root, err := os.OpenRoot(tree)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	return &Server{root: root, log: opts.Log}, nil
}

// Server is the http.Handler that Handler returns.
type Server struct {
	root *os.Root
	log  func(string)
}

// Close releases the tree.
func (s *Server) Close() error { return s.root.Close() }

// statusWriter remembers the status and size of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

// ReadFrom keeps the connection's sendfile path for file bodies.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{w}, r)
	}
	n, err := rf.ReadFrom(r)
	w.n += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	defer func() {
		if s.log != nil {
			s.log(fmt.Sprintf("%s %s %d %d", r.Method, r.URL.RequestURI(), w.status, w.n))
		}
	}()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// LXC's client asks for "//meta/1.0/index-user" and
	// "//images/.../BUILD//rootfs.tar.xz": Clean makes them the tree's
	// paths, and ".." can only climb to the tree's root.
	p := path.Clean("/" + r.URL.Path)
	if p == "/pks/lookup" {
		s.lookup(w, r)
		return
	}
	rel := strings.TrimPrefix(p, "/")
	if rel == "" || hiddenPath(strings.Split(rel, "/")) {
		http.NotFound(w, r)
		return
	}
	f, err := s.root.Open(rel)
	if err != nil {
		status := http.StatusNotFound
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) && !strings.Contains(err.Error(), "escapes") {
			status = http.StatusInternalServerError
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", contentType(rel))
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// contentType is what images.linuxcontainers.org sends for each kind of
// file.
func contentType(rel string) string {
	base := path.Base(rel)
	switch {
	case strings.HasPrefix(rel, "keys/") && strings.HasSuffix(base, ".asc"):
		return "application/pgp-keys"
	case strings.HasSuffix(base, ".asc"):
		return "application/pgp-signature"
	case strings.HasSuffix(base, ".xz"):
		return "application/x-xz"
	case strings.HasPrefix(base, "index-") || base == SumsName:
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(base)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// lookup answers an HKP request (draft-shaw-openpgp-hkp) for the tree's
// keys: op=get with a search of 0x and 8, 16 or 40 hex digits.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if op := q.Get("op"); op != "get" {
		http.Error(w, fmt.Sprintf("op %q: this keyserver answers op=get only", op), http.StatusNotImplemented)
		return
	}
	want := strings.ToUpper(strings.TrimPrefix(strings.ToLower(q.Get("search")), "0x"))
	if n := len(want); n != 8 && n != 16 && n != 40 || strings.Trim(want, "0123456789ABCDEF") != "" {
		http.Error(w, "search: want 0x and a fingerprint or a key id", http.StatusBadRequest)
		return
	}
	keys, err := s.treeKeys()
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	var found openpgp.EntityList
	for _, e := range keys {
		if strings.HasSuffix(fingerprintOf(e), want) {
			found = append(found, e)
		}
	}
	if len(found) == 0 {
		http.NotFound(w, r)
		return
	}
	var buf bytes.Buffer
	aw, err := armorWriter(&buf, openpgp.PublicKeyType)
	if err == nil {
		for _, e := range found {
			if err = e.Serialize(aw); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = closeArmor(&buf, aw)
	}
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/pgp-keys")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(buf.Bytes()))
}

// treeKeys reads the public keys in the tree's keys/, each file bounded;
// a file that holds secret key material is skipped, never served.
func (s *Server) treeKeys() (openpgp.EntityList, error) {
	names, err := fs.Glob(s.root.FS(), "keys/*.asc")
	if err != nil {
		return nil, err
	}
	var out openpgp.EntityList
	for _, name := range names {
		if hiddenPath(strings.Split(name, "/")) {
			continue
		}
		f, err := s.root.Open(filepath.FromSlash(name))
		if err != nil {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(f, maxKeyFile))
		f.Close()
		if err != nil {
			continue
		}
		block, err := armor.Decode(bytes.NewReader(data))
		if err != nil || block.Type != openpgp.PublicKeyType {
			continue
		}
		list, err := openpgp.ReadKeyRing(block.Body)
		if err != nil {
			continue
		}
		for _, e := range list {
			if e.PrivateKey == nil {
				out = append(out, e)
			}
		}
	}
	return out, nil
}
