package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/collector"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/optimizer"
	"github.com/tend-dev/tend/router"
)

// Deps are the running parts the API reports on and drives.
type Deps struct {
	Config    *config.Config
	Bus       *bus.Bus
	Engine    *optimizer.Engine
	Router    *router.Router
	Collector *collector.Stats
	Logger    *slog.Logger
	Version   string
	Started   time.Time
	// Mount adds more handlers (optimizer, inbound hooks, reports).
	Mount []func(mux *http.ServeMux)
	// Optimizer, if set, describes automatic optimization in the status.
	Optimizer func(ctx context.Context) string
}

// Server is the HTTP API.
type Server struct {
	d   Deps
	mux *http.ServeMux
	srv *http.Server
	ln  net.Listener
}

// New builds the server and its routes; Listen opens the port.
func New(d Deps) *Server {
	s := &Server{d: d, mux: http.NewServeMux()}
	s.routes()
	for _, m := range d.Mount {
		m(s.mux)
	}
	s.srv = &http.Server{
		Handler:           limitURL(s.mux),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(d.Logger.Handler(), slog.LevelDebug),
	}
	return s
}

// Handler returns the routes, for tests.
func (s *Server) Handler() http.Handler { return limitURL(s.mux) }

// maxURL bounds a request's path and query. Names in them end up in bus
// subjects, and NATS drops a connection whose control line passes 4 KiB.
const maxURL = 2048

func limitURL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.EscapedPath())+len(r.URL.RawQuery) > maxURL {
			writeError(w, http.StatusRequestURITooLong, "request URL too long",
				fmt.Sprintf("names and filters are limited to %d characters", events.MaxNameLen))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Listen opens addr; it returns the address actually bound.
func (s *Server) Listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.ln = ln
	return ln.Addr().String(), nil
}

// Run serves until ctx ends, then shuts down within 3 s.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve api: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if !s.d.Bus.Conn.IsConnected() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("bus " + s.d.Bus.Conn.Status().String() + "\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	m.HandleFunc("GET /api/v1/status", s.status)
	m.HandleFunc("GET /api/v1/metrics", s.latest)
	m.HandleFunc("GET /api/v1/metrics/{name}", s.history)
	m.HandleFunc("GET /api/v1/alerts", s.alerts)
	m.HandleFunc("GET /metrics", s.prometheus)

	m.HandleFunc("GET /api/v1/integrations", s.integrations)
	m.HandleFunc("POST /api/v1/integrations/{name}/test", s.testIntegration)

	m.HandleFunc("GET /api/v1/deadletters", s.deadLetters)
	m.HandleFunc("DELETE /api/v1/deadletters", s.purgeDeadLetters)
	m.HandleFunc("GET /api/v1/deadletters/{id}", s.deadLetter)
	m.HandleFunc("POST /api/v1/deadletters/{id}/replay", s.replayDeadLetter)
	m.HandleFunc("POST /api/v1/deadletters/replay", s.replayDeadLetters)

	m.HandleFunc("GET /api/v1/deliveries", s.deliveries)

	// Profiles only when asked for: they show internals to anyone who can
	// reach the API.
	if os.Getenv("TEND_PPROF") == "1" {
		m.HandleFunc("GET /debug/pprof/", pprof.Index)
		m.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		m.HandleFunc("GET /debug/pprof/heap", pprof.Index)
	}
}

// Problem is the JSON error body of every failed API call.
type Problem struct {
	Error string `json:"error"`
	Hint  string `json:"hint,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg, hint string) {
	writeJSON(w, code, Problem{Error: msg, Hint: hint})
}
