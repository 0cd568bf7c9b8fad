package badges_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/badges"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/search"
)

var ctx = context.Background()

type fixture struct {
	t    *testing.T
	db   *db.DB
	acc  *accounts.Service
	c    *community.Service
	b    *badges.Service
	now  time.Time
	seen int // outbox rows already looked at by events()
}

func newFixture(t *testing.T, e db.Engine) *fixture {
	t.Helper()
	d := dbtest.Open(t, e, backbone.Migrations(), accounts.Migrations(), notify.Migrations(), search.Migrations(), community.Migrations(), badges.Migrations())
	f := &fixture{t: t, db: d, now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time { f.now = f.now.Add(time.Second); return f.now }
	ob := backbone.NewOutbox(d)
	f.acc = accounts.New(accounts.Deps{DB: d, Outbox: ob, HashParams: accounts.TestHashParams(), Now: clock})
	n := notify.New(notify.Deps{DB: d, Now: clock})
	f.c = community.New(community.Deps{DB: d, Outbox: ob, Accounts: f.acc, Notify: n, Search: search.New(d), Now: clock})
	f.b = badges.New(badges.Deps{DB: d, Outbox: ob, Accounts: f.acc, Now: clock})
	return f
}

func (f *fixture) member(email string, role accounts.Role) accounts.Principal {
	f.t.Helper()
	m, err := f.acc.CreateMember(ctx, accounts.System(), accounts.SignUpInput{Email: email, Password: "member password", DisplayName: strings.Split(email, "@")[0]}, role)
	if err != nil {
		f.t.Fatal(err)
	}
	return m.Principal()
}

// events returns the Badge events committed since the last call, as "Name" or "Name key=value";
// the key userId names the event's own field, others its properties.
func (f *fixture) events(keys ...string) []string {
	f.t.Helper()
	rows, err := f.db.R.Query(`SELECT payload FROM outbox ORDER BY seq`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	i := 0
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			f.t.Fatal(err)
		}
		i++
		if i <= f.seen {
			continue
		}
		var ev struct {
			Type       string         `json:"type"`
			Event      string         `json:"event"`
			UserID     string         `json:"userId"`
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			f.t.Fatal(err)
		}
		if ev.Type != "track" || !strings.HasPrefix(ev.Event, "Badge ") {
			continue
		}
		s := ev.Event
		for _, k := range keys {
			v, ok := ev.Properties[k]
			if k == "userId" {
				v, ok = ev.UserID, ev.UserID != ""
			}
			if ok {
				s += fmt.Sprintf(" %s=%v", k, v)
			}
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	f.seen = i
	return out
}

func (f *fixture) wantEvents(want []string, keys ...string) {
	f.t.Helper()
	if got := f.events(keys...); strings.Join(got, "|") != strings.Join(want, "|") {
		f.t.Fatalf("events =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// held lists a member's badges as slug or slug@space.
func (f *fixture) held(memberID string) string {
	f.t.Helper()
	mbs, err := f.b.MemberBadges(ctx, memberID)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, mb := range mbs {
		s := mb.Slug
		if mb.SpaceID != "" {
			s += "@" + mb.SpaceID
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

func (f *fixture) audited(action string) int {
	f.t.Helper()
	var n int
	if err := f.db.R.QueryRow(`SELECT count(*) FROM audit_log WHERE action = $1`, action).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func wantErr(t *testing.T, err error, kind errs.Kind, field, reason string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Field != field || e.Reason != reason {
		t.Fatalf("got %v (%+v), want kind %v field %q reason %q", err, e, kind, field, reason)
	}
}

// answered makes answerer's reply the accepted answer to n questions asker asks in space.
func (f *fixture) answered(asker, answerer accounts.Principal, space string, n int) {
	f.t.Helper()
	for i := range n {
		f.now = f.now.Add(15 * time.Second) // below the flood limit of 5 posts a minute
		q, err := f.c.CreatePost(ctx, asker, space, community.PostInput{Kind: community.Question, Title: fmt.Sprintf("質問 %d", i), Body: "教えてください"})
		if err != nil {
			f.t.Fatal(err)
		}
		a, err := f.c.AddComment(ctx, answerer, q.ID, community.CommentInput{Body: "こうします"})
		if err != nil {
			f.t.Fatal(err)
		}
		if err := f.c.AcceptAnswer(ctx, asker, q.ID, a.ID); err != nil {
			f.t.Fatal(err)
		}
	}
}

func track(name, userID string, props map[string]any) event.Event {
	ev := event.New(event.Track, name, event.SourceCommunity, time.Now())
	ev.UserID, ev.Properties = userID, props
	return ev
}

func TestRulesThroughTheConsumer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		asker := f.member("yui@example.jp", accounts.RoleMember)
		riku := f.member("riku@example.jp", accounts.RoleMember)
		ken := f.member("ken@example.jp", accounts.RoleMember)
		qa, err := f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "product-qa", Name: "製品Q&A"})
		if err != nil {
			t.Fatal(err)
		}
		billing, err := f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "billing", Name: "請求"})
		if err != nil {
			t.Fatal(err)
		}
		f.answered(asker, riku, "product-qa", 5)
		f.answered(asker, ken, "billing", 1)
		f.answered(riku, riku, "billing", 1) // answering oneself earns nothing
		if got := f.held(riku.MemberID); got != "" {
			t.Fatalf("badges before any rule ran: %s", got)
		}
		first, err := f.b.CreateBadge(ctx, cm, badges.BadgeInput{Slug: "first-two", Name: "最初の二人", Kind: badges.KindRule, Rule: " signup_rank <= 2 "})
		if err != nil || first.Rule != "signup_rank<=2" {
			t.Fatalf("rule badge: %+v %v", first, err)
		}
		if _, err := f.b.CreateBadge(ctx, cm, badges.BadgeInput{Slug: "answerer", Name: "回答者", Kind: badges.KindRule, Rule: "accepted_answers>=1"}); err != nil {
			t.Fatal(err)
		}
		f.events()

		consumer := f.b.Consumer()
		if consumer.Name != "badges" {
			t.Fatalf("consumer name %q", consumer.Name)
		}
		spoofed := track("Answer Accepted", "", map[string]any{"answerer_id": asker.MemberID})
		spoofed.Source = event.SourceTracking
		batch := []event.Event{
			track("Answer Accepted", asker.MemberID, map[string]any{"answerer_id": riku.MemberID, "space_id": qa.ID}),
			track("Reaction Added", asker.MemberID, map[string]any{"author_id": ken.MemberID}),
			track("Answer Accepted", asker.MemberID, map[string]any{"answerer_id": riku.MemberID}), // the same member again
			track("Member Signed Up", cm.MemberID, map[string]any{"method": "email"}),
			track("Member Signed Up", "01GONE00000000000000000000", nil), // deleted since
			track("Post Created", asker.MemberID, nil),
			spoofed,
		}
		if err := consumer.Handle(ctx, batch); err != nil {
			t.Fatal(err)
		}
		f.wantEvents([]string{
			"Badge Awarded userId=" + riku.MemberID + " badge=early-adopter space_id= method=rule",
			"Badge Awarded userId=" + riku.MemberID + " badge=expert space_id=" + qa.ID + " method=rule",
			"Badge Awarded userId=" + riku.MemberID + " badge=helpful space_id= method=rule",
			"Badge Awarded userId=" + riku.MemberID + " badge=answerer space_id= method=rule",
			"Badge Awarded userId=" + ken.MemberID + " badge=early-adopter space_id= method=rule",
			"Badge Awarded userId=" + ken.MemberID + " badge=answerer space_id= method=rule",
			"Badge Awarded userId=" + cm.MemberID + " badge=early-adopter space_id= method=rule",
			"Badge Awarded userId=" + cm.MemberID + " badge=first-two space_id= method=rule",
		}, "userId", "badge", "space_id", "method")
		if got := f.held(asker.MemberID); got != "" {
			t.Fatalf("a spoofed tracking event awarded badges: %s", got)
		}
		if got := f.held(riku.MemberID); got != "early-adopter,expert@"+qa.ID+",helpful,answerer" {
			t.Fatalf("riku holds %s", got)
		}
		mbs, _ := f.b.MemberBadges(ctx, riku.MemberID)
		if mbs[1].AwardedBy != "system" || mbs[1].Kind != badges.KindRule || mbs[1].Name == "" || mbs[1].AwardedAt.IsZero() {
			t.Fatalf("award: %+v", mbs[1])
		}

		// Again: nothing new, whether through the consumer or directly.
		if err := consumer.Handle(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if err := f.b.EvaluateRules(ctx, riku.MemberID); err != nil {
			t.Fatal(err)
		}
		f.wantEvents(nil)
		if err := f.b.EvaluateRules(ctx, "nobody"); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("unknown member: %v", err)
		}

		experts, err := f.b.Experts(ctx, qa.ID)
		if err != nil || len(experts) != 1 || experts[0].MemberID != riku.MemberID || experts[0].Handle != "riku" ||
			experts[0].DisplayName != "riku" || experts[0].AcceptedAnswers != 5 || experts[0].Points != 75 {
			t.Fatalf("experts of product-qa: %+v %v", experts, err)
		}
		if experts, _ := f.b.Experts(ctx, billing.ID); len(experts) != 0 {
			t.Fatalf("experts of billing: %+v", experts)
		}
	})
}

func TestManualAwards(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		riku := f.member("riku@example.jp", accounts.RoleMember)
		ken := f.member("ken@example.jp", accounts.RoleMember)
		asker := f.member("yui@example.jp", accounts.RoleMember)
		qa, err := f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "product-qa", Name: "製品Q&A"})
		if err != nil {
			t.Fatal(err)
		}
		f.answered(asker, riku, "product-qa", 5)
		f.answered(asker, ken, "product-qa", 2)
		if err := f.b.EvaluateRules(ctx, riku.MemberID); err != nil {
			t.Fatal(err)
		}
		f.events()

		wantErr(t, f.b.Award(ctx, riku, badges.Staff, ken.MemberID, "", ""), errs.KindForbidden, "", "")
		wantErr(t, f.b.Award(ctx, cm, "wizard", ken.MemberID, "", ""), errs.KindInvalid, "badge", "badge_unknown")
		wantErr(t, f.b.Award(ctx, cm, badges.Staff, "nobody", "", ""), errs.KindInvalid, "member_id", "")
		wantErr(t, f.b.Award(ctx, cm, badges.Expert, ken.MemberID, "nowhere", ""), errs.KindInvalid, "space_id", "")
		wantErr(t, f.b.Award(ctx, cm, badges.Expert, ken.MemberID, "", strings.Repeat("理", 501)), errs.KindInvalid, "reason", "reason_long")

		// Naming an expert by hand, and a staff badge.
		if err := f.b.Award(ctx, cm, badges.Expert, ken.MemberID, qa.ID, "請求まわりに詳しい"); err != nil {
			t.Fatal(err)
		}
		if err := f.b.Award(ctx, cm, badges.Expert, ken.MemberID, qa.ID, "again"); err != nil {
			t.Fatal(err)
		}
		if err := f.b.Award(ctx, accounts.System(), badges.Staff, cm.MemberID, "", ""); err != nil {
			t.Fatal(err)
		}
		f.wantEvents([]string{
			"Badge Awarded userId=" + ken.MemberID + " badge=expert space_id=" + qa.ID + " method=manual awarded_by=" + cm.MemberID,
			"Badge Awarded userId=" + cm.MemberID + " badge=staff space_id= method=manual awarded_by=system",
		}, "userId", "badge", "space_id", "method", "awarded_by")
		if f.audited("badge.awarded") != 2 {
			t.Fatal("manual awards are not audited")
		}
		experts, _ := f.b.Experts(ctx, qa.ID)
		if len(experts) != 2 || experts[0].MemberID != riku.MemberID || experts[1].MemberID != ken.MemberID || experts[1].AcceptedAnswers != 2 {
			t.Fatalf("experts: %+v", experts)
		}

		// A community-wide expert is on every space's list.
		if err := f.b.Award(ctx, cm, badges.Expert, asker.MemberID, "", ""); err != nil {
			t.Fatal(err)
		}
		if experts, _ := f.b.Experts(ctx, qa.ID); len(experts) != 3 || experts[2].MemberID != asker.MemberID {
			t.Fatalf("experts with a community-wide one: %+v", experts)
		}
		if experts, _ := f.b.Experts(ctx, ""); len(experts) != 1 || experts[0].MemberID != asker.MemberID {
			t.Fatalf("community-wide experts: %+v", experts)
		}
		f.events()

		// Revoking sticks: rules do not hand the badge back; awarding it by hand does.
		wantErr(t, f.b.Revoke(ctx, riku, badges.Expert, riku.MemberID, qa.ID, ""), errs.KindForbidden, "", "")
		if err := f.b.Revoke(ctx, cm, badges.Expert, riku.MemberID, qa.ID, "回答の質に問題"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, f.b.Revoke(ctx, cm, badges.Expert, riku.MemberID, qa.ID, ""), errs.KindNotFound, "", "badge_not_held")
		wantErr(t, f.b.Revoke(ctx, cm, badges.Staff, riku.MemberID, "", ""), errs.KindNotFound, "", "badge_not_held")
		f.wantEvents([]string{"Badge Revoked userId=" + riku.MemberID + " badge=expert revoked_by=" + cm.MemberID}, "userId", "badge", "revoked_by")
		if f.audited("badge.revoked") != 1 {
			t.Fatal("revocation is not audited")
		}
		if err := f.b.EvaluateRules(ctx, riku.MemberID); err != nil {
			t.Fatal(err)
		}
		f.wantEvents(nil)
		if got := f.held(riku.MemberID); got != "early-adopter,helpful" {
			t.Fatalf("after revoking: %s", got)
		}
		if experts, _ := f.b.Experts(ctx, qa.ID); len(experts) != 2 {
			t.Fatalf("a revoked expert is listed: %+v", experts)
		}
		if err := f.b.Award(ctx, cm, badges.Expert, riku.MemberID, qa.ID, "戻しました"); err != nil {
			t.Fatal(err)
		}
		f.wantEvents([]string{"Badge Awarded badge=expert method=manual"}, "badge", "method")
		if got := f.held(riku.MemberID); got != "early-adopter,expert@"+qa.ID+",helpful" {
			t.Fatalf("after awarding again: %s", got)
		}
	})
}

func TestCreateBadge(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		mod := f.member("mod@example.jp", accounts.RoleModerator)
		all, err := f.b.Badges(ctx)
		if err != nil || len(all) != 4 {
			t.Fatalf("built-in badges: %+v %v", all, err)
		}
		for i, want := range []string{"staff manual ", "early-adopter rule signup_rank<=100", "expert rule space_accepted_answers>=5", "helpful rule points>=50"} {
			if got := all[i].Slug + " " + all[i].Kind + " " + all[i].Rule; got != want || all[i].CreatedAt.Year() < 2025 {
				t.Fatalf("badge %d: %q (%v), want %q", i, got, all[i].CreatedAt, want)
			}
		}
		_, err = f.b.CreateBadge(ctx, mod, badges.BadgeInput{Slug: "x1", Name: "x", Kind: badges.KindManual})
		wantErr(t, err, errs.KindForbidden, "", "")
		for _, c := range []struct {
			in            badges.BadgeInput
			field, reason string
		}{
			{badges.BadgeInput{Slug: "Speaker!", Name: "登壇者", Kind: badges.KindManual}, "slug", "slug_invalid"},
			{badges.BadgeInput{Slug: "speaker", Name: " ", Kind: badges.KindManual}, "name", "name_required"},
			{badges.BadgeInput{Slug: "speaker", Name: "登壇者", Kind: "auto"}, "kind", "kind_invalid"},
			{badges.BadgeInput{Slug: "speaker", Name: "登壇者", Kind: badges.KindManual, Rule: "points>=1"}, "rule", "rule_on_manual"},
			{badges.BadgeInput{Slug: "speaker", Name: "登壇者", Kind: badges.KindRule, Rule: "points>=0"}, "rule", "rule_invalid"},
			{badges.BadgeInput{Slug: "speaker", Name: "登壇者", Kind: badges.KindRule, Rule: "signup_rank>=10"}, "rule", "rule_invalid"},
			{badges.BadgeInput{Slug: "speaker", Name: "登壇者", Kind: badges.KindRule, Rule: "karma>=10"}, "rule", "rule_invalid"},
		} {
			_, err := f.b.CreateBadge(ctx, cm, c.in)
			wantErr(t, err, errs.KindInvalid, c.field, c.reason)
		}
		_, err = f.b.CreateBadge(ctx, cm, badges.BadgeInput{Slug: "staff", Name: "運営", Kind: badges.KindManual})
		wantErr(t, err, errs.KindConflict, "slug", "badge_slug_taken")
		b, err := f.b.CreateBadge(ctx, cm, badges.BadgeInput{Slug: "speaker", Name: "登壇者", Description: "ミートアップで登壇", Kind: badges.KindManual})
		if err != nil || b.ID == "" || b.Rule != "" {
			t.Fatalf("created: %+v %v", b, err)
		}
		f.wantEvents([]string{"Badge Created badge=speaker kind=manual"}, "badge", "kind")
		if got, err := f.b.Badge(ctx, "Speaker"); err != nil || got.ID != b.ID {
			t.Fatalf("by slug: %+v %v", got, err)
		}
		if f.audited("badge.created") != 1 {
			t.Fatal("not audited")
		}
	})
}
