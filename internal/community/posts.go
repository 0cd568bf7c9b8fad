package community

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// Kind is what a post is for.
type Kind string

// The kinds of post.
const (
	Discussion Kind = "discussion"
	Question   Kind = "question"
	Idea       Kind = "idea"
)

// Author is who wrote something, as readers see them.
type Author struct {
	ID     string        `json:"id"`
	Name   string        `json:"name"`
	Handle string        `json:"handle"`
	Role   accounts.Role `json:"role"`
}

// Post is a topic: a discussion, a question or an idea.
type Post struct {
	ID                string     `json:"id"`
	SpaceID           string     `json:"space_id"`
	Author            Author     `json:"author"`
	Kind              Kind       `json:"kind"`
	Title             string     `json:"title"`
	Body              string     `json:"body"`      // Markdown as written
	BodyHTML          string     `json:"body_html"` // sanitised HTML
	CategoryID        string     `json:"category_id,omitempty"`
	Tags              []string   `json:"tags"`
	Status            string     `json:"status,omitempty"` // ideas
	StaffResponse     string     `json:"staff_response,omitempty"`
	AcceptedCommentID string     `json:"accepted_comment_id,omitempty"`
	MergedInto        string     `json:"merged_into,omitempty"`
	Pinned            bool       `json:"pinned"`
	Locked            bool       `json:"locked"`
	Hidden            bool       `json:"hidden"`
	CommentCount      int        `json:"comment_count"`
	ReactionCount     int        `json:"reaction_count"`
	VoteCount         int        `json:"vote_count"`
	FirstResponseAt   *time.Time `json:"first_response_at"`
	SolvedAt          *time.Time `json:"solved_at"`
	LastActivityAt    time.Time  `json:"last_activity_at"`
	Pending           bool       `json:"pending"` // waiting for a moderator's approval
	// Version changes with every change to the post or its replies: caches of the post's page
	// (and HTTP ETags) compare it.
	Version   int64 `json:"version"`
	pending   bool
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// The viewer's relation to the post.
	Voted       bool `json:"voted"`
	CanModerate bool `json:"can_moderate"`
	CanEdit     bool `json:"can_edit"`
	CanAccept   bool `json:"can_accept"`
}

// Solved reports whether a question has an accepted answer.
func (p Post) Solved() bool { return p.AcceptedCommentID != "" }

const postCols = `p.id, p.space_id, p.author_id, m.display_name, coalesce(pr.handle, ''), m.role, p.kind, p.title, p.body, p.body_html,
	coalesce(p.category_id, ''), p.status, p.staff_response, coalesce(p.accepted_comment_id, ''), coalesce(p.merged_into, ''),
	p.pinned, p.locked, p.hidden, p.comment_count, p.reaction_count, p.vote_count, p.first_response_at, p.solved_at,
	p.last_activity_at, p.created_at, p.updated_at, p.version, p.pending`

const postFrom = ` FROM posts p JOIN members m ON m.id = p.author_id LEFT JOIN profiles pr ON pr.member_id = p.author_id `

func scanPost(row interface{ Scan(...any) error }) (Post, error) {
	var p Post
	var pinned, locked, hidden, pending int
	var first, solved sql.NullInt64
	var last, created, updated int64
	err := row.Scan(&p.ID, &p.SpaceID, &p.Author.ID, &p.Author.Name, &p.Author.Handle, &p.Author.Role, &p.Kind, &p.Title, &p.Body, &p.BodyHTML,
		&p.CategoryID, &p.Status, &p.StaffResponse, &p.AcceptedCommentID, &p.MergedInto,
		&pinned, &locked, &hidden, &p.CommentCount, &p.ReactionCount, &p.VoteCount, &first, &solved, &last, &created, &updated, &p.Version, &pending)
	p.Pinned, p.Locked, p.Hidden = pinned == 1, locked == 1, hidden == 1
	p.pending = pending == 1
	p.Pending = p.pending
	p.FirstResponseAt, p.SolvedAt = optTime(first), optTime(solved)
	p.LastActivityAt, p.CreatedAt, p.UpdatedAt = db.Time(last), db.Time(created), db.Time(updated)
	p.Tags = []string{}
	return p, err
}

func optTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := db.Time(v.Int64)
	return &t
}

// PostInput is what a member writes.
type PostInput struct {
	Kind       Kind     `json:"kind"`
	Title      string   `json:"title"`
	Body       string   `json:"body"`
	CategoryID string   `json:"category_id"`
	Tags       []string `json:"tags"`
	// AuthorID lets an admin-scoped API key import content on behalf of a member.
	AuthorID string `json:"author_id"`
}

const (
	maxTitle = 200
	maxBody  = 50000
	maxTags  = 5
)

func (in *PostInput) check() error {
	in.Title = strings.TrimSpace(in.Title)
	in.Body = strings.TrimSpace(in.Body)
	if in.Kind == "" {
		in.Kind = Discussion
	}
	switch {
	case in.Kind != Discussion && in.Kind != Question && in.Kind != Idea:
		return errs.Invalid("kind", "kind must be discussion, question or idea")
	case in.Title == "":
		return errs.Because(errs.Invalid("title", "title is required"), "title_required")
	case utf8.RuneCountInString(in.Title) > maxTitle:
		return errs.Because(errs.Invalid("title", "title must be at most %d characters", maxTitle), "title_long", maxTitle)
	case in.Body == "":
		return errs.Because(errs.Invalid("body", "write something"), "body_required")
	case utf8.RuneCountInString(in.Body) > maxBody:
		return errs.Because(errs.Invalid("body", "text must be at most %d characters", maxBody), "body_long", maxBody)
	case len(in.Tags) > maxTags:
		return errs.Invalid("tags", "at most %d tags", maxTags)
	}
	var tags []string
	for _, t := range in.Tags {
		t = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "#")))
		if t == "" {
			continue
		}
		if utf8.RuneCountInString(t) > 40 || strings.ContainsAny(t, " ,/") {
			return errs.Invalid("tags", "tag %q must be one word of at most 40 characters", t)
		}
		tags = append(tags, t)
	}
	in.Tags = tags
	return nil
}

// Flood limits: more than this many in a minute is refused.
const (
	postsPerMinute    = 5
	commentsPerMinute = 20
)

func (s *Service) checkFlood(ctx context.Context, tx *sql.Tx, table, authorID string, limit int, now time.Time) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE author_id = $1 AND created_at > $2`,
		authorID, db.Now(now.Add(-time.Minute))).Scan(&n); err != nil {
		return err
	}
	if n >= limit {
		return errs.Because(errs.TooMany("you are writing very fast; wait a minute"), "flood")
	}
	return nil
}

// CreatePost publishes a post in a space p may write in.
func (s *Service) CreatePost(ctx context.Context, p accounts.Principal, spaceRef string, in PostInput) (Post, error) {
	if err := in.check(); err != nil {
		return Post{}, err
	}
	author, err := s.actor(ctx, p, in.AuthorID)
	if err != nil {
		return Post{}, err
	}
	v, err := s.viewer(ctx, p)
	if err != nil {
		return Post{}, err
	}
	sp, err := s.space(ctx, v, spaceRef)
	if err != nil {
		return Post{}, err
	}
	if !v.canPost(sp) {
		return Post{}, errs.Forbidden("only members of this space may post in it")
	}
	if err := s.withCategories(ctx, &sp); err != nil {
		return Post{}, err
	}
	if in.CategoryID != "" && !hasCategory(sp, in.CategoryID) {
		return Post{}, errs.Invalid("category_id", "no category %s in this space", in.CategoryID)
	}
	now := s.now()
	postID := id.New(now)
	status := ""
	if in.Kind == Idea {
		status = IdeaNew
	}
	html := s.md.HTML(in.Body)
	err = s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if in.AuthorID == "" {
			if err := s.checkFlood(ctx, tx, "posts", author.ID, postsPerMinute, now); err != nil {
				return err
			}
		}
		if _, err := s.ensureProfile(ctx, tx, author); err != nil {
			return err
		}
		var category any
		if in.CategoryID != "" {
			category = in.CategoryID
		}
		pending, err := needsApproval(ctx, tx, author)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO posts (id, space_id, author_id, kind, title, body, body_html, category_id, status, pending, hidden, last_activity_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $11, $11)`,
			postID, sp.ID, author.ID, in.Kind, in.Title, in.Body, html, category, status, db.Bool(pending), db.Now(now)); err != nil {
			return err
		}
		for _, t := range in.Tags {
			if _, err := tx.ExecContext(ctx, `INSERT INTO post_tags (post_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING`, postID, t); err != nil {
				return err
			}
		}
		// A post waiting for approval is not searchable and tells nobody yet; ApprovePost does both.
		if !pending {
			if err := s.indexPost(ctx, tx, postID, sp.ID, author.ID, in.Title, in.Body, now); err != nil {
				return err
			}
			if err := s.notifyMentions(ctx, tx, sp, author, in.Body, in.Title, "/posts/"+postID); err != nil {
				return err
			}
		}
		return s.outbox.Emit(ctx, tx, event.Community("Post Created", author.ID, now, map[string]any{
			"post_id": postID, "space_id": sp.ID, "kind": string(in.Kind), "title_length": utf8.RuneCountInString(in.Title),
			"body_length": utf8.RuneCountInString(in.Body), "tags": in.Tags, "imported": in.AuthorID != "", "pending": pending,
		}))
	})
	if err != nil {
		return Post{}, err
	}
	return s.Post(ctx, p, postID)
}

func hasCategory(sp Space, id string) bool {
	for _, c := range sp.Categories {
		if c.ID == id {
			return true
		}
	}
	return false
}

func (s *Service) indexPost(ctx context.Context, tx *sql.Tx, postID, spaceID, authorID, title, body string, at time.Time) error {
	if s.search == nil {
		return nil
	}
	return s.search.Put(ctx, tx, search.Doc{Kind: "post", ID: postID, SpaceID: spaceID, Title: title, Body: s.md.Text(body),
		URL: "/posts/" + postID, AuthorID: authorID, At: at})
}

// errNoPost hides whether a post the reader may not see exists.
func errNoPost(id string) error { return errs.NotFound("no post %s", id) }

// Post returns a post p may see, with its tags and p's relation to it.
func (s *Service) Post(ctx context.Context, p accounts.Principal, postID string) (Post, error) {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return Post{}, err
	}
	post, _, err := s.post(ctx, v, postID)
	return post, err
}

// post loads a post and its space for v, applying visibility.
func (s *Service) post(ctx context.Context, v viewer, postID string) (Post, Space, error) {
	post, err := scanPost(s.db.R.QueryRowContext(ctx, `SELECT `+postCols+postFrom+`WHERE p.id = $1`, postID))
	if errors.Is(err, sql.ErrNoRows) {
		return Post{}, Space{}, errNoPost(postID)
	}
	if err != nil {
		return Post{}, Space{}, err
	}
	sp, err := s.space(ctx, v, post.SpaceID)
	if errs.KindOf(err) == errs.KindNotFound {
		return Post{}, Space{}, errNoPost(postID)
	}
	if err != nil {
		return Post{}, Space{}, err
	}
	post.CanModerate = v.canModerate(sp.ID)
	if post.Hidden && !post.CanModerate && post.Author.ID != v.p.MemberID {
		return Post{}, Space{}, errNoPost(postID)
	}
	mine := v.p.MemberID != "" && post.Author.ID == v.p.MemberID
	post.CanEdit = mine || post.CanModerate
	post.CanAccept = post.Kind == Question && (mine || post.CanModerate)
	rows, err := s.db.R.QueryContext(ctx, `SELECT tag FROM post_tags WHERE post_id = $1 ORDER BY tag`, postID)
	if err != nil {
		return Post{}, Space{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return Post{}, Space{}, err
		}
		post.Tags = append(post.Tags, t)
	}
	if post.Kind == Idea && v.p.MemberID != "" {
		var n int
		if err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM idea_votes WHERE post_id = $1 AND member_id = $2`, postID, v.p.MemberID).Scan(&n); err != nil {
			return Post{}, Space{}, err
		}
		post.Voted = n > 0
	}
	return post, sp, rows.Err()
}

// EditPost changes a post's title, body and tags, keeping the old text as a revision. The author
// and the space's moderators may edit.
func (s *Service) EditPost(ctx context.Context, p accounts.Principal, postID string, in PostInput) (Post, error) {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return Post{}, err
	}
	old, _, err := s.post(ctx, v, postID)
	if err != nil {
		return Post{}, err
	}
	if !old.CanEdit {
		return Post{}, errs.Forbidden("only the author or a moderator may edit this post")
	}
	in.Kind = old.Kind
	if err := in.check(); err != nil {
		return Post{}, err
	}
	now := s.now()
	err = s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO revisions (id, target_kind, target_id, editor_id, title, body, at) VALUES ($1, 'post', $2, $3, $4, $5, $6)`,
			id.New(now), postID, p.Actor(), old.Title, old.Body, db.Now(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE posts SET version = version + 1, title = $1, body = $2, body_html = $3, updated_at = $4 WHERE id = $5`,
			in.Title, in.Body, s.md.HTML(in.Body), db.Now(now), postID); err != nil {
			return err
		}
		// Ideas merged into this one show its title.
		if _, err := tx.ExecContext(ctx, `UPDATE posts SET version = version + 1 WHERE merged_into = $1`, postID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM post_tags WHERE post_id = $1`, postID); err != nil {
			return err
		}
		for _, t := range in.Tags {
			if _, err := tx.ExecContext(ctx, `INSERT INTO post_tags (post_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING`, postID, t); err != nil {
				return err
			}
		}
		if !old.Hidden {
			if err := s.indexPost(ctx, tx, postID, old.SpaceID, old.Author.ID, in.Title, in.Body, old.CreatedAt); err != nil {
				return err
			}
		}
		if p.MemberID != old.Author.ID {
			if err := s.acc.Audit(ctx, tx, p, "post.edited", postID, map[string]any{"author_id": old.Author.ID}); err != nil {
				return err
			}
		}
		return s.outbox.Emit(ctx, tx, event.Community("Post Edited", p.Actor(), now, map[string]any{"post_id": postID, "space_id": old.SpaceID}))
	})
	if err != nil {
		return Post{}, err
	}
	return s.Post(ctx, p, postID)
}

// Revision is an earlier version of a post or comment.
type Revision struct {
	ID       string    `json:"id"`
	EditorID string    `json:"editor_id"`
	Title    string    `json:"title"`
	Body     string    `json:"body"`
	At       time.Time `json:"at"`
}

// Revisions returns the earlier versions of a post, newest first.
func (s *Service) Revisions(ctx context.Context, p accounts.Principal, postID string) ([]Revision, error) {
	if _, err := s.Post(ctx, p, postID); err != nil {
		return nil, err
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, editor_id, title, body, at FROM revisions WHERE target_kind = 'post' AND target_id = $1 ORDER BY id DESC`, postID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Revision{}
	for rows.Next() {
		var r Revision
		var at int64
		if err := rows.Scan(&r.ID, &r.EditorID, &r.Title, &r.Body, &at); err != nil {
			return nil, err
		}
		r.At = db.Time(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Moderation actions on a post.
const (
	ActionPin    = "pin"
	ActionUnpin  = "unpin"
	ActionLock   = "lock"
	ActionUnlock = "unlock"
	ActionHide   = "hide"
	ActionUnhide = "unhide"
)

// Moderate pins, locks or hides a post (and undoes it), with a reason kept in the audit log.
func (s *Service) Moderate(ctx context.Context, p accounts.Principal, postID, action, reason string) error {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return err
	}
	post, _, err := s.post(ctx, v, postID)
	if err != nil {
		return err
	}
	if !post.CanModerate {
		return errs.Forbidden("only moderators may %s posts", action)
	}
	col, val := "", 0
	switch action {
	case ActionPin, ActionUnpin:
		col, val = "pinned", db.Bool(action == ActionPin)
	case ActionLock, ActionUnlock:
		col, val = "locked", db.Bool(action == ActionLock)
	case ActionHide, ActionUnhide:
		col, val = "hidden", db.Bool(action == ActionHide)
		if action == ActionHide && strings.TrimSpace(reason) == "" {
			return errs.Because(errs.Invalid("reason", "say why the post is hidden"), "reason_required")
		}
	default:
		return errs.Invalid("action", "action must be one of pin, unpin, lock, unlock, hide, unhide")
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`UPDATE posts SET version = version + 1, %s = $1 WHERE id = $2`, col), val, postID); err != nil {
			return err
		}
		switch action {
		case ActionHide:
			if s.search != nil {
				if err := s.search.Delete(ctx, tx, "post", postID); err != nil {
					return err
				}
			}
		case ActionUnhide:
			// Unhiding also publishes a post that waited for approval.
			if _, err := tx.ExecContext(ctx, `UPDATE posts SET version = version + 1, pending = 0 WHERE id = $1`, postID); err != nil {
				return err
			}
			if err := s.indexPost(ctx, tx, postID, post.SpaceID, post.Author.ID, post.Title, post.Body, post.CreatedAt); err != nil {
				return err
			}
		}
		if err := s.acc.Audit(ctx, tx, p, "post."+action, postID, map[string]any{"reason": reason, "author_id": post.Author.ID}); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Post Moderated", p.Actor(), now, map[string]any{"post_id": postID, "action": action}))
	})
}

// TopicQuery selects a topic list.
type TopicQuery struct {
	SpaceID string // "" for every space the reader may see
	Kind    Kind   // "" for every kind
	Filter  string // questions: solved, unsolved, unanswered
	// UnansweredFor narrows the unanswered filter to questions waiting at least this long: the
	// "unanswered for N hours" list customer success watches.
	UnansweredFor time.Duration
	CategoryID    string
	Tag           string
	Sort          string // activity (default), newest, votes, trending
	Cursor        string
	Limit         int
}

// Sorts of a topic list.
const (
	SortActivity = "activity"
	SortNewest   = "newest"
	SortVotes    = "votes"
	SortTrending = "trending"
)

// Topics lists posts for p, pinned first then by latest activity (or by the chosen sort), and
// the cursor of the next page.
func (s *Service) Topics(ctx context.Context, p accounts.Principal, q TopicQuery) ([]Post, string, error) {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return nil, "", err
	}
	q.Limit = db.Limit(q.Limit, 30, 100)
	var where []string
	var args []any
	arg := func(x any) string {
		args = append(args, x)
		return "$" + strconv.Itoa(len(args))
	}
	if q.SpaceID != "" {
		sp, err := s.space(ctx, v, q.SpaceID)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "p.space_id = "+arg(sp.ID))
		if !v.canModerate(sp.ID) {
			where = append(where, "p.hidden = 0")
		}
	} else {
		ids, err := s.visibleSpaceIDs(ctx, v)
		if err != nil {
			return nil, "", err
		}
		if len(ids) == 0 {
			return []Post{}, "", nil
		}
		ph := make([]string, len(ids))
		for i, x := range ids {
			ph[i] = arg(x)
		}
		where = append(where, "p.space_id IN ("+strings.Join(ph, ", ")+")", "p.hidden = 0")
	}
	if q.Kind != "" {
		where = append(where, "p.kind = "+arg(string(q.Kind)))
	}
	switch q.Filter {
	case "":
	case "solved":
		where = append(where, "p.accepted_comment_id IS NOT NULL")
	case "unsolved":
		where = append(where, "p.kind = 'question' AND p.accepted_comment_id IS NULL")
	case "unanswered":
		where = append(where, "p.kind = 'question' AND p.first_response_at IS NULL")
		if q.UnansweredFor > 0 {
			where = append(where, "p.created_at <= "+arg(db.Now(s.now().Add(-q.UnansweredFor))))
		}
	default:
		return nil, "", errs.Invalid("filter", "filter must be solved, unsolved or unanswered")
	}
	if q.CategoryID != "" {
		where = append(where, "p.category_id = "+arg(q.CategoryID))
	}
	if q.Tag != "" {
		where = append(where, "EXISTS (SELECT 1 FROM post_tags t WHERE t.post_id = p.id AND t.tag = "+arg(strings.ToLower(q.Tag))+")")
	}
	var order string
	offset := 0
	switch q.Sort {
	case "", SortActivity:
		order = "p.pinned DESC, p.last_activity_at DESC, p.id DESC"
		if q.Cursor != "" {
			parts := strings.Split(q.Cursor, ".")
			if len(parts) != 3 {
				return nil, "", errs.Invalid("cursor", "invalid cursor")
			}
			pin, err1 := strconv.Atoi(parts[0])
			last, err2 := strconv.ParseInt(parts[1], 10, 64)
			if err1 != nil || err2 != nil {
				return nil, "", errs.Invalid("cursor", "invalid cursor")
			}
			// Row values compare like the ORDER BY, on both engines.
			where = append(where, fmt.Sprintf("(p.pinned, p.last_activity_at, p.id) < (%s, %s, %s)", arg(pin), arg(last), arg(parts[2])))
		}
	case SortNewest, SortVotes, SortTrending:
		switch q.Sort {
		case SortNewest:
			order = "p.id DESC"
		case SortVotes:
			order = "p.vote_count DESC, p.id DESC"
		case SortTrending:
			order = "(SELECT count(*) FROM idea_votes iv WHERE iv.post_id = p.id AND iv.at > " + arg(db.Now(s.now().Add(-7*24*time.Hour))) + ") DESC, p.vote_count DESC, p.id DESC"
		}
		if q.Cursor != "" {
			n, err := strconv.Atoi(q.Cursor)
			if err != nil || n < 0 {
				return nil, "", errs.Invalid("cursor", "invalid cursor")
			}
			offset = n
		}
	default:
		return nil, "", errs.Invalid("sort", "sort must be activity, newest, votes or trending")
	}
	query := `SELECT ` + postCols + postFrom
	if len(where) > 0 {
		query += "WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY " + order + " LIMIT " + arg(q.Limit+1)
	if offset > 0 {
		query += " OFFSET " + arg(offset)
	}
	rows, err := s.db.R.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	out := []Post{}
	for rows.Next() {
		post, err := scanPost(rows)
		if err != nil {
			return nil, "", err
		}
		post.CanModerate = v.canModerate(post.SpaceID)
		out = append(out, post)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := db.TrimPage(out, q.Limit, func(p Post) string {
		if q.Sort == "" || q.Sort == SortActivity {
			return fmt.Sprintf("%d.%d.%s", db.Bool(p.Pinned), db.Now(p.LastActivityAt), p.ID)
		}
		return strconv.Itoa(offset + q.Limit)
	})
	return out, next, nil
}
