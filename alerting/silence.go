package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/events"
)

// Silence mutes the alerts its matchers select from StartsAt until EndsAt.
// Silences live in tend_state under silence.<id>, so every hub sees them
// and they survive restarts.
type Silence struct {
	ID        string    `json:"id"`
	Matchers  []string  `json:"matchers"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	Comment   string    `json:"comment,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`

	matchers Matchers
}

// Active reports whether the silence mutes at t.
func (s *Silence) Active(t time.Time) bool {
	return !t.Before(s.StartsAt) && t.Before(s.EndsAt)
}

// State is "active", "pending" or "expired" at t.
func (s *Silence) State(t time.Time) string {
	switch {
	case t.Before(s.StartsAt):
		return "pending"
	case s.Active(t):
		return "active"
	}
	return "expired"
}

// Mutes reports whether the silence mutes an alert with labels at t.
func (s *Silence) Mutes(labels map[string]string, t time.Time) bool {
	return s.Active(t) && len(s.matchers) > 0 && s.matchers.Matches(labels)
}

func (s *Silence) compile() error {
	ms, err := ParseMatchers(s.Matchers...)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		return errors.New("a silence needs at least one matcher")
	}
	s.matchers, s.Matchers = ms, ms.Strings()
	return nil
}

func silenceKey(id string) string { return "silence." + id }

// expiredKept is how long an expired silence stays listed.
const expiredKept = 24 * time.Hour

// Silences reads and writes silences in tend_state. It is safe for
// concurrent use; every method does I/O and takes a context.
type Silences struct {
	KV  bus.KV
	Now func() time.Time
}

func (s Silences) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Add stores a new silence built from matchers, lasting d from now, and
// returns it. Bad matchers or a non-positive duration are errors.
func (s Silences) Add(ctx context.Context, matchers []string, d time.Duration, comment, by string) (Silence, error) {
	if d <= 0 {
		return Silence{}, errors.New("a silence needs a positive duration")
	}
	now := s.now().UTC()
	sil := Silence{
		ID: events.NewID()[:12], Matchers: matchers, StartsAt: now, EndsAt: now.Add(d),
		Comment: comment, CreatedBy: by, CreatedAt: now,
	}
	if err := sil.compile(); err != nil {
		return Silence{}, err
	}
	if err := s.put(ctx, sil); err != nil {
		return Silence{}, err
	}
	return sil, nil
}

func (s Silences) put(ctx context.Context, sil Silence) error {
	b, err := json.Marshal(sil)
	if err != nil {
		return fmt.Errorf("encode silence %s: %w", sil.ID, err)
	}
	if err := s.KV.Put(ctx, silenceKey(sil.ID), b); err != nil {
		return fmt.Errorf("store silence %s: %w", sil.ID, err)
	}
	return nil
}

// Get returns one silence, or [ErrNoSilence].
func (s Silences) Get(ctx context.Context, id string) (Silence, error) {
	if id == "" || strings.ContainsAny(id, ".*> ") {
		return Silence{}, fmt.Errorf("silence %q: %w", id, ErrNoSilence)
	}
	b, err := s.KV.Get(ctx, silenceKey(id))
	if errors.Is(err, bus.ErrNotFound) {
		return Silence{}, fmt.Errorf("silence %q: %w", id, ErrNoSilence)
	}
	if err != nil {
		return Silence{}, err
	}
	return decodeSilence(b)
}

func decodeSilence(b []byte) (Silence, error) {
	var sil Silence
	if err := json.Unmarshal(b, &sil); err != nil {
		return Silence{}, fmt.Errorf("decode silence: %w", err)
	}
	if err := sil.compile(); err != nil {
		return Silence{}, fmt.Errorf("silence %s: %w", sil.ID, err)
	}
	return sil, nil
}

// Expire ends a silence now and returns it; an expired one stays expired.
func (s Silences) Expire(ctx context.Context, id string) (Silence, error) {
	sil, err := s.Get(ctx, id)
	if err != nil {
		return Silence{}, err
	}
	now := s.now().UTC()
	if sil.EndsAt.After(now) {
		sil.EndsAt = now
		if sil.StartsAt.After(now) {
			sil.StartsAt = now
		}
		if err := s.put(ctx, sil); err != nil {
			return Silence{}, err
		}
	}
	return sil, nil
}

// List returns every silence, newest first, dropping ones expired for over
// a day.
func (s Silences) List(ctx context.Context) ([]Silence, error) {
	keys, err := s.KV.Keys(ctx, "silence.>")
	if err != nil && !strings.Contains(err.Error(), "no keys") {
		return nil, err
	}
	now := s.now()
	out := []Silence{}
	for _, k := range keys {
		b, err := s.KV.Get(ctx, k)
		if err != nil {
			continue
		}
		sil, err := decodeSilence(b)
		if err != nil {
			continue
		}
		if now.Sub(sil.EndsAt) > expiredKept {
			_ = s.KV.Delete(ctx, k)
			continue
		}
		out = append(out, sil)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}
