package httpcheck

import (
	"context"
	"encoding/pem"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tend-dev/tend/collector"
	"github.com/tend-dev/tend/collector/internal/srctest"
)

func newSource(tb testing.TB, settings ...string) *Source {
	tb.Helper()
	src, err := collector.New(srctest.Spec(tb, Kind, settings...), collector.Deps{})
	if err != nil {
		tb.Fatalf("new source: %v", err)
	}
	s := src.(*Source)
	tb.Cleanup(func() { s.Close() })
	return s
}

func collect(tb testing.TB, s *Source) []collector.Sample {
	tb.Helper()
	out, err := s.Collect(context.Background())
	if err != nil {
		tb.Fatalf("collect: %v", err)
	}
	return out
}

func value(tb testing.TB, samples []collector.Sample, name string) float64 {
	tb.Helper()
	v, ok := srctest.Value(samples, name, "")
	if !ok {
		tb.Fatalf("no sample %s in %v", name, samples)
	}
	return v
}

// recorder is a test endpoint that answers with a fixed status and body
// and remembers the last request.
type recorder struct {
	mu     sync.Mutex
	status int
	body   string
	got    *http.Request
	gotB   string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got, rc.gotB = r, string(b)
	status, body := rc.status, rc.body
	rc.mu.Unlock()
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func TestCollect_Answer(t *testing.T) {
	rc := &recorder{status: 200, body: strings.Repeat("a", 1234)}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s := newSource(t,
		"url: "+srv.URL+"/health?token=abc",
		"method: post",
		"headers: {X-Check: tend, Host: app.internal}",
		"body: ping",
	)

	got := collect(t, s)
	if rc.got.Method != "POST" || rc.got.Header.Get("X-Check") != "tend" ||
		rc.got.Host != "app.internal" || rc.gotB != "ping" || rc.got.URL.RawQuery != "token=abc" {
		t.Errorf("server got %s %s host %q header %v body %q",
			rc.got.Method, rc.got.URL, rc.got.Host, rc.got.Header, rc.gotB)
	}
	want := map[string]float64{"status": 200, "ok": 1, "body_bytes": 1234, "dns_seconds": 0}
	for name, w := range want {
		if v := value(t, got, name); v != w {
			t.Errorf("%s = %v, want %v", name, v, w)
		}
	}
	total, first, conn := value(t, got, "response_seconds"), value(t, got, "first_byte_seconds"),
		value(t, got, "connect_seconds")
	if !(total > 0 && first > 0 && first <= total && conn > 0 && conn <= first) {
		t.Errorf("timings: connect %v, first byte %v, total %v", conn, first, total)
	}
	for _, name := range []string{"tls_seconds", "cert_expiry_days"} {
		if _, ok := srctest.Value(got, name, ""); ok {
			t.Errorf("%s reported over plain http", name)
		}
	}
}

func TestCollect_DNS(t *testing.T) {
	srv := httptest.NewServer(&recorder{status: 204})
	defer srv.Close()
	s := newSource(t, "url: "+strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	got := collect(t, s)
	if v := value(t, got, "dns_seconds"); v <= 0 || v > value(t, got, "response_seconds") {
		t.Errorf("dns_seconds = %v for a name lookup", v)
	}
}

func TestCollect_Status(t *testing.T) {
	tests := []struct {
		status int
		expect string
		wantOK float64
	}{
		{200, "", 1},
		{204, "", 1},
		{503, "", 0},
		{404, "", 0},
		{503, "[503]", 1},
		{503, "5xx", 1},
		{201, "[200, 204]", 0},
		{301, "", 0},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status)+" "+tt.expect, func(t *testing.T) {
			srv := httptest.NewServer(&recorder{status: tt.status})
			defer srv.Close()
			settings := []string{"url: " + srv.URL}
			if tt.expect != "" {
				settings = append(settings, "expected_status: "+tt.expect)
			}
			got := collect(t, newSource(t, settings...))
			if v := value(t, got, "status"); v != float64(tt.status) {
				t.Errorf("status = %v", v)
			}
			if v := value(t, got, "ok"); v != tt.wantOK {
				t.Errorf("ok = %v, want %v", v, tt.wantOK)
			}
		})
	}
}

func TestCollect_Redirect(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new", http.StatusFound)
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "here") })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tt := range []struct {
		follow     string
		wantStatus float64
	}{{"false", 302}, {"true", 200}} {
		got := collect(t, newSource(t, "url: "+srv.URL+"/old", "follow_redirects: "+tt.follow))
		if v := value(t, got, "status"); v != tt.wantStatus {
			t.Errorf("follow_redirects %s: status = %v, want %v", tt.follow, v, tt.wantStatus)
		}
	}
}

func TestCollect_TLS(t *testing.T) {
	srv := httptest.NewTLSServer(&recorder{status: 200, body: "ok"})
	defer srv.Close()
	cert := srv.Certificate()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	got := collect(t, newSource(t, "url: "+srv.URL, "ca_file: "+caFile))
	wantDays := time.Until(cert.NotAfter).Hours() / 24
	if v := value(t, got, "cert_expiry_days"); math.Abs(v-wantDays) > 1 {
		t.Errorf("cert_expiry_days = %v, want about %v", v, wantDays)
	}
	if v := value(t, got, "tls_seconds"); v <= 0 || v > value(t, got, "response_seconds") {
		t.Errorf("tls_seconds = %v", v)
	}

	// Without the CA the handshake fails: no answer, an error.
	if _, err := newSource(t, "url: "+srv.URL).Collect(context.Background()); err == nil {
		t.Errorf("collect trusted an unknown certificate")
	}
	// Told to skip verification, it answers and still reports the expiry.
	got = collect(t, newSource(t, "url: "+srv.URL, "tls_skip_verify: true"))
	value(t, got, "cert_expiry_days")
}

func TestCollect_Recovery(t *testing.T) {
	srv := httptest.NewServer(&recorder{status: 200})
	defer srv.Close()
	proxy := srctest.Start(t, strings.TrimPrefix(srv.URL, "http://"))
	const secret = "hunter2-not-logged"
	s := newSource(t, "url: http://"+proxy.Addr()+"/hook/"+secret+"?token="+secret)

	collect(t, s)
	proxy.Stop()
	_, err := s.Collect(context.Background())
	if err == nil {
		t.Fatal("collect through a stopped proxy succeeded")
	}
	t.Logf("endpoint gone: %v", err)
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error shows the URL's secret: %v", err)
	}
	if !strings.Contains(err.Error(), proxy.Addr()) {
		t.Errorf("error does not name the endpoint: %v", err)
	}

	proxy.Restart()
	collect(t, s)
}

func TestCollect_Timeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s := newSource(t, "url: "+srv.URL, "timeout: 200ms")

	start := time.Now()
	_, err := s.Collect(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Errorf("error = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("collect took %v with a 200ms timeout", d)
	}
}

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(&recorder{status: 418})
	defer srv.Close()
	total, status, err := newSource(t, "url: "+srv.URL).Probe(context.Background())
	if err != nil || status != 418 || total <= 0 {
		t.Errorf("Probe = %v, %d, %v", total, status, err)
	}
}

func TestNew_Settings(t *testing.T) {
	tests := []struct {
		name     string
		settings []string
		wantErr  string
	}{
		{"minimal", []string{"url: https://app.example/health"}, ""},
		{"full", []string{"url: http://127.0.0.1:1/", "method: HEAD", "expected_status: [200, 3xx]",
			"timeout: 2s", "headers: {Authorization: Bearer x}"}, ""},
		{"no url", []string{"method: GET"}, "url: required"},
		{"bad scheme", []string{"url: ftp://files.example/"}, "url: want an http"},
		{"no host", []string{"url: http:///x"}, "url: want an http"},
		{"bad method", []string{"url: http://a.example/", "method: 'GE T'"}, "method"},
		{"bad status", []string{"url: http://a.example/", "expected_status: [700]"}, "expected_status"},
		{"bad class", []string{"url: http://a.example/", "expected_status: 6xx"}, "expected_status"},
		{"bad header", []string{"url: http://a.example/", "headers: {'X Y': 1}"}, "headers"},
		{"missing ca", []string{"url: https://a.example/", "ca_file: /nonexistent/ca.pem"}, "ca_file"},
		{"zero timeout", []string{"url: http://a.example/", "timeout: 0s"}, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := collector.New(srctest.Spec(t, Kind, tt.settings...), collector.Deps{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("new: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func BenchmarkCollect(b *testing.B) {
	srv := httptest.NewServer(&recorder{status: 200, body: "ok"})
	defer srv.Close()
	s := newSource(b, "url: "+srv.URL)

	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Collect(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCollect_TLS(b *testing.B) {
	srv := httptest.NewTLSServer(&recorder{status: 200, body: "ok"})
	defer srv.Close()
	s := newSource(b, "url: "+srv.URL, "tls_skip_verify: true")

	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Collect(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
