// Package reportapi serves history imports and reports over HTTP:
// POST /api/v1/import loads samples through the collector's path, and
// GET /api/v1/report builds a report of a period from history, the alerts
// and runs on the bus, and the integrations' delivery health.
package reportapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/history"
	"github.com/tend-dev/tend/report"
	"github.com/tend-dev/tend/router"
)

// maxSince bounds a report's period: longer ones read nothing more (hourly
// rollups are kept 400 days by default) and overflow time arithmetic.
const maxSince = 400 * 24 * time.Hour

// Handler serves imports and reports.
type Handler struct {
	Store  *history.Store
	Bus    *bus.Bus
	Router *router.Router
}

// Register adds the routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/import", h.importSamples)
	mux.HandleFunc("GET /api/v1/report", h.report)
}

func (h *Handler) importSamples(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	res, err := h.Store.Import(r.Context(), r.Body, format)
	if errors.Is(err, history.ErrFormat) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error(),
			"hint": "format is csv (time,name,value[,host]) or jsonl (one JSON object a line)"})
		return
	}
	if errors.Is(err, bufio.ErrTooLong) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "a line is too long", "result": res,
			"hint": "one sample a line; lines are limited to 1 MiB"})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": err.Error(), "result": res})
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since := 24 * time.Hour
	if v := q.Get("since"); v != "" {
		d, err := config.ParseDuration(v)
		if err != nil || d == 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad since " + v,
				"hint": "since takes a duration such as 24h or 7d"})
			return
		}
		since = min(d, maxSince)
	}
	format := q.Get("format")
	if format == "" {
		format = report.FormatJSON
	}
	var metrics []string
	if v := q.Get("metrics"); v != "" {
		metrics = strings.Split(v, ",")
	}

	until := time.Now()
	in := report.Input{
		Name: "adhoc", Title: "tend report", Since: until.Add(-since), Until: until, Metrics: metrics,
	}
	rep, err := Build(r.Context(), h.Store, h.Bus, h.Router, in)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	switch format {
	case report.FormatJSON:
		w.Header().Set("Content-Type", "application/json")
	case report.FormatHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	if err := rep.Render(w, format); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error(),
			"hint": "format is table, json, summary, markdown or html"})
	}
}

// Build fills in's alerts, runs and integration health from the bus and
// the router, then builds the report from history.
func Build(ctx context.Context, store *history.Store, b *bus.Bus, rt *router.Router,
	in report.Input) (*report.Report, error) {
	alerts, runs, err := eventsSince(ctx, b, in.Since.Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	in.Alerts, in.Runs = alerts, runs
	if rt != nil {
		stats, err := rt.Stats(ctx)
		if err == nil {
			for name, typ := range rt.Integrations() {
				s := stats[name]
				in.Integrations = append(in.Integrations, report.IntegrationHealth{
					Name: name, Type: typ, Delivered: int(s.Delivered), Failed: int(s.FailedAttempts),
					Retries: int(s.Retried), DeadLettered: int(s.DeadLettered),
					P95Latency: time.Duration(s.P95 * float64(time.Second)), LastError: s.LastError,
					LastSuccess: s.LastSuccess,
				})
			}
		}
	}
	return report.Build(ctx, store, in)
}

// eventsSince reads alert and optimization events stored since t.
func eventsSince(ctx context.Context, b *bus.Bus, t time.Time) ([]events.Alert, []events.Run, error) {
	cons, err := b.JS.OrderedConsumer(ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.SubjectAlerts + ".>", events.SubjectOptimization + ".>"},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &t,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read events: %w", err)
	}
	var alerts []events.Alert
	var runs []events.Run
	for {
		batch, err := cons.FetchNoWait(1000)
		if err != nil {
			return nil, nil, fmt.Errorf("read events: %w", err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			ev, err := events.Unmarshal(msg.Data())
			if err != nil {
				continue
			}
			if ev.IsAlert() {
				var a events.Alert
				if ev.Decode(&a) == nil {
					alerts = append(alerts, a)
				}
				continue
			}
			var run events.Run
			if ev.Decode(&run) == nil {
				runs = append(runs, run)
			}
		}
		if n == 0 {
			return alerts, runs, nil
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
