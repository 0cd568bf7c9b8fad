package segment

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/profile"
)

// ConsumerName is the durable name of the segment consumer.
const ConsumerName = "segments"

// Consumer returns the backbone consumer that drives the incremental evaluator: for each batch
// of events it finds the profiles they touch — the profile an event landed on (through the
// profile consumer), the profile a consent or CRM event names, both sides of a merge or its
// undoing, the profiles of the account whose contract changed — and re-evaluates them. It decodes
// properties only of the few events whose properties it reads.
func (s *Service) Consumer() backbone.Consumer {
	return backbone.Consumer{Name: ConsumerName, HandleLean: s.handleLean}
}

func (s *Service) handleLean(ctx context.Context, leans []backbone.Lean) error {
	var n int
	if err := s.db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM segments`).Scan(&n); err != nil {
		return fmt.Errorf("counting segments: %w", err)
	}
	if n == 0 {
		return nil
	}
	var ids []string
	var posts, comments, members []string // community facts whose people are looked up below
	pending := map[string]time.Time{}     // message id → received at, for events that land on a profile
	for i := range leans {
		l := &leans[i]
		ev := &l.Event
		if ev.ProfileID != "" {
			ids = append(ids, ev.ProfileID)
		}
		switch ev.Event {
		case identity.EventProfilesMerged, identity.EventProfilesUnmerged:
			var p struct{ Winner, Loser string }
			if err := gojson.Unmarshal(l.Properties, &p); err == nil {
				ids = append(ids, p.Winner, p.Loser)
			}
		case "Contract Updated":
			var p struct {
				ExternalID string `json:"external_id"`
			}
			if err := gojson.Unmarshal(l.Properties, &p); err == nil && p.ExternalID != "" {
				more, err := s.contractProfiles(ctx, p.ExternalID)
				if err != nil {
					return err
				}
				ids = append(ids, more...)
			}
		case "Comment Created", "Answer Accepted", "Comment Moderated", "Post Moderated", "Post Approved", "Post Rejected":
			// The actor's own profile is found below; these also change the facts of the asker
			// (unanswered questions) and of the answerers (accepted answers), whose member ids the
			// post, the reply or the event names.
			var p struct {
				PostID             string `json:"post_id"`
				CommentID          string `json:"comment_id"`
				AnswererID         string `json:"answerer_id"`
				PreviousAnswererID string `json:"previous_answerer_id"`
			}
			if err := gojson.Unmarshal(l.Properties, &p); err == nil {
				posts = append(posts, p.PostID)
				members = append(members, p.AnswererID, p.PreviousAnswererID)
				if ev.Event == "Comment Moderated" {
					comments = append(comments, p.CommentID)
				}
			}
		}
		if ev.ProfileID != "" || ev.UserID != "" || (ev.AnonymousID != "" && !strings.HasPrefix(ev.AnonymousID, "kizuna:")) {
			pending[ev.MessageID] = ev.ReceivedAt
		}
	}
	more, err := s.communityProfiles(ctx, posts, comments, members)
	if err != nil {
		return err
	}
	ids = append(ids, more...)
	if err := profile.AwaitLanded(ctx, s.db, s.now, pending, "message_id, profile_id", func(rows *sql.Rows) (string, error) {
		var m, pid string
		err := rows.Scan(&m, &pid)
		ids = append(ids, pid)
		return m, err
	}); err != nil {
		return err
	}
	ids = slices.DeleteFunc(ids, func(x string) bool { return x == "" })
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for chunk := range slices.Chunk(ids, 100) {
		if err := s.Reevaluate(ctx, chunk); err != nil {
			return err
		}
	}
	return nil
}

// contractProfiles returns the profiles of the account that holds contract externalID.
func (s *Service) contractProfiles(ctx context.Context, externalID string) ([]string, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT pa.profile_id FROM crm_contracts k JOIN profile_accounts pa ON pa.account_id = k.account_id
		WHERE k.external_id = $1`, externalID)
	ids, err := scanIDs(rows, err)
	if err != nil {
		return nil, fmt.Errorf("finding the profiles of contract %s: %w", externalID, err)
	}
	out := make([]string, 0, len(ids))
	for pid := range ids {
		out = append(out, pid)
	}
	return out, nil
}

// communityProfiles returns the profiles whose community facts the posts, replies and members
// given touch: each post's asker and the author of its accepted answer, each reply's author, and
// the members themselves, through their user_id identifiers.
func (s *Service) communityProfiles(ctx context.Context, posts, comments, members []string) ([]string, error) {
	clean := func(xs []string) []string {
		xs = slices.DeleteFunc(xs, func(x string) bool { return x == "" })
		slices.Sort(xs)
		return slices.Compact(xs)
	}
	posts, comments = clean(posts), clean(comments)
	for chunk := range slices.Chunk(posts, 500) {
		rows, err := s.db.R.QueryContext(ctx, `SELECT p.author_id, COALESCE(a.author_id, '') FROM posts p
			LEFT JOIN comments a ON a.id = p.accepted_comment_id WHERE p.id `+s.db.Engine.In(len(chunk), 1), s.db.Engine.InArgs(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("finding the people of posts: %w", err)
		}
		for rows.Next() {
			var asker, answerer string
			if err := rows.Scan(&asker, &answerer); err != nil {
				rows.Close()
				return nil, fmt.Errorf("finding the people of posts: %w", err)
			}
			members = append(members, asker, answerer)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("finding the people of posts: %w", err)
		}
	}
	for chunk := range slices.Chunk(comments, 500) {
		rows, err := s.db.R.QueryContext(ctx, `SELECT author_id FROM comments WHERE id `+s.db.Engine.In(len(chunk), 1), s.db.Engine.InArgs(chunk)...)
		found, err := scanIDs(rows, err)
		if err != nil {
			return nil, fmt.Errorf("finding the authors of replies: %w", err)
		}
		for m := range found {
			members = append(members, m)
		}
	}
	var out []string
	for chunk := range slices.Chunk(clean(members), 500) {
		rows, err := s.db.R.QueryContext(ctx, `SELECT profile_id FROM identity_identifiers WHERE type = 'user_id' AND value `+
			s.db.Engine.In(len(chunk), 1), s.db.Engine.InArgs(chunk)...)
		found, err := scanIDs(rows, err)
		if err != nil {
			return nil, fmt.Errorf("finding the profiles of members: %w", err)
		}
		for pid := range found {
			out = append(out, pid)
		}
	}
	return out, nil
}
