// Package markdown turns what members write into safe HTML: GitHub-flavoured Markdown rendered by
// goldmark, then sanitised by bluemonday, so no script, style, event handler or javascript: link
// survives, whatever the input. It also finds @mentions and gives plain text for search.
package markdown

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
)

// Renderer renders and sanitises Markdown. It is safe for concurrent use.
type Renderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// New returns a renderer.
func New() *Renderer {
	md := goldmark.New(
		goldmark.WithExtensions(extension.GFM),
		// Raw HTML is shown as the text it is; the sanitiser below is a second wall, not the only one.
		goldmark.WithRendererOptions(html.WithHardWraps(),
			renderer.WithNodeRenderers(util.Prioritized(rawAsText{}, 100))),
	)
	p := bluemonday.UGCPolicy()
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowURLSchemes("http", "https", "mailto")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[\w+-]+$`)).OnElements("code")
	return &Renderer{md: md, policy: p}
}

// rawAsText renders HTML that members type as visible text rather than dropping it, so pasting
// "<script>" shows "<script>" instead of making part of the post vanish.
type rawAsText struct{}

func (rawAsText) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindHTMLBlock, func(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		b := n.(*ast.HTMLBlock)
		w.WriteString("<p>")
		for i := 0; i < b.Lines().Len(); i++ {
			line := b.Lines().At(i)
			w.WriteString(strings.TrimRight(escape(string(line.Value(src))), "\n"))
			if i < b.Lines().Len()-1 || b.HasClosure() {
				w.WriteString("<br>")
			}
		}
		if b.HasClosure() {
			w.WriteString(escape(strings.TrimRight(string(b.ClosureLine.Value(src)), "\n")))
		}
		w.WriteString("</p>\n")
		return ast.WalkSkipChildren, nil
	})
	reg.Register(ast.KindRawHTML, func(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			segs := n.(*ast.RawHTML).Segments
			for i := 0; i < segs.Len(); i++ {
				seg := segs.At(i)
				w.WriteString(escape(string(seg.Value(src))))
			}
		}
		return ast.WalkSkipChildren, nil
	})
}

// HTML renders src as sanitised HTML.
func (r *Renderer) HTML(src string) string {
	var buf bytes.Buffer
	if err := r.md.Convert([]byte(src), &buf); err != nil {
		// goldmark fails only on writer errors, which a bytes.Buffer never returns.
		return r.policy.Sanitize(escape(src))
	}
	return r.policy.Sanitize(buf.String())
}

func escape(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&#34;")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

var stripper = bluemonday.StrictPolicy()

// Text returns the words of src without markup, for search and excerpts.
func (r *Renderer) Text(src string) string {
	var buf bytes.Buffer
	if err := r.md.Convert([]byte(src), &buf); err != nil {
		return src
	}
	// Keep words apart where block elements end.
	s := strings.NewReplacer("</p>", " ", "<br>", " ", "</li>", " ", "</h1>", " ", "</h2>", " ", "</h3>", " ", "</td>", " ").Replace(buf.String())
	s = stripper.Sanitize(s)
	s = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// Excerpt returns at most n characters of Text(src), ending with … when cut.
func (r *Renderer) Excerpt(src string, n int) string {
	t := []rune(r.Text(src))
	if len(t) <= n {
		return string(t)
	}
	return strings.TrimSpace(string(t[:n])) + "…"
}

// mention is @handle where handle is letters, digits, _ . or -; it must start the text or follow
// a space or punctuation, so email addresses do not count.
var mention = regexp.MustCompile(`(?:^|[\s(（、。,])@([\p{L}\p{N}_.\-]{1,64})`)

// Mentions returns the distinct handles mentioned in src, in order of first appearance.
func Mentions(src string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range mention.FindAllStringSubmatch(src, -1) {
		h := strings.TrimRight(m[1], ".-")
		if h != "" && !seen[strings.ToLower(h)] {
			seen[strings.ToLower(h)] = true
			out = append(out, h)
		}
	}
	return out
}
