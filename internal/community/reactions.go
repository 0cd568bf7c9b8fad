package community

import (
	"context"
	"database/sql"
	"slices"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
)

// Emojis are the reactions members may give.
var Emojis = []string{"like", "heart", "laugh", "party", "thinking", "clap"}

// React adds p's reaction to a post ("post") or comment ("comment"); reacting twice with the same
// emoji changes nothing. The author earns a point.
func (s *Service) React(ctx context.Context, p accounts.Principal, targetKind, targetID, emoji string) error {
	return s.reaction(ctx, p, targetKind, targetID, emoji, true)
}

// Unreact takes p's reaction back.
func (s *Service) Unreact(ctx context.Context, p accounts.Principal, targetKind, targetID, emoji string) error {
	return s.reaction(ctx, p, targetKind, targetID, emoji, false)
}

func (s *Service) reaction(ctx context.Context, p accounts.Principal, kind, targetID, emoji string, add bool) error {
	if !slices.Contains(Emojis, emoji) {
		return errs.Invalid("emoji", "emoji must be one of like, heart, laugh, party, thinking, clap")
	}
	if p.MemberID == "" {
		return errs.Unauthenticated("log in to react")
	}
	postID, authorID := targetID, ""
	switch kind {
	case "post":
	case "comment":
		c, err := s.comment(ctx, targetID)
		if err != nil {
			return err
		}
		postID, authorID = c.PostID, c.Author.ID
	default:
		return errs.Invalid("target", "react to a post or a comment")
	}
	v, err := s.viewer(ctx, p)
	if err != nil {
		return err
	}
	post, sp, err := s.post(ctx, v, postID)
	if err != nil {
		return err
	}
	if !v.canPost(sp) {
		return errs.Forbidden("only members of this space may react")
	}
	if authorID == "" {
		authorID = post.Author.ID
	}
	table := map[string]string{"post": "posts", "comment": "comments"}[kind]
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		delta := 1
		if add {
			res, err = tx.ExecContext(ctx, `INSERT INTO reactions (target_kind, target_id, member_id, emoji, at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
				kind, targetID, p.MemberID, emoji, db.Now(now))
		} else {
			delta = -1
			res, err = tx.ExecContext(ctx, `DELETE FROM reactions WHERE target_kind = $1 AND target_id = $2 AND member_id = $3 AND emoji = $4`,
				kind, targetID, p.MemberID, emoji)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET reaction_count = reaction_count + $1 WHERE id = $2`, delta, targetID); err != nil {
			return err
		}
		if err := bumpThread(ctx, tx, postID); err != nil {
			return err
		}
		if authorID != p.MemberID {
			if err := s.addPoints(ctx, tx, authorID, delta*pointsReactionReceived); err != nil {
				return err
			}
		}
		name := "Reaction Added"
		if !add {
			name = "Reaction Removed"
		}
		return s.outbox.Emit(ctx, tx, event.Community(name, p.MemberID, now, map[string]any{
			"target_kind": kind, "target_id": targetID, "post_id": postID, "space_id": sp.ID, "emoji": emoji, "author_id": authorID}))
	})
}

// Reactions counts the reactions on a post or comment by emoji, and says which p gave.
func (s *Service) Reactions(ctx context.Context, p accounts.Principal, kind, targetID string) (map[string]int, map[string]bool, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT emoji, member_id FROM reactions WHERE target_kind = $1 AND target_id = $2`, kind, targetID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	counts, mine := map[string]int{}, map[string]bool{}
	for rows.Next() {
		var e, m string
		if err := rows.Scan(&e, &m); err != nil {
			return nil, nil, err
		}
		counts[e]++
		if m == p.MemberID && m != "" {
			mine[e] = true
		}
	}
	return counts, mine, rows.Err()
}

// ThreadReactions counts the reactions on a post and all its replies in one query, by target id
// and emoji, and says which of them p gave.
func (s *Service) ThreadReactions(ctx context.Context, p accounts.Principal, postID string) (map[string]map[string]int, map[string]map[string]bool, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT r.target_id, r.emoji, count(*), max(CASE WHEN r.member_id = $2 THEN 1 ELSE 0 END) FROM reactions r
		WHERE (r.target_kind = 'post' AND r.target_id = $1)
		   OR (r.target_kind = 'comment' AND r.target_id IN (SELECT c.id FROM comments c WHERE c.post_id = $1))
		GROUP BY r.target_id, r.emoji`, postID, p.MemberID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	counts, mine := map[string]map[string]int{}, map[string]map[string]bool{}
	for rows.Next() {
		var target, emoji string
		var n, me int
		if err := rows.Scan(&target, &emoji, &n, &me); err != nil {
			return nil, nil, err
		}
		if counts[target] == nil {
			counts[target], mine[target] = map[string]int{}, map[string]bool{}
		}
		counts[target][emoji] = n
		mine[target][emoji] = me == 1 && p.MemberID != ""
	}
	return counts, mine, rows.Err()
}
