package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/alerting"
	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/optimizer"
	"github.com/tend-dev/tend/router"
)

// Status is the answer of GET /api/v1/status.
type Status struct {
	Hub          string            `json:"hub"`
	Version      string            `json:"version"`
	Started      time.Time         `json:"started"`
	Uptime       string            `json:"uptime"`
	Config       string            `json:"config"`
	DataDir      string            `json:"data_dir"`
	Bus          string            `json:"bus"`
	Sources      int               `json:"sources"`
	Rules        int               `json:"rules"`
	Integrations map[string]string `json:"integrations"`
	Series       int               `json:"series"`
	LastSample   time.Time         `json:"last_sample,omitzero"`
	Samples      uint64            `json:"samples_published"`
	Firing       int               `json:"alerts_firing"`
	Optimizer    string            `json:"optimizer,omitempty"`
	Pending      int               `json:"alerts_pending"`
	Goroutines   int               `json:"goroutines"`
	HeapBytes    uint64            `json:"heap_bytes"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	cfg := s.d.Config
	st := Status{
		Hub: cfg.Hub, Version: s.d.Version, Started: s.d.Started,
		Uptime: time.Since(s.d.Started).Round(time.Second).String(),
		Config: cfg.File, DataDir: cfg.DataDir, Sources: len(cfg.Collector.Sources),
		Rules: len(cfg.Rules), Integrations: s.d.Router.Integrations(),
		Goroutines: runtime.NumGoroutine(),
	}
	if st.Config == "" {
		st.Config = "(built-in default)"
	}
	st.Bus = "embedded"
	if cfg.Bus.URL != "" {
		st.Bus = config.RedactURL(cfg.Bus.URL)
	} else if cfg.Bus.Listen != "" {
		st.Bus = "embedded, listening on " + cfg.Bus.Listen
	}
	all := s.d.Engine.Latest().All()
	st.Series = len(all)
	st.LastSample = s.d.Engine.Latest().Newest()
	st.Samples, _, _ = s.d.Collector.Snapshot()

	if alerts, err := optimizer.LoadAlerts(r.Context(), bus.KV{Bucket: s.d.Bus.State}); err == nil {
		for _, a := range alerts {
			switch a.Status {
			case "firing":
				st.Firing++
			case "pending":
				st.Pending++
			}
		}
	}
	if s.d.Optimizer != nil {
		st.Optimizer = s.d.Optimizer(r.Context())
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.HeapBytes = ms.HeapAlloc
	writeJSON(w, http.StatusOK, st)
}

// Point is one sample in a metric's history.
type Point struct {
	Time   time.Time         `json:"time"`
	Value  float64           `json:"value"`
	Host   string            `json:"host"`
	Labels map[string]string `json:"labels,omitempty"`
}

func (s *Server) latest(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.d.Engine.Latest().All())
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !events.ValidName(name) {
		writeError(w, http.StatusBadRequest, "bad metric name",
			fmt.Sprintf("metric names have 1 to %d characters", events.MaxNameLen))
		return
	}
	since := time.Hour
	if v := r.URL.Query().Get("since"); v != "" {
		d, err := config.ParseDuration(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), "since takes a duration such as 15m, 1h or 7d")
			return
		}
		since = min(d, 400*24*time.Hour)
	}
	limit := 10000
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, "bad limit "+strconv.Quote(v), "limit takes a positive number")
			return
		}
		limit = n
	}
	points, err := History(r.Context(), s.d.Bus, name, time.Now().Add(-since), limit)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"metric": name, "since": time.Now().Add(-since).UTC(), "points": points,
	})
}

// History reads a metric's samples since a time from METRICS, oldest first,
// keeping the newest limit points.
func History(ctx context.Context, b *bus.Bus, name string, since time.Time, limit int) ([]Point, error) {
	stream, err := b.JS.Stream(ctx, bus.StreamMetrics)
	if err != nil {
		return nil, fmt.Errorf("open metrics: %w", err)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.MetricFilter(name)},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &since,
	})
	if err != nil {
		return nil, fmt.Errorf("read metric %s: %w", name, err)
	}
	points := []Point{}
	for {
		batch, err := cons.FetchNoWait(2000)
		if err != nil {
			return nil, fmt.Errorf("read metric %s: %w", name, err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			ev, err := events.Unmarshal(msg.Data())
			if err != nil {
				continue
			}
			var m events.Metric
			if ev.Decode(&m) != nil {
				continue
			}
			points = append(points, Point{Time: m.Time, Value: m.Value, Host: m.Host, Labels: m.Labels})
		}
		if n == 0 {
			break
		}
	}
	if len(points) > limit {
		points = points[len(points)-limit:]
	}
	return points, nil
}

func (s *Server) alerts(w http.ResponseWriter, r *http.Request) {
	alerts, err := optimizer.LoadAlerts(r.Context(), bus.KV{Bucket: s.d.Bus.State})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	mutes, err := alerting.LoadMutes(r.Context(), bus.KV{Bucket: s.d.Bus.State})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	// Each alert with, if it was held back, why: silence, window,
	// inhibiting alert or flapping, per route.
	type view struct {
		optimizer.AlertState
		Muted []alerting.Mute `json:"muted,omitempty"`
	}
	out := make([]view, 0, len(alerts))
	for _, a := range alerts {
		out = append(out, view{AlertState: a, Muted: mutes[a.Fingerprint]})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) integrations(w http.ResponseWriter, r *http.Request) {
	stats, err := s.d.Router.Stats(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	out := []router.Stats{}
	for name, typ := range s.d.Router.Integrations() {
		st, ok := stats[name]
		if !ok {
			st = router.Stats{Integration: name, Health: router.HealthOK}
		}
		st.Type = typ
		out = append(out, st)
	}
	sortStats(out)
	writeJSON(w, http.StatusOK, out)
}

// TestResult is the answer of POST /api/v1/integrations/{name}/test.
type TestResult struct {
	Integration string           `json:"integration"`
	EventID     string           `json:"event_id"`
	Outcome     string           `json:"outcome"`
	Attempts    []router.Attempt `json:"attempts"`
	Latency     string           `json:"latency"`
}

func (s *Server) testIntegration(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, ok := s.d.Router.Integrations()[name]; !ok {
		writeError(w, http.StatusNotFound, "no integration named "+strconv.Quote(name), "see tend integrations")
		return
	}
	ev, err := events.New(events.TypeTest, "tend://"+s.d.Config.Hub+"/cli", name,
		events.Test{Integration: name,
			Message: "This is a test message from tend: if you read it, " + name + " works."})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 50*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.d.Bus.PublishTo(ctx, events.SubjectTest+"."+events.Token(name), ev); err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error(), "")
		return
	}

	// Answer with the first attempt's outcome: a retry may be minutes away,
	// and the caller wants to know now why it did not go through.
	res := TestResult{Integration: name, EventID: ev.ID, Outcome: "pending"}
	for ctx.Err() == nil {
		attempts, err := router.Deliveries(ctx, s.d.Bus, router.DeliveryQuery{
			Integration: name, EventID: ev.ID, Since: start.Add(-time.Second)})
		if err == nil && len(attempts) > 0 {
			last := attempts[len(attempts)-1]
			res.Attempts, res.Outcome = attempts, last.Outcome
			res.Latency = last.Latency.Round(time.Microsecond).String()
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) dl() router.DeadLetters { return router.DeadLetters{B: s.d.Bus} }

func (s *Server) deadLetters(w http.ResponseWriter, r *http.Request) {
	list, err := s.dl().List(r.Context(), r.URL.Query().Get("integration"))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	if list == nil {
		list = []router.DeadLetter{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) deadLetterID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad dead letter id "+strconv.Quote(r.PathValue("id")),
			"ids are the numbers tend deadletters list shows")
		return 0, false
	}
	return id, true
}

func (s *Server) deadLetter(w http.ResponseWriter, r *http.Request) {
	id, ok := s.deadLetterID(w, r)
	if !ok {
		return
	}
	dl, err := s.dl().Get(r.Context(), id)
	if errors.Is(err, router.ErrNoDeadLetter) {
		writeError(w, http.StatusNotFound, err.Error(), "see tend deadletters list")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	writeJSON(w, http.StatusOK, dl)
}

func (s *Server) replayDeadLetter(w http.ResponseWriter, r *http.Request) {
	id, ok := s.deadLetterID(w, r)
	if !ok {
		return
	}
	dl, err := s.dl().Replay(r.Context(), id)
	if errors.Is(err, router.ErrNoDeadLetter) {
		writeError(w, http.StatusNotFound, err.Error(), "it may have been replayed or purged already")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"replayed": []router.DeadLetter{dl}})
}

func (s *Server) replayDeadLetters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	integration := q.Get("integration")
	if integration == "" && q.Get("all") != "true" {
		writeError(w, http.StatusBadRequest, "say which dead letters to replay",
			"pass integration=NAME or all=true")
		return
	}
	if _, ok := s.d.Router.Integrations()[integration]; integration != "" && !ok {
		writeError(w, http.StatusNotFound, "no integration named "+strconv.Quote(integration),
			"see tend integrations; dead letters of a removed integration can only be purged")
		return
	}
	done, err := s.dl().ReplayAll(r.Context(), integration)
	if done == nil {
		done = []router.DeadLetter{}
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"replayed": done, "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"replayed": done})
}

func (s *Server) purgeDeadLetters(w http.ResponseWriter, r *http.Request) {
	n, err := s.dl().Purge(r.Context(), r.URL.Query().Get("integration"))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"purged": n})
}

func (s *Server) deliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	dq := router.DeliveryQuery{
		Integration: q.Get("integration"), Fingerprint: q.Get("fingerprint"),
		EventID: q.Get("event_id"), Limit: 1000,
	}
	if v := q.Get("since"); v != "" {
		d, err := config.ParseDuration(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), "since takes a duration such as 15m or 24h")
			return
		}
		dq.Since = time.Now().Add(-min(d, 400*24*time.Hour))
	}
	if v := q.Get("limit"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			dq.Limit = n
		}
	}
	list, err := router.Deliveries(r.Context(), s.d.Bus, dq)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	if list == nil {
		list = []router.Attempt{}
	}
	writeJSON(w, http.StatusOK, list)
}
