package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tend-dev/tend/bus"
)

// Mute explains why one alert was not sent on one route. It is kept in
// tend_state under mute.<fingerprint>.<route> while the alert is held back.
type Mute struct {
	Fingerprint string    `json:"fingerprint"`
	Route       int       `json:"route"`
	Reasons     []Reason  `json:"reasons"`
	Since       time.Time `json:"since"`
}

func muteKey(fp string, route int) string {
	return "mute." + keyToken(fp) + "." + strconv.Itoa(route)
}

// recordMutes stores the reasons of the members of one group that were
// held back, and removes the records of members that no longer are.
// Unchanged records are not written again.
func (n *Notifier) recordMutes(ctx context.Context, route int, fps []string, mutes map[string][]Reason,
	now time.Time) {
	kv := bus.KV{Bucket: n.kv}
	for _, fp := range fps {
		key := muteKey(fp, route)
		reasons := mutes[fp]
		n.mu.Lock()
		old, had := n.mutes[key]
		n.mu.Unlock()
		if len(reasons) == 0 {
			if had {
				_ = kv.Delete(ctx, key)
				n.setMute(key, "", false)
			}
			continue
		}
		m := Mute{Fingerprint: fp, Route: route, Reasons: reasons, Since: now.UTC()}
		if had {
			var prev Mute
			if json.Unmarshal([]byte(old), &prev) == nil {
				if sameReasons(prev.Reasons, reasons) {
					continue
				}
				m.Since = prev.Since
			}
		}
		b, _ := json.Marshal(m)
		if err := kv.Put(ctx, key, b); err != nil {
			n.log.Warn("record mute", "fingerprint", fp, "route", route, "error", err)
			continue
		}
		n.setMute(key, string(b), true)
		n.log.Info("alert muted", "fingerprint", fp, "route", route, "reason", reasons[0].String())
	}
}

func (n *Notifier) setMute(key, v string, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ok {
		n.mutes[key] = v
	} else {
		delete(n.mutes, key)
	}
}

func sameReasons(a, b []Reason) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kind != b[i].Kind || a[i].ID != b[i].ID || !a[i].Until.Equal(b[i].Until) {
			return false
		}
	}
	return true
}

// LoadMutes returns the mute records in tend_state by fingerprint, routes
// in order. Any hub can answer with it.
func LoadMutes(ctx context.Context, kv bus.KV) (map[string][]Mute, error) {
	keys, err := kv.Keys(ctx, "mute.>")
	if err != nil && !strings.Contains(err.Error(), "no keys") {
		return nil, err
	}
	out := map[string][]Mute{}
	for _, k := range keys {
		b, err := kv.Get(ctx, k)
		if errors.Is(err, bus.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var m Mute
		if json.Unmarshal(b, &m) == nil {
			out[m.Fingerprint] = append(out[m.Fingerprint], m)
		}
	}
	for _, ms := range out {
		sort.Slice(ms, func(i, j int) bool { return ms[i].Route < ms[j].Route })
	}
	return out, nil
}

// Why returns one line naming every reason in ms, e.g.
// "route 0: silence 3f2a1c (deploy)".
func Why(ms []Mute) string {
	var parts []string
	for _, m := range ms {
		rs := make([]string, len(m.Reasons))
		for i, r := range m.Reasons {
			rs[i] = r.Short()
		}
		parts = append(parts, "route "+strconv.Itoa(m.Route)+": "+strings.Join(rs, ", "))
	}
	return strings.Join(parts, "; ")
}

// Short names the reason without its end time: "window saturday".
func (r Reason) Short() string {
	if r.ID == "" {
		return r.Kind
	}
	return r.Kind + " " + r.ID
}
