package web

import (
	"html/template"
	"net/http"
	"net/url"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/kb"
)

// Page sizes of the help center.
const (
	kbLatest  = 8
	kbPerPage = 30
)

// kbRoutes registers the help center; Routes calls it when the service is there. The article and
// category pages share one pattern: "/kb/c/{slug}" and "/kb/{slug}/edit" would overlap on
// /kb/c/edit, which ServeMux refuses (article slugs are at least two characters, so "c" is free).
func (s *Web) kbRoutes(handle func(string, pageHandler)) {
	handle("GET /kb", s.kbHome)
	handle("POST /kb/categories", s.permitted(accounts.PermManageCommunity, s.kbCreateCategory))
	handle("GET /kb/new", s.permitted(accounts.PermManageCommunity, s.kbNewForm))
	handle("POST /kb/new", s.permitted(accounts.PermManageCommunity, s.kbCreate))
	handle("GET /kb/{slug}", s.kbArticle)
	handle("GET /kb/{a}/{b}", s.kbTwo)
	handle("POST /kb/{slug}/edit", s.permitted(accounts.PermManageCommunity, s.kbSave))
	handle("POST /posts/{id}/kb", s.permitted(accounts.PermManageCommunity, s.kbFromAnswer))
}

// permitted guards a community page for staff: logged-out visitors go to the log-in, others need
// perm. Unlike staff it keeps the community layout.
func (s *Web) permitted(perm accounts.Permission, h pageHandler) pageHandler {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request, v *view) {
		if err := accounts.Authorize(v.principal(), perm); err != nil {
			s.fail(w, r, v, err)
			return
		}
		h(w, r, v)
	})
}

// articleRow is an article in a list, with its category.
type articleRow struct {
	kb.Article
	Category string
	CatSlug  string
}

// kbHomeData is the help center's front page.
type kbHomeData struct {
	Categories []kb.Category
	Latest     []articleRow
	CanWrite   bool
}

func articleRows(list []kb.Article, cats []kb.Category) []articleRow {
	byID := map[string]kb.Category{}
	for _, c := range cats {
		byID[c.ID] = c
	}
	out := make([]articleRow, len(list))
	for i, a := range list {
		out[i] = articleRow{Article: a, Category: byID[a.CategoryID].Name, CatSlug: byID[a.CategoryID].Slug}
	}
	return out
}

func (s *Web) kbHome(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Nav2 = v.T("kb.title"), "kb"
	p := v.principal()
	cats, err := s.kbs.Categories(r.Context(), p)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	latest, _, err := s.kbs.Articles(r.Context(), p, "", "", kbLatest)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Data = kbHomeData{Categories: cats, Latest: articleRows(latest, cats), CanWrite: accounts.Allowed(p, accounts.PermManageCommunity)}
	if r.URL.Query().Get("notice") == "category" {
		v.Notice = v.T("kb.category_created")
	}
	s.render(w, r, 0, "kb", v)
}

func (s *Web) kbCreateCategory(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Nav2 = v.T("kb.title"), "kb"
	r.ParseForm()
	_, err := s.kbs.CreateCategory(r.Context(), v.principal(), r.PostForm.Get("name"), r.PostForm.Get("slug"))
	if err != nil {
		p := v.principal()
		cats, cerr := s.kbs.Categories(r.Context(), p)
		latest, _, lerr := s.kbs.Articles(r.Context(), p, "", "", kbLatest)
		if cerr != nil || lerr != nil {
			s.fail(w, r, v, err)
			return
		}
		v.Form = newForm(r)
		v.Data = kbHomeData{Categories: cats, Latest: articleRows(latest, cats), CanWrite: true}
		s.formFailed(w, r, v, "kb", withPrefix(err, "cat_"))
		return
	}
	s.redirect(w, r, "/kb?notice=category")
}

// withPrefix names the field of a form error with prefix, for a page with two forms.
func withPrefix(err error, prefix string) error {
	e, ok := errAs(err)
	if !ok || e.Field == "" {
		return err
	}
	return errsField(e, prefix+e.Field)
}

// kbTwo serves the two-segment help center pages: a category (/kb/c/{slug}) and the editor of an
// article (/kb/{slug}/edit).
func (s *Web) kbTwo(w http.ResponseWriter, r *http.Request, v *view) {
	switch a, b := r.PathValue("a"), r.PathValue("b"); {
	case a == "c":
		s.kbCategory(w, r, v, b)
	case b == "edit":
		s.permitted(accounts.PermManageCommunity, func(w http.ResponseWriter, r *http.Request, v *view) { s.kbEditForm(w, r, v, a) })(w, r, v)
	default:
		s.notFound(w, r, v)
	}
}

// kbCategoryData is one category's articles.
type kbCategoryData struct {
	Category kb.Category
	Articles []articleRow
	More     string
	CanWrite bool
}

func (s *Web) kbCategory(w http.ResponseWriter, r *http.Request, v *view, slug string) {
	v.Nav2 = "kb"
	p := v.principal()
	cats, err := s.kbs.Categories(r.Context(), p)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	var cat *kb.Category
	for i := range cats {
		if cats[i].Slug == slug || cats[i].ID == slug {
			cat = &cats[i]
		}
	}
	if cat == nil {
		s.notFound(w, r, v)
		return
	}
	list, next, err := s.kbs.Articles(r.Context(), p, cat.ID, r.URL.Query().Get("cursor"), kbPerPage)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d := kbCategoryData{Category: *cat, Articles: articleRows(list, cats), CanWrite: accounts.Allowed(p, accounts.PermManageCommunity)}
	if next != "" {
		d.More = withQuery("/kb/c/"+url.PathEscape(cat.Slug), url.Values{"cursor": {next}})
	}
	v.Title, v.Data = cat.Name, d
	s.render(w, r, 0, "kb-category", v)
}

// kbArticleData is one article.
type kbArticleData struct {
	Article  kb.Article
	BodyHTML template.HTML
	Category *kb.Category
	CanWrite bool
}

// kbArticle shows an article and counts the reading. Not cached for anonymous readers: every
// view is counted.
func (s *Web) kbArticle(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "kb"
	p := v.principal()
	a, err := s.kbs.Article(r.Context(), p, r.PathValue("slug"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if a.Slug != r.PathValue("slug") { // ids and other letter cases lead to the one address
		s.redirect(w, r, "/kb/"+url.PathEscape(a.Slug))
		return
	}
	d := kbArticleData{Article: a, BodyHTML: safeHTML(a.BodyHTML), CanWrite: accounts.Allowed(p, accounts.PermManageCommunity)}
	if a.CategoryID != "" {
		cats, err := s.kbs.Categories(r.Context(), p)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		for i := range cats {
			if cats[i].ID == a.CategoryID {
				d.Category = &cats[i]
			}
		}
	}
	if a.Published {
		reader := ""
		if v.Member != nil {
			reader = v.Member.ID
		}
		// A lost count costs nothing the reader sees.
		if err := s.kbs.RecordView(r.Context(), a.ID, reader); err != nil {
			s.log.WarnContext(r.Context(), "counting an article view", "article", a.ID, "err", err, "request_id", v.RequestID)
		}
	}
	switch r.URL.Query().Get("notice") {
	case "saved":
		v.Notice = v.T("kb.saved")
	}
	v.Title, v.Data = a.Title, d
	s.render(w, r, 0, "kb-article", v)
}

// kbEditData is the article editor.
type kbEditData struct {
	Edit       bool
	Slug       string
	Action     string
	Categories []kb.Category
	SourceURL  string // the question the article was made from
}

func (s *Web) kbEditor(w http.ResponseWriter, r *http.Request, v *view, status int, d kbEditData, err error) {
	v.Nav2 = "kb"
	if d.Edit {
		v.Title = v.T("kb.edit_title")
	} else {
		v.Title = v.T("kb.new_title")
	}
	cats, cerr := s.kbs.Categories(r.Context(), v.principal())
	if cerr != nil {
		s.fail(w, r, v, cerr)
		return
	}
	d.Categories = cats
	v.Data = d
	if s.formFailed(w, r, v, "kb-edit", err) {
		return
	}
	s.render(w, r, status, "kb-edit", v)
}

func (s *Web) kbNewForm(w http.ResponseWriter, r *http.Request, v *view) {
	v.Form.values = url.Values{"category": {r.URL.Query().Get("category")}}
	s.kbEditor(w, r, v, 0, kbEditData{Action: "/kb/new"}, nil)
}

// articleInput reads the editor's fields.
func articleInput(f url.Values) kb.ArticleInput {
	return kb.ArticleInput{Slug: f.Get("slug"), CategoryID: f.Get("category"), Title: f.Get("title"), Body: f.Get("body"),
		Published: f.Get("published") == "1"}
}

func (s *Web) kbCreate(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	v.Form = newForm(r)
	a, err := s.kbs.CreateArticle(r.Context(), v.principal(), articleInput(r.PostForm))
	if err != nil {
		s.kbEditor(w, r, v, 0, kbEditData{Action: "/kb/new"}, withCategoryField(err))
		return
	}
	s.redirect(w, r, "/kb/"+url.PathEscape(a.Slug)+"?notice=saved")
}

// withCategoryField moves an error about the category to the editor's field.
func withCategoryField(err error) error {
	if e, ok := errAs(err); ok && e.Field == "category_id" {
		return errsField(e, "category")
	}
	return err
}

func (s *Web) kbEditForm(w http.ResponseWriter, r *http.Request, v *view, ref string) {
	a, err := s.kbs.Article(r.Context(), v.principal(), ref)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	published := ""
	if a.Published {
		published = "1"
	}
	v.Form.values = url.Values{"slug": {a.Slug}, "category": {a.CategoryID}, "title": {a.Title}, "body": {a.Body}, "published": {published}}
	if r.URL.Query().Get("notice") == "from_answer" {
		v.Notice = v.T("kb.from_answer_notice")
	}
	s.kbEditor(w, r, v, 0, kbEditData{Edit: true, Slug: a.Slug, Action: "/kb/" + url.PathEscape(a.Slug) + "/edit", SourceURL: sourceURL(a)}, nil)
}

// sourceURL links an article to the answer it was made from, or is "".
func sourceURL(a kb.Article) string {
	if a.SourcePostID == "" {
		return ""
	}
	u := "/posts/" + url.PathEscape(a.SourcePostID)
	if a.SourceCommentID != "" {
		u += "#c-" + url.PathEscape(a.SourceCommentID)
	}
	return u
}

func (s *Web) kbSave(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	v.Form = newForm(r)
	ref := r.PathValue("slug")
	a, err := s.kbs.UpdateArticle(r.Context(), v.principal(), ref, articleInput(r.PostForm))
	if err != nil {
		s.kbEditor(w, r, v, 0, kbEditData{Edit: true, Slug: ref, Action: "/kb/" + url.PathEscape(ref) + "/edit"}, withCategoryField(err))
		return
	}
	s.redirect(w, r, "/kb/"+url.PathEscape(a.Slug)+"?notice=saved")
}

// kbFromAnswer makes a draft article of a question and its accepted answer (or the reply named)
// and opens it in the editor.
func (s *Web) kbFromAnswer(w http.ResponseWriter, r *http.Request, v *view) {
	a, err := s.kbs.ArticleFromAnswer(r.Context(), v.principal(), r.PathValue("id"), r.PostFormValue("comment_id"), kb.ArticleInput{})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/kb/"+url.PathEscape(a.Slug)+"/edit?notice=from_answer")
}
