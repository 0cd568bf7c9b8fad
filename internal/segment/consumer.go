package segment

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/identity"
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

// landWait bounds how long one batch waits for its events to land on profiles (the profile
// consumer runs beside this one); landGiveUp is the age after which an event that never landed
// (it carried no identifier the graph could place) is left to the scheduled recomputation.
const (
	landWait   = 3 * time.Second
	landGiveUp = 2 * time.Minute
)

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
	landed, err := s.awaitLanding(ctx, pending)
	if err != nil {
		return err
	}
	ids = append(ids, landed...)
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

// awaitLanding returns the profiles the events pending landed on, waiting up to landWait for the
// profile consumer. Events older than landGiveUp are not waited for; younger ones still missing
// then fail the batch, which the backbone retries.
func (s *Service) awaitLanding(ctx context.Context, pending map[string]time.Time) ([]string, error) {
	var out []string
	deadline := time.Now().Add(landWait)
	for len(pending) > 0 {
		msgs := make([]string, 0, len(pending))
		for m := range pending {
			msgs = append(msgs, m)
		}
		for chunk := range slices.Chunk(msgs, 500) {
			rows, err := s.db.R.QueryContext(ctx, `SELECT message_id, profile_id FROM profile_events WHERE message_id `+
				s.db.Engine.In(len(chunk), 1), s.db.Engine.InArgs(chunk)...)
			if err != nil {
				return nil, fmt.Errorf("finding the profiles of events: %w", err)
			}
			for rows.Next() {
				var m, pid string
				if err := rows.Scan(&m, &pid); err != nil {
					rows.Close()
					return nil, err
				}
				delete(pending, m)
				out = append(out, pid)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
		now := s.now()
		for m, at := range pending {
			if now.Sub(at) > landGiveUp {
				delete(pending, m)
			}
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d events are not on profiles yet", len(pending))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return out, nil
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
