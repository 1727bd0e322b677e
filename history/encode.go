package history

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tend-dev/tend/events"
)

// appendMetricEvent appends the metric event for m, the same JSON
// events.Event.Marshal writes for events.New(events.TypeMetric, ...), built
// by hand: an import encodes millions of them and encoding/json would
// double the cost. m.Value must be finite.
func appendMetricEvent(b []byte, id, source string, m *events.Metric) []byte {
	var tsBuf [40]byte
	ts := m.Time.UTC().AppendFormat(tsBuf[:0], time.RFC3339Nano)
	b = append(b, `{"specversion":"1.0","id":`...)
	b = appendString(b, id)
	b = append(b, `,"source":`...)
	b = appendString(b, source)
	b = append(b, `,"type":"dev.tend.metric","subject":`...)
	b = appendString(b, m.Name)
	b = append(b, `,"time":"`...)
	b = append(b, ts...)
	b = append(b, `","datacontenttype":"application/json","data":{"host":`...)
	b = appendString(b, m.Host)
	b = append(b, `,"source":`...)
	b = appendString(b, m.Source)
	b = append(b, `,"name":`...)
	b = appendString(b, m.Name)
	b = append(b, `,"value":`...)
	b = appendFloat(b, m.Value)
	if m.Unit != "" {
		b = append(b, `,"unit":`...)
		b = appendString(b, m.Unit)
	}
	if len(m.Labels) > 0 {
		keys := make([]string, 0, len(m.Labels))
		for k := range m.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, `,"labels":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, m.Labels[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"time":"`...)
	b = append(b, ts...)
	return append(b, `"}}`...)
}

// appendFloat writes v as encoding/json does.
func appendFloat(b []byte, v float64) []byte {
	abs := math.Abs(v)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, v, format, -1, 64)
}

// appendString writes s as a JSON string; plain ASCII takes the short way.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' ||
			c >= utf8.RuneSelf {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
