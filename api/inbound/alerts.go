package inbound

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/tend-dev/tend/events"
)

// maxAlerts bounds the alerts of one request; Alertmanager truncates a
// larger group itself (truncatedAlerts).
const maxAlerts = 1000

// kindExternal marks alerts raised outside tend.
const kindExternal = "external"

// serveAlerts handles POST /hooks/alerts/{name}.
func (h *Handler) serveAlerts(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	log := h.log.With("alert_source", clip(name, 64), "remote_addr", r.RemoteAddr)

	body, ok := h.readBody(w, r, log)
	if !ok {
		return
	}
	src, known := h.alerts[name]
	if !known || !src.allow(r.Header, body) {
		reason := errBadCredential.Error()
		if !known {
			reason = "unknown source"
		}
		log.Warn("alerts rejected", "reason", reason)
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}
	alerts, err := ParseAlerts(body)
	if err != nil {
		log.Warn("bad alert payload", "error", err)
		http.Error(w, "bad alert payload: "+err.Error(), http.StatusBadRequest)
		return
	}

	now := h.now().UTC()
	evs := make([]events.Event, 0, len(alerts))
	ids := make([]string, 0, len(alerts))
	for _, a := range alerts {
		id := AlertID(a)
		if a.StartsAt.IsZero() {
			a.StartsAt = now
		}
		typ := events.TypeAlertFiring
		if a.Status == events.StatusResolved {
			typ = events.TypeAlertResolved
		}
		ev, err := events.New(typ, "inbound/alerts/"+name, events.AlertSubject(a.Status, a.Fingerprint), a)
		if err != nil {
			log.Error("encode alert", "fingerprint", a.Fingerprint, "error", err)
			http.Error(w, "cannot encode alert", http.StatusInternalServerError)
			return
		}
		ev.ID = id
		evs = append(evs, ev)
		ids = append(ids, id)
	}
	if err := h.publish(r.Context(), evs...); err != nil {
		log.Error("store alerts", "count", len(evs), "error", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	log.Info("alerts accepted", "count", len(evs))
	writeJSON(w, http.StatusAccepted, answer{Status: "accepted", Events: ids})
}

// allow reports whether the request carries this source's bearer token or
// a valid X-Tend-Signature of body, comparing in constant time.
func (a AlertSource) allow(hdr http.Header, body []byte) bool {
	if a.Token != "" {
		auth := hdr.Get("Authorization")
		if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") &&
			equalSecret(strings.TrimSpace(auth[7:]), string(a.Token)) {
			return true
		}
	}
	if a.HMACSecret != "" {
		sig, ok := strings.CutPrefix(hdr.Get("X-Tend-Signature"), "sha256=")
		got, err := hex.DecodeString(sig)
		if ok && err == nil {
			mac := hmac.New(sha256.New, []byte(a.HMACSecret))
			mac.Write(body)
			return hmac.Equal(got, mac.Sum(nil))
		}
	}
	return false
}

// equalSecret compares digests, so neither content nor length leaks
// through timing.
func equalSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// AlertID is the event id of an inbound alert: stable per fingerprint,
// status and start, so a resent alert is dropped by JetStream as a
// duplicate while its resolution is a new event.
func AlertID(a events.Alert) string {
	h := sha256.New()
	h.Write([]byte(a.Fingerprint))
	h.Write([]byte{0})
	h.Write([]byte(a.Status))
	h.Write([]byte{0})
	h.Write([]byte(a.StartsAt.UTC().Format(time.RFC3339Nano)))
	return "alert-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// ParseAlerts reads an alert request body: tend's own alert JSON (one
// [events.Alert] or a list of them) or an Alertmanager webhook payload
// (version 4, or Grafana's version 1 of the same shape). It returns the
// alerts as tend alerts of kind external, each fingerprinted from its rule
// (alertname) and labels; a fingerprint sent along is not trusted. It
// returns an error naming the first thing it cannot use.
func ParseAlerts(body []byte) ([]events.Alert, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, errors.New("empty body")
	}

	var raw []events.Alert
	switch body[0] {
	case '[':
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, fmt.Errorf("decode alert list: %w", err)
		}
	case '{':
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(body, &probe); err != nil {
			return nil, fmt.Errorf("decode alert: %w", err)
		}
		if isAlertmanager(probe) {
			return parseAlertmanager(body)
		}
		var a events.Alert
		if err := json.Unmarshal(body, &a); err != nil {
			return nil, fmt.Errorf("decode alert: %w", err)
		}
		raw = []events.Alert{a}
	default:
		return nil, errors.New("want a JSON object or list")
	}

	var out []events.Alert
	for i, a := range raw {
		// A group notification carries its members; take them one by one.
		members := []events.Alert{a}
		if len(a.Alerts) > 0 {
			members = a.Alerts
		}
		for _, m := range members {
			if len(out) == maxAlerts {
				return nil, fmt.Errorf("more than %d alerts", maxAlerts)
			}
			m, err := normalize(m)
			if err != nil {
				return nil, fmt.Errorf("alert %d: %w", i, err)
			}
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no alerts")
	}
	return out, nil
}

// normalize checks a tend alert from outside and fills what tend relies on.
func normalize(a events.Alert) (events.Alert, error) {
	if a.Rule == "" {
		return a, errors.New("rule is required")
	}
	if a.Status != events.StatusFiring && a.Status != events.StatusResolved {
		return a, fmt.Errorf("status %q: want firing or resolved", clip(a.Status, 32))
	}
	a.Alerts = nil
	a.Kind = kindExternal
	a.Fingerprint = events.Fingerprint(a.Rule, a.Labels)
	if a.Severity == "" {
		a.Severity = "warning"
	}
	if a.Summary == "" {
		a.Summary = a.Rule
	}
	return a, nil
}

func isAlertmanager(probe map[string]json.RawMessage) bool {
	for _, k := range []string{"version", "groupKey", "receiver"} {
		if _, ok := probe[k]; ok {
			return true
		}
	}
	return false
}

// amPayload is the Alertmanager webhook body; Grafana sends the same shape
// with a few more fields.
type amPayload struct {
	Version     string    `json:"version"`
	GroupKey    string    `json:"groupKey"`
	Status      string    `json:"status"`
	Receiver    string    `json:"receiver"`
	ExternalURL string    `json:"externalURL"`
	Alerts      []amAlert `json:"alerts"`
}

type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	DashboardURL string            `json:"dashboardURL"`
	PanelURL     string            `json:"panelURL"`
	SilenceURL   string            `json:"silenceURL"`
}

func parseAlertmanager(body []byte) ([]events.Alert, error) {
	var p amPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("decode alertmanager payload: %w", err)
	}
	if p.Version != "4" && p.Version != "1" {
		return nil, fmt.Errorf("alertmanager payload version %q: want 4", clip(p.Version, 16))
	}
	switch {
	case len(p.Alerts) == 0:
		return nil, errors.New("no alerts")
	case len(p.Alerts) > maxAlerts:
		return nil, fmt.Errorf("more than %d alerts", maxAlerts)
	}

	out := make([]events.Alert, 0, len(p.Alerts))
	for i, am := range p.Alerts {
		a, err := am.alert(p.ExternalURL)
		if err != nil {
			return nil, fmt.Errorf("alert %d: %w", i, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func (am amAlert) alert(externalURL string) (events.Alert, error) {
	rule := am.Labels["alertname"]
	if rule == "" {
		return events.Alert{}, errors.New("label alertname is required")
	}
	if am.Status != events.StatusFiring && am.Status != events.StatusResolved {
		return events.Alert{}, fmt.Errorf("status %q: want firing or resolved", clip(am.Status, 32))
	}

	a := events.Alert{
		Fingerprint: events.Fingerprint(rule, am.Labels),
		Rule:        rule,
		Kind:        kindExternal,
		Status:      am.Status,
		Severity:    first(am.Labels["severity"], "warning"),
		Summary:     first(am.Annotations["summary"], am.Annotations["title"], rule),
		Description: first(am.Annotations["description"], am.Annotations["message"]),
		Host:        first(am.Labels["host"], am.Labels["instance"]),
		Labels:      maps.Clone(am.Labels),
		Annotations: maps.Clone(am.Annotations),
		StartsAt:    am.StartsAt,
	}
	if am.Status == events.StatusResolved && !am.EndsAt.IsZero() {
		end := am.EndsAt
		a.EndsAt = &end
	}
	links := map[string]string{}
	for k, v := range map[string]string{
		"source":       am.GeneratorURL,
		"alertmanager": externalURL,
		"dashboard":    am.DashboardURL,
		"panel":        am.PanelURL,
		"silence":      am.SilenceURL,
	} {
		if v != "" {
			links[k] = v
		}
	}
	if len(links) > 0 {
		a.Links = links
	}
	return a, nil
}

// first returns the first non-empty string.
func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
