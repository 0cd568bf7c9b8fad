package community

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
	"github.com/kizuna-community/kizuna/internal/search"
)

var _ dsr.Part = (*Service)(nil)

// The rows of a member's community data export.
type (
	profileExport struct {
		MemberID string `json:"member_id"`
		Handle   string `json:"handle"`
		Bio      string `json:"bio"`
		Points   int    `json:"points"`
	}
	postExport struct {
		ID        string    `json:"id"`
		URL       string    `json:"url"`
		SpaceID   string    `json:"space_id"`
		Kind      Kind      `json:"kind"`
		Title     string    `json:"title"`
		Body      string    `json:"body"`
		Status    string    `json:"status"`
		Hidden    bool      `json:"hidden"`
		CreatedAt time.Time `json:"created_at"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	replyExport struct {
		ID        string    `json:"id"`
		URL       string    `json:"url"`
		PostID    string    `json:"post_id"`
		Body      string    `json:"body"`
		Hidden    bool      `json:"hidden"`
		CreatedAt time.Time `json:"created_at"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	revisionExport struct {
		TargetKind string    `json:"target_kind"`
		TargetID   string    `json:"target_id"`
		Title      string    `json:"title"`
		Body       string    `json:"body"`
		At         time.Time `json:"at"`
	}
	reactionExport struct {
		TargetKind string    `json:"target_kind"`
		TargetID   string    `json:"target_id"`
		Emoji      string    `json:"emoji"`
		At         time.Time `json:"at"`
	}
	voteExport struct {
		PostID string    `json:"post_id"`
		At     time.Time `json:"at"`
	}
	viewExport struct {
		PostID  string    `json:"post_id"`
		SpaceID string    `json:"space_id"`
		At      time.Time `json:"at"`
	}
	membershipExport struct {
		SpaceID  string    `json:"space_id"`
		Role     string    `json:"role"`
		Muted    bool      `json:"muted"`
		JoinedAt time.Time `json:"joined_at"`
	}
	reportExport struct {
		ID         string    `json:"id"`
		TargetKind string    `json:"target_kind"`
		TargetID   string    `json:"target_id"`
		Reason     string    `json:"reason"`
		Note       string    `json:"note"`
		Status     string    `json:"status"`
		CreatedAt  time.Time `json:"created_at"`
	}
)

// ExportSubject returns what the subject's accounts did in the community: their profile, posts,
// replies, edits, reactions, idea votes, space memberships and the reports they filed.
func (s *Service) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.MemberIDs) == 0 {
		return nil, nil
	}
	in, args := db.InList(sub.MemberIDs, 1)
	q := s.db.R
	profiles := []profileExport{}
	err := each(ctx, q, `SELECT member_id, handle, bio, points FROM profiles WHERE member_id `+in, args, func(rows *sql.Rows) error {
		var p profileExport
		err := rows.Scan(&p.MemberID, &p.Handle, &p.Bio, &p.Points)
		profiles = append(profiles, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	posts := []postExport{}
	err = each(ctx, q, `SELECT id, space_id, kind, title, body, status, hidden, created_at, updated_at FROM posts WHERE author_id `+in+` ORDER BY id`, args,
		func(rows *sql.Rows) error {
			var p postExport
			var hidden int
			var c, u int64
			err := rows.Scan(&p.ID, &p.SpaceID, &p.Kind, &p.Title, &p.Body, &p.Status, &hidden, &c, &u)
			p.URL, p.Hidden, p.CreatedAt, p.UpdatedAt = "/posts/"+p.ID, hidden == 1, db.Time(c), db.Time(u)
			posts = append(posts, p)
			return err
		})
	if err != nil {
		return nil, err
	}
	replies := []replyExport{}
	err = each(ctx, q, `SELECT id, post_id, body, hidden, created_at, updated_at FROM comments WHERE author_id `+in+` ORDER BY id`, args,
		func(rows *sql.Rows) error {
			var c replyExport
			var hidden int
			var cr, u int64
			err := rows.Scan(&c.ID, &c.PostID, &c.Body, &hidden, &cr, &u)
			c.URL, c.Hidden, c.CreatedAt, c.UpdatedAt = "/posts/"+c.PostID+"#c-"+c.ID, hidden == 1, db.Time(cr), db.Time(u)
			replies = append(replies, c)
			return err
		})
	if err != nil {
		return nil, err
	}
	revisions := []revisionExport{}
	err = each(ctx, q, `SELECT target_kind, target_id, title, body, at FROM revisions WHERE editor_id `+in+` ORDER BY id`, args,
		func(rows *sql.Rows) error {
			var r revisionExport
			var at int64
			err := rows.Scan(&r.TargetKind, &r.TargetID, &r.Title, &r.Body, &at)
			r.At = db.Time(at)
			revisions = append(revisions, r)
			return err
		})
	if err != nil {
		return nil, err
	}
	reactions := []reactionExport{}
	err = each(ctx, q, `SELECT target_kind, target_id, emoji, at FROM reactions WHERE member_id `+in+` ORDER BY at`, args,
		func(rows *sql.Rows) error {
			var r reactionExport
			var at int64
			err := rows.Scan(&r.TargetKind, &r.TargetID, &r.Emoji, &at)
			r.At = db.Time(at)
			reactions = append(reactions, r)
			return err
		})
	if err != nil {
		return nil, err
	}
	votes := []voteExport{}
	err = each(ctx, q, `SELECT post_id, at FROM idea_votes WHERE member_id `+in+` ORDER BY at`, args, func(rows *sql.Rows) error {
		var v voteExport
		var at int64
		err := rows.Scan(&v.PostID, &at)
		v.At = db.Time(at)
		votes = append(votes, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	spaces := []membershipExport{}
	err = each(ctx, q, `SELECT space_id, role, muted, joined_at FROM space_members WHERE member_id `+in+` ORDER BY joined_at`, args,
		func(rows *sql.Rows) error {
			var m membershipExport
			var muted int
			var at int64
			err := rows.Scan(&m.SpaceID, &m.Role, &muted, &at)
			m.Muted, m.JoinedAt = muted == 1, db.Time(at)
			spaces = append(spaces, m)
			return err
		})
	if err != nil {
		return nil, err
	}
	reports := []reportExport{}
	err = each(ctx, q, `SELECT id, target_kind, target_id, reason, note, status, created_at FROM reports WHERE reporter_id `+in+` ORDER BY id`, args,
		func(rows *sql.Rows) error {
			var r reportExport
			var at int64
			err := rows.Scan(&r.ID, &r.TargetKind, &r.TargetID, &r.Reason, &r.Note, &r.Status, &at)
			r.CreatedAt = db.Time(at)
			reports = append(reports, r)
			return err
		})
	if err != nil {
		return nil, err
	}
	// What the feed keeps of what they read: the latest view of each post.
	viewed := []viewExport{}
	err = each(ctx, q, `SELECT post_id, space_id, at FROM feed_reads WHERE member_id `+in+` ORDER BY at`, args, func(rows *sql.Rows) error {
		var v viewExport
		var at int64
		err := rows.Scan(&v.PostID, &v.SpaceID, &at)
		v.At = db.Time(at)
		viewed = append(viewed, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return []dsr.Table{
		{Name: "community_profile", Rows: profiles}, {Name: "posts", Rows: posts}, {Name: "replies", Rows: replies},
		{Name: "edits", Rows: revisions}, {Name: "reactions", Rows: reactions}, {Name: "idea_votes", Rows: votes},
		{Name: "space_memberships", Rows: spaces}, {Name: "reports_filed", Rows: reports}, {Name: "posts_viewed", Rows: viewed},
	}, nil
}

// each runs query and calls fn for every row.
func each(ctx context.Context, q db.Queryer, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("exporting: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// column reads one text column of the rows query finds.
func column(ctx context.Context, q db.Queryer, query string, args ...any) ([]string, error) {
	var out []string
	err := each(ctx, q, query, args, func(rows *sql.Rows) error {
		var v string
		err := rows.Scan(&v)
		out = append(out, v)
		return err
	})
	return out, err
}

// EraseSubject erases the subject's community profile (handle, bio, points), space memberships
// and search entry, and, as the community's policy says, removes their posts and replies (with
// the replies others wrote under their posts, as deleting a topic does) or keeps them under the
// tombstone, which pages show as a former member. Reactions and idea votes stay, anonymous, so
// counts do not change; edits they made to kept posts keep the tombstone as editor; reports they
// filed keep the tombstone as reporter. Every post page that showed them is marked changed, so
// no cache serves it again.
func (s *Service) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	if len(e.MemberIDs) == 0 {
		return nil
	}
	in, args := db.InList(e.MemberIDs, 1)
	// Every thread their name appears on, before anything moves.
	touched, err := column(ctx, tx, `SELECT id FROM posts WHERE author_id `+in+`
		UNION SELECT post_id FROM comments WHERE author_id `+in+`
		UNION SELECT target_id FROM reactions WHERE target_kind = 'post' AND member_id `+in+`
		UNION SELECT c.post_id FROM reactions r JOIN comments c ON c.id = r.target_id WHERE r.target_kind = 'comment' AND r.member_id `+in+`
		UNION SELECT post_id FROM idea_votes WHERE member_id `+in, args...)
	if err != nil {
		return err
	}
	if e.RemoveContent {
		if err := s.removeContent(ctx, tx, e, in, args); err != nil {
			return err
		}
	}
	for _, m := range e.MemberIDs {
		for _, q := range []string{
			`UPDATE posts SET author_id = $2 WHERE author_id = $1`,
			`UPDATE comments SET author_id = $2 WHERE author_id = $1`,
			`UPDATE revisions SET editor_id = $2 WHERE editor_id = $1`,
			`UPDATE spaces SET created_by = $2 WHERE created_by = $1`,
			`UPDATE reports SET reporter_id = $2 WHERE reporter_id = $1`,
			`UPDATE reports SET target_id = $2 WHERE target_kind = 'member' AND target_id = $1`,
			`UPDATE reports SET resolved_by = $2 WHERE resolved_by = $1`,
			`UPDATE feed_pins SET pinned_by = $2 WHERE pinned_by = $1`,
			// Reactions and votes stay, anonymous; one the tombstone holds already (a second
			// account of the same person) is dropped rather than counted twice.
			`UPDATE reactions SET member_id = $2 WHERE member_id = $1 AND NOT EXISTS (SELECT 1 FROM reactions t
				WHERE t.target_kind = reactions.target_kind AND t.target_id = reactions.target_id AND t.member_id = $2 AND t.emoji = reactions.emoji)`,
			`UPDATE idea_votes SET member_id = $2 WHERE member_id = $1 AND NOT EXISTS (SELECT 1 FROM idea_votes t
				WHERE t.post_id = idea_votes.post_id AND t.member_id = $2)`,
		} {
			if _, err := tx.ExecContext(ctx, q, m, e.Tombstone); err != nil {
				return fmt.Errorf("erasing community data of %s: %w", m, err)
			}
		}
	}
	for _, q := range []string{
		`DELETE FROM reactions WHERE member_id ` + in,
		`DELETE FROM idea_votes WHERE member_id ` + in,
		`DELETE FROM space_members WHERE member_id ` + in,
		`DELETE FROM feed_reads WHERE member_id ` + in,
		`DELETE FROM profiles WHERE member_id ` + in,
	} {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("erasing community data: %w", err)
		}
	}
	for _, postID := range touched {
		if err := bumpThread(ctx, tx, postID); err != nil {
			return err
		}
	}
	return nil
}

// removeContent deletes the subject's replies and posts with what hangs off them: the replies
// under their posts, edits, reactions, tags, polls (by cascade) and search entries. Counters of
// the posts their replies were on go down, and an accepted answer of theirs is unaccepted.
func (s *Service) removeContent(ctx context.Context, tx *sql.Tx, e dsr.Erasure, in string, args []any) error {
	posts, err := column(ctx, tx, `SELECT id FROM posts WHERE author_id `+in, args...)
	if err != nil {
		return err
	}
	// Their replies, and every reply under their posts.
	comments, err := column(ctx, tx, `SELECT id FROM comments WHERE author_id `+in+`
		UNION SELECT c.id FROM comments c JOIN posts p ON p.id = c.post_id WHERE p.author_id `+in, args...)
	if err != nil {
		return err
	}
	for _, c := range comments {
		if s.search != nil {
			if err := s.search.Delete(ctx, tx, search.KindComment, c); err != nil {
				return err
			}
		}
		for _, q := range []string{
			`DELETE FROM revisions WHERE target_kind = 'comment' AND target_id = $1`,
			`DELETE FROM reactions WHERE target_kind = 'comment' AND target_id = $1`,
			`DELETE FROM reports WHERE target_kind = 'comment' AND target_id = $1`,
			`UPDATE posts SET accepted_comment_id = NULL, solved_at = NULL WHERE accepted_comment_id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, c); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE posts SET comment_count = comment_count - (SELECT count(*) FROM comments c
		WHERE c.post_id = posts.id AND c.author_id `+in+`) WHERE id IN (SELECT post_id FROM comments WHERE author_id `+in+`)`, args...); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM comments WHERE author_id `+in, args...); err != nil {
		return err
	}
	for _, p := range posts {
		if s.search != nil {
			if err := s.search.Delete(ctx, tx, search.KindPost, p); err != nil {
				return err
			}
		}
		for _, q := range []string{
			`DELETE FROM revisions WHERE target_kind = 'post' AND target_id = $1`,
			`DELETE FROM reactions WHERE target_kind = 'post' AND target_id = $1`,
			`DELETE FROM reactions WHERE target_kind = 'comment' AND target_id IN (SELECT id FROM comments WHERE post_id = $1)`,
			`DELETE FROM reports WHERE target_kind = 'post' AND target_id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, p); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM posts WHERE author_id `+in, args...); err != nil {
		return fmt.Errorf("removing posts: %w", err)
	}
	return nil
}
