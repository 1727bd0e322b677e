package httpcheck

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tend-dev/tend/collector"
	"github.com/tend-dev/tend/config"
)

// Kind is the source kind key in the config file.
const Kind = "http"

func init() {
	collector.Register(Kind, func(spec config.Source, _ collector.Deps) (collector.Source, error) {
		return New(spec.Settings)
	})
}

// Source checks one HTTP endpoint. It implements [collector.Source] and
// [collector.Closer]. Collect and [Source.Probe] are safe for concurrent
// use; each sends its own request.
type Source struct {
	set    Settings
	req    *request
	client *http.Client
}

// New checks the settings under node and returns a source that has sent
// nothing yet.
func New(node config.Node) (*Source, error) {
	set, req, err := parse(node)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// A fresh connection per check, so DNS, connect and TLS are measured
	// every time rather than only after an idle connection closes.
	tr.DisableKeepAlives = true
	tr.TLSClientConfig = req.tlsConf

	client := &http.Client{Transport: tr}
	client.CheckRedirect = func(_ *http.Request, via []*http.Request) error {
		if !set.FollowRedirects {
			return http.ErrUseLastResponse
		}
		if len(via) >= 5 {
			return errors.New("more than 5 redirects")
		}
		return nil
	}
	return &Source{set: set, req: req, client: client}, nil
}

// Close releases the transport's resources.
func (s *Source) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// result is what one request measured.
type result struct {
	total, dns, connect, tls, firstByte time.Duration
	status                              int
	body                                int64
	// certExpiry is the earliest NotAfter of the leaf certificates seen;
	// zero over plain http.
	certExpiry time.Time
}

// Probe sends one request and returns its total time, body read included,
// and its status. err is set when no answer came (refused, timed out, TLS
// failure); a status not expected is not an error. Its text names the
// method and host, never the path, query or headers.
func (s *Source) Probe(ctx context.Context) (total time.Duration, status int, err error) {
	r, err := s.probe(ctx)
	return r.total, r.status, err
}

// Collect sends one request and reports its timings, status and body size.
func (s *Source) Collect(ctx context.Context) ([]collector.Sample, error) {
	r, err := s.probe(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]collector.Sample, 0, 10)
	add := func(name string, v float64, unit string) {
		out = append(out, collector.Sample{Name: name, Value: v, Unit: unit})
	}
	add("response_seconds", r.total.Seconds(), "seconds")
	add("dns_seconds", r.dns.Seconds(), "seconds")
	add("connect_seconds", r.connect.Seconds(), "seconds")
	add("first_byte_seconds", r.firstByte.Seconds(), "seconds")
	if s.req.url.Scheme == "https" {
		add("tls_seconds", r.tls.Seconds(), "seconds")
	}
	if !r.certExpiry.IsZero() {
		add("cert_expiry_days", time.Until(r.certExpiry).Hours()/24, "days")
	}
	add("status", float64(r.status), "code")
	add("body_bytes", float64(r.body), "bytes")
	ok := 0.0
	if s.expected(r.status) {
		ok = 1
	}
	add("ok", ok, "bool")
	return out, nil
}

func (s *Source) expected(code int) bool {
	for _, st := range s.req.expect {
		if st.match(code) {
			return true
		}
	}
	return false
}

func (s *Source) probe(ctx context.Context) (result, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, s.set.Timeout.D(),
		fmt.Errorf("no answer within %s", s.set.Timeout))
	defer cancel()

	var body io.Reader
	if s.set.Body != "" {
		body = strings.NewReader(s.set.Body)
	}
	t := &tracer{}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, t.trace()),
		s.set.Method, s.req.url.String(), body)
	if err != nil {
		return result{}, fmt.Errorf("build request %s: %w", s.req.target, err)
	}
	req.Header = s.req.header.Clone()
	if s.req.host != "" {
		req.Host = s.req.host
	}

	t.start = time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return result{}, fmt.Errorf("request %s: %w", s.req.target, s.clean(ctx, err))
	}
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, s.set.MaxBody))
	resp.Body.Close()
	if err != nil {
		return result{}, fmt.Errorf("read body of %s: %w", s.req.target, s.clean(ctx, err))
	}
	total := time.Since(t.start)

	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.r
	r.total, r.status, r.body = total, resp.StatusCode, n
	return r, nil
}

// clean drops the URL, which may carry a token in its path or query, from
// a client error, and prefers the timeout's cause to "context deadline
// exceeded".
func (s *Source) clean(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if c := context.Cause(ctx); c != nil && ctx.Err() != nil && !errors.Is(err, c) {
		return fmt.Errorf("%w (%w)", c, err)
	}
	return err
}

// tracer collects one request's timings. Its hooks may run on the
// transport's goroutines, and for each hop of a redirect, so they lock and
// add up.
type tracer struct {
	start time.Time

	mu                            sync.Mutex
	dnsStart, connStart, tlsStart time.Time
	r                             result
}

func (t *tracer) trace() *httptrace.ClientTrace {
	since := func(from time.Time) time.Duration {
		if from.IsZero() {
			return 0
		}
		return time.Since(from)
	}
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) {
			t.mu.Lock()
			t.dnsStart = time.Now()
			t.mu.Unlock()
		},
		DNSDone: func(httptrace.DNSDoneInfo) {
			t.mu.Lock()
			t.r.dns += since(t.dnsStart)
			t.mu.Unlock()
		},
		ConnectStart: func(string, string) {
			t.mu.Lock()
			t.connStart = time.Now()
			t.mu.Unlock()
		},
		ConnectDone: func(_, _ string, err error) {
			t.mu.Lock()
			if err == nil {
				t.r.connect += since(t.connStart)
			}
			t.mu.Unlock()
		},
		TLSHandshakeStart: func() {
			t.mu.Lock()
			t.tlsStart = time.Now()
			t.mu.Unlock()
		},
		TLSHandshakeDone: func(cs tls.ConnectionState, err error) {
			t.mu.Lock()
			t.r.tls += since(t.tlsStart)
			if len(cs.PeerCertificates) > 0 {
				na := cs.PeerCertificates[0].NotAfter
				if t.r.certExpiry.IsZero() || na.Before(t.r.certExpiry) {
					t.r.certExpiry = na
				}
			}
			t.mu.Unlock()
		},
		GotFirstResponseByte: func() {
			t.mu.Lock()
			t.r.firstByte = time.Since(t.start)
			t.mu.Unlock()
		},
	}
}
