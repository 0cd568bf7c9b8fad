package demo_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/badges"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/demo"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/kb"
	"github.com/kizuna-community/kizuna/internal/meetup"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/onboarding"
	"github.com/kizuna-community/kizuna/internal/profile"
	"github.com/kizuna-community/kizuna/internal/score"
	"github.com/kizuna-community/kizuna/internal/search"
	"github.com/kizuna-community/kizuna/internal/segment"
	"github.com/kizuna-community/kizuna/internal/survey"
)

func TestSeedIsRepeatable(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t, db.SQLite, backbone.Migrations(), accounts.Migrations(), notify.Migrations(), search.Migrations(), community.Migrations(), meetup.Migrations(),
		kb.Migrations(), badges.Migrations(), survey.Migrations(), identity.Migrations(), crm.Migrations(), consent.Migrations(),
		profile.Migrations(), segment.Migrations(), score.Migrations(), onboarding.Migrations())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ob := backbone.NewOutbox(d)
	acc := accounts.New(accounts.Deps{DB: d, Outbox: ob, Log: log, HashParams: accounts.TestHashParams()})
	nt, ix := notify.New(notify.Deps{DB: d}), search.New(d)
	c := community.New(community.Deps{DB: d, Outbox: ob, Accounts: acc, Notify: nt, Search: ix, Log: log})
	m := meetup.New(meetup.Deps{DB: d, Outbox: ob, Accounts: acc, Community: c, Notify: nt, Search: ix, Log: log})
	k := kb.New(kb.Deps{DB: d, Outbox: ob, Accounts: acc, Community: c, Search: ix})
	bd := badges.New(badges.Deps{DB: d, Outbox: ob, Accounts: acc})
	sv := survey.New(survey.Deps{DB: d, Outbox: ob, Accounts: acc, Community: c})
	g := identity.New(identity.Deps{DB: d, Outbox: ob})
	cr := crm.New(crm.Deps{DB: d, Outbox: ob, Identity: g})
	cl := consent.New(consent.Deps{DB: d, Outbox: ob, Identity: g})
	sg := segment.New(segment.Deps{DB: d, Outbox: ob, Identity: g})
	sc := score.New(score.Deps{DB: d, Outbox: ob, Identity: g, Segments: sg, Log: log})
	onb := onboarding.New(onboarding.Deps{DB: d, Outbox: ob, Segments: sg})
	parts := demo.Parts{Accounts: acc, Community: c, Meetup: m, KB: k, Badges: bd, Survey: sv, CRM: cr, Consent: cl, Onboarding: onb,
		Segments: sg, Scores: sc}
	res, err := demo.Seed(ctx, parts, log)
	if err != nil || res.Created != len(demo.People) || res.Existing != 0 || !res.Community {
		t.Fatalf("first seed: %+v %v", res, err)
	}
	res, err = demo.Seed(ctx, parts, log)
	if err != nil || res.Created != 0 || res.Existing != len(demo.People) || res.Community {
		t.Fatalf("second seed: %+v %v", res, err)
	}
	if qs, err := onb.Questions(ctx); err != nil || len(qs) != 4 || qs[0].Choices[0].SegmentID == "" || qs[0].Choices[0].InterestRef != "product-qa" {
		t.Fatalf("the demo's onboarding survey after two seeds: %+v, %v", qs, err)
	}
	// The playbook's segments and the engagement model, once each.
	segs, err := sg.List(ctx, accounts.System())
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, x := range segs {
		names[x.Name]++
	}
	for _, want := range []string{"エンゲージの高い顧客 / Engaged customers", "休眠メンバー / Dormant members", "エキスパート / Experts",
		"回答待ちの質問者 / Unanswered askers", "アクティブなメンバー / Active members (engagement ≥ 20)"} {
		if names[want] != 1 {
			t.Errorf("segment %q: %d of them after two seeds", want, names[want])
		}
	}
	if models, err := sc.List(ctx, accounts.System()); err != nil || len(models) != 1 || len(models[0].Thresholds) != 2 {
		t.Fatalf("score models after two seeds: %+v %v", models, err)
	}
	for _, p := range demo.People {
		m, err := acc.MemberByEmail(ctx, p.Email)
		if err != nil || m.Role != p.Role || !m.EmailVerified || m.Locale != p.Locale {
			t.Fatalf("%s: %+v %v", p.Email, m, err)
		}
	}
	if _, _, err := acc.LogIn(ctx, demo.People[0].Email, demo.Password, accounts.Client{IP: "127.0.0.1"}); err != nil {
		t.Fatalf("demo admin cannot log in: %v", err)
	}

	anon := accounts.Principal{}
	spaces, _ := c.Spaces(ctx, anon)
	if len(spaces) != 2 {
		t.Fatalf("a visitor sees %d demo spaces, want the 2 public ones", len(spaces))
	}
	solved, _, _ := c.Topics(ctx, anon, community.TopicQuery{SpaceID: "product-qa", Filter: "solved"})
	if len(solved) != 2 {
		t.Fatalf("%d solved demo questions, want 2", len(solved))
	}
	ideas, _, _ := c.Topics(ctx, anon, community.TopicQuery{SpaceID: "ideas", Sort: community.SortVotes})
	if len(ideas) != 3 || ideas[0].VoteCount != 7 || ideas[0].Status != community.IdeaPlanned {
		t.Fatalf("demo ideas: %+v", ideas)
	}
	upcoming, _, err := m.List(ctx, anon, meetup.ListQuery{Upcoming: true})
	past, _, _ := m.List(ctx, anon, meetup.ListQuery{Past: true})
	if err != nil || len(upcoming) != 1 || len(past) != 0 {
		t.Fatalf("a visitor sees %d upcoming and %d past events (%v), want the public webinar only", len(upcoming), len(past), err)
	}
	articles, _, err := k.Articles(ctx, anon, "", "", 20)
	if err != nil || len(articles) != 3 {
		t.Fatalf("a visitor sees %d help articles (%v), want the 3 published", len(articles), err)
	}
	qa, _ := c.Space(ctx, anon, "product-qa")
	if experts, _ := bd.Experts(ctx, qa.ID); len(experts) != 2 {
		t.Fatalf("%d experts in product Q&A, want 2", len(experts))
	}
	member, _ := acc.MemberByEmail(ctx, "yui.nakamura@demo.kizuna.example")
	upcoming, _, _ = m.List(ctx, member.Principal(), meetup.ListQuery{Upcoming: true})
	past, _, _ = m.List(ctx, member.Principal(), meetup.ListQuery{Past: true})
	if len(upcoming) != 2 || len(past) != 1 || upcoming[0].Going != 4 {
		t.Fatalf("a member sees %d upcoming (first going %d) and %d past events", len(upcoming), upcoming[0].Going, len(past))
	}
	if _, err := c.Space(ctx, member.Principal(), "advisory-board"); err == nil {
		t.Fatal("a member outside the advisory board can see it")
	}

	// The CRM knows the member by the community's user id: the records are on their profile.
	haruto, _ := acc.MemberByEmail(ctx, "haruto.yamamoto@demo.kizuna.example")
	p, err := g.Lookup(ctx, "user_id", haruto.ID)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := cr.ForProfile(ctx, accounts.System(), p)
	if err != nil || rec.Account == nil || rec.Account.ExternalID != "001SAKURA" || len(rec.Purchases) != 2 || len(rec.Tickets) != 2 ||
		len(rec.Contracts) != 1 || rec.LifetimeValue["JPY"] != 177_800 {
		t.Fatalf("demo CRM records of a member: %+v %v", rec, err)
	}
	// Their consents, stored once although the demo was seeded twice.
	hist, _, err := cl.History(ctx, accounts.System(), p, "", 50)
	if err != nil || len(hist) != 5 {
		t.Fatalf("demo consents of a member: %d %v", len(hist), err)
	}
	if d, err := cl.May(ctx, p, consent.ChannelLINE, consent.PurposeMarketing, ""); err != nil || !d.Allowed {
		t.Fatalf("LINE marketing to a demo member: %+v %v", d, err)
	}
	if provs, err := cl.Provisions(ctx, accounts.System(), p); err != nil || len(provs) != 1 {
		t.Fatalf("demo provisions: %+v %v", provs, err)
	}
}
