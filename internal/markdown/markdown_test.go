package markdown

import (
	"strings"
	"testing"
)

var attacks = []string{
	`<script>alert(1)</script>`,
	`<img src=x onerror=alert(1)>`,
	`[click](javascript:alert(1))`,
	`[click](JaVaScRiPt:alert(1))`,
	`<a href="javascript:alert(1)">x</a>`,
	`<div onclick="alert(1)">x</div>`,
	`<style>body{display:none}</style>`,
	`<iframe src="https://evil.example"></iframe>`,
	`![x](javascript:alert(1))`,
	`<svg onload=alert(1)>`,
	"```html\n<script>alert(1)</script>\n```",
	`<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>`,
	`[x](data:text/html,<script>alert(1)</script>)`,
	`<p style="background:url(javascript:alert(1))">x</p>`,
}

// runs reports markup in h that could run script or restyle the page: a script, style, iframe or
// svg element, an on* attribute in a tag, or a script or data URL in an attribute. Words like
// "onerror" in escaped text are harmless and do not count.
func runs(h string) string {
	l := strings.ToLower(h)
	for _, bad := range []string{"<script", "<style", "<iframe", "<svg", `="javascript:`, `="data:`} {
		if strings.Contains(l, bad) {
			return bad
		}
	}
	if tagHasHandler(l) {
		return "an on* or style attribute"
	}
	return ""
}

func TestHTMLRemovesEverythingThatRuns(t *testing.T) {
	r := New()
	for _, a := range attacks {
		if bad := runs(r.HTML(a)); bad != "" {
			t.Errorf("HTML(%q) = %q keeps %s", a, r.HTML(a), bad)
		}
	}
}

func TestHTMLRendersMarkdown(t *testing.T) {
	r := New()
	got := r.HTML("# 見出し\n\n**太字** と [リンク](https://example.jp)\n\n- a\n- b\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\n`code`")
	for _, want := range []string{"<h1", "見出し", "<strong>太字</strong>", `href="https://example.jp"`, `rel="nofollow noreferrer noopener"`, "<li>a</li>", "<table>", "<code>code</code>"} {
		if !strings.Contains(got, want) {
			t.Errorf("rendered HTML lacks %q:\n%s", want, got)
		}
	}
}

func TestTypedHTMLShowsAsText(t *testing.T) {
	r := New()
	got := r.HTML("<script>alert(1)</script>\n\n<b>太字</b>にしたい")
	if !strings.Contains(got, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(got, "&lt;b&gt;太字&lt;/b&gt;にしたい") || strings.Contains(got, "<script") || strings.Contains(got, "<b>") {
		t.Fatalf("HTML = %q", got)
	}
}

func TestTextAndExcerpt(t *testing.T) {
	r := New()
	if got := r.Text("# 東京\n\n**ミートアップ** & <b>more</b>"); got != "東京 ミートアップ & <b>more</b>" {
		t.Errorf("Text = %q", got)
	}
	if got := r.Excerpt("あいうえおかきくけこ", 5); got != "あいうえお…" {
		t.Errorf("Excerpt = %q", got)
	}
}

func TestMentions(t *testing.T) {
	got := Mentions("@yui さん、@Riku と（@yui）に聞いて。mail@example.com は違う @sota.")
	if strings.Join(got, ",") != "yui,Riku,sota" {
		t.Errorf("Mentions = %v", got)
	}
}

func FuzzHTMLIsSafe(f *testing.F) {
	for _, a := range attacks {
		f.Add(a)
	}
	r := New()
	f.Fuzz(func(t *testing.T, src string) {
		if h := r.HTML(src); runs(h) != "" {
			t.Fatalf("HTML(%q) = %q keeps %s", src, h, runs(h))
		}
	})
}

// tagHasHandler reports an on* or style attribute inside a tag.
func tagHasHandler(h string) bool {
	l := strings.ToLower(h)
	for {
		i := strings.IndexByte(l, '<')
		if i < 0 {
			return false
		}
		j := strings.IndexByte(l[i:], '>')
		if j < 0 {
			return false
		}
		tag := l[i : i+j]
		for _, f := range strings.Fields(tag)[1:] {
			if strings.HasPrefix(f, "on") || strings.HasPrefix(f, "style") {
				return true
			}
		}
		l = l[i+j:]
	}
}
