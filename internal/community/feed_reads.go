package community

import (
	"context"
	"database/sql"

	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/event"
)

// FeedConsumerName is the durable name of the feed's consumer of reading events.
const FeedConsumerName = "feed-reads"

// FeedConsumer keeps, from Post Viewed events, the posts each member viewed (the latest view per
// post), which the home feed counts as affinity with their spaces and tags. Views go straight to
// the stream (RecordReading), so this is how reading reaches the feed without a write per view.
func (s *Service) FeedConsumer() backbone.Consumer {
	return backbone.Consumer{Name: FeedConsumerName, Handle: s.recordReads, Want: func(ev *event.Event) bool {
		return ev.Type == event.Track && ev.Source == event.SourceCommunity && ev.Event == "Post Viewed" && ev.UserID != ""
	}}
}

// recordReads upserts the batch's views; at least once delivery repeats a view harmlessly.
func (s *Service) recordReads(ctx context.Context, evs []event.Event) error {
	type read struct {
		post, space string
		at          int64
	}
	latest := map[[2]string]read{}
	for _, ev := range evs {
		post, _ := ev.Properties["post_id"].(string)
		space, _ := ev.Properties["space_id"].(string)
		if post == "" || space == "" {
			continue
		}
		k := [2]string{ev.UserID, post}
		at := db.Now(ev.Timestamp)
		if r, ok := latest[k]; !ok || at > r.at {
			latest[k] = read{post: post, space: space, at: at}
		}
	}
	if len(latest) == 0 {
		return nil
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		for k, r := range latest {
			// A member erased before their views arrive leaves nothing behind.
			if _, err := tx.ExecContext(ctx, `INSERT INTO feed_reads (member_id, post_id, space_id, at)
				SELECT id, $2, $3, $4 FROM members WHERE id = $1
				ON CONFLICT (member_id, post_id) DO UPDATE SET at = excluded.at WHERE feed_reads.at < excluded.at`, k[0], r.post, r.space, r.at); err != nil {
				return err
			}
		}
		return nil
	})
}
