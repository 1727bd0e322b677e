package router

import (
	"slices"
	"testing"

	"github.com/tend-dev/tend/config"
)

func TestFilterSubjects_NotificationsPerRoute(t *testing.T) {
	routes := []config.Route{
		{Match: config.Match{Type: []string{"optimization"}}, To: []string{"a"}},
		{Match: config.Match{Type: []string{"alert.firing"}}, To: []string{"a", "b"}},
		{To: []string{"b"}},
	}
	got := filterSubjects("a", routes)
	want := []string{"tend.alert.firing.>", "tend.notify.1.>", "tend.optimization.>", "tend.replay.a", "tend.test.a"}
	if !slices.Equal(got, want) {
		t.Fatalf("a: got %v, want %v", got, want)
	}
	got = filterSubjects("b", routes)
	for _, s := range []string{"tend.notify.1.>", "tend.notify.2.>", "tend.alert.>"} {
		if !slices.Contains(got, s) {
			t.Fatalf("b: %v lacks %s", got, s)
		}
	}
}

func TestTakesAlerts(t *testing.T) {
	cases := []struct {
		types []string
		want  bool
	}{
		{nil, true},
		{[]string{"alert"}, true},
		{[]string{"dev.tend.alert.resolved"}, true},
		{[]string{"optimization", "alert.firing"}, true},
		{[]string{"optimization.completed"}, false},
		{[]string{"report"}, false},
	}
	for _, c := range cases {
		if got := TakesAlerts(config.Match{Type: c.types}); got != c.want {
			t.Errorf("TakesAlerts(%v) = %v, want %v", c.types, got, c.want)
		}
	}
}
