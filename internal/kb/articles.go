package kb

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
	"github.com/kizuna-community/kizuna/internal/search"
)

// Article is one knowledge base page.
type Article struct {
	ID              string     `json:"id"`
	Slug            string     `json:"slug"`
	CategoryID      string     `json:"category_id,omitempty"`
	Title           string     `json:"title"`
	Body            string     `json:"body"`      // Markdown as written
	BodyHTML        string     `json:"body_html"` // sanitised HTML
	Published       bool       `json:"published"`
	PublishedAt     *time.Time `json:"published_at"` // first publication
	Views           int        `json:"views"`
	SourcePostID    string     `json:"source_post_id,omitempty"`    // the question it was made from
	SourceCommentID string     `json:"source_comment_id,omitempty"` // the answer it was made from
	AuthorID        string     `json:"author_id"`                   // a member id, or system / api_key:ID
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// ArticleInput is what staff write. An empty Slug makes one from the article's id (titles are
// often Japanese, which makes no URL slug); CategoryID may be a category's id or slug, or empty.
type ArticleInput struct {
	Slug       string `json:"slug"`
	CategoryID string `json:"category_id"`
	Title      string `json:"title"`
	Body       string `json:"body"`
	Published  bool   `json:"published"`
}

const (
	maxTitle = 200
	maxBody  = 50000
)

func (in *ArticleInput) check() error {
	in.Slug = strings.ToLower(strings.TrimSpace(in.Slug))
	in.Title = strings.TrimSpace(in.Title)
	in.Body = strings.TrimSpace(in.Body)
	in.CategoryID = strings.TrimSpace(in.CategoryID)
	switch {
	case in.Slug != "" && !slugRe.MatchString(in.Slug):
		return errs.Because(errs.Invalid("slug", "slug must be 2-63 lower-case letters, digits or hyphens"), "slug_invalid")
	case in.Title == "":
		return errs.Because(errs.Invalid("title", "title is required"), "title_required")
	case utf8.RuneCountInString(in.Title) > maxTitle:
		return errs.Because(errs.Invalid("title", "title must be at most %d characters", maxTitle), "title_long", maxTitle)
	case in.Body == "":
		return errs.Because(errs.Invalid("body", "write something"), "body_required")
	case utf8.RuneCountInString(in.Body) > maxBody:
		return errs.Because(errs.Invalid("body", "text must be at most %d characters", maxBody), "body_long", maxBody)
	}
	return nil
}

const articleCols = `id, slug, coalesce(category_id, ''), title, body, body_html, published, published_at, views,
	coalesce(source_post_id, ''), coalesce(source_comment_id, ''), author_id, created_at, updated_at`

func scanArticle(row interface{ Scan(...any) error }) (Article, error) {
	var a Article
	var published int
	var publishedAt sql.NullInt64
	var created, updated int64
	err := row.Scan(&a.ID, &a.Slug, &a.CategoryID, &a.Title, &a.Body, &a.BodyHTML, &published, &publishedAt, &a.Views,
		&a.SourcePostID, &a.SourceCommentID, &a.AuthorID, &created, &updated)
	a.Published = published == 1
	if publishedAt.Valid {
		t := db.Time(publishedAt.Int64)
		a.PublishedAt = &t
	}
	a.CreatedAt, a.UpdatedAt = db.Time(created), db.Time(updated)
	return a, err
}

// errNoArticle hides whether a draft the reader may not see exists.
func errNoArticle(ref string) error { return errs.NotFound("no article %s", ref) }

// source is the question and answer an article is made from.
type source struct {
	postID, commentID, spaceID, answererID string
	accepted                               bool
}

// CreateArticle writes an article, as a draft or published. Needs PermManageCommunity.
func (s *Service) CreateArticle(ctx context.Context, p accounts.Principal, in ArticleInput) (Article, error) {
	if err := accounts.Authorize(p, accounts.PermManageCommunity); err != nil {
		return Article{}, err
	}
	if err := in.check(); err != nil {
		return Article{}, err
	}
	return s.create(ctx, p, in, source{})
}

// create inserts the article in with its events, search document and audit record.
func (s *Service) create(ctx context.Context, p accounts.Principal, in ArticleInput, src source) (Article, error) {
	now := s.now()
	a := Article{ID: id.New(now), Slug: in.Slug, Title: in.Title, Body: in.Body, BodyHTML: s.md.HTML(in.Body), Published: in.Published,
		SourcePostID: src.postID, SourceCommentID: src.commentID, AuthorID: p.Actor(),
		CreatedAt: now.Truncate(time.Millisecond), UpdatedAt: now.Truncate(time.Millisecond)}
	if a.Slug == "" {
		a.Slug = strings.ToLower(a.ID)
	}
	var publishedAt any
	if a.Published {
		publishedAt, a.PublishedAt = db.Now(now), &a.CreatedAt
	}
	err := s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if a.CategoryID, err = s.checkCategory(ctx, tx, in.CategoryID); err != nil {
			return err
		}
		if err := s.checkSlug(ctx, tx, a.Slug, ""); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO kb_articles (id, slug, category_id, title, body, body_html, published, published_at,
			source_post_id, source_comment_id, author_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
			a.ID, a.Slug, nullable(a.CategoryID), a.Title, a.Body, a.BodyHTML, db.Bool(a.Published), publishedAt,
			nullable(src.postID), nullable(src.commentID), a.AuthorID, db.Now(now)); err != nil {
			return err
		}
		if err := s.index(ctx, tx, a); err != nil {
			return err
		}
		if err := s.touchSource(ctx, tx, a.SourcePostID); err != nil {
			return err
		}
		props := map[string]any{"article_id": a.ID, "slug": a.Slug, "category_id": a.CategoryID, "published": a.Published,
			"title_length": utf8.RuneCountInString(a.Title), "body_length": utf8.RuneCountInString(a.Body)}
		name, action := "Article Created", "kb.article_created"
		if src.postID != "" {
			name, action = "Article Created From Answer", "kb.article_from_answer"
			props["post_id"], props["comment_id"], props["space_id"] = src.postID, src.commentID, src.spaceID
			props["answerer_id"], props["accepted_answer"] = src.answererID, src.accepted
		}
		if err := s.acc.Audit(ctx, tx, p, action, a.ID, map[string]any{"slug": a.Slug, "published": a.Published, "post_id": src.postID, "comment_id": src.commentID}); err != nil {
			return err
		}
		if err := s.outbox.Emit(ctx, tx, event.Community(name, a.AuthorID, now, props)); err != nil {
			return err
		}
		if a.Published {
			return s.outbox.Emit(ctx, tx, published(p.Actor(), a, now))
		}
		return nil
	})
	if err != nil {
		return Article{}, err
	}
	return a, nil
}

// published is the event of an article's first publication, by who (see actor).
func published(who string, a Article, now time.Time) event.Event {
	return event.Community("Article Published", who, now, map[string]any{
		"article_id": a.ID, "slug": a.Slug, "category_id": a.CategoryID, "source_post_id": a.SourcePostID,
		"time_to_publish_ms": now.Sub(a.CreatedAt).Milliseconds()})
}

// touchSource tells the community that the page of the question an article came from changed:
// it lists the article.
func (s *Service) touchSource(ctx context.Context, tx *sql.Tx, postID string) error {
	if postID == "" {
		return nil
	}
	return s.community.Touch(ctx, tx, postID)
}

// UpdateArticle replaces an article's slug (kept when empty), category, title, body and
// publication. Publishing it for the first time sends Article Published; unpublishing takes it
// out of search. Needs PermManageCommunity.
func (s *Service) UpdateArticle(ctx context.Context, p accounts.Principal, ref string, in ArticleInput) (Article, error) {
	if err := accounts.Authorize(p, accounts.PermManageCommunity); err != nil {
		return Article{}, err
	}
	if err := in.check(); err != nil {
		return Article{}, err
	}
	now := s.now()
	var a Article
	err := s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		// A write first, so that on PostgreSQL two concurrent updates take turns and only one of
		// them sees the first publication.
		if _, err := tx.ExecContext(ctx, `UPDATE kb_articles SET updated_at = updated_at WHERE id = $1 OR slug = $2`, ref, strings.ToLower(ref)); err != nil {
			return err
		}
		old, err := s.article(ctx, tx, ref)
		if err != nil {
			return err
		}
		a = old
		if in.Slug != "" {
			a.Slug = in.Slug
		}
		if a.CategoryID, err = s.checkCategory(ctx, tx, in.CategoryID); err != nil {
			return err
		}
		if a.Slug != old.Slug {
			if err := s.checkSlug(ctx, tx, a.Slug, a.ID); err != nil {
				return err
			}
		}
		a.Title, a.Body, a.BodyHTML, a.Published = in.Title, in.Body, s.md.HTML(in.Body), in.Published
		a.UpdatedAt = now.Truncate(time.Millisecond)
		first := a.Published && old.PublishedAt == nil
		if first {
			a.PublishedAt = &a.UpdatedAt
		}
		var publishedAt any
		if a.PublishedAt != nil {
			publishedAt = db.Now(*a.PublishedAt)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE kb_articles SET slug = $1, category_id = $2, title = $3, body = $4, body_html = $5,
			published = $6, published_at = $7, updated_at = $8 WHERE id = $9`,
			a.Slug, nullable(a.CategoryID), a.Title, a.Body, a.BodyHTML, db.Bool(a.Published), publishedAt, db.Now(now), a.ID); err != nil {
			return err
		}
		if err := s.index(ctx, tx, a); err != nil {
			return err
		}
		if err := s.touchSource(ctx, tx, a.SourcePostID); err != nil {
			return err
		}
		fields := []string{}
		for _, f := range []struct {
			name    string
			changed bool
		}{{"slug", a.Slug != old.Slug}, {"category_id", a.CategoryID != old.CategoryID}, {"title", a.Title != old.Title},
			{"body", a.Body != old.Body}, {"published", a.Published != old.Published}} {
			if f.changed {
				fields = append(fields, f.name)
			}
		}
		if err := s.acc.Audit(ctx, tx, p, "kb.article_updated", a.ID, map[string]any{"slug": a.Slug, "fields": fields, "published": a.Published}); err != nil {
			return err
		}
		if err := s.outbox.Emit(ctx, tx, event.Community("Article Updated", p.Actor(), now, map[string]any{"article_id": a.ID, "slug": a.Slug,
			"category_id": a.CategoryID, "published": a.Published, "fields": fields, "body_length": utf8.RuneCountInString(a.Body)})); err != nil {
			return err
		}
		if first {
			return s.outbox.Emit(ctx, tx, published(p.Actor(), a, now))
		}
		return nil
	})
	if err != nil {
		return Article{}, err
	}
	return a, nil
}

// Article returns the article with this id or slug. Drafts are shown only to staff who write the
// knowledge base; to everyone else they do not exist.
func (s *Service) Article(ctx context.Context, p accounts.Principal, ref string) (Article, error) {
	a, err := s.article(ctx, s.db.R, ref)
	if err != nil {
		return Article{}, err
	}
	if !a.Published && !staff(p) {
		return Article{}, errNoArticle(ref)
	}
	return a, nil
}

func (s *Service) article(ctx context.Context, q db.Queryer, ref string) (Article, error) {
	a, err := scanArticle(q.QueryRowContext(ctx, `SELECT `+articleCols+` FROM kb_articles WHERE id = $1 OR slug = $2`, ref, strings.ToLower(ref)))
	if errors.Is(err, sql.ErrNoRows) {
		return Article{}, errNoArticle(ref)
	}
	return a, err
}

// Articles lists the articles p may read, newest first, in one category (its id or slug) or in
// all when categoryRef is empty, and the cursor of the next page ("" at the end).
func (s *Service) Articles(ctx context.Context, p accounts.Principal, categoryRef, cursor string, limit int) ([]Article, string, error) {
	limit = db.Limit(limit, 30, 100)
	where, args := []string{"published >= $1"}, []any{1 - db.Bool(staff(p))}
	if categoryRef != "" {
		c, err := s.category(ctx, s.db.R, categoryRef)
		if err != nil {
			return nil, "", err
		}
		args = append(args, c.ID)
		where = append(where, "category_id = $2")
	}
	if cursor != "" {
		args = append(args, cursor)
		where = append(where, "id < $"+strconv.Itoa(len(args)))
	}
	args = append(args, limit+1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+articleCols+` FROM kb_articles WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", err
	}
	out, err := scanArticles(rows)
	if err != nil {
		return nil, "", err
	}
	out, next := db.TrimPage(out, limit, func(a Article) string { return a.ID })
	return out, next, nil
}

func scanArticles(rows *sql.Rows) ([]Article, error) {
	defer rows.Close()
	out := []Article{}
	for rows.Next() {
		a, err := scanArticle(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// RecordView counts one reading of a published article and sends Article Viewed, by the member
// readerID or, when it is empty, by an anonymous reader. One statement, so that popular articles
// cost one row update per view.
func (s *Service) RecordView(ctx context.Context, articleID, readerID string) error {
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		var slug, category string
		var views int
		err := tx.QueryRowContext(ctx, `UPDATE kb_articles SET views = views + 1 WHERE id = $1 AND published = 1
			RETURNING slug, coalesce(category_id, ''), views`, articleID).Scan(&slug, &category, &views)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoArticle(articleID)
		}
		if err != nil {
			return err
		}
		ev := event.Community("Article Viewed", readerID, now, map[string]any{"article_id": articleID, "slug": slug, "category_id": category})
		if readerID == "" {
			ev.AnonymousID = "kizuna:anonymous"
		}
		return s.outbox.Emit(ctx, tx, ev)
	})
}

// index puts a published article into search, visible to all (no space), and takes a draft out.
func (s *Service) index(ctx context.Context, tx *sql.Tx, a Article) error {
	if s.search == nil {
		return nil
	}
	if !a.Published {
		return s.search.Delete(ctx, tx, search.KindArticle, a.ID)
	}
	author := ""
	if !strings.Contains(a.AuthorID, ":") && a.AuthorID != "system" {
		author = a.AuthorID
	}
	return s.search.Put(ctx, tx, search.Doc{Kind: search.KindArticle, ID: a.ID, Title: a.Title, Body: s.md.Text(a.Body),
		URL: "/kb/" + a.Slug, AuthorID: author, At: *a.PublishedAt})
}

// checkCategory returns the id of the category ref (an id or slug), "" for none.
func (s *Service) checkCategory(ctx context.Context, tx *sql.Tx, ref string) (string, error) {
	if ref == "" {
		return "", nil
	}
	c, err := s.category(ctx, tx, ref)
	if errs.KindOf(err) == errs.KindNotFound {
		return "", errs.Because(errs.Invalid("category_id", "no category %s", ref), "category_unknown")
	}
	return c.ID, err
}

// checkSlug refuses a slug another article (not self) has.
func (s *Service) checkSlug(ctx context.Context, tx *sql.Tx, slug, self string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM kb_articles WHERE slug = $1 AND id <> $2`, slug, self).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return errs.Because(errs.Conflict("slug", "an article with slug %q exists", slug), "article_slug_taken")
	}
	return nil
}
