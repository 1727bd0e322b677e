package events

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SpecVersion is the CloudEvents version tend speaks.
const SpecVersion = "1.0"

// Event types. Every type starts with [TypePrefix]; routes may name a type
// without it ("alert" matches every alert event).
const (
	TypePrefix = "dev.tend."

	TypeMetric        = "dev.tend.metric"
	TypeAlertFiring   = "dev.tend.alert.firing"
	TypeAlertResolved = "dev.tend.alert.resolved"

	TypeOptimizationRequested = "dev.tend.optimization.requested"
	TypeOptimizationStarted   = "dev.tend.optimization.started"
	TypeOptimizationCompleted = "dev.tend.optimization.completed"
	TypeOptimizationFailed    = "dev.tend.optimization.failed"

	TypeTriggerGitHub = "dev.tend.trigger.github"
	TypeTriggerSlack  = "dev.tend.trigger.slack"
	TypeReport        = "dev.tend.report"
	TypeTest          = "dev.tend.test"
)

// Event is a CloudEvents 1.0 event in structured JSON form. ID is also sent as
// the Nats-Msg-Id header, so JetStream drops a republished copy.
type Event struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject,omitempty"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
}

// New returns an event of type typ from source, with a fresh ID, the current
// time and data encoded as JSON. It returns an error only if data cannot be
// encoded.
func New(typ, source, subject string, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("encode %s data: %w", typ, err)
	}
	return Event{
		SpecVersion:     SpecVersion,
		ID:              NewID(),
		Source:          source,
		Type:            typ,
		Subject:         subject,
		Time:            time.Now().UTC(),
		DataContentType: "application/json",
		Data:            raw,
	}, nil
}

// NewID returns a random 128-bit identifier in hex.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Decode unmarshals the event's data into v.
func (e Event) Decode(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("decode %s data of event %s: %w", e.Type, e.ID, err)
	}
	return nil
}

// Kind returns the type without [TypePrefix], e.g. "alert.firing".
func (e Event) Kind() string {
	return strings.TrimPrefix(e.Type, TypePrefix)
}

// IsAlert reports whether the event is an alert state change.
func (e Event) IsAlert() bool {
	return strings.HasPrefix(e.Type, TypePrefix+"alert.")
}

// MatchesType reports whether the event's type is t, or lies under t. The
// prefix [TypePrefix] may be left out of t: "alert" matches
// "dev.tend.alert.firing", as does "alert.firing".
func (e Event) MatchesType(t string) bool {
	if t == "" {
		return true
	}
	if !strings.HasPrefix(t, TypePrefix) {
		t = TypePrefix + t
	}
	return e.Type == t || strings.HasPrefix(e.Type, t+".")
}

// Marshal encodes the event as one line of JSON.
func (e Event) Marshal() ([]byte, error) {
	return json.Marshal(e)
}

// Unmarshal decodes an event and checks the fields every event must carry.
func Unmarshal(b []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("decode event: %w", err)
	}
	if e.ID == "" || e.Type == "" {
		return Event{}, fmt.Errorf("decode event: id and type are required")
	}
	return e, nil
}
