//go:build !ulxc_lean

package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ulxc/ulxc/publish"
)

const imageServeUsage = `Usage: ulxc image serve TREE [--addr HOST:PORT] [--tls-cert FILE --tls-key FILE]

Serve TREE as an LXC image server until interrupted: its files as
images.linuxcontainers.org serves them (doubled slashes in paths, Range
requests, content types), and the public keys in TREE/keys at the HKP
keyserver path /pks/lookup, so that clients can fetch the signing key.
Without --tls-cert it speaks plain HTTP, which 'ulxc create' accepts when
the server is given as http://HOST:PORT; LXC's own client (LXC 5) insists on
HTTPS with a certificate its wget trusts. Every request is logged on stderr
unless -q.

Examples:
  ulxc image serve ~/tree --addr 127.0.0.1:8080
  ulxc create web -t download -- --server http://127.0.0.1:8080 -d busybox -r 1.36 \
      --keyid FINGERPRINT --keyserver http://127.0.0.1:8080
  ulxc image serve ~/tree --addr 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem
`

func cmdImageServe(e *env, args []string) error {
	fs := e.newFlagSet("image serve")
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT` (port 0: any free port)")
	cert := fs.String("tls-cert", "", "serve HTTPS with the certificate (chain) in `FILE`")
	key := fs.String("tls-key", "", "...and its private key in `FILE`")
	if err := e.parse(fs, imageServeUsage, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("image serve: want one TREE (see 'ulxc image serve --help')")
	}
	if (*cert == "") != (*key == "") {
		return usagef("image serve: --tls-cert and --tls-key go together")
	}
	tree := absPath(fs.Arg(0))
	if _, err := os.Stat(filepath.Join(tree, "meta", "1.0", "index-user")); err != nil {
		e.warnf("image serve: %v: clients find nothing before 'ulxc image index %s'", err, tree)
	}
	h, err := publish.Handler(tree, publish.HandlerOptions{Log: func(s string) { e.infof("%s", s) }})
	if err != nil {
		return fmt.Errorf("image %w", err)
	}
	defer h.Close()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	scheme := "http"
	if *cert != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return fmt.Errorf("image serve: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		scheme = "https"
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("image serve: %w", err)
	}
	if srv.TLSConfig != nil {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	url := scheme + "://" + ln.Addr().String()
	server := url
	if scheme == "https" {
		server = ln.Addr().String() // what LXC's --server takes
	}
	fmt.Fprintf(e.stdout, "Serving %s on %s\n  ulxc create NAME -t download -- --server %s -d DIST -r RELEASE --keyid FINGERPRINT --keyserver %s\n",
		tree, url, server, url)
	if f, ok := e.stdout.(*os.File); ok {
		f.Sync()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("image serve: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("image serve: %w", err)
	}
	e.infof("Stopped serving %s", strings.TrimSuffix(url, "/"))
	return nil
}
