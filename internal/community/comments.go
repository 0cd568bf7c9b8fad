package community

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/search"
)

// Comment is a reply to a post; on a question it is an answer.
type Comment struct {
	ID            string    `json:"id"`
	PostID        string    `json:"post_id"`
	Author        Author    `json:"author"`
	Body          string    `json:"body"`
	BodyHTML      string    `json:"body_html"`
	Hidden        bool      `json:"hidden"`
	Accepted      bool      `json:"accepted"`
	ReactionCount int       `json:"reaction_count"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

const commentCols = `c.id, c.post_id, c.author_id, m.display_name, coalesce(pr.handle, ''), m.role, c.body, c.body_html, c.hidden, c.reaction_count, c.created_at, c.updated_at`

const commentFrom = ` FROM comments c JOIN members m ON m.id = c.author_id LEFT JOIN profiles pr ON pr.member_id = c.author_id `

func scanComment(row interface{ Scan(...any) error }) (Comment, error) {
	var c Comment
	var hidden int
	var created, updated int64
	err := row.Scan(&c.ID, &c.PostID, &c.Author.ID, &c.Author.Name, &c.Author.Handle, &c.Author.Role, &c.Body, &c.BodyHTML, &hidden, &c.ReactionCount, &created, &updated)
	c.Hidden, c.CreatedAt, c.UpdatedAt = hidden == 1, db.Time(created), db.Time(updated)
	return c, err
}

// CommentInput is a reply.
type CommentInput struct {
	Body     string `json:"body"`
	AuthorID string `json:"author_id"` // for imports by an admin-scoped API key
}

// AddComment replies to a post (answers a question). The post's author is notified, mentioned
// members too, and the first reply by someone else records the post's time to first response.
func (s *Service) AddComment(ctx context.Context, p accounts.Principal, postID string, in CommentInput) (Comment, error) {
	in.Body = strings.TrimSpace(in.Body)
	switch {
	case in.Body == "":
		return Comment{}, errs.Because(errs.Invalid("body", "write something"), "body_required")
	case utf8.RuneCountInString(in.Body) > maxBody:
		return Comment{}, errs.Because(errs.Invalid("body", "text must be at most %d characters", maxBody), "body_long", maxBody)
	}
	author, err := s.actor(ctx, p, in.AuthorID)
	if err != nil {
		return Comment{}, err
	}
	v, err := s.viewer(ctx, p)
	if err != nil {
		return Comment{}, err
	}
	post, sp, err := s.post(ctx, v, postID)
	if err != nil {
		return Comment{}, err
	}
	if !v.canPost(sp) {
		return Comment{}, errs.Forbidden("only members of this space may reply")
	}
	if post.Locked && !post.CanModerate {
		return Comment{}, errs.Because(errs.Conflict("", "this post is locked"), "locked")
	}
	now := s.now()
	c := Comment{ID: id.New(now), PostID: postID, Author: Author{ID: author.ID, Name: author.DisplayName, Role: author.Role},
		Body: in.Body, BodyHTML: s.md.HTML(in.Body), CreatedAt: now.Truncate(time.Millisecond), UpdatedAt: now.Truncate(time.Millisecond)}
	firstResponse := post.FirstResponseAt == nil && author.ID != post.Author.ID
	err = s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if in.AuthorID == "" {
			if err := s.checkFlood(ctx, tx, "comments", author.ID, commentsPerMinute, now); err != nil {
				return err
			}
		}
		handle, err := s.ensureProfile(ctx, tx, author)
		if err != nil {
			return err
		}
		c.Author.Handle = handle
		if _, err := tx.ExecContext(ctx, `INSERT INTO comments (id, post_id, author_id, body, body_html, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)`,
			c.ID, postID, author.ID, c.Body, c.BodyHTML, db.Now(now)); err != nil {
			return err
		}
		q := `UPDATE posts SET version = version + 1, comment_count = comment_count + 1, last_activity_at = $1`
		if firstResponse {
			q += `, first_response_at = $1`
		}
		if _, err := tx.ExecContext(ctx, q+` WHERE id = $2`, db.Now(now), postID); err != nil {
			return err
		}
		if s.search != nil && !post.Hidden {
			if err := s.search.Put(ctx, tx, search.Doc{Kind: "comment", ID: c.ID, SpaceID: sp.ID, Title: post.Title, Body: s.md.Text(c.Body),
				URL: "/posts/" + postID + "#c-" + c.ID, AuthorID: author.ID, At: now}); err != nil {
				return err
			}
		}
		typ := notify.TypeReply
		if post.Kind == Question {
			typ = notify.TypeAnswer
		}
		if err := s.notifyMember(ctx, tx, sp.ID, notify.Notification{MemberID: post.Author.ID, Type: typ, ActorID: author.ID,
			Title: post.Title, URL: "/posts/" + postID + "#c-" + c.ID}); err != nil {
			return err
		}
		if err := s.notifyMentions(ctx, tx, sp, author, c.Body, post.Title, "/posts/"+postID+"#c-"+c.ID); err != nil {
			return err
		}
		props := map[string]any{"comment_id": c.ID, "post_id": postID, "space_id": sp.ID, "post_kind": string(post.Kind),
			"body_length": utf8.RuneCountInString(c.Body), "first_response": firstResponse, "imported": in.AuthorID != ""}
		if firstResponse {
			props["time_to_first_response_ms"] = now.Sub(post.CreatedAt).Milliseconds()
		}
		return s.outbox.Emit(ctx, tx, event.Community("Comment Created", author.ID, now, props))
	})
	return c, err
}

// Comments returns the replies to a post in order, up to limit after the comment id after, and
// the id to continue from. Hidden replies are shown to moderators and their authors only.
func (s *Service) Comments(ctx context.Context, p accounts.Principal, postID, after string, limit int) ([]Comment, string, error) {
	_, out, next, err := s.Thread(ctx, p, postID, after, limit)
	return out, next, err
}

// Thread returns a post and a page of its replies in one go: what a thread page shows.
func (s *Service) Thread(ctx context.Context, p accounts.Principal, postID, after string, limit int) (Post, []Comment, string, error) {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return Post{}, nil, "", err
	}
	post, _, err := s.post(ctx, v, postID)
	if err != nil {
		return Post{}, nil, "", err
	}
	limit = db.Limit(limit, 200, 500)
	all, err := s.threadPage(ctx, post, after, limit)
	if err != nil {
		return Post{}, nil, "", err
	}
	out := make([]Comment, 0, len(all))
	for _, c := range all {
		if c.Hidden && !post.CanModerate && (v.p.MemberID == "" || c.Author.ID != v.p.MemberID) {
			continue
		}
		c.Accepted = c.ID == post.AcceptedCommentID
		out = append(out, c)
	}
	out, next := db.TrimPage(out, limit, func(c Comment) string { return c.ID })
	return post, out, next, nil
}

// threadPage returns up to limit+1 replies (hidden ones included) after the reply id after, from
// the cache when the thread has not changed since.
func (s *Service) threadPage(ctx context.Context, post Post, after string, limit int) ([]Comment, error) {
	key := threadKey{post: post.ID, after: after, limit: limit}
	if cs, ok := s.threads.get(key, post.Version, s.now()); ok {
		return cs, nil
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+commentCols+commentFrom+`WHERE c.post_id = $1 AND c.id > $2 ORDER BY c.id LIMIT $3`,
		post.ID, after, limit+1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Comment, 0, min(limit+1, post.CommentCount+1))
	for rows.Next() {
		c, err := scanComment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.threads.put(key, post.Version, s.now(), out)
	return out, nil
}

// Touch marks a post's page as changed, inside the caller's transaction, for parts whose content
// appears on it (an article made from an answer, a poll): caches compare the post's version.
func (s *Service) Touch(ctx context.Context, tx *sql.Tx, postID string) error {
	return bumpThread(ctx, tx, postID)
}

// bumpThread marks a post's page as changed, so caches of it are not used again.
func bumpThread(ctx context.Context, tx *sql.Tx, postID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE posts SET version = version + 1 WHERE id = $1`, postID)
	return err
}

func (s *Service) comment(ctx context.Context, commentID string) (Comment, error) {
	c, err := scanComment(s.db.R.QueryRowContext(ctx, `SELECT `+commentCols+commentFrom+`WHERE c.id = $1`, commentID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, errs.NotFound("no comment %s", commentID)
	}
	return c, err
}

// Points members earn.
const (
	pointsAcceptedAnswer   = 15
	pointsReactionReceived = 1
)

// AcceptAnswer marks a reply as the answer to a question. The asker and moderators may accept;
// accepting another reply moves the mark. The first acceptance records the time to solution.
func (s *Service) AcceptAnswer(ctx context.Context, p accounts.Principal, postID, commentID string) error {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return err
	}
	post, sp, err := s.post(ctx, v, postID)
	if err != nil {
		return err
	}
	if post.Kind != Question {
		return errs.Because(errs.Conflict("", "only questions have accepted answers"), "not_question")
	}
	if !post.CanAccept {
		return errs.Forbidden("only the person who asked or a moderator may accept an answer")
	}
	c, err := s.comment(ctx, commentID)
	if err != nil || c.PostID != postID || c.Hidden {
		return errs.Invalid("comment_id", "no answer %s on this question", commentID)
	}
	if post.AcceptedCommentID == commentID {
		return nil
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		q := `UPDATE posts SET version = version + 1, accepted_comment_id = $1, last_activity_at = $2`
		if post.SolvedAt == nil {
			q += `, solved_at = $2`
		}
		if _, err := tx.ExecContext(ctx, q+` WHERE id = $3`, commentID, db.Now(now), postID); err != nil {
			return err
		}
		prevAnswerer := ""
		if post.AcceptedCommentID != "" {
			if prev, err := s.comment(ctx, post.AcceptedCommentID); err == nil {
				prevAnswerer = prev.Author.ID
				if prev.Author.ID != post.Author.ID {
					if err := s.addPoints(ctx, tx, prev.Author.ID, -pointsAcceptedAnswer); err != nil {
						return err
					}
				}
			}
		}
		if c.Author.ID != post.Author.ID {
			if err := s.addPoints(ctx, tx, c.Author.ID, pointsAcceptedAnswer); err != nil {
				return err
			}
		}
		if err := s.notifyMember(ctx, tx, sp.ID, notify.Notification{MemberID: c.Author.ID, Type: notify.TypeAnswerAccepted,
			ActorID: p.Actor(), Title: post.Title, URL: "/posts/" + postID + "#c-" + commentID}); err != nil {
			return err
		}
		props := map[string]any{"post_id": postID, "comment_id": commentID, "space_id": sp.ID, "answerer_id": c.Author.ID,
			"accepted_by": p.Actor(), "changed": post.AcceptedCommentID != ""}
		if post.SolvedAt == nil {
			props["time_to_solution_ms"] = now.Sub(post.CreatedAt).Milliseconds()
		}
		if prevAnswerer != "" {
			// Whose answer lost the mark: segments on accepted answers re-evaluate them too.
			props["previous_answerer_id"] = prevAnswerer
		}
		return s.outbox.Emit(ctx, tx, event.Community("Answer Accepted", p.Actor(), now, props))
	})
}

// HideComment hides or shows a reply, with a reason in the audit log. Moderators only.
func (s *Service) HideComment(ctx context.Context, p accounts.Principal, commentID string, hide bool, reason string) error {
	c, err := s.comment(ctx, commentID)
	if err != nil {
		return err
	}
	v, err := s.viewer(ctx, p)
	if err != nil {
		return err
	}
	post, sp, err := s.post(ctx, v, c.PostID)
	if err != nil {
		return err
	}
	if !post.CanModerate {
		return errs.Forbidden("only moderators may hide replies")
	}
	if hide && strings.TrimSpace(reason) == "" {
		return errs.Because(errs.Invalid("reason", "say why the reply is hidden"), "reason_required")
	}
	action := map[bool]string{true: "hide", false: "unhide"}[hide]
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE comments SET hidden = $1 WHERE id = $2`, db.Bool(hide), commentID); err != nil {
			return err
		}
		if err := bumpThread(ctx, tx, post.ID); err != nil {
			return err
		}
		if s.search != nil {
			var err error
			if hide {
				err = s.search.Delete(ctx, tx, "comment", commentID)
			} else {
				err = s.search.Put(ctx, tx, search.Doc{Kind: "comment", ID: c.ID, SpaceID: sp.ID, Title: post.Title, Body: s.md.Text(c.Body),
					URL: "/posts/" + post.ID + "#c-" + c.ID, AuthorID: c.Author.ID, At: c.CreatedAt})
			}
			if err != nil {
				return err
			}
		}
		if err := s.acc.Audit(ctx, tx, p, "comment."+action, commentID, map[string]any{"reason": reason, "post_id": post.ID, "author_id": c.Author.ID}); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Comment Moderated", p.Actor(), now, map[string]any{"comment_id": commentID, "post_id": post.ID, "action": action}))
	})
}
