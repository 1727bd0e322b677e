package alerting

import "testing"

func TestMatcher_Matches(t *testing.T) {
	labels := map[string]string{"host": "db1", "rule": "disk_full", "mount": "/var"}
	cases := []struct {
		name    string
		matcher string
		want    bool
	}{
		{"equal", "host=db1", true},
		{"equal other", "host=db2", false},
		{"not equal", "host!=db2", true},
		{"not equal same", "host!=db1", false},
		{"regex", "rule=~disk_.*", true},
		{"regex anchored", "rule=~disk", false},
		{"regex alternation", "host=~db1|db2", true},
		{"not regex", "rule!~cpu.*", true},
		{"missing label equals empty", "team=", true},
		{"missing label not equal", "team!=ops", true},
		{"quoted value", `mount="/var"`, true},
		{"spaces", " host = db1 ", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseMatcher(c.matcher)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Matches(labels); got != c.want {
				t.Fatalf("%s on %v = %v, want %v", c.matcher, labels, got, c.want)
			}
		})
	}
}

func TestParseMatcher_Errors(t *testing.T) {
	for _, bad := range []string{"", "host", "=db1", "host~db1", "rule=~disk_(", "!=x"} {
		if _, err := ParseMatcher(bad); err == nil {
			t.Errorf("ParseMatcher(%q) accepted", bad)
		}
	}
}

func TestParseMatchers_CommasAndEscapes(t *testing.T) {
	ms, err := ParseMatchers(`host=db1,rule=~a\,b|c`, "severity=critical")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"host=db1", "rule=~a,b|c", "severity=critical"}
	got := ms.Strings()
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if !ms.Matches(map[string]string{"host": "db1", "rule": "a,b", "severity": "critical"}) {
		t.Fatal("all three should match")
	}
}
