package community

import (
	"context"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
)

// Appender puts events straight on the stream: reading is activity without a domain change,
// too frequent to go through the database.
type Appender interface {
	Append(ctx context.Context, evs ...event.Event) error
}

// Reading is one report from a reader's page: it was opened (a view), or it stayed visible for
// Seconds more since the last report (the heartbeat).
type Reading struct {
	View        bool
	Seconds     int
	AnonymousID string // the browser's id for a reader who is not logged in
	Path        string
	Referrer    string
}

// maxHeartbeat bounds the seconds one heartbeat may claim; pages report every 15 s while visible.
const maxHeartbeat = 60

// RecordReading records a view of a post (Post Viewed) or time spent reading it (Post Read), as
// events with the reader's id, so median dwell time per post, space or member can be measured.
func (s *Service) RecordReading(ctx context.Context, p accounts.Principal, postID string, r Reading) error {
	if s.events == nil {
		return nil
	}
	if !r.View && (r.Seconds < 1 || r.Seconds > maxHeartbeat) {
		return errs.Invalid("seconds", "seconds must be 1 to %d", maxHeartbeat)
	}
	if p.MemberID == "" && (r.AnonymousID == "" || len(r.AnonymousID) > 64) {
		return errs.Invalid("anonymous_id", "an anonymous reader needs an id of at most 64 characters")
	}
	v, err := s.viewer(ctx, p)
	if err != nil {
		return err
	}
	post, _, err := s.post(ctx, v, postID)
	if err != nil {
		return err
	}
	name := "Post Read"
	props := map[string]any{"post_id": post.ID, "space_id": post.SpaceID, "kind": string(post.Kind), "seconds": r.Seconds}
	if r.View {
		name = "Post Viewed"
		props = map[string]any{"post_id": post.ID, "space_id": post.SpaceID, "kind": string(post.Kind)}
	}
	ev := event.New(event.Track, name, event.SourceCommunity, s.now())
	ev.UserID, ev.AnonymousID, ev.Properties = p.MemberID, r.AnonymousID, props
	page := map[string]any{}
	if r.Path != "" {
		page["path"] = truncate(r.Path, 500)
	}
	if r.Referrer != "" {
		page["referrer"] = truncate(r.Referrer, 500)
	}
	if len(page) > 0 {
		ev.Context = map[string]any{"page": page}
	}
	return s.events.Append(ctx, ev)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
