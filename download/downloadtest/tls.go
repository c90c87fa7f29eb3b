package downloadtest

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"
)

// NewTLS is New served over HTTPS, as LXC's own download template
// (wget https://SERVER/...) insists. The server's URL is
// https://127.0.0.1:PORT; certPEM is its self-signed certificate (valid for
// 127.0.0.1), for clients to trust: wget takes it from a wgetrc file
// (ca_certificate = FILE) named by WGETRC.
func NewTLS(t testing.TB, opts Options) (s *Server, certPEM []byte) {
	t.Helper()
	s = New(t, opts)
	srv := httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}
