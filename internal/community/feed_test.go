package community_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
)

func TestFeedScore(t *testing.T) {
	w := community.DefaultFeedWeights
	for _, c := range []struct {
		name string
		s    community.FeedSignals
		want float64
	}{
		{"nothing, new", community.FeedSignals{}, 1},
		{"one interest", community.FeedSignals{Interests: 1}, 1 + 4},
		{"interest and joined", community.FeedSignals{Interests: 1, Joined: true}, 1 + 4 + 1.5},
		{"affinity is capped", community.FeedSignals{Affinity: 10}, 1 + 0.5*4},
		{"reads are capped", community.FeedSignals{Reads: 3}, 1 + 0.25*3},
		{"reads are capped", community.FeedSignals{Reads: 30}, 1 + 0.25*8},
		{"popularity is logarithmic", community.FeedSignals{Reactions: 1, Comments: 1}, 1 + math.Log(4)},
		{"halves at the half-life", community.FeedSignals{Interests: 1, Age: 72 * time.Hour}, 5.0 / 2},
		{"quarter at two half-lives", community.FeedSignals{Age: 144 * time.Hour}, 1.0 / 4},
	} {
		if got := w.Score(c.s); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: score %v, want %v", c.name, got, c.want)
		}
	}
	// An interest two days old still beats an unrelated post of an hour ago with a few reactions.
	if w.Score(community.FeedSignals{Interests: 1, Age: 48 * time.Hour}) <= w.Score(community.FeedSignals{Reactions: 3, Age: time.Hour}) {
		t.Error("a two-day-old interest ranks below a fresh unrelated post")
	}
}

func TestFeed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.com", accounts.RoleCommunityManager)
		reader := f.member("reader@example.com", accounts.RoleMember)
		for _, in := range []community.SpaceInput{
			{Slug: "general", Name: "雑談", Visibility: community.Public},
			{Slug: "events", Name: "イベント", Visibility: community.Public},
			{Slug: "secret", Name: "秘密", Visibility: community.Private},
		} {
			if _, err := f.c.CreateSpace(ctx, cm, in); err != nil {
				t.Fatal(err)
			}
		}
		post := func(space, title string, tags ...string) string {
			t.Helper()
			f.now = f.now.Add(3 * time.Hour)
			author := f.member(strings.ToLower(strings.ReplaceAll(title, " ", "-"))+"@example.com", accounts.RoleMember)
			p, err := f.c.CreatePost(ctx, author, space, community.PostInput{Title: title, Body: "body", Tags: tags})
			if err != nil {
				t.Fatal(err)
			}
			return p.ID
		}
		meetup := post("events", "Meetup")
		tagged := post("general", "Tagged", "イベント")
		popular := post("general", "Popular")
		for i := range 6 {
			if err := f.c.React(ctx, f.member(strings.Repeat("r", i+1)+"@example.com", accounts.RoleMember), "post", popular, "like"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.c.CreatePost(ctx, cm, "secret", community.PostInput{Title: "Secret", Body: "body"}); err != nil {
			t.Fatal(err)
		}
		fresh := post("general", "Fresh")
		f.now = f.now.Add(time.Hour)

		titles := func(p accounts.Principal, q community.FeedQuery) []string {
			t.Helper()
			items, err := f.c.Feed(ctx, p, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, it := range items {
				out = append(out, it.Title+":"+it.Reason)
			}
			return out
		}
		want := func(got []string, want ...string) {
			t.Helper()
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("feed %q, want %q", got, want)
			}
		}
		// Visitors get the popular feed, without the private space.
		want(titles(accounts.Principal{}, community.FeedQuery{}), "Popular:popular", "Fresh:", "Tagged:", "Meetup:")
		want(titles(reader, community.FeedQuery{}), "Popular:popular", "Fresh:", "Tagged:", "Meetup:")
		// Interests from the survey come first.
		want(titles(reader, community.FeedQuery{InterestTags: []string{"イベント"}, InterestSpaces: []string{"events", "nonexistent"}}),
			"Tagged:interest", "Meetup:interest", "Popular:popular", "Fresh:")
		// A joined space lifts its posts; a muted one leaves the feed.
		if err := f.c.Join(ctx, reader, "events"); err != nil {
			t.Fatal(err)
		}
		want(titles(reader, community.FeedQuery{}), "Popular:popular", "Meetup:joined", "Fresh:", "Tagged:")
		if err := f.c.SetMuted(ctx, reader, "events", true); err != nil {
			t.Fatal(err)
		}
		want(titles(reader, community.FeedQuery{}), "Popular:popular", "Fresh:", "Tagged:")
		// Reacting is affinity with the post's space and tags: the tagged post, older, passes the fresh one.
		if err := f.c.React(ctx, reader, "post", tagged, "heart"); err != nil {
			t.Fatal(err)
		}
		want(titles(reader, community.FeedQuery{}), "Popular:affinity", "Tagged:affinity", "Fresh:affinity")

		// Viewing posts is affinity too, once the feed's consumer has seen the views.
		other := f.member("other@example.com", accounts.RoleMember)
		want(titles(other, community.FeedQuery{}), "Popular:popular", "Tagged:", "Fresh:", "Meetup:")
		view := func(postID, space string) event.Event {
			ev := event.New(event.Track, "Post Viewed", event.SourceCommunity, f.now)
			ev.UserID, ev.Properties = other.MemberID, map[string]any{"post_id": postID, "space_id": space}
			return ev
		}
		ev, err := f.c.Space(ctx, cm, "events")
		if err != nil {
			t.Fatal(err)
		}
		consumer := f.c.FeedConsumer()
		batch := []event.Event{view(meetup, ev.ID), view(meetup, ev.ID)}
		for _, e := range batch {
			if !consumer.Want(&e) {
				t.Fatalf("the consumer does not want %+v", e)
			}
		}
		for range 2 { // delivered twice, counted once
			if err := consumer.Handle(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
		want(titles(other, community.FeedQuery{}), "Popular:popular", "Tagged:", "Meetup:affinity", "Fresh:")
		for range 3 {
			f.now = f.now.Add(time.Minute)
			later := []event.Event{view(meetup, ev.ID)}
			if err := consumer.Handle(ctx, later); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := f.db.R.QueryRow(`SELECT count(*) FROM feed_reads`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d reads kept, %v", n, err)
		}
		gone := view(meetup, ev.ID)
		gone.UserID = "01NOSUCHMEMBER"
		if err := consumer.Handle(ctx, []event.Event{gone}); err != nil {
			t.Fatalf("a view by a member who no longer exists: %v", err)
		}

		// Staff pin a post above everything; members may not.
		f.events()
		wantKind(t, f.c.PinToFeed(ctx, reader, meetup, true), errs.KindForbidden)
		wantKind(t, f.c.PinToFeed(ctx, cm, "nope", true), errs.KindNotFound)
		if err := f.c.PinToFeed(ctx, cm, fresh, true); err != nil {
			t.Fatal(err)
		}
		if err := f.c.PinToFeed(ctx, cm, fresh, true); err != nil {
			t.Fatal(err)
		}
		f.wantEvents("Post Pinned To Feed")
		if got := titles(accounts.Principal{}, community.FeedQuery{Limit: 2}); strings.Join(got, " ") != "Fresh:pinned Popular:popular" {
			t.Errorf("pinned feed %q", got)
		}
		if ok, _ := f.c.FeedPinned(ctx, fresh); !ok {
			t.Error("FeedPinned says no")
		}
		if err := f.c.PinToFeed(ctx, cm, fresh, false); err != nil {
			t.Fatal(err)
		}
		f.wantEvents("Post Unpinned From Feed")
	})
}
