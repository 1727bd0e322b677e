package events

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
)

// Subject roots on the bus.
const (
	SubjectMetrics      = "tend.metric"
	SubjectAlerts       = "tend.alert"
	SubjectOptimization = "tend.optimization"
	SubjectTrigger      = "tend.trigger"
	SubjectReport       = "tend.report"
	SubjectTest         = "tend.test"
	SubjectReplay       = "tend.replay"
	SubjectDeadLetter   = "tend.deadletter"
	SubjectDelivery     = "tend.delivery"
)

// MaxNameLen bounds metric names and other identifiers that become part
// of a subject or a KV key: NATS closes a connection that sends a control
// line over 4 KiB, which would cut a hub off its own bus.
const MaxNameLen = 256

// ValidName reports whether a metric name (or another identifier put into a
// subject) is short enough to travel on the bus.
func ValidName(s string) bool { return s != "" && len(s) <= MaxNameLen }

// Token makes s safe as one NATS subject token: dots, wildcards and
// whitespace become underscores, and an empty string becomes "_".
func Token(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\n', '\r':
			return '_'
		}
		return r
	}, s)
}

// MetricSubject returns tend.metric.<host>.<source>.<name>, where name keeps
// its dots so a filter such as tend.metric.*.probe.value finds one metric on
// every host. fullName is "<source>.<name>".
func MetricSubject(host, fullName string) string {
	return SubjectMetrics + "." + Token(host) + "." + nameTokens(fullName)
}

// MetricFilter returns the subject filter for one metric on every host.
func MetricFilter(fullName string) string {
	return SubjectMetrics + ".*." + nameTokens(fullName)
}

func nameTokens(fullName string) string {
	parts := strings.Split(fullName, ".")
	for i, p := range parts {
		parts[i] = Token(p)
	}
	return strings.Join(parts, ".")
}

// AlertSubject returns tend.alert.<status>.<fingerprint>.
func AlertSubject(status, fingerprint string) string {
	return SubjectAlerts + "." + Token(status) + "." + Token(fingerprint)
}

// SubjectFor returns the subject an event of type typ travels on, keyed by
// key (a fingerprint, run id or integration name).
func SubjectFor(typ, key string) string {
	kind := strings.TrimPrefix(typ, TypePrefix)
	return "tend." + kind + "." + Token(key)
}

// Fingerprint returns a stable hash of a rule name and labels. The same rule
// on the same series always gets the same fingerprint, whatever the map order.
func Fingerprint(rule string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	h := sha256.New()
	h.Write([]byte(rule))
	for _, k := range keys {
		h.Write([]byte{0})
		h.Write([]byte(k))
		h.Write([]byte{1})
		h.Write([]byte(labels[k]))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// SeriesKey returns a stable identity for a metric name and its labels.
func SeriesKey(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteString(`="`)
		b.WriteString(labels[k])
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// SubjectNotify is the root of group notifications: what the alerting stage
// decided to send for one route, on tend.notify.<route index>.<group key>.
const SubjectNotify = "tend.notify"

// NotifySubject returns tend.notify.<route>.<group>, route being the index
// of the route in the config.
func NotifySubject(route int, group string) string {
	return SubjectNotify + "." + strconv.Itoa(route) + "." + Token(group)
}

// NotifyRoute returns the route index a notification subject names.
func NotifyRoute(subject string) (int, bool) {
	rest, ok := strings.CutPrefix(subject, SubjectNotify+".")
	if !ok {
		return 0, false
	}
	idx, _, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(idx)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
