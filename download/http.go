package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultServer is the image server used when a Request names none.
const DefaultServer = "images.linuxcontainers.org"

// ErrTooLarge means a server sent, or announced, more bytes than ulxc
// accepts for that file (see doc.go, "Size limits"). It is wrapped with the
// URL and the limit.
var ErrTooLarge = errors.New("larger than its size limit")

// tooLarge is the ErrTooLarge of rawURL; how says what gave it away.
func tooLarge(rawURL string, limit int64, how string) error {
	return fmt.Errorf("GET %s: %w of %d bytes (%s)", rawURL, ErrTooLarge, limit, how)
}

// StatusError is an HTTP answer other than success.
type StatusError struct {
	URL  string
	Code int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: %d %s", e.URL, e.Code, http.StatusText(e.Code))
}

// ServerURL resolves a --server value: host[:port] means https://host[:port];
// an http:// or https:// URL (optionally with a path prefix) is used as given.
func ServerURL(server string) (*url.URL, error) {
	if server == "" {
		server = DefaultServer
	}
	raw := server
	if !strings.Contains(server, "://") {
		raw = "https://" + server
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("server %q: %w", server, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("server %q: scheme must be http or https", server)
	case u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return nil, fmt.Errorf("server %q: want host[:port] or an http(s) URL without user, query or fragment", server)
	case !strings.Contains(server, "://") && u.Path != "":
		return nil, fmt.Errorf("server %q: a path needs a full URL (https://%s)", server, server)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// join appends a checked server path to the base URL; the host never changes.
func join(base *url.URL, serverPath string) string {
	u := *base
	u.Path = base.Path + serverPath
	return u.String()
}

const (
	defaultRetries     = 3
	defaultRetryDelay  = 500 * time.Millisecond
	defaultIdleTimeout = 60 * time.Second
)

// getter does HTTP GETs with retries, resume and progress.
type getter struct {
	client   *http.Client
	ua       string
	retries  int
	delay    time.Duration
	idle     time.Duration
	progress io.Writer
}

func newGetter(o *Options) *getter {
	g := &getter{client: o.HTTPClient, ua: o.UserAgent, retries: o.Retries, delay: o.RetryDelay, idle: o.IdleTimeout, progress: o.Progress}
	if g.client == nil {
		g.client = defaultClient()
	}
	if g.ua == "" {
		g.ua = "ulxc"
	}
	switch {
	case g.retries == 0:
		g.retries = defaultRetries
	case g.retries < 0:
		g.retries = 0
	}
	if g.delay <= 0 {
		g.delay = defaultRetryDelay
	}
	if g.idle <= 0 {
		g.idle = defaultIdleTimeout
	}
	return g
}

func defaultClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   30 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("too many redirects")
			}
			if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
				return fmt.Errorf("refusing redirect from https to %s", req.URL.Redacted())
			}
			return nil
		},
	}
}

// retryable reports whether err is worth another attempt: network errors
// and 5xx answers, not 4xx, an oversized file or a cancelled context.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, ErrTooLarge) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code >= 500
	}
	return true
}

// retry runs op up to 1+retries times with exponential backoff.
func (g *getter) retry(ctx context.Context, op func() error) error {
	delay := g.delay
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil || attempt >= g.retries || !retryable(ctx, err) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay *= 2
	}
}

// do sends one GET; the body of a non-nil response must be closed. Its
// context is cancelled when no byte arrives for g.idle.
func (g *getter) do(ctx context.Context, rawURL string, hdr http.Header) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		cancel(nil)
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", g.ua)
	timer := time.AfterFunc(g.idle, func() { cancel(fmt.Errorf("GET %s: no data for %v", rawURL, g.idle)) })
	resp, err := g.client.Do(req)
	if err != nil {
		timer.Stop()
		cancel(nil)
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			return nil, c
		}
		return nil, err
	}
	body := &idleBody{r: resp.Body, timer: timer, idle: g.idle, ctx: ctx, cancel: cancel}
	resp.Body = body
	return resp, nil
}

// idleBody resets the idle timer on every read.
type idleBody struct {
	r      io.ReadCloser
	timer  *time.Timer
	idle   time.Duration
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	if err != nil && err != io.EOF {
		if c := context.Cause(b.ctx); c != nil && !errors.Is(c, context.Canceled) {
			err = c
		}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.r.Close()
	b.cancel(nil)
	return err
}

// small GETs a small file into memory, at most limit bytes: a larger
// Content-Length is refused before the body is read, and a body without one
// is read no further than one byte past the limit.
func (g *getter) small(ctx context.Context, rawURL string, limit int64) ([]byte, error) {
	var data []byte
	err := g.retry(ctx, func() error {
		resp, err := g.do(ctx, rawURL, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return &StatusError{URL: rawURL, Code: resp.StatusCode}
		}
		if resp.ContentLength > limit {
			return tooLarge(rawURL, limit, fmt.Sprintf("%d bytes announced", resp.ContentLength))
		}
		data, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
		if err != nil {
			return fmt.Errorf("GET %s: %w", rawURL, err)
		}
		if int64(len(data)) > limit {
			return tooLarge(rawURL, limit, "the server sent more")
		}
		return nil
	})
	return data, err
}

// file downloads rawURL into the file at name, at most limit bytes,
// resuming from its current size with a Range request (on this or a
// previous run) when the server answers 206 with a matching Content-Range,
// and starting over otherwise. A file that would exceed limit is an
// ErrTooLarge, found from the announced size before the body is read where
// the server announces one; the caller removes what was written.
func (g *getter) file(ctx context.Context, rawURL, name, label string, limit int64) error {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	err = g.retry(ctx, func() error { return g.fileOnce(ctx, rawURL, f, label, limit) })
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (g *getter) fileOnce(ctx context.Context, rawURL string, f *os.File, label string, limit int64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	have := fi.Size()
	if have > limit {
		return tooLarge(rawURL, limit, fmt.Sprintf("%d bytes kept from an earlier run", have))
	}
	resp, total, err := g.resume(ctx, rawURL, have)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		have = 0
		if err := f.Truncate(0); err != nil {
			return err
		}
	}
	if total > limit {
		return tooLarge(rawURL, limit, fmt.Sprintf("%d bytes announced", total))
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return err
	}
	var w io.Writer = f
	if g.progress != nil {
		p := newProgress(g.progress, label, have, total)
		defer p.done()
		w = io.MultiWriter(f, p)
	}
	// One byte past the limit tells a body that is too large from one
	// that ends exactly there; nothing further is read.
	n, err := io.Copy(w, io.LimitReader(resp.Body, limit-have+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", rawURL, err)
	}
	if have+n > limit {
		return tooLarge(rawURL, limit, "the server sent more")
	}
	if total >= 0 && have+n != total {
		return fmt.Errorf("GET %s: %w", rawURL, io.ErrUnexpectedEOF)
	}
	return nil
}

// resume asks for the bytes from have on. It returns a 206 answer only when
// its Content-Range starts exactly at have; otherwise (200, 416, a 206 for
// another range) it returns a 200 answer for the whole file. total is the
// full size, or -1 if unknown.
func (g *getter) resume(ctx context.Context, rawURL string, have int64) (*http.Response, int64, error) {
	if have > 0 {
		resp, err := g.do(ctx, rawURL, http.Header{"Range": {fmt.Sprintf("bytes=%d-", have)}})
		if err != nil {
			return nil, 0, err
		}
		switch {
		case resp.StatusCode == http.StatusPartialContent && contentRangeStart(resp.Header.Get("Content-Range")) == have:
			total := int64(-1)
			if resp.ContentLength >= 0 {
				total = have + resp.ContentLength
			}
			return resp, total, nil
		case resp.StatusCode == http.StatusOK:
			return resp, resp.ContentLength, nil
		case resp.StatusCode == http.StatusPartialContent, resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
			resp.Body.Close() // unusable range: ask for everything
		default:
			resp.Body.Close()
			return nil, 0, &StatusError{URL: rawURL, Code: resp.StatusCode}
		}
	}
	resp, err := g.do(ctx, rawURL, nil)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, 0, &StatusError{URL: rawURL, Code: resp.StatusCode}
	}
	return resp, resp.ContentLength, nil
}

// contentRangeStart returns the first byte of "bytes START-END/TOTAL", or -1.
func contentRangeStart(h string) int64 {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return -1
	}
	start, _, ok := strings.Cut(rest, "-")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(start, 10, 64)
	if err != nil {
		return -1
	}
	return n
}
