package render_test

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations/render"
)

func hostileView(t *testing.T) render.View {
	t.Helper()
	ev, err := events.New(events.TypeAlertFiring, "tend/test", "fp", events.Alert{
		Fingerprint: "fp", Rule: "r", Status: "firing", Severity: "warning",
		Summary:  `<script>alert(1)</script> & !http://x/img.png! {code} [link|http://x]`,
		Labels:   map[string]string{"team": "a|b*c_d"},
		Links:    map[string]string{"bad": "javascript:alert(1)", "good": "https://x.example/a?b=1&c=2"},
		StartsAt: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	return render.Of(ev)
}

func TestView_JiraWikiEscapesMarkup(t *testing.T) {
	w := hostileView(t).JiraWiki()
	for _, want := range []string{
		`\!http://x/img.png\!`, `\{code\}`, `\[link\|http://x\]`, `||team|a\|b\*c\_d|`,
		"bad: javascript:alert(1)", "[good|https://x.example/a?b=1&c=2]",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("wiki lacks %q:\n%s", want, w)
		}
	}
}

func TestView_StorageIsEscapedXHTML(t *testing.T) {
	s := hostileView(t).Storage()
	if strings.Contains(s, "<script>") || strings.Contains(s, `href="javascript`) {
		t.Fatalf("storage lets markup through:\n%s", s)
	}
	d := xml.NewDecoder(strings.NewReader("<root>" + s + "</root>"))
	d.Strict = true
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("storage is not well-formed: %v\n%s", err, s)
		}
	}
	if !strings.Contains(s, `<a href="https://x.example/a?b=1&amp;c=2">good</a>`) {
		t.Errorf("storage lacks the safe link:\n%s", s)
	}
}
