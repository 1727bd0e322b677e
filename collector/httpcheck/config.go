package httpcheck

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/tend-dev/tend/config"
)

// Settings are the keys under a source's `http:`.
type Settings struct {
	// URL to request, http or https. Required.
	URL string `yaml:"url"`
	// Method of the request. Default GET.
	Method string `yaml:"method" default:"GET"`
	// Headers sent with the request; a Host header sets the virtual host.
	Headers map[string]string `yaml:"headers"`
	// Body sent with the request. Default: none.
	Body string `yaml:"body"`
	// ExpectedStatus lists the statuses that count as ok: codes such as
	// 200, or classes such as 2xx. Default: any 2xx.
	ExpectedStatus []string `yaml:"expected_status"`
	// Timeout bounds the whole request, body included. Default 10s.
	Timeout config.Duration `yaml:"timeout" default:"10s"`
	// FollowRedirects follows up to 5 redirects and reports the last
	// answer; timings then add up over the hops. Off by default: the
	// redirect itself is the answer.
	FollowRedirects bool `yaml:"follow_redirects"`
	// CAFile is a PEM file of certificates to trust besides the system's.
	CAFile string `yaml:"ca_file"`
	// TLSSkipVerify accepts any certificate; its expiry is still reported.
	TLSSkipVerify bool `yaml:"tls_skip_verify"`
	// MaxBody is how many bytes of the body are read and counted at most.
	// Default 10 MiB.
	MaxBody int64 `yaml:"max_body" default:"10485760"`
}

// status matches one expected_status entry: a code, or a class when
// class is set (2 for "2xx").
type status struct {
	code  int
	class bool
}

func (st status) match(code int) bool {
	if st.class {
		return code/100 == st.code
	}
	return code == st.code
}

// request is the checked, ready form of the settings.
type request struct {
	url     *url.URL
	target  string // method and scheme://host, for errors: no path or query
	header  http.Header
	host    string
	expect  []status
	tlsConf *tls.Config
}

// parse decodes and checks the settings under node.
func parse(node config.Node) (Settings, *request, error) {
	var s Settings
	if err := node.Decode(&s); err != nil {
		return s, nil, err
	}
	if s.URL == "" {
		return s, nil, node.Errorf("url", "required: the address to check, such as https://app.example/health")
	}
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return s, nil, node.Errorf("url", "want an http:// or https:// URL with a host")
	}
	s.Method = strings.ToUpper(s.Method)
	switch {
	case !validToken(s.Method):
		return s, nil, node.Errorf("method", "%q is not an HTTP method", s.Method)
	case s.Timeout <= 0:
		return s, nil, node.Errorf("timeout", "must be above 0")
	case s.MaxBody < 0:
		return s, nil, node.Errorf("max_body", "must not be negative")
	}

	r := &request{url: u, target: s.Method + " " + u.Scheme + "://" + u.Host, header: http.Header{}}
	for k, v := range s.Headers {
		if !validToken(k) {
			return s, nil, node.Errorf("headers", "%q is not a header name", k)
		}
		if strings.EqualFold(k, "Host") {
			r.host = v
			continue
		}
		r.header.Set(k, v)
	}
	for _, e := range s.ExpectedStatus {
		st, ok := parseStatus(e)
		if !ok {
			return s, nil, node.Errorf("expected_status", "%q: want a code such as 200 or a class such as 2xx", e)
		}
		r.expect = append(r.expect, st)
	}
	if len(r.expect) == 0 {
		r.expect = []status{{code: 2, class: true}}
	}

	r.tlsConf = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: s.TLSSkipVerify, //nolint:gosec // opted in by config
	}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return s, nil, node.Errorf("ca_file", "cannot read: %v", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return s, nil, node.Errorf("ca_file", "holds no PEM certificate")
		}
		r.tlsConf.RootCAs = pool
	}
	return s, r, nil
}

func parseStatus(s string) (status, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) == 3 && strings.HasSuffix(s, "xx") && s[0] >= '1' && s[0] <= '5' {
		return status{code: int(s[0] - '0'), class: true}, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return status{}, false
	}
	return status{code: n}, true
}

// validToken reports whether s is an HTTP token (method or header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, c) {
			return false
		}
	}
	return true
}
