package textcap

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestOneLine(t *testing.T) {
	got := OneLine(" disk full\r\non web-1\n\tnow ")
	if want := "disk full on web-1 now"; got != want {
		t.Fatalf("OneLine = %q, want %q", got, want)
	}
}

func TestCaps(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		n     int
		runes int
		u16   int
	}{
		{"short", "abc", 5, 3, 3},
		{"exact", "abcde", 5, 5, 5},
		{"ascii cut", strings.Repeat("a", 300), 255, 255, 255},
		{"emoji cut", strings.Repeat("😀", 200), 255, 200, 255},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Runes(tt.in, tt.n)
			if utf8.RuneCountInString(r) != tt.runes || !utf8.ValidString(r) {
				t.Errorf("Runes: %d runes, want %d", utf8.RuneCountInString(r), tt.runes)
			}
			u := UTF16(tt.in, tt.n)
			if Len16(u) > tt.u16 || !utf8.ValidString(u) {
				t.Errorf("UTF16: %d units, want at most %d", Len16(u), tt.u16)
			}
			if len(tt.in) > tt.n && !strings.HasSuffix(u, Ellipsis) {
				t.Errorf("UTF16: cut text lacks the ellipsis")
			}
		})
	}
}
