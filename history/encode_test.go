package history

import (
	"reflect"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
)

func TestAppendMetricEvent(t *testing.T) {
	ms := []events.Metric{
		{Host: "web-1", Source: "host", Name: "host.cpu.percent", Value: 12.5,
			Time: time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)},
		{Host: `we"b`, Source: "disk", Name: "disk.used", Value: -1.5e-9, Unit: "bytes",
			Labels: map[string]string{"mount": "/", "dév": "<a&b>"},
			Time:   time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)},
		{Host: "h", Source: "x", Name: "x.big", Value: 3e22, Time: time.Unix(0, 0).UTC()},
	}
	for _, m := range ms {
		b := appendMetricEvent(nil, "id-1", "tend://h/import", &m)
		ev, err := events.Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if ev.Type != events.TypeMetric || ev.ID != "id-1" || ev.Subject != m.Name ||
			!ev.Time.Equal(m.Time) || ev.SpecVersion != events.SpecVersion {
			t.Errorf("envelope = %+v", ev)
		}
		var got events.Metric
		if err := ev.Decode(&got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("metric = %+v, want %+v", got, m)
		}
	}
}
