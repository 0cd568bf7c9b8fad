package search_test

import (
	"html"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/search"
)

func TestSnippet(t *testing.T) {
	long := strings.Repeat("あ", 200) + "ミートアップ" + strings.Repeat("い", 200)
	for _, c := range []struct {
		name, text string
		terms      []string
		want       string
	}{
		{"mark", "今日は東京都でミートアップを開催します", []string{"東京"}, "今日は<mark>東京</mark>都でミートアップを開催します"},
		{"every term", "Tokyo meetup in TOKYO", []string{"tokyo", "meetup"}, "<mark>Tokyo</mark> <mark>meetup</mark> in <mark>TOKYO</mark>"},
		{"longest term wins", "東京都", []string{"東京", "東京都"}, "<mark>東京都</mark>"},
		{"no match", "a <b> c", []string{"zzz"}, "a &lt;b&gt; c"},
		{"white space collapses", "a\n\n  b\t東京", []string{"東京"}, "a b <mark>東京</mark>"},
		{"escapes inside mark", "x<a&b>y", []string{"<A&B>"}, "x<mark>&lt;a&amp;b&gt;</mark>y"},
		{"window", long, []string{"ミートアップ"}, "…" + strings.Repeat("あ", 40) + "<mark>ミートアップ</mark>" + strings.Repeat("い", 120-40-6) + "…"},
		{"start of long text", long, nil, strings.Repeat("あ", 120) + "…"},
	} {
		if got := search.Snippet(c.text, c.terms); got != c.want {
			t.Errorf("%s: Snippet = %s\nwant             %s", c.name, got, c.want)
		}
	}
}

// FuzzSnippet checks that a snippet never carries markup of its own text: outside <mark> tags
// there is no < or >, tags pair up, and what is marked is one of the terms.
func FuzzSnippet(f *testing.F) {
	f.Add("<script>alert(1)</script>東京", "東京")
	f.Add("今日は東京都でミートアップを開催します", "ミートアップ")
	f.Add("<mark>x</mark>", "mark")
	f.Add("a<<b>>c", "<b>")
	f.Add("İstanbul ΣΑΣ", "σας")
	f.Add("\xff\xfe<", "\xff")
	f.Add(strings.Repeat("x ", 100)+"<y>", "<y>")
	f.Fuzz(func(t *testing.T, text, term string) {
		out := search.Snippet(text, strings.Fields(term))
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8: %q", out)
		}
		rest := out
		for {
			i := strings.Index(rest, "<mark>")
			before := rest
			if i >= 0 {
				before = rest[:i]
			}
			if strings.ContainsAny(before, "<>") {
				t.Fatalf("unescaped markup in %q (text %q, term %q)", out, text, term)
			}
			if i < 0 {
				break
			}
			rest = rest[i+len("<mark>"):]
			j := strings.Index(rest, "</mark>")
			if j < 0 {
				t.Fatalf("unclosed mark in %q", out)
			}
			marked := rest[:j]
			if strings.ContainsAny(marked, "<>") {
				t.Fatalf("unescaped markup inside mark in %q", out)
			}
			ok := false
			for _, tm := range strings.Fields(term) {
				ok = ok || foldEqual(html.UnescapeString(marked), tm)
			}
			if !ok {
				t.Fatalf("marked %q is none of the terms %q", marked, term)
			}
			rest = rest[j+len("</mark>"):]
		}
	})
}

// foldEqual compares rune by rune with unicode.ToLower, as Snippet does.
func foldEqual(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) != len(rb) {
		return false
	}
	for i := range ra {
		if unicode.ToLower(ra[i]) != unicode.ToLower(rb[i]) {
			return false
		}
	}
	return true
}
