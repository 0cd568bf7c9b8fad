package api

import (
	"net/http"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/kb"
)

// Page sizes of article lists, as the knowledge base serves them.
const articlesDefault, articlesMax = 30, 100

// kbRoutes are the operations on the knowledge base. Keys with the write scope write it and so
// see drafts; read keys see published articles only, as members do.
func (a *API) kbRoutes() []route {
	const manage = accounts.PermManageCommunity // write scope
	rts := []route{
		{method: "GET", path: "/kb/categories", handle: a.listKBCategories},
		{method: "POST", path: "/kb/categories", perm: manage, handle: a.createKBCategory},
		{method: "GET", path: "/kb/articles", handle: a.listArticles},
		{method: "POST", path: "/kb/articles", perm: manage, handle: a.createArticle},
		{method: "GET", path: "/kb/articles/{ref}", handle: a.getArticle},
		{method: "PUT", path: "/kb/articles/{ref}", perm: manage, handle: a.updateArticle},
	}
	if a.community != nil {
		rts = append(rts,
			route{method: "POST", path: "/posts/{id}/article", perm: manage, handle: a.articleFromAnswer},
			route{method: "GET", path: "/posts/{id}/articles", handle: a.postArticles},
		)
	}
	return rts
}

func (a *API) listKBCategories(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	list, err := a.kb.Categories(r.Context(), p)
	if err != nil {
		return err
	}
	writeList(w, list, "")
	return nil
}

// kbCategoryInput is the body of POST /kb/categories.
type kbCategoryInput struct {
	Name string `json:"name"`
	Slug string `json:"slug"`
}

func (a *API) createKBCategory(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in kbCategoryInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	c, err := a.kb.CreateCategory(r.Context(), p, in.Name, in.Slug)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, c)
	return nil
}

func (a *API) listArticles(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	page, pos, err := parsePageSized(r, articlesDefault, articlesMax)
	if err != nil {
		return err
	}
	category := r.URL.Query().Get("category")
	list, next, err := a.kb.Articles(r.Context(), p, category, pos, page.Limit)
	if errs.KindOf(err) == errs.KindNotFound {
		// The filter names a category that does not exist: a bad parameter, not a missing list.
		return errs.Invalid("category", "no category %s", category)
	}
	if err != nil {
		return err
	}
	writeList(w, list, next)
	return nil
}

func (a *API) createArticle(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in kb.ArticleInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	art, err := a.kb.CreateArticle(r.Context(), p, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/kb/articles/"+art.Slug)
	httpx.WriteJSON(w, http.StatusCreated, art)
	return nil
}

func (a *API) getArticle(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	art, err := a.kb.Article(r.Context(), p, r.PathValue("ref"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, art)
	return nil
}

func (a *API) updateArticle(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in kb.ArticleInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	art, err := a.kb.UpdateArticle(r.Context(), p, r.PathValue("ref"), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, art)
	return nil
}

// articleFromAnswerInput is the body of POST /posts/{id}/article. Title and body default to the
// post's title and the answer's text; comment_id to the accepted answer.
type articleFromAnswerInput struct {
	CommentID  string `json:"comment_id"`
	Title      string `json:"title"`
	Body       string `json:"body"`
	Slug       string `json:"slug"`
	CategoryID string `json:"category_id"`
	Published  bool   `json:"published"`
}

func (a *API) articleFromAnswer(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in articleFromAnswerInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	art, err := a.kb.ArticleFromAnswer(r.Context(), p, r.PathValue("id"), in.CommentID,
		kb.ArticleInput{Slug: in.Slug, CategoryID: in.CategoryID, Title: in.Title, Body: in.Body, Published: in.Published})
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/kb/articles/"+art.Slug)
	httpx.WriteJSON(w, http.StatusCreated, art)
	return nil
}

func (a *API) postArticles(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	// An unknown post is a 404 here, not an empty list.
	if _, err := a.community.Post(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	list, err := a.kb.ArticlesForPost(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeList(w, list, "")
	return nil
}
