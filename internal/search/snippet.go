package search

import (
	"html"
	"strings"
	"unicode"
)

// SnippetWidth is about how many characters of context a snippet shows.
const SnippetWidth = 120

// Snippet returns about SnippetWidth characters of text around the first occurrence of any of
// terms (compared case-insensitively), HTML-escaped, with every occurrence inside the window
// wrapped in <mark>…</mark> and runs of white space shown as one space. Text cut off at either
// end is marked with "…". With no occurrence it is the start of text. The result is safe to
// insert as HTML.
func Snippet(text string, terms []string) string {
	runes := []rune(text)
	folded := make([]rune, len(runes))
	for i, r := range runes {
		folded[i] = unicode.ToLower(r)
	}
	var ts [][]rune
	for _, t := range terms {
		if t = fold(t); t != "" {
			ts = append(ts, []rune(t))
		}
	}
	// matchAt returns the length of the longest term at position i, or 0.
	matchAt := func(i int) int {
		best := 0
		for _, t := range ts {
			if len(t) > best && i+len(t) <= len(folded) && runesEqual(folded[i:i+len(t)], t) {
				best = len(t)
			}
		}
		return best
	}
	first := -1
	for i := range folded {
		if matchAt(i) > 0 {
			first = i
			break
		}
	}
	start := 0
	if first > 0 {
		start = max(0, first-SnippetWidth/3)
	}
	end := min(len(runes), start+SnippetWidth)
	start = max(0, min(start, end-SnippetWidth))

	var b strings.Builder
	if start > 0 {
		b.WriteString("…")
	}
	space := false // the last rune written was a space, so more white space is dropped
	plain := func(r rune) {
		if unicode.IsSpace(r) {
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = true
			return
		}
		space = false
		b.WriteString(html.EscapeString(string(r)))
	}
	for i := start; i < end; {
		if n := matchAt(i); n > 0 {
			// A match running past the window is shown whole.
			b.WriteString("<mark>")
			b.WriteString(html.EscapeString(string(runes[i : i+n])))
			b.WriteString("</mark>")
			space = false
			i += n
			end = max(end, i)
			continue
		}
		plain(runes[i])
		i++
	}
	out := strings.TrimRight(b.String(), " ")
	if end < len(runes) {
		out += "…"
	}
	return out
}

func runesEqual(a, b []rune) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
