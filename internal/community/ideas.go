package community

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/notify"
)

// Idea statuses, in the order an idea moves through them.
const (
	IdeaNew         = "new"
	IdeaUnderReview = "under_review"
	IdeaPlanned     = "planned"
	IdeaInProgress  = "in_progress"
	IdeaReleased    = "released"
	IdeaDeclined    = "declined"
)

// IdeaStatuses lists every idea status.
var IdeaStatuses = []string{IdeaNew, IdeaUnderReview, IdeaPlanned, IdeaInProgress, IdeaReleased, IdeaDeclined}

func (s *Service) idea(ctx context.Context, p accounts.Principal, postID string) (Post, Space, viewer, error) {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return Post{}, Space{}, v, err
	}
	post, sp, err := s.post(ctx, v, postID)
	if err != nil {
		return Post{}, Space{}, v, err
	}
	if post.Kind != Idea {
		return Post{}, Space{}, v, errs.Because(errs.Conflict("", "only ideas take votes and statuses"), "not_idea")
	}
	return post, sp, v, nil
}

// Vote gives p's one vote to an idea; voting again changes nothing.
func (s *Service) Vote(ctx context.Context, p accounts.Principal, postID string) error {
	post, sp, v, err := s.idea(ctx, p, postID)
	if err != nil {
		return err
	}
	if p.MemberID == "" {
		return errs.Unauthenticated("log in to vote")
	}
	if !v.canPost(sp) {
		return errs.Forbidden("only members of this space may vote")
	}
	if post.MergedInto != "" {
		return errs.Because(errs.Conflict("", "this idea was merged; vote on the idea it was merged into"), "merged")
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO idea_votes (post_id, member_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, postID, p.MemberID, db.Now(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // already voted: no change, no event
		}
		if _, err := tx.ExecContext(ctx, `UPDATE posts SET version = version + 1, vote_count = vote_count + 1, last_activity_at = $1 WHERE id = $2`, db.Now(now), postID); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Idea Voted", p.MemberID, now, map[string]any{"post_id": postID, "space_id": sp.ID, "status": post.Status}))
	})
}

// Unvote takes p's vote back.
func (s *Service) Unvote(ctx context.Context, p accounts.Principal, postID string) error {
	_, sp, _, err := s.idea(ctx, p, postID)
	if err != nil {
		return err
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idea_votes WHERE post_id = $1 AND member_id = $2`, postID, p.MemberID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE posts SET version = version + 1, vote_count = vote_count - 1 WHERE id = $1`, postID); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Idea Unvoted", p.MemberID, now, map[string]any{"post_id": postID, "space_id": sp.ID}))
	})
}

// SetIdeaStatus moves an idea to a status with an official response; every voter is notified.
// Community managers, product staff and the space's moderators may do this.
func (s *Service) SetIdeaStatus(ctx context.Context, p accounts.Principal, postID, status, response string) error {
	post, sp, v, err := s.idea(ctx, p, postID)
	if err != nil {
		return err
	}
	if !accounts.Allowed(p, accounts.PermManageCommunity) && !v.canModerate(sp.ID) {
		return errs.Forbidden("only product staff and moderators may change an idea's status")
	}
	if !slices.Contains(IdeaStatuses, status) {
		return errs.Invalid("status", "status must be one of %s", strings.Join(IdeaStatuses, ", "))
	}
	response = strings.TrimSpace(response)
	if utf8.RuneCountInString(response) > 5000 {
		return errs.Invalid("response", "the response must be at most 5000 characters")
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE posts SET version = version + 1, status = $1, staff_response = $2, last_activity_at = $3, updated_at = $3 WHERE id = $4`,
			status, response, db.Now(now), postID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT member_id FROM idea_votes WHERE post_id = $1`, postID)
		if err != nil {
			return err
		}
		var voters []string
		for rows.Next() {
			var m string
			if err := rows.Scan(&m); err != nil {
				rows.Close()
				return err
			}
			voters = append(voters, m)
		}
		rows.Close()
		if !slices.Contains(voters, post.Author.ID) {
			voters = append(voters, post.Author.ID)
		}
		for _, m := range voters {
			if err := s.notifyMember(ctx, tx, sp.ID, notify.Notification{MemberID: m, Type: notify.TypeIdeaStatus, ActorID: p.Actor(),
				Title: post.Title, URL: "/posts/" + postID}); err != nil {
				return err
			}
		}
		if err := s.acc.Audit(ctx, tx, p, "idea.status_changed", postID, map[string]any{"from": post.Status, "to": status}); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Idea Status Changed", p.Actor(), now, map[string]any{
			"post_id": postID, "space_id": sp.ID, "from": post.Status, "to": status, "votes": post.VoteCount, "notified": len(voters)}))
	})
}

// MergeIdea merges a duplicate idea into another: the votes move (a member who voted for both
// keeps one vote), and the duplicate points to the idea it became part of.
func (s *Service) MergeIdea(ctx context.Context, p accounts.Principal, fromID, intoID string) error {
	from, sp, v, err := s.idea(ctx, p, fromID)
	if err != nil {
		return err
	}
	into, _, _, err := s.idea(ctx, p, intoID)
	if err != nil {
		return errs.Invalid("into", "no idea %s to merge into", intoID)
	}
	if !accounts.Allowed(p, accounts.PermManageCommunity) && !v.canModerate(sp.ID) {
		return errs.Forbidden("only product staff and moderators may merge ideas")
	}
	if from.ID == into.ID || into.MergedInto != "" {
		return errs.Invalid("into", "merge into another idea that was not itself merged")
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO idea_votes (post_id, member_id, at) SELECT $1, member_id, at FROM idea_votes WHERE post_id = $2 ON CONFLICT DO NOTHING`,
			intoID, fromID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM idea_votes WHERE post_id = $1`, fromID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE posts SET version = version + 1, vote_count = (SELECT count(*) FROM idea_votes WHERE post_id = $1), last_activity_at = $2 WHERE id = $1`,
			intoID, db.Now(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE posts SET version = version + 1, vote_count = 0, merged_into = $1, locked = 1, updated_at = $2 WHERE id = $3`, intoID, db.Now(now), fromID); err != nil {
			return err
		}
		if err := s.acc.Audit(ctx, tx, p, "idea.merged", fromID, map[string]any{"into": intoID}); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Idea Merged", p.Actor(), now, map[string]any{"post_id": fromID, "into_post_id": intoID, "votes_moved": from.VoteCount}))
	})
}
