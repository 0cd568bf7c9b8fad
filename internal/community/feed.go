package community

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/event"
)

// FeedWeights are the named weights of the home feed's ranking. A post's score is its relevance to
// the reader plus its popularity, decayed by the age of its last activity:
//
//	score = (1 + Interest·interests + Joined·joined + Affinity·min(affinity, AffinityCap)
//	         + Read·min(reads, ReadCap) + Popularity·ln(1 + reactions + 2·comments + votes))
//	        · 2^(−age / HalfLife)
//
// where interests counts the post's space and tags the reader chose in the onboarding survey,
// joined says the post is in a space they joined, affinity counts their reactions and reads their
// viewed posts of the last AffinityWindow in the post's space or on its tags. Pinned posts come
// before every score.
type FeedWeights struct {
	Interest       float64
	Joined         float64
	Affinity       float64
	AffinityCap    int
	AffinityWindow time.Duration
	Read           float64
	ReadCap        int
	Popularity     float64
	HalfLife       time.Duration
}

// DefaultFeedWeights rank a chosen interest above a joined space, and both above mere popularity,
// for posts of similar age: a post the reader chose by interest keeps the lead over an unrelated one
// for about two half-lives (six days) of age.
var DefaultFeedWeights = FeedWeights{Interest: 4, Joined: 1.5, Affinity: 0.5, AffinityCap: 4, AffinityWindow: 30 * 24 * time.Hour,
	Read: 0.25, ReadCap: 8, Popularity: 1, HalfLife: 72 * time.Hour}

// FeedSignals are what the ranking knows of one post for one reader.
type FeedSignals struct {
	Interests int  // the post's space and tags among the reader's interests
	Joined    bool // the post is in a space the reader joined
	Affinity  int  // the reader's recent reactions in the post's space or on its tags
	Reads     int  // the reader's recently viewed posts in the post's space or on its tags
	Reactions int
	Comments  int
	Votes     int
	Age       time.Duration // since the post's last activity
}

// Score ranks one post: higher first.
func (w FeedWeights) Score(s FeedSignals) float64 {
	relevance := 1 + w.Interest*float64(s.Interests) + w.Affinity*float64(min(s.Affinity, w.AffinityCap)) +
		w.Read*float64(min(s.Reads, w.ReadCap))
	if s.Joined {
		relevance += w.Joined
	}
	popularity := w.Popularity * math.Log1p(float64(s.Reactions+2*s.Comments+s.Votes))
	decay := 1.0
	if w.HalfLife > 0 && s.Age > 0 {
		decay = math.Exp2(-s.Age.Hours() / w.HalfLife.Hours())
	}
	return (relevance + popularity) * decay
}

// Why a post is in the reader's feed where it is, for the reader to see.
const (
	ReasonPinned   = "pinned"
	ReasonInterest = "interest"
	ReasonJoined   = "joined"
	ReasonAffinity = "affinity"
	ReasonPopular  = "popular"
)

// FeedItem is one post of the feed with its score and why it ranks there.
type FeedItem struct {
	Post
	Score     float64
	Reason    string   // the strongest reason, one of the Reason constants, or "" for just recent
	Interests []string // the interests it matched: a space's slug or a tag
	SpaceName string
	SpaceSlug string
}

// FeedQuery asks for a reader's feed.
type FeedQuery struct {
	// InterestSpaces (slugs) and InterestTags are the reader's declared interests, from the
	// onboarding survey.
	InterestSpaces []string
	InterestTags   []string
	Limit          int // 20 when 0, at most 100
	// Weights rank the feed; DefaultFeedWeights when zero.
	Weights FeedWeights
}

// feedCandidates bounds the posts scored per feed: the latest community-wide, and the latest of
// each interest and joined space or tag. Scoring a few hundred posts in Go is microseconds; the
// queries are index range scans.
const (
	feedRecent    = 200
	feedPerSource = 50
)

// Feed is p's home feed: the posts p may see ranked by FeedWeights, staff-pinned posts first. An
// anonymous reader, or one with no interests, joined spaces or reactions, gets the popular feed
// (popularity and recency alone).
func (s *Service) Feed(ctx context.Context, p accounts.Principal, q FeedQuery) ([]FeedItem, error) {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return nil, err
	}
	w := q.Weights
	if w == (FeedWeights{}) {
		w = DefaultFeedWeights
	}
	q.Limit = db.Limit(q.Limit, 20, 100)
	spaces, err := s.allSpaces(ctx)
	if err != nil {
		return nil, err
	}
	visible := map[string]Space{}
	bySlug := map[string]string{}
	var visibleIDs []string
	for _, sp := range spaces {
		if v.canSee(sp) {
			visible[sp.ID] = sp
			bySlug[sp.Slug] = sp.ID
			visibleIDs = append(visibleIDs, sp.ID)
		}
	}
	if len(visibleIDs) == 0 {
		return []FeedItem{}, nil
	}
	interestSpace := map[string]bool{}
	for _, slug := range q.InterestSpaces {
		if id, ok := bySlug[slug]; ok {
			interestSpace[id] = true
		}
	}
	interestTag := map[string]bool{}
	for _, t := range q.InterestTags {
		interestTag[strings.ToLower(t)] = true
	}

	// Candidates.
	ids := map[string]bool{}
	collect := func(query string, args ...any) error {
		rows, err := s.db.R.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids[id] = true
		}
		return rows.Err()
	}
	if err := collect(`SELECT id FROM posts WHERE hidden = 0 ORDER BY last_activity_at DESC LIMIT $1`, feedRecent); err != nil {
		return nil, err
	}
	sourceSpaces := map[string]bool{}
	for id := range interestSpace {
		sourceSpaces[id] = true
	}
	for id := range v.roles {
		if _, ok := visible[id]; ok && !v.muted[id] {
			sourceSpaces[id] = true
		}
	}
	for id := range sourceSpaces {
		if err := collect(`SELECT id FROM posts WHERE space_id = $1 AND hidden = 0 ORDER BY last_activity_at DESC LIMIT $2`, id, feedPerSource); err != nil {
			return nil, err
		}
	}
	for t := range interestTag {
		if err := collect(`SELECT post_id FROM post_tags WHERE tag = $1 ORDER BY post_id DESC LIMIT $2`, t, feedPerSource); err != nil {
			return nil, err
		}
	}
	pinned := map[string]bool{}
	rows, err := s.db.R.QueryContext(ctx, `SELECT post_id FROM feed_pins`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		pinned[id], ids[id] = true, true
	}
	rows.Close()

	// The reader's affinity: their recent reactions by space and by tag.
	affSpace, affTag := map[string]int{}, map[string]int{}
	if p.MemberID != "" && w.Affinity != 0 {
		since := db.Now(s.now().Add(-w.AffinityWindow))
		rows, err := s.db.R.QueryContext(ctx, `SELECT p.space_id, coalesce(t.tag, '') FROM reactions r JOIN posts p ON p.id = r.target_id
			LEFT JOIN post_tags t ON t.post_id = p.id
			WHERE r.member_id = $1 AND r.target_kind = 'post' AND r.at > $2 ORDER BY r.at DESC LIMIT 500`, p.MemberID, since)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var sp, tag string
			if err := rows.Scan(&sp, &tag); err != nil {
				rows.Close()
				return nil, err
			}
			affSpace[sp]++
			if tag != "" {
				affTag[tag]++
			}
		}
		rows.Close()
	}
	readSpace, readTag := map[string]int{}, map[string]int{}
	if p.MemberID != "" && w.Read != 0 {
		since := db.Now(s.now().Add(-w.AffinityWindow))
		rows, err := s.db.R.QueryContext(ctx, `SELECT r.space_id, coalesce(t.tag, '') FROM feed_reads r LEFT JOIN post_tags t ON t.post_id = r.post_id
			WHERE r.member_id = $1 AND r.at > $2 ORDER BY r.at DESC LIMIT 500`, p.MemberID, since)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var sp, tag string
			if err := rows.Scan(&sp, &tag); err != nil {
				rows.Close()
				return nil, err
			}
			readSpace[sp]++
			if tag != "" {
				readTag[tag]++
			}
		}
		rows.Close()
	}

	posts, err := s.postsByID(ctx, slices.Collect(func(yield func(string) bool) {
		for id := range ids {
			if !yield(id) {
				return
			}
		}
	}))
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]FeedItem, 0, len(posts))
	for _, post := range posts {
		sp, ok := visible[post.SpaceID]
		if !ok || post.Hidden || post.MergedInto != "" || v.muted[post.SpaceID] {
			continue
		}
		it := FeedItem{Post: post, SpaceName: sp.Name, SpaceSlug: sp.Slug}
		sig := FeedSignals{Reactions: post.ReactionCount, Comments: post.CommentCount, Votes: post.VoteCount, Age: now.Sub(post.LastActivityAt)}
		if interestSpace[post.SpaceID] {
			sig.Interests++
			it.Interests = append(it.Interests, sp.Slug)
		}
		_, sig.Joined = v.roles[post.SpaceID]
		sig.Affinity, sig.Reads = affSpace[post.SpaceID], readSpace[post.SpaceID]
		for _, t := range post.Tags {
			if interestTag[t] {
				sig.Interests++
				it.Interests = append(it.Interests, t)
			}
			sig.Affinity += affTag[t]
			sig.Reads += readTag[t]
		}
		it.Score = w.Score(sig)
		switch {
		case pinned[post.ID]:
			it.Reason = ReasonPinned
		case sig.Interests > 0:
			it.Reason = ReasonInterest
		case sig.Affinity > 0 || sig.Reads > 0:
			it.Reason = ReasonAffinity
		case sig.Joined:
			it.Reason = ReasonJoined
		case post.ReactionCount+2*post.CommentCount+post.VoteCount >= 5:
			it.Reason = ReasonPopular
		}
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b FeedItem) int {
		if pa, pb := pinned[a.ID], pinned[b.ID]; pa != pb {
			if pa {
				return -1
			}
			return 1
		}
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return strings.Compare(b.ID, a.ID)
	})
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// postsByID reads posts with their tags, in no order.
func (s *Service) postsByID(ctx context.Context, ids []string) ([]Post, error) {
	out := make([]Post, 0, len(ids))
	for chunk := range slices.Chunk(ids, 500) {
		ph := s.db.Engine.In(len(chunk), 1)
		rows, err := s.db.R.QueryContext(ctx, `SELECT `+postCols+postFrom+`WHERE p.id `+ph, s.db.Engine.InArgs(chunk)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			post, err := scanPost(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, post)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		rows, err = s.db.R.QueryContext(ctx, `SELECT post_id, tag FROM post_tags WHERE post_id `+ph+` ORDER BY tag`, s.db.Engine.InArgs(chunk)...)
		if err != nil {
			return nil, err
		}
		tags := map[string][]string{}
		for rows.Next() {
			var id, tag string
			if err := rows.Scan(&id, &tag); err != nil {
				rows.Close()
				return nil, err
			}
			tags[id] = append(tags[id], tag)
		}
		rows.Close()
		for i := range out {
			if t, ok := tags[out[i].ID]; ok {
				out[i].Tags = t
			}
		}
	}
	return out, nil
}

// FeedPinned reports whether a post is pinned to the home feed.
func (s *Service) FeedPinned(ctx context.Context, postID string) (bool, error) {
	var n int
	err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM feed_pins WHERE post_id = $1`, postID).Scan(&n)
	return n > 0, err
}

// PinToFeed pins a post to the top of everyone's home feed, or unpins it: community managers do.
func (s *Service) PinToFeed(ctx context.Context, p accounts.Principal, postID string, pin bool) error {
	if err := accounts.Authorize(p, accounts.PermManageCommunity); err != nil {
		return err
	}
	var spaceID string
	err := s.db.R.QueryRowContext(ctx, `SELECT space_id FROM posts WHERE id = $1`, postID).Scan(&spaceID)
	if errors.Is(err, sql.ErrNoRows) {
		return errNoPost(postID)
	}
	if err != nil {
		return err
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		name := "Post Pinned To Feed"
		var res sql.Result
		var err error
		if pin {
			res, err = tx.ExecContext(ctx, `INSERT INTO feed_pins (post_id, pinned_by, pinned_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, postID, p.Actor(), db.Now(now))
		} else {
			name = "Post Unpinned From Feed"
			res, err = tx.ExecContext(ctx, `DELETE FROM feed_pins WHERE post_id = $1`, postID)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // already so
		}
		return s.outbox.Emit(ctx, tx, event.Community(name, p.Actor(), now, map[string]any{"post_id": postID, "space_id": spaceID}))
	})
}
