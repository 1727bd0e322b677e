// Package textcap fits text into the limits outside systems put on fields:
// one line for a title, at most so many characters for a body. Integrations
// call it just before a request, so a long alert is shortened, never
// rejected.
package textcap

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Ellipsis ends text that was cut.
const Ellipsis = "…"

// OneLine joins the lines of s with single spaces and trims it.
func OneLine(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// Runes returns s cut to at most n runes, the last being [Ellipsis] when
// anything was cut. GitHub counts characters this way.
func Runes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	i, count := 0, 0
	for j := range s {
		if count == n-1 {
			i = j
			break
		}
		count++
	}
	return s[:i] + Ellipsis
}

// UTF16 returns s cut to at most n UTF-16 code units, the last being
// [Ellipsis] when anything was cut. JIRA and Confluence, written in Java,
// count a field's length this way, so a character outside the Basic
// Multilingual Plane counts twice.
func UTF16(s string, n int) string {
	if Len16(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	units := 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1
		}
		if units+w > n-1 {
			return s[:i] + Ellipsis
		}
		units += w
	}
	return s
}

// Len16 returns the length of s in UTF-16 code units.
func Len16(s string) int {
	n := 0
	for _, r := range s {
		if w := utf16.RuneLen(r); w > 0 {
			n += w
		} else {
			n++
		}
	}
	return n
}
