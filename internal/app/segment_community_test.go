package app

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/meetup"
)

// TestCommunityFactsMoveSegmentMembership runs the community on a running server and watches
// segments on community facts follow it: joining and leaving a space, a question unanswered until
// someone else replies, an accepted answer that counts for the answerer (not for whoever accepted
// it) and stops counting when the mark moves to another reply or the reply is hidden, and a
// check-in at an event. Each change reaches the segment through the backbone: the community's
// event, the profile consumer, then the segment consumer finding whose facts changed.
func TestCommunityFactsMoveSegmentMembership(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		env := testEnv(t, e)
		startServer(t, env)
		a, err := Open(context.Background(), mustConfig(t, env), discard(), Options{HashParams: cheapHash()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		ctx := context.Background()
		sys := accounts.System()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		signUp := func(email, name string) accounts.Member {
			t.Helper()
			m, err := a.Accounts.SignUp(ctx, accounts.SignUpInput{Email: email, Password: "correct horse battery", DisplayName: name, Locale: "ja"})
			must(err)
			return m
		}
		hanako, riku, ken := signUp("hanako@kizuna-shop.jp", "花子"), signUp("riku@kizuna-shop.jp", "陸"), signUp("ken@kizuna-shop.jp", "健")
		profileOf := map[string]string{} // member id → profile id
		deadline := time.Now().Add(30 * time.Second)
		for _, m := range []accounts.Member{hanako, riku, ken} {
			for {
				pid, err := a.Identity.Lookup(ctx, "user_id", m.ID)
				if err == nil {
					profileOf[m.ID] = pid
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("member %s has no profile: %v", m.DisplayName, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		_, err = a.Community.CreateSpace(ctx, sys, community.SpaceInput{Slug: "support", Name: "サポート", Visibility: community.Public})
		must(err)
		create := func(name, def string) string {
			t.Helper()
			sg, err := a.Segments.Create(ctx, sys, name, json.RawMessage(def))
			must(err)
			return sg.ID
		}
		inSupport := create("サポートの参加者", `{"space_member":"support"}`)
		answerers := create("回答が採用された人", `{"accepted_answers":{"op":"gte","value":1}}`)
		askers := create("未回答の質問がある人", `{"unanswered_questions":{"op":"gte","value":1}}`)
		attendees := create("最近の参加者", `{"attended":{"within_last":"P30D"}}`)
		names := map[string]string{profileOf[hanako.ID]: "hanako", profileOf[riku.ID]: "riku", profileOf[ken.ID]: "ken"}
		expect := func(step, segID string, want ...string) {
			t.Helper()
			deadline := time.Now().Add(30 * time.Second)
			for {
				ms, _, err := a.Segments.Members(ctx, sys, segID, "", 100)
				must(err)
				var got []string
				for _, m := range ms {
					got = append(got, names[m.ID])
				}
				slices.Sort(got)
				slices.Sort(want)
				if slices.Equal(got, want) {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: members %v, want %v", step, got, want)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}

		must(a.Community.Join(ctx, riku.Principal(), "support"))
		must(a.Community.Join(ctx, ken.Principal(), "support"))
		expect("joined", inSupport, "riku", "ken")
		must(a.Community.Leave(ctx, riku.Principal(), "support"))
		expect("riku left", inSupport, "ken")

		q, err := a.Community.CreatePost(ctx, hanako.Principal(), "support", community.PostInput{Kind: community.Question,
			Title: "CSV の取り込み方は？", Body: "教えてください。"})
		must(err)
		expect("asked", askers, "hanako")
		rikuReply, err := a.Community.AddComment(ctx, riku.Principal(), q.ID, community.CommentInput{Body: "インポート画面からできます。"})
		must(err)
		// Riku's reply lands on his profile; the segment consumer finds the asker from the post.
		expect("riku replied", askers)

		must(a.Community.AcceptAnswer(ctx, hanako.Principal(), q.ID, rikuReply.ID))
		// Answer Accepted is hanako's doing; the count is riku's.
		expect("riku's answer accepted", answerers, "riku")
		kenReply, err := a.Community.AddComment(ctx, ken.Principal(), q.ID, community.CommentInput{Body: "API でもできます。"})
		must(err)
		must(a.Community.AcceptAnswer(ctx, hanako.Principal(), q.ID, kenReply.ID))
		expect("the mark moved to ken", answerers, "ken")
		must(a.Community.HideComment(ctx, sys, kenReply.ID, true, "広告"))
		expect("ken's reply hidden", answerers)

		start := time.Now().Add(30 * time.Minute)
		ev, err := a.Meetup.Create(ctx, sys, "support", meetup.EventInput{Title: "ユーザー会", Place: "東京", StartsAt: start, EndsAt: start.Add(time.Hour),
			TimeZone: "Asia/Tokyo"})
		must(err)
		must(a.Meetup.MarkAttended(ctx, sys, ev.ID, ken.ID))
		expect("ken came", attendees, "ken")
	})
}
