package inbound

import (
	"fmt"
	"strings"
	"testing"
)

func TestFindOptimize(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		found bool
		want  Optimize
		err   string
	}{
		{"bare", "/tend optimize", true, Optimize{}, ""},
		{"tasks and level", "/tend optimize database cache --level high", true,
			Optimize{Tasks: []string{"database", "cache"}, Level: "high"}, ""},
		{"level first, equals", "/tend optimize --level=LOW database", true,
			Optimize{Tasks: []string{"database"}, Level: "low"}, ""},
		{"short flag", "/tend optimize -l aggressive", true, Optimize{Level: "aggressive"}, ""},
		{"repeated task", "/tend optimize db db", true, Optimize{Tasks: []string{"db"}}, ""},
		{"among other lines", "hi\r\n  /tend   optimize\tdb  \r\nbye", true, Optimize{Tasks: []string{"db"}}, ""},
		{"first command counts", "/tend optimize a\n/tend optimize b", true, Optimize{Tasks: []string{"a"}}, ""},
		{"none", "please /tend optimize", false, Optimize{}, ""},
		{"quoted", "> /tend optimize", false, Optimize{}, ""},
		{"prefix word", "/tendency optimize", false, Optimize{}, ""},
		{"empty", "", false, Optimize{}, ""},
		{"other subcommand", "/tend status", true, Optimize{}, "only /tend optimize"},
		{"alone", "/tend", true, Optimize{}, "only /tend optimize"},
		{"level missing", "/tend optimize --level", true, Optimize{}, "needs a value"},
		{"level twice", "/tend optimize --level low --level high", true, Optimize{}, "twice"},
		{"bad level", "/tend optimize --level max", true, Optimize{}, "unknown level"},
		{"unknown flag", "/tend optimize --force", true, Optimize{}, "unknown option"},
		{"bad task", "/tend optimize `rm -rf`", true, Optimize{}, "bad task name"},
		{"too many", "/tend optimize " + strings.Repeat("t ", 5) + fmt.Sprint(seq(17)), true, Optimize{},
			"at most 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := FindOptimize(tt.body)
			if found != tt.found {
				t.Fatalf("found = %v, want %v", found, tt.found)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// seq returns "t1 t2 ... tn" as one string.
func seq(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("t%d", i+1)
	}
	return strings.Join(parts, " ")
}
