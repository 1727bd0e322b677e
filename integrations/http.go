package integrations

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// DefaultMaxBody caps how much of an answer is read: receivers that stream
// megabytes back must not hold a delivery slot or memory.
const DefaultMaxBody = 64 << 10

// HTTPOptions tune [NewHTTPClient].
type HTTPOptions struct {
	// Timeout bounds a whole call, reading the answer included.
	Timeout time.Duration
	// InsecureSkipVerify accepts any TLS certificate. Off by default: a TLS
	// error is then permanent, since retrying will not fix a certificate.
	InsecureSkipVerify bool
}

// NewHTTPClient returns a client that follows redirects only within the
// same host (a receiver must not bounce a signed payload elsewhere), at most
// five times.
func NewHTTPClient(o HTTPOptions) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	if o.InsecureSkipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // opted in by config
	}
	return &http.Client{
		Timeout:   o.Timeout,
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("more than 5 redirects")
			}
			if req.URL.Host != via[0].URL.Host {
				return fmt.Errorf("redirect to another host (%s) refused", req.URL.Host)
			}
			return nil
		},
	}
}

// Do sends req and reads at most maxBody bytes of the answer. A 2xx answer
// returns its body; anything else returns a classified [*Error] whose text
// holds no URL (URLs carry secrets in webhooks and query strings).
func Do(ctx context.Context, c *http.Client, req *http.Request, maxBody int64) (*http.Response, []byte, error) {
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	resp, err := c.Do(req.WithContext(ctx))
	if err != nil {
		return nil, nil, classifyTransport(err)
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp, body, Retryable("read answer", stripURL(err))
	}
	// Drain a little more so the connection can be reused, but never much.
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, body, StatusError(resp, string(body))
	}
	return resp, body, nil
}

func classifyTransport(err error) *Error {
	err = stripURL(err)
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return Permanent("tls", err)
	case errors.Is(err, context.Canceled):
		return Retryable("canceled", err)
	}
	if e := Classify(err); e.Reason == "timeout" {
		return e
	}
	return Retryable("network", err)
}

// stripURL drops the URL from a *url.Error, keeping the operation and cause.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
