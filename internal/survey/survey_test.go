package survey_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/search"
	"github.com/kizuna-community/kizuna/internal/survey"
)

var ctx = context.Background()

type fixture struct {
	t    *testing.T
	db   *db.DB
	acc  *accounts.Service
	c    *community.Service
	s    *survey.Service
	mu   sync.Mutex
	now  time.Time
	seen int // outbox rows already looked at by events()
}

func newFixture(t *testing.T, e db.Engine) *fixture {
	t.Helper()
	d := dbtest.Open(t, e, backbone.Migrations(), accounts.Migrations(), notify.Migrations(), search.Migrations(), community.Migrations(), survey.Migrations())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := &fixture{t: t, db: d, now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.now = f.now.Add(time.Second)
		return f.now
	}
	ob := backbone.NewOutbox(d)
	f.acc = accounts.New(accounts.Deps{DB: d, Outbox: ob, Log: log, HashParams: accounts.TestHashParams(), Now: clock})
	nt := notify.New(notify.Deps{DB: d, Now: clock})
	f.c = community.New(community.Deps{DB: d, Outbox: ob, Accounts: f.acc, Notify: nt, Search: search.New(d), Log: log, Now: clock})
	f.s = survey.New(survey.Deps{DB: d, Outbox: ob, Accounts: f.acc, Community: f.c, Now: clock})
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

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

type tracked struct {
	Event       string         `json:"event"`
	Type        string         `json:"type"`
	UserID      string         `json:"userId"`
	AnonymousID string         `json:"anonymousId"`
	Properties  map[string]any `json:"properties"`
	raw         string
}

// events returns the survey track events committed since the last call.
func (f *fixture) events() []tracked {
	f.t.Helper()
	rows, err := f.db.R.Query(`SELECT payload FROM outbox ORDER BY seq`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []tracked
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
		var ev tracked
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			f.t.Fatal(err)
		}
		ev.raw = p
		if ev.Type == "track" && (strings.HasPrefix(ev.Event, "Poll") || strings.HasPrefix(ev.Event, "Survey")) {
			out = append(out, ev)
		}
	}
	f.seen = i
	return out
}

// oneEvent asserts that exactly one survey event, named name, was committed since the last look.
func (f *fixture) oneEvent(name string) tracked {
	f.t.Helper()
	evs := f.events()
	if len(evs) != 1 || evs[0].Event != name {
		f.t.Fatalf("events = %+v, want one %s", evs, name)
	}
	return evs[0]
}

func (f *fixture) noEvents() {
	f.t.Helper()
	if evs := f.events(); len(evs) != 0 {
		f.t.Fatalf("unexpected events %+v", evs)
	}
}

func (f *fixture) audited(action, target string) bool {
	f.t.Helper()
	var n int
	if err := f.db.R.QueryRow(`SELECT count(*) FROM audit_log WHERE action = $1 AND target = $2`, action, target).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n == 1
}

func wantErr(t *testing.T, err error, kind errs.Kind, field, reason string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Field != field || e.Reason != reason {
		t.Fatalf("got %#v (%v), want kind %v field %q reason %q", e, err, kind, field, reason)
	}
}

func TestPollInAPost(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		author := f.member("yui@example.jp", accounts.RoleMember)
		voter := f.member("riku@example.jp", accounts.RoleMember)
		other := f.member("sora@example.jp", accounts.RoleMember)
		if _, err := f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "lounge", Name: "Lounge", Visibility: community.Public}); err != nil {
			t.Fatal(err)
		}
		post, err := f.c.CreatePost(ctx, author, "lounge", community.PostInput{Title: "次のミートアップはどこで？", Body: "投票してください"})
		if err != nil {
			t.Fatal(err)
		}
		f.events()

		_, err = f.s.CreatePoll(ctx, voter, post.ID, "場所", []string{"東京", "大阪"}, false)
		wantErr(t, err, errs.KindForbidden, "", "")
		_, err = f.s.CreatePoll(ctx, accounts.Principal{}, post.ID, "場所", []string{"東京", "大阪"}, false)
		wantErr(t, err, errs.KindUnauthenticated, "", "")
		_, err = f.s.CreatePoll(ctx, author, post.ID, "場所", []string{"東京"}, false)
		wantErr(t, err, errs.KindInvalid, "options", "poll_options")
		_, err = f.s.CreatePoll(ctx, author, post.ID, "場所", []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}, false)
		wantErr(t, err, errs.KindInvalid, "options", "poll_options")
		_, err = f.s.CreatePoll(ctx, author, post.ID, "場所", []string{"東京", " 東京 "}, false)
		wantErr(t, err, errs.KindInvalid, "options", "option_duplicate")
		_, err = f.s.CreatePoll(ctx, author, post.ID, "  ", []string{"東京", "大阪"}, false)
		wantErr(t, err, errs.KindInvalid, "question", "poll_question")
		f.noEvents()

		poll, err := f.s.CreatePoll(ctx, author, post.ID, "場所はどこがいい？", []string{"東京", "大阪", "福岡"}, false)
		if err != nil {
			t.Fatal(err)
		}
		if !poll.Poll() || poll.SpaceID != post.SpaceID || len(poll.Questions) != 1 || poll.Questions[0].Kind != survey.Single || len(poll.Questions[0].Options) != 3 {
			t.Fatalf("poll: %+v", poll)
		}
		if after, _ := f.c.Post(ctx, author, post.ID); after.Version <= post.Version {
			t.Fatalf("the post's version did not move with its new poll: %d → %d", post.Version, after.Version)
		}
		ev := f.oneEvent("Poll Created")
		if ev.UserID != author.MemberID || ev.Properties["post_id"] != post.ID || ev.Properties["survey_id"] != poll.ID || ev.Properties["option_count"] != 3.0 {
			t.Fatalf("Poll Created: %+v", ev)
		}
		if f.audited("poll.created", poll.ID) {
			t.Fatal("the author's own poll is not a staff action and is not audited")
		}
		_, err = f.s.CreatePoll(ctx, cm, post.ID, "もう一つ", []string{"a", "b"}, false)
		wantErr(t, err, errs.KindConflict, "", "poll_exists")

		// Everyone who sees the post sees the poll, also logged out.
		got, err := f.s.ForPost(ctx, accounts.Principal{}, post.ID)
		if err != nil || got == nil || got.ID != poll.ID || got.Responded {
			t.Fatalf("ForPost: %+v %v", got, err)
		}
		q := poll.Questions[0]
		tokyo, osaka, fukuoka := q.Options[0].ID, q.Options[1].ID, q.Options[2].ID

		_, err = f.s.Results(ctx, voter, poll.ID)
		wantErr(t, err, errs.KindForbidden, "", "results_after_vote")
		wantErr(t, f.s.Respond(ctx, accounts.Principal{}, poll.ID, map[string]survey.Answer{q.ID: {OptionIDs: []string{tokyo}}}), errs.KindUnauthenticated, "", "")
		wantErr(t, f.s.Respond(ctx, voter, poll.ID, map[string]survey.Answer{q.ID: {OptionIDs: []string{tokyo, osaka}}}), errs.KindInvalid, "answers."+q.ID, "one_option")
		wantErr(t, f.s.Respond(ctx, voter, poll.ID, map[string]survey.Answer{q.ID: {OptionIDs: []string{"nagoya"}}}), errs.KindInvalid, "answers."+q.ID, "unknown_option")
		wantErr(t, f.s.Respond(ctx, voter, poll.ID, map[string]survey.Answer{}), errs.KindInvalid, "answers."+q.ID, "answer_required")
		f.noEvents()

		if err := f.s.Respond(ctx, voter, poll.ID, map[string]survey.Answer{q.ID: {OptionIDs: []string{osaka}}}); err != nil {
			t.Fatal(err)
		}
		ev = f.oneEvent("Survey Responded")
		answers, _ := json.Marshal(ev.Properties["answers"])
		if ev.UserID != voter.MemberID || ev.AnonymousID != "" || ev.Properties["post_id"] != post.ID || string(answers) != `{"`+q.ID+`":["`+osaka+`"]}` {
			t.Fatalf("Survey Responded: %+v", ev)
		}
		wantErr(t, f.s.Respond(ctx, voter, poll.ID, map[string]survey.Answer{q.ID: {OptionIDs: []string{tokyo}}}), errs.KindConflict, "", "already_responded")
		f.noEvents()
		if err := f.s.Respond(ctx, other, poll.ID, map[string]survey.Answer{q.ID: {OptionIDs: []string{osaka}}}); err != nil {
			t.Fatal(err)
		}
		if err := f.s.Respond(ctx, cm, poll.ID, map[string]survey.Answer{q.ID: {OptionIDs: []string{fukuoka}}}); err != nil {
			t.Fatal(err)
		}

		got, _ = f.s.ForPost(ctx, voter, post.ID)
		if !got.Responded || got.Responses != 3 {
			t.Fatalf("after voting: %+v", got)
		}
		res, err := f.s.Results(ctx, voter, poll.ID)
		if err != nil {
			t.Fatal(err)
		}
		opts := res.Questions[0].Options
		if res.Total != 3 || res.Questions[0].Answered != 3 || opts[0].Count != 0 || opts[1].Count != 2 || opts[1].Percent != 66.7 || opts[2].Percent != 33.3 {
			t.Fatalf("results: %+v", res)
		}
		// The author sees results without voting; a logged-out reader does not.
		if _, err := f.s.Results(ctx, author, poll.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.s.Results(ctx, accounts.Principal{}, poll.ID)
		wantErr(t, err, errs.KindForbidden, "", "results_after_vote")

		// A moderator may add a poll to someone else's post; that is audited.
		post2, err := f.c.CreatePost(ctx, author, "lounge", community.PostInput{Title: "使っている機能", Body: "教えてください"})
		if err != nil {
			t.Fatal(err)
		}
		f.events()
		multi, err := f.s.CreatePoll(ctx, cm, post2.ID, "使っている機能は？", []string{"検索", "通知", "DM"}, true)
		if err != nil {
			t.Fatal(err)
		}
		f.oneEvent("Poll Created")
		if !f.audited("poll.created", multi.ID) {
			t.Fatal("a moderator's poll on someone else's post is audited")
		}
		mq := multi.Questions[0]
		if err := f.s.Respond(ctx, voter, multi.ID, map[string]survey.Answer{mq.ID: {OptionIDs: []string{mq.Options[2].ID, mq.Options[0].ID, mq.Options[0].ID}}}); err != nil {
			t.Fatal(err)
		}
		if err := f.s.Respond(ctx, other, multi.ID, map[string]survey.Answer{mq.ID: {OptionIDs: []string{mq.Options[0].ID}}}); err != nil {
			t.Fatal(err)
		}
		res, err = f.s.Results(ctx, other, multi.ID)
		if err != nil {
			t.Fatal(err)
		}
		mo := res.Questions[0].Options
		if res.Total != 2 || mo[0].Count != 2 || mo[0].Percent != 100 || mo[1].Count != 0 || mo[2].Count != 1 || mo[2].Percent != 50 {
			t.Fatalf("multiple results: %+v", res)
		}
		if none, err := f.s.ForPost(ctx, voter, post2.ID+"x"); err != nil || none != nil {
			t.Fatalf("ForPost of a missing post: %v %v, want no poll", none, err)
		}
	})
}

func TestPollFollowsPostVisibility(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		insider := f.member("insider@example.jp", accounts.RoleMember)
		outsider := f.member("outsider@example.jp", accounts.RoleMember)
		if _, err := f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "secret", Name: "Secret", Visibility: community.Private}); err != nil {
			t.Fatal(err)
		}
		if err := f.c.AddSpaceMember(ctx, cm, "secret", insider.MemberID, community.SpaceMember); err != nil {
			t.Fatal(err)
		}
		post, err := f.c.CreatePost(ctx, insider, "secret", community.PostInput{Title: "内緒の投票", Body: "本文"})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := f.c.CreatePost(ctx, insider, "secret", community.PostInput{Title: "投票なし", Body: "本文"})
		if err != nil {
			t.Fatal(err)
		}
		poll, err := f.s.CreatePoll(ctx, insider, post.ID, "どちら？", []string{"A", "B"}, false)
		if err != nil {
			t.Fatal(err)
		}
		q := poll.Questions[0]
		if got, err := f.s.ForPost(ctx, insider, plain.ID); err != nil || got != nil {
			t.Fatalf("ForPost of a post without a poll: %+v %v", got, err)
		}
		_, err = f.s.Get(ctx, outsider, poll.ID)
		wantErr(t, err, errs.KindNotFound, "", "")
		_, err = f.s.ForPost(ctx, outsider, post.ID)
		wantErr(t, err, errs.KindNotFound, "", "")
		wantErr(t, f.s.Respond(ctx, outsider, poll.ID, map[string]survey.Answer{q.ID: {OptionIDs: []string{q.Options[0].ID}}}), errs.KindNotFound, "", "")
		_, err = f.s.Results(ctx, outsider, poll.ID)
		wantErr(t, err, errs.KindNotFound, "", "")
		_, err = f.s.Get(ctx, insider, "01NOSUCHSURVEY")
		wantErr(t, err, errs.KindNotFound, "", "")
		if err := f.s.Respond(ctx, insider, poll.ID, map[string]survey.Answer{q.ID: {OptionIDs: []string{q.Options[1].ID}}}); err != nil {
			t.Fatal(err)
		}
	})
}

func staffSurvey() survey.SurveyInput {
	return survey.SurveyInput{
		Title:       "コミュニティ満足度調査",
		Description: "5分で終わります",
		Questions: []survey.Question{
			{ID: "role", Kind: survey.Single, Prompt: "あなたの役割は？", Required: true, Options: []survey.Option{{ID: "dev", Label: "開発者"}, {ID: "pm", Label: "PM"}}},
			{ID: "features", Kind: survey.Multiple, Prompt: "よく使う機能は？", Options: []survey.Option{{Label: "Q&A"}, {Label: "アイデア"}, {Label: "イベント"}}},
			{ID: "nps", Kind: survey.Scale, Prompt: "友人に勧めますか？", ScaleMin: 0, ScaleMax: 10, Required: true},
			{ID: "comment", Kind: survey.Text, Prompt: "ご意見をどうぞ"},
		},
	}
}

func TestStaffSurvey(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		marketer := f.member("mk@example.jp", accounts.RoleMarketer)
		analyst := f.member("an@example.jp", accounts.RoleAnalyst)
		a := f.member("a@example.jp", accounts.RoleMember)
		b := f.member("b@example.jp", accounts.RoleMember)
		c := f.member("c@example.jp", accounts.RoleMember)
		f.events()

		_, err := f.s.CreateSurvey(ctx, a, staffSurvey())
		wantErr(t, err, errs.KindForbidden, "", "")
		_, err = f.s.CreateSurvey(ctx, analyst, staffSurvey())
		wantErr(t, err, errs.KindForbidden, "", "")
		_, err = f.s.CreateSurvey(ctx, accounts.Principal{}, staffSurvey())
		wantErr(t, err, errs.KindUnauthenticated, "", "")
		bad := staffSurvey()
		bad.Questions[2].ScaleMax = 11
		_, err = f.s.CreateSurvey(ctx, marketer, bad)
		wantErr(t, err, errs.KindInvalid, "questions.2.scale_max", "")
		bad = staffSurvey()
		bad.Questions[3].Kind = "essay"
		_, err = f.s.CreateSurvey(ctx, marketer, bad)
		wantErr(t, err, errs.KindInvalid, "questions.3.kind", "")
		bad = staffSurvey()
		bad.Questions[1].ID = "role"
		_, err = f.s.CreateSurvey(ctx, marketer, bad)
		wantErr(t, err, errs.KindInvalid, "questions.1.id", "")
		bad = staffSurvey()
		bad.SpaceID = "nowhere"
		_, err = f.s.CreateSurvey(ctx, marketer, bad)
		wantErr(t, err, errs.KindInvalid, "space_id", "")
		past := f.now.Add(-time.Hour)
		bad = staffSurvey()
		bad.ClosesAt = &past
		_, err = f.s.CreateSurvey(ctx, marketer, bad)
		wantErr(t, err, errs.KindInvalid, "closes_at", "")
		f.noEvents()

		in := staffSurvey()
		closes := f.now.Add(24 * time.Hour)
		in.ClosesAt = &closes
		sv, err := f.s.CreateSurvey(ctx, marketer, in)
		if err != nil {
			t.Fatal(err)
		}
		if in.Questions[1].Options[0].ID != "" {
			t.Fatal("CreateSurvey changed the caller's questions")
		}
		features := sv.Questions[1].Options
		if sv.Poll() || sv.SpaceID != "" || features[0].ID == "" || sv.ClosesAt == nil || !sv.ClosesAt.Equal(closes) {
			t.Fatalf("survey: %+v", sv)
		}
		ev := f.oneEvent("Survey Created")
		if ev.UserID != marketer.MemberID || ev.Properties["survey_id"] != sv.ID || ev.Properties["question_count"] != 4.0 {
			t.Fatalf("Survey Created: %+v", ev)
		}
		if !f.audited("survey.created", sv.ID) {
			t.Fatal("survey.created is not audited")
		}

		// Community-wide surveys are for members.
		_, err = f.s.Get(ctx, accounts.Principal{}, sv.ID)
		wantErr(t, err, errs.KindNotFound, "", "")
		got, err := f.s.Get(ctx, a, sv.ID)
		if err != nil || got.Responded || len(got.Questions) != 4 || got.Questions[2].ScaleMax != 10 {
			t.Fatalf("Get: %+v %v", got, err)
		}

		wantErr(t, f.s.Respond(ctx, a, sv.ID, map[string]survey.Answer{"role": {OptionIDs: []string{"dev"}}}), errs.KindInvalid, "answers.nps", "answer_required")
		wantErr(t, f.s.Respond(ctx, a, sv.ID, map[string]survey.Answer{"role": {OptionIDs: []string{"dev"}}, "nps": {Scale: 11}}), errs.KindInvalid, "answers.nps", "scale_range")
		wantErr(t, f.s.Respond(ctx, a, sv.ID, map[string]survey.Answer{"role": {OptionIDs: []string{"dev"}}, "nps": {Scale: 9}, "age": {Scale: 30}}), errs.KindInvalid, "answers.age", "unknown_question")
		wantErr(t, f.s.Respond(ctx, a, sv.ID, map[string]survey.Answer{"role": {OptionIDs: []string{"dev"}}, "nps": {Scale: 9}, "comment": {Text: strings.Repeat("長", 5001)}}), errs.KindInvalid, "answers.comment", "answer_long")
		f.noEvents()

		secret := "検索がもっと速いと嬉しいです"
		if err := f.s.Respond(ctx, a, sv.ID, map[string]survey.Answer{
			"role": {OptionIDs: []string{"dev"}}, "features": {OptionIDs: []string{features[0].ID, features[2].ID}}, "nps": {Scale: 0}, "comment": {Text: "  " + secret + " "},
		}); err != nil {
			t.Fatal(err)
		}
		ev = f.oneEvent("Survey Responded")
		answers, _ := json.Marshal(ev.Properties["answers"])
		want := `{"features":["` + features[0].ID + `","` + features[2].ID + `"],"nps":0,"role":["dev"]}`
		if ev.UserID != a.MemberID || string(answers) != want || strings.Contains(ev.raw, secret) {
			t.Fatalf("Survey Responded: %s, want answers %s and no free text", ev.raw, want)
		}
		if err := f.s.Respond(ctx, b, sv.ID, map[string]survey.Answer{"role": {OptionIDs: []string{"pm"}}, "nps": {Scale: 9}, "comment": {Text: " "}}); err != nil {
			t.Fatal(err)
		}
		if err := f.s.Respond(ctx, c, sv.ID, map[string]survey.Answer{"role": {OptionIDs: []string{"dev"}}, "nps": {Scale: 9}, "features": {OptionIDs: []string{features[0].ID}}}); err != nil {
			t.Fatal(err)
		}
		if evs := f.events(); len(evs) != 2 {
			t.Fatalf("events %+v", evs)
		}

		_, err = f.s.Results(ctx, a, sv.ID)
		wantErr(t, err, errs.KindForbidden, "", "")
		res, err := f.s.Results(ctx, analyst, sv.ID)
		if err != nil {
			t.Fatal(err)
		}
		role, feat, nps, comment := res.Questions[0], res.Questions[1], res.Questions[2], res.Questions[3]
		if res.Total != 3 || role.Options[0].Count != 2 || role.Options[0].Percent != 66.7 || role.Options[1].Count != 1 {
			t.Fatalf("role results: %+v", role)
		}
		if feat.Answered != 2 || feat.Options[0].Count != 2 || feat.Options[0].Percent != 100 || feat.Options[1].Count != 0 || feat.Options[2].Percent != 50 {
			t.Fatalf("feature results: %+v", feat)
		}
		if nps.Answered != 3 || nps.Scale.Average != 6 || len(nps.Scale.Histogram) != 11 || nps.Scale.Histogram[0] != 1 || nps.Scale.Histogram[9] != 2 {
			t.Fatalf("nps results: %+v %+v", nps, nps.Scale)
		}
		if comment.Answered != 1 || len(comment.Texts) != 1 || comment.Texts[0].Text != secret || comment.Texts[0].MemberID != a.MemberID || comment.Texts[0].At == nil {
			t.Fatalf("comment results: %+v", comment)
		}

		wantErr(t, f.s.Respond(ctx, a, sv.ID, map[string]survey.Answer{"role": {OptionIDs: []string{"pm"}}, "nps": {Scale: 1}}), errs.KindConflict, "", "already_responded")
		late := f.member("late@example.jp", accounts.RoleMember)
		f.advance(25 * time.Hour)
		wantErr(t, f.s.Respond(ctx, late, sv.ID, map[string]survey.Answer{"role": {OptionIDs: []string{"pm"}}, "nps": {Scale: 1}}), errs.KindConflict, "", "survey_closed")
		f.noEvents()
	})
}

func TestAnonymousSpaceSurvey(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		insider := f.member("insider@example.jp", accounts.RoleMember)
		outsider := f.member("outsider@example.jp", accounts.RoleMember)
		sp, err := f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "beta", Name: "Beta testers", Visibility: community.Private})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.c.AddSpaceMember(ctx, cm, "beta", insider.MemberID, community.SpaceMember); err != nil {
			t.Fatal(err)
		}
		in := staffSurvey()
		in.SpaceID, in.Anonymous = "beta", true
		sv, err := f.s.CreateSurvey(ctx, cm, in)
		if err != nil || sv.SpaceID != sp.ID || !sv.Anonymous {
			t.Fatalf("survey: %+v %v", sv, err)
		}
		f.events()

		_, err = f.s.Get(ctx, outsider, sv.ID)
		wantErr(t, err, errs.KindNotFound, "", "")
		secret := "ベータ版のUIが分かりにくい"
		if err := f.s.Respond(ctx, insider, sv.ID, map[string]survey.Answer{"role": {OptionIDs: []string{"pm"}}, "nps": {Scale: 3}, "comment": {Text: secret}}); err != nil {
			t.Fatal(err)
		}
		ev := f.oneEvent("Survey Responded")
		if ev.UserID != "" || ev.AnonymousID != "kizuna:anonymous-survey" || strings.Contains(ev.raw, secret) || strings.Contains(ev.raw, insider.MemberID) {
			t.Fatalf("anonymous Survey Responded: %s", ev.raw)
		}
		got, err := f.s.Get(ctx, insider, sv.ID)
		if err != nil || !got.Responded || got.Responses != 1 {
			t.Fatalf("Get after responding: %+v %v", got, err)
		}
		wantErr(t, f.s.Respond(ctx, insider, sv.ID, map[string]survey.Answer{"role": {OptionIDs: []string{"pm"}}, "nps": {Scale: 3}}), errs.KindConflict, "", "already_responded")

		var linked int
		if err := f.db.R.QueryRow(`SELECT count(*) FROM survey_responses WHERE survey_id = $1 AND member_id IS NOT NULL`, sv.ID).Scan(&linked); err != nil || linked != 0 {
			t.Fatalf("anonymous responses linked to members: %d %v", linked, err)
		}
		res, err := f.s.Results(ctx, cm, sv.ID)
		if err != nil {
			t.Fatal(err)
		}
		texts := res.Questions[3].Texts
		if len(texts) != 1 || texts[0].Text != secret || texts[0].MemberID != "" || texts[0].At != nil {
			t.Fatalf("anonymous texts: %+v", texts)
		}
	})
}

func TestOneResponseUnderConcurrency(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		mk := f.member("mk@example.jp", accounts.RoleMarketer)
		m := f.member("m@example.jp", accounts.RoleMember)
		sv, err := f.s.CreateSurvey(ctx, mk, staffSurvey())
		if err != nil {
			t.Fatal(err)
		}
		f.events()
		var wg sync.WaitGroup
		results := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				results <- f.s.Respond(ctx, m, sv.ID, map[string]survey.Answer{"role": {OptionIDs: []string{"dev"}}, "nps": {Scale: 7}})
			})
		}
		wg.Wait()
		close(results)
		ok := 0
		for err := range results {
			switch {
			case err == nil:
				ok++
			default:
				wantErr(t, err, errs.KindConflict, "", "already_responded")
			}
		}
		got, _ := f.s.Get(ctx, mk, sv.ID)
		if ok != 1 || got.Responses != 1 || len(f.events()) != 1 {
			t.Fatalf("%d responses succeeded, %d counted", ok, got.Responses)
		}
	})
}

func TestListIsForStaff(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		marketer := f.member("mk@example.jp", accounts.RoleMarketer)
		analyst := f.member("an@example.jp", accounts.RoleAnalyst)
		a := f.member("a@example.jp", accounts.RoleMember)
		var ids []string
		for range 3 {
			sv, err := f.s.CreateSurvey(ctx, marketer, staffSurvey())
			if err != nil {
				t.Fatal(err)
			}
			ids = append([]string{sv.ID}, ids...)
		}
		_, _, err := f.s.List(ctx, a, "", 10)
		wantErr(t, err, errs.KindForbidden, "", "")
		first, next, err := f.s.List(ctx, analyst, "", 2)
		if err != nil || len(first) != 2 || next == "" {
			t.Fatalf("first page %d %q %v", len(first), next, err)
		}
		rest, end, _ := f.s.List(ctx, analyst, next, 2)
		if len(rest) != 1 || end != "" || first[0].ID != ids[0] || rest[0].ID != ids[2] {
			t.Fatalf("pages %v then %v, want %v", first, rest, ids)
		}
	})
}
