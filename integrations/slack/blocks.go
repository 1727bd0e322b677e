package slack

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations/render"
)

// Limits Slack documents for Block Kit. Text over a limit is cut with
// [marker]; a message over a limit would be refused whole.
const (
	maxBlocks      = 50
	maxHeaderText  = 150
	maxSectionText = 3000
	maxFieldText   = 2000
	maxFields      = 10
	maxButtonText  = 75
	maxButtons     = 25
	maxURL         = 3000
	// maxFallback bounds the top-level text used in notifications.
	maxFallback = 3000
)

// marker ends text that was cut to fit a limit.
const marker = "… (truncated)"

// message is what one Slack call sends.
type message struct {
	text   string
	blocks []slack.Block
}

// message builds the full message for v: header, summary, facts, lines,
// link buttons and a footer.
func (in *Integration) message(v render.View) message {
	title := in.title(v)
	var blocks []slack.Block
	blocks = append(blocks, slack.NewHeaderBlock(plain(cut(emoji(v)+" "+title, maxHeaderText))))

	if in.cfg.Text != "" {
		text, err := in.tmpl.Text(v)
		if err != nil {
			in.log.Warn("slack text template failed, using the default", "error", err)
		}
		blocks = append(blocks, sections(escape(text))...)
	} else {
		if v.Summary != "" {
			blocks = append(blocks, section(escape(v.Summary)))
		}
		blocks = append(blocks, factSections(v.Facts)...)
		if len(v.Lines) > 0 {
			blocks = append(blocks, codeSections(escape(strings.Join(v.Lines, "\n")))...)
		}
	}
	if b := buttons(v.Links); b != nil {
		blocks = append(blocks, b)
	}
	blocks = append(blocks, in.footer(v))

	return message{text: fallback(title, v.Summary), blocks: fit(blocks)}
}

// reply builds the short message posted in a thread: what changed.
func (in *Integration) reply(v render.View) message {
	title := in.title(v)
	var b strings.Builder
	fmt.Fprintf(&b, "%s *%s*", emoji(v), escape(title))
	if v.Summary != "" {
		b.WriteString("\n" + escape(v.Summary))
	}
	for _, f := range v.Facts {
		switch f.Name {
		case "Value", "Threshold", "Resolved", "Duration":
			fmt.Fprintf(&b, "\n*%s:* %s", escape(f.Name), escape(f.Value))
		}
	}
	if v.Run != nil {
		for _, l := range v.Lines {
			b.WriteString("\n" + escape(l))
		}
	}
	return message{text: fallback(title, v.Summary), blocks: fit(sections(b.String()))}
}

func (in *Integration) title(v render.View) string {
	title, err := in.tmpl.Title(v)
	if err != nil {
		in.log.Warn("slack title template failed, using the default", "error", err)
	}
	return strings.Join(strings.Fields(title), " ")
}

func (in *Integration) footer(v render.View) slack.Block {
	parts := []string{"tend"}
	if in.hub != "" {
		parts = append(parts, escape(in.hub))
	}
	if !v.Time.IsZero() {
		parts = append(parts, fmt.Sprintf("<!date^%d^{date_short_pretty} {time_secs}|%s>",
			v.Time.Unix(), v.Time.UTC().Format("2006-01-02 15:04:05 UTC")))
	}
	return slack.NewContextBlock("", mrkdwn(strings.Join(parts, " · ")))
}

// sections splits mrkdwn text over as many sections as it needs.
func sections(text string) []slack.Block {
	if text == "" {
		return nil
	}
	var out []slack.Block
	for text != "" && len(out) < maxBlocks {
		chunk, rest := split(text, maxSectionText)
		out = append(out, section(chunk))
		text = rest
	}
	return out
}

// codeSections is [sections] for preformatted text, each chunk fenced.
func codeSections(text string) []slack.Block {
	var out []slack.Block
	for text != "" && len(out) < maxBlocks {
		chunk, rest := split(text, maxSectionText-6)
		out = append(out, section("```"+chunk+"```"))
		text = rest
	}
	return out
}

func section(text string) slack.Block {
	return slack.NewSectionBlock(mrkdwn(cut(text, maxSectionText)), nil, nil)
}

// factSections lays facts out as two-column fields, ten to a section.
func factSections(facts []render.Fact) []slack.Block {
	var out []slack.Block
	for i := 0; i < len(facts); i += maxFields {
		var fields []*slack.TextBlockObject
		for _, f := range facts[i:min(i+maxFields, len(facts))] {
			fields = append(fields, mrkdwn(cut("*"+escape(f.Name)+"*\n"+escape(f.Value), maxFieldText)))
		}
		out = append(out, slack.NewSectionBlock(nil, fields, nil))
	}
	return out
}

// buttons turns links into URL buttons, in name order.
func buttons(links map[string]string) slack.Block {
	var els []slack.BlockElement
	for _, name := range sortedKeys(links) {
		u := links[name]
		if len(u) > maxURL || !(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) {
			continue
		}
		btn := slack.NewButtonBlockElement("", "", plain(cut(name, maxButtonText)))
		btn.URL = u
		els = append(els, btn)
		if len(els) == maxButtons {
			break
		}
	}
	if len(els) == 0 {
		return nil
	}
	return slack.NewActionBlock("", els...)
}

// fit keeps a message within the block limit, saying what it left out.
func fit(blocks []slack.Block) []slack.Block {
	if len(blocks) <= maxBlocks {
		return blocks
	}
	dropped := len(blocks) - (maxBlocks - 1)
	out := append([]slack.Block(nil), blocks[:maxBlocks-2]...)
	out = append(out, slack.NewContextBlock("", mrkdwn(fmt.Sprintf("… %d more blocks left out", dropped))))
	return append(out, blocks[len(blocks)-1]) // keep the footer
}

func fallback(title, summary string) string {
	s := title
	if summary != "" {
		s += "\n" + summary
	}
	return cut(escape(s), maxFallback)
}

func emoji(v render.View) string {
	switch {
	case v.Status == events.StatusResolved, v.Status == "completed":
		return "✅"
	case v.Status == "failed", v.Severity == "critical", v.Severity == "error":
		return "🔴"
	case v.Severity == "warning":
		return "🟠"
	case v.Status == "report":
		return "📊"
	}
	return "🔵"
}

// cut shortens s to n runes, ending it with [marker] when it cuts.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	keep := max(n-utf8.RuneCountInString(marker), 0)
	return string(r[:keep]) + marker
}

// split returns the first at most n runes of s, broken at a newline when
// one is near, and the rest.
func split(s string, n int) (string, string) {
	r := []rune(s)
	if len(r) <= n {
		return s, ""
	}
	at := n
	for i := n - 1; i > n/2; i-- {
		if r[i] == '\n' {
			at = i + 1
			break
		}
	}
	return string(r[:at]), string(r[at:])
}

// escape makes text safe for mrkdwn: Slack reads <, > and & as markup.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
