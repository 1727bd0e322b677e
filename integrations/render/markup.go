package render

import (
	"fmt"
	"html"
	"strings"
)

// wikiSpecial lists the characters that open markup in JIRA wiki text; each
// is escaped with a backslash so a label value such as "!http://x!" stays
// text instead of becoming an embedded image.
var wikiEscaper = strings.NewReplacer(
	`\`, `\\`, "{", `\{`, "}", `\}`, "[", `\[`, "]", `\]`, "|", `\|`,
	"*", `\*`, "_", `\_`, "^", `\^`, "~", `\~`, "+", `\+`, "!", `\!`, "#", `\#`,
)

// WikiEscape returns s with JIRA wiki markup characters escaped.
func WikiEscape(s string) string { return wikiEscaper.Replace(s) }

// JiraWiki is the body in JIRA wiki markup, for JIRA Server/DC and the
// version 2 REST API of JIRA Cloud: the summary, a table of facts, the extra
// lines as a bullet list and the links. All event text is escaped.
func (v View) JiraWiki() string {
	var b strings.Builder
	if v.Summary != "" {
		for _, l := range strings.Split(v.Summary, "\n") {
			b.WriteString(WikiEscape(l))
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	if len(v.Facts) > 0 {
		for _, f := range v.Facts {
			fmt.Fprintf(&b, "||%s|%s|\n", wikiCell(f.Name), wikiCell(f.Value))
		}
		b.WriteByte('\n')
	}
	for _, l := range v.Lines {
		b.WriteString("* ")
		b.WriteString(WikiEscape(strings.TrimSpace(l)))
		b.WriteByte('\n')
	}
	for _, k := range sortedKeys(v.Links) {
		u := v.Links[k]
		if !safeURL(u) {
			fmt.Fprintf(&b, "%s: %s\n", WikiEscape(k), WikiEscape(u))
			continue
		}
		fmt.Fprintf(&b, "[%s|%s]\n", WikiEscape(k), strings.NewReplacer("|", "%7C", "]", "%5D").Replace(u))
	}
	return strings.TrimRight(b.String(), "\n")
}

func wikiCell(s string) string {
	s = WikiEscape(strings.ReplaceAll(s, "\n", " "))
	if s == "" {
		return " "
	}
	return s
}

// Storage is the body in Confluence storage format (XHTML): the title as a
// heading is left to the caller; the summary, a table of facts, the lines
// and the links follow. All event text is HTML-escaped, and only http and
// https links become anchors.
func (v View) Storage() string {
	var b strings.Builder
	if v.Summary != "" {
		for _, p := range strings.Split(v.Summary, "\n") {
			if strings.TrimSpace(p) == "" {
				continue
			}
			b.WriteString("<p>" + html.EscapeString(p) + "</p>")
		}
	}
	if len(v.Facts) > 0 {
		b.WriteString("<table><tbody>")
		for _, f := range v.Facts {
			b.WriteString("<tr><th>" + html.EscapeString(f.Name) + "</th><td>" +
				html.EscapeString(f.Value) + "</td></tr>")
		}
		b.WriteString("</tbody></table>")
	}
	if len(v.Lines) > 0 {
		b.WriteString("<ul>")
		for _, l := range v.Lines {
			b.WriteString("<li>" + html.EscapeString(strings.TrimSpace(l)) + "</li>")
		}
		b.WriteString("</ul>")
	}
	for _, k := range sortedKeys(v.Links) {
		u := v.Links[k]
		if !safeURL(u) {
			b.WriteString("<p>" + html.EscapeString(k+": "+u) + "</p>")
			continue
		}
		b.WriteString(`<p><a href="` + html.EscapeString(u) + `">` + html.EscapeString(k) + "</a></p>")
	}
	return b.String()
}

// safeURL reports whether u may become a link: only http and https, so a
// javascript: or data: URL in an alert's links stays text.
func safeURL(u string) bool {
	l := strings.ToLower(strings.TrimSpace(u))
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")
}
