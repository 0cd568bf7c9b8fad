package community_test

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
)

// feedBenchPosts is the data set's size: KIZUNA_BENCH_POSTS posts (default 20,000) in 20 spaces,
// a third of them with one of 30 tags.
func feedBenchPosts() int {
	if n, err := strconv.Atoi(os.Getenv("KIZUNA_BENCH_POSTS")); err == nil && n > 0 {
		return n
	}
	return 20_000
}

// BenchmarkFeed measures one home feed: a member with two interests, two joined spaces and 50
// reactions, and a visitor's popular feed, over KIZUNA_BENCH_POSTS posts.
func BenchmarkFeed(b *testing.B) {
	for _, e := range dbtest.Engines() {
		b.Run(string(e), func(b *testing.B) {
			f := newFixture(b, e)
			n := feedBenchPosts()
			reader := f.seedFeedBench(b, n)
			q := community.FeedQuery{InterestSpaces: []string{"s03"}, InterestTags: []string{"tag07"}}
			b.Run("member", func(b *testing.B) {
				for b.Loop() {
					items, err := f.c.Feed(ctx, reader, q)
					if err != nil || len(items) != 20 {
						b.Fatalf("%d items, %v", len(items), err)
					}
				}
			})
			b.Run("visitor", func(b *testing.B) {
				for b.Loop() {
					items, err := f.c.Feed(ctx, accounts.Principal{}, community.FeedQuery{})
					if err != nil || len(items) != 20 {
						b.Fatalf("%d items, %v", len(items), err)
					}
				}
			})
		})
	}
}

// seedFeedBench writes n posts straight into the tables and returns a reader who joined two
// spaces and reacted to 50 posts.
func (f *fixture) seedFeedBench(b *testing.B, n int) accounts.Principal {
	cm := f.member("cm@example.com", accounts.RoleCommunityManager)
	reader := f.member("reader@example.com", accounts.RoleMember)
	var authors []string
	for i := range 10 {
		authors = append(authors, f.member(fmt.Sprintf("a%d@example.com", i), accounts.RoleMember).MemberID)
	}
	var spaces []string
	for i := range 20 {
		sp, err := f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: fmt.Sprintf("s%02d", i), Name: fmt.Sprintf("Space %d", i), Visibility: community.Public})
		if err != nil {
			b.Fatal(err)
		}
		spaces = append(spaces, sp.ID)
	}
	for _, s := range []string{"s01", "s02"} {
		if err := f.c.Join(ctx, reader, s); err != nil {
			b.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	now := f.now
	var posts, tags, reactions []any
	flush := func(q string, cols int, rows *[]any, all bool) {
		const per = 400
		for len(*rows) >= per*cols || (all && len(*rows) > 0) {
			k := min(len(*rows)/cols, per)
			if err := f.db.Tx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, q+f.db.Engine.Values(k, cols), (*rows)[:k*cols]...)
				return err
			}); err != nil {
				b.Fatal(err)
			}
			*rows = (*rows)[k*cols:]
		}
	}
	const postQ = `INSERT INTO posts (id, space_id, author_id, kind, title, body, body_html, reaction_count, comment_count, last_activity_at, created_at, updated_at) VALUES `
	const tagQ = `INSERT INTO post_tags (post_id, tag) VALUES `
	const reactQ = `INSERT INTO reactions (target_kind, target_id, member_id, emoji, at) VALUES `
	for i := range n {
		id := fmt.Sprintf("p%09d", i) // grows with time, as real post ids do
		at := db.Now(now.Add(-time.Duration(n-i) * time.Minute))
		posts = append(posts, id, spaces[r.IntN(len(spaces))], authors[r.IntN(len(authors))], "discussion", "Post "+id, "body", "<p>body</p>",
			r.IntN(10), r.IntN(5), at, at, at)
		if i%3 == 0 {
			tags = append(tags, id, fmt.Sprintf("tag%02d", r.IntN(30)))
		}
		if i%(max(n/50, 1)) == 0 {
			reactions = append(reactions, "post", id, reader.MemberID, "like", at)
		}
		flush(postQ, 12, &posts, false)
		if len(tags) >= 400*2 { // a tag's post first
			flush(postQ, 12, &posts, true)
			flush(tagQ, 2, &tags, false)
		}
	}
	flush(postQ, 12, &posts, true)
	flush(tagQ, 2, &tags, true)
	flush(reactQ, 5, &reactions, true)
	if _, err := f.db.W.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	return reader
}
