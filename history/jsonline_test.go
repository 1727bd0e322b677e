package history

import (
	"reflect"
	"testing"
)

// TestParseJSONFast checks the fast path reads every line it accepts as
// encoding/json does, and hands the rest over.
func TestParseJSONFast(t *testing.T) {
	tests := []struct {
		line string
		fast bool // whether the fast path takes it
	}{
		{`{"name":"a.b","value":1.5,"time":"2026-03-01T10:00:00Z"}`, true},
		{` { "name" : "a.b" , "value" : -2e3 , "time" : 1772359200 , "host":"h", "unit":"ms" } `, true},
		{`{"name":"a.b","value":0,"time":1772359200123,"labels":{"mount":"/","dev":"sda"}}`, true},
		{`{"name":"a.b","value":1}`, true},                            // no time: an error either way
		{`{"name":"a.b","time":"2026-03-01T10:00:00Z"}`, true},        // no value
		{`{"name":"","value":1,"time":"2026-03-01T10:00:00Z"}`, true}, // no name
		{`{"name":"a\"b","value":1,"time":"2026-03-01T10:00:00Z"}`, false},
		{`{"name":"a.b","value":1,"time":"2026-03-01T10:00:00Z","extra":[1]}`, false},
		{`{"name":"a.b","value":null,"time":"2026-03-01T10:00:00Z"}`, false},
		{`{"name":"a.b","value":01,"time":"2026-03-01T10:00:00Z"}`, false},
		{`{"name":"a.b","value":+1,"time":"2026-03-01T10:00:00Z"}`, false},
		{`{"name":"a.b","value":"1","time":"2026-03-01T10:00:00Z"}`, false},
		{`{"name":"a.b","value":1,"time":"2026-03-01T10:00:00Z"} x`, false},
		{`{"name":"a.b","value":1,"time":"2026-03-01T10:00:00Z",}`, false},
		{`{"name":"a.b","value":1,"labels":{"a":1},"time":"2026-03-01T10:00:00Z"}`, false},
		{`[1,2]`, false},
	}
	im := &importer{strs: map[string]string{}}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			m, ok, err := im.parseJSONFast([]byte(tc.line))
			if ok != tc.fast {
				t.Fatalf("fast path took it: %v, want %v", ok, tc.fast)
			}
			if !ok {
				return
			}
			want, wantErr := parseJSONLine([]byte(tc.line))
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("error %v, encoding/json says %v", err, wantErr)
			}
			if err == nil && !reflect.DeepEqual(m, want) {
				t.Errorf("got %+v, encoding/json reads %+v", m, want)
			}
		})
	}
}
