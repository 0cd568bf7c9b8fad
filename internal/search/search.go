// Package search is the community's full-text search: posts, comments, articles, events and
// members, found by case-insensitive substring terms so that Japanese words match in the middle of
// a sentence without a morphological analyser. SQLite accelerates terms of three or more
// characters with an FTS5 trigram index; PostgreSQL with a pg_trgm GIN index. Shorter terms (東京)
// fall back to a scan of the folded text, so they still match on both engines.
package search

import (
	"context"
	"database/sql"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the search tables.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "search", FS: sub}
}

// The kinds of documents other parts index.
const (
	KindPost    = "post"
	KindComment = "comment"
	KindArticle = "article"
	KindEvent   = "event"
	KindMember  = "member"
)

// Limits of a query.
const (
	DefaultLimit = 20
	MaxLimit     = 100
	maxQuery     = 200 // characters of query text
	maxTerms     = 10
	trigram      = 3 // terms this long or longer use the trigram index
)

// Doc is one searchable thing, as the part that owns it describes it.
type Doc struct {
	Kind     string    // KindPost, KindComment, KindArticle, KindEvent or KindMember
	ID       string    // the owner's id; (Kind, ID) is unique
	SpaceID  string    // "" for things outside spaces (members, articles)
	Title    string    // shown as the hit's heading
	Body     string    // plain text (callers pass text, not HTML)
	URL      string    // where the hit links to, e.g. /posts/ID
	AuthorID string    // the member who wrote it, or "" for none
	At       time.Time // when it was written; newer hits come first
}

// Index is the search part.
type Index struct {
	db *db.DB
}

// New returns the search index in d.
func New(d *db.DB) *Index { return &Index{db: d} }

// fold lower-cases s rune by rune, so a folded text has as many runes as the text and positions
// carry over. Both engines store and compare text folded this way.
func fold(s string) string { return strings.Map(unicode.ToLower, s) }

// clean makes s storable on both engines: valid UTF-8 and no NUL, which PostgreSQL refuses.
func clean(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// Put adds d to the index or replaces the document with the same kind and id, inside the caller's
// transaction, so the index changes with the thing it describes.
func (ix *Index) Put(ctx context.Context, tx *sql.Tx, d Doc) error {
	if d.Kind == "" {
		return errs.Invalid("kind", "a document needs a kind")
	}
	if d.ID == "" {
		return errs.Invalid("id", "a document needs an id")
	}
	title, body := clean(d.Title), clean(d.Body)
	_, err := tx.ExecContext(ctx, `INSERT INTO search_docs (kind, id, space_id, title, body, url, author_id, at, folded)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (kind, id) DO UPDATE SET space_id = excluded.space_id, title = excluded.title,
			body = excluded.body, url = excluded.url, author_id = excluded.author_id, at = excluded.at,
			folded = excluded.folded`,
		d.Kind, d.ID, d.SpaceID, title, body, d.URL, d.AuthorID, db.Now(d.At), fold(title+"\n"+body))
	if err != nil {
		return fmt.Errorf("indexing %s %s: %w", d.Kind, d.ID, err)
	}
	return nil
}

// Delete removes the document kind/id from the index, inside the caller's transaction. Deleting a
// document that is not indexed is not an error.
func (ix *Index) Delete(ctx context.Context, tx *sql.Tx, kind, id string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM search_docs WHERE kind = $1 AND id = $2`, kind, id); err != nil {
		return fmt.Errorf("removing %s %s from the index: %w", kind, id, err)
	}
	return nil
}

// Query is one search as a reader asks it.
type Query struct {
	Text     string   // whitespace-separated terms; every term must occur (AND)
	Kinds    []string // empty = all
	SpaceIDs []string // the spaces the reader may see; docs in other spaces never match
	NoSpace  bool     // whether docs with SpaceID "" may match
	Limit    int      // DefaultLimit when 0, at most MaxLimit
	After    string   // cursor from the previous page (opaque)
}

// Hit is one document found, with a snippet of its body.
type Hit struct {
	Doc
	// Snippet is about SnippetWidth characters of the body around the first match, HTML-escaped,
	// with matches wrapped in <mark>…</mark>: safe to insert as HTML.
	Snippet string
}

// Terms splits a query text into the terms Search looks for: whitespace-separated, folded to lower
// case, without repeats.
func Terms(text string) []string {
	var out []string
	for _, t := range strings.Fields(fold(clean(text))) {
		dup := false
		for _, o := range out {
			dup = dup || o == t
		}
		if !dup {
			out = append(out, t)
		}
	}
	return out
}

// Search returns the documents that contain every term of q.Text and that q lets the reader see,
// newest first, and the cursor of the next page, or "" at the end.
func (ix *Index) Search(ctx context.Context, q Query) ([]Hit, string, error) {
	terms := Terms(q.Text)
	switch {
	case len(terms) == 0:
		return nil, "", errs.Because(errs.Invalid("q", "enter something to search for"), "search_empty")
	case utf8.RuneCountInString(q.Text) > maxQuery:
		return nil, "", errs.Because(errs.Invalid("q", "a search may be at most %d characters", maxQuery), "search_long", maxQuery)
	case len(terms) > maxTerms:
		return nil, "", errs.Because(errs.Invalid("q", "a search may have at most %d words", maxTerms), "search_many_terms", maxTerms)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)

	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	list := func(vs []string) string {
		ps := make([]string, len(vs))
		for i, v := range vs {
			ps[i] = arg(v)
		}
		return strings.Join(ps, ", ")
	}

	// Who may see what: a space the reader may see, or no space when NoSpace says so. A "" among
	// SpaceIDs is not a way around NoSpace.
	var spaces []string
	for _, s := range q.SpaceIDs {
		if s != "" {
			spaces = append(spaces, s)
		}
	}
	var visible []string
	if len(spaces) > 0 {
		visible = append(visible, "d.space_id IN ("+list(spaces)+")")
	}
	if q.NoSpace {
		visible = append(visible, "d.space_id = ''")
	}
	if len(visible) == 0 {
		return nil, "", nil
	}
	where := []string{"(" + strings.Join(visible, " OR ") + ")"}
	if len(q.Kinds) > 0 {
		where = append(where, "d.kind IN ("+list(q.Kinds)+")")
	}
	where = append(where, ix.termConditions(terms, arg)...)
	if q.After != "" {
		at, id, kind, err := decodeCursor(q.After)
		if err != nil {
			return nil, "", err
		}
		a, i, k := arg(at), arg(id), arg(kind)
		where = append(where, "(d.at < "+a+" OR (d.at = "+a+" AND (d.id < "+i+" OR (d.id = "+i+" AND d.kind < "+k+"))))")
	}
	sqlText := `SELECT d.kind, d.id, d.space_id, d.title, d.body, d.url, d.author_id, d.at FROM search_docs d
		WHERE ` + strings.Join(where, " AND ") + `
		ORDER BY d.at DESC, d.id DESC, d.kind DESC LIMIT ` + arg(limit+1)
	rows, err := ix.db.R.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, "", fmt.Errorf("searching: %w", err)
	}
	defer rows.Close()
	var hits []Hit
	for rows.Next() {
		var h Hit
		var at int64
		if err := rows.Scan(&h.Kind, &h.ID, &h.SpaceID, &h.Title, &h.Body, &h.URL, &h.AuthorID, &at); err != nil {
			return nil, "", err
		}
		h.At = db.Time(at)
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("searching: %w", err)
	}
	next := ""
	if len(hits) > limit {
		hits = hits[:limit]
		last := hits[limit-1]
		next = encodeCursor(db.Now(last.At), last.ID, last.Kind)
	}
	for i := range hits {
		hits[i].Snippet = Snippet(hits[i].Body, terms)
	}
	return hits, next, nil
}

// termConditions returns one WHERE condition per way of matching the folded terms.
func (ix *Index) termConditions(terms []string, arg func(any) string) []string {
	var conds []string
	if ix.db.Engine == db.Postgres {
		// The trigram index answers LIKE '%term%'; for terms too short to have trigrams PostgreSQL
		// rechecks every row, which is still correct.
		for _, t := range terms {
			conds = append(conds, "d.folded LIKE "+arg("%"+escapeLike(t)+"%"))
		}
		return conds
	}
	var phrases []string
	for _, t := range terms {
		if utf8.RuneCountInString(t) >= trigram {
			// A quoted phrase in a trigram table matches exactly the substring.
			phrases = append(phrases, `"`+strings.ReplaceAll(t, `"`, `""`)+`"`)
		} else {
			conds = append(conds, "instr(d.folded, "+arg(t)+") > 0")
		}
	}
	if len(phrases) > 0 {
		conds = append(conds, "d.seq IN (SELECT rowid FROM search_fts WHERE search_fts MATCH "+arg(strings.Join(phrases, " AND "))+")")
	}
	return conds
}

// escapeLike makes every character of s literal in a LIKE pattern whose escape is the backslash.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func encodeCursor(at int64, id, kind string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + "\x00" + id + "\x00" + kind))
}

func decodeCursor(c string) (at int64, id, kind string, err error) {
	bad := errs.Because(errs.Invalid("after", "this page link is broken; start the search again"), "search_cursor")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", "", bad
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 3 {
		return 0, "", "", bad
	}
	at, err = strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return 0, "", "", bad
	}
	return at, parts[1], parts[2], nil
}
