package community_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
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
)

var ctx = context.Background()

type fixture struct {
	t      testing.TB
	db     *db.DB
	acc    *accounts.Service
	notify *notify.Service
	c      *community.Service
	now    time.Time
	seen   int // outbox rows already looked at by events()
}

func newFixture(t testing.TB, e db.Engine) *fixture {
	t.Helper()
	d := dbtest.Open(t, e, backbone.Migrations(), accounts.Migrations(), notify.Migrations(), search.Migrations(), community.Migrations())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := &fixture{t: t, db: d, now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time { f.now = f.now.Add(time.Second); return f.now }
	ob := backbone.NewOutbox(d)
	f.acc = accounts.New(accounts.Deps{DB: d, Outbox: ob, Log: log, HashParams: accounts.TestHashParams(), Now: clock})
	f.notify = notify.New(notify.Deps{DB: d, Now: clock})
	f.c = community.New(community.Deps{DB: d, Outbox: ob, Accounts: f.acc, Notify: f.notify, Search: search.New(d), Log: log, Now: clock})
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

// events returns the track events committed since the last call, as "Name" or "Name key=value".
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
		rows.Scan(&p)
		i++
		if i <= f.seen {
			continue
		}
		var ev struct {
			Type       string         `json:"type"`
			Event      string         `json:"event"`
			Properties map[string]any `json:"properties"`
		}
		json.Unmarshal([]byte(p), &ev)
		if ev.Type != "track" || ev.Event == "Member Signed Up" {
			continue
		}
		s := ev.Event
		for _, k := range keys {
			if v, ok := ev.Properties[k]; ok {
				b, _ := json.Marshal(v)
				s += " " + k + "=" + string(b)
			}
		}
		out = append(out, s)
	}
	f.seen = i
	return out
}

func (f *fixture) wantEvents(want ...string) {
	f.t.Helper()
	if got := f.events(); strings.Join(got, "|") != strings.Join(want, "|") {
		f.t.Fatalf("events = %q, want %q", got, want)
	}
}

func wantKind(t *testing.T, err error, kind errs.Kind) {
	t.Helper()
	if errs.KindOf(err) != kind {
		t.Fatalf("got %v, want kind %v", err, kind)
	}
}

func TestQuestionAnswerAccept(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		asker := f.member("yui@example.jp", accounts.RoleMember)
		answerer := f.member("riku@example.jp", accounts.RoleMember)
		sp, err := f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "product-qa", Name: "製品Q&A", Visibility: community.Public, Categories: []string{"設定", "請求"}})
		if err != nil || len(sp.Categories) != 2 || !sp.Joined || sp.Role != community.SpaceModerator {
			t.Fatalf("space: %+v %v", sp, err)
		}
		f.events()

		q, err := f.c.CreatePost(ctx, asker, "product-qa", community.PostInput{Kind: community.Question, Title: "CSVの書き出し方法", Body: "管理画面からCSVを書き出すには？ @riku さん分かりますか", Tags: []string{"#CSV", "export"}})
		if err != nil {
			t.Fatal(err)
		}
		if q.Author.Handle != "yui" || strings.Join(q.Tags, ",") != "csv,export" || q.Solved() {
			t.Fatalf("question: %+v", q)
		}
		f.wantEvents("Post Created")
		if n, _ := f.notify.UnreadCount(ctx, answerer.MemberID); n != 1 {
			t.Fatalf("mention notifications = %d", n)
		}

		_, err = f.c.AddComment(ctx, accounts.Principal{}, q.ID, community.CommentInput{Body: "x"})
		wantKind(t, err, errs.KindUnauthenticated)
		a, err := f.c.AddComment(ctx, answerer, q.ID, community.CommentInput{Body: "設定 → エクスポート から書き出せます。"})
		if err != nil {
			t.Fatal(err)
		}
		if got := f.events("first_response"); strings.Join(got, "") != "Comment Created first_response=true" {
			t.Fatalf("events %v", got)
		}
		if n, _ := f.notify.UnreadCount(ctx, asker.MemberID); n != 1 {
			t.Fatalf("answer notification count = %d", n)
		}
		wantKind(t, f.c.AcceptAnswer(ctx, answerer, q.ID, a.ID), errs.KindForbidden)
		if err := f.c.AcceptAnswer(ctx, asker, q.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		if got := f.events("answerer_id"); len(got) != 1 || !strings.HasPrefix(got[0], "Answer Accepted") {
			t.Fatalf("events %v", got)
		}
		if err := f.c.AcceptAnswer(ctx, asker, q.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		f.wantEvents() // accepting again changes nothing

		got, _ := f.c.Post(ctx, accounts.Principal{}, q.ID)
		if !got.Solved() || got.SolvedAt == nil || got.FirstResponseAt == nil || got.CommentCount != 1 {
			t.Fatalf("solved question: %+v", got)
		}
		comments, _, err := f.c.Comments(ctx, accounts.Principal{}, q.ID, "", 0)
		if err != nil || len(comments) != 1 || !comments[0].Accepted {
			t.Fatalf("comments: %+v %v", comments, err)
		}
		pr, _ := f.c.Profile(ctx, "riku")
		if pr.Points != 15 {
			t.Fatalf("answerer points = %d", pr.Points)
		}
		if byID, err := f.c.Profile(ctx, pr.MemberID); err != nil || byID.Handle != "riku" {
			t.Fatalf("profile by member id: %+v %v", byID, err)
		}
		if quiet, err := f.c.Profile(ctx, cm.MemberID); err != nil || quiet.Handle != "cm" {
			t.Fatalf("profile of a member who never wrote: %+v %v", quiet, err)
		}
		if _, err := f.c.Profile(ctx, "NOBODY"); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("unknown profile: %v", err)
		}
		open, _ := f.c.CreatePost(ctx, asker, "product-qa", community.PostInput{Kind: community.Question, Title: "誰か教えて", Body: "まだ回答なし"})
		waiting := func(d time.Duration) int {
			ps, _, err := f.c.Topics(ctx, accounts.Principal{}, community.TopicQuery{SpaceID: sp.ID, Filter: "unanswered", UnansweredFor: d})
			if err != nil {
				t.Fatal(err)
			}
			return len(ps)
		}
		if waiting(0) != 1 || waiting(time.Hour) != 0 {
			t.Fatalf("unanswered: %d now, %d for an hour", waiting(0), waiting(time.Hour))
		}
		f.now = f.now.Add(2 * time.Hour)
		if waiting(time.Hour) != 1 {
			t.Fatal("a question waiting two hours is not in the unanswered-for-an-hour list")
		}
		f.c.Moderate(ctx, cm, open.ID, community.ActionHide, "test done")
		solved, _, _ := f.c.Topics(ctx, accounts.Principal{}, community.TopicQuery{SpaceID: sp.ID, Filter: "solved"})
		unsolved, _, _ := f.c.Topics(ctx, accounts.Principal{}, community.TopicQuery{SpaceID: sp.ID, Filter: "unsolved"})
		if len(solved) != 1 || len(unsolved) != 0 {
			t.Fatalf("filters: solved %d unsolved %d", len(solved), len(unsolved))
		}
	})
}

func TestVisibilityInPagesAndSearch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		insider := f.member("insider@example.jp", accounts.RoleMember)
		outsider := f.member("outsider@example.jp", accounts.RoleMember)
		anon := accounts.Principal{}
		for _, in := range []community.SpaceInput{
			{Slug: "open", Name: "Open", Visibility: community.Public},
			{Slug: "members", Name: "Members", Visibility: community.Members},
			{Slug: "secret", Name: "Secret", Visibility: community.Private},
		} {
			if _, err := f.c.CreateSpace(ctx, cm, in); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.c.AddSpaceMember(ctx, cm, "secret", insider.MemberID, community.SpaceMember); err != nil {
			t.Fatal(err)
		}
		wantKind(t, f.c.Join(ctx, outsider, "secret"), errs.KindNotFound)
		var ids = map[string]string{}
		for _, slug := range []string{"open", "members", "secret"} {
			author := insider
			p, err := f.c.CreatePost(ctx, author, slug, community.PostInput{Title: slug + " の話題", Body: "今日は東京都でミートアップ開催 " + slug})
			if err != nil {
				t.Fatalf("%s: %v", slug, err)
			}
			ids[slug] = p.ID
		}
		_, err := f.c.CreatePost(ctx, outsider, "secret", community.PostInput{Title: "x", Body: "y"})
		wantKind(t, err, errs.KindNotFound)

		see := func(p accounts.Principal) string {
			var got []string
			spaces, _ := f.c.Spaces(ctx, p)
			for _, sp := range spaces {
				got = append(got, sp.Slug)
			}
			hits, _, err := f.c.Search(ctx, p, search.Query{Text: "ミートアップ", Kinds: []string{"post"}})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, "|")
			for _, h := range hits {
				got = append(got, strings.TrimPrefix(h.URL, "/posts/"))
			}
			topics, _, _ := f.c.Topics(ctx, p, community.TopicQuery{})
			got = append(got, "|")
			for _, tp := range topics {
				got = append(got, tp.ID)
			}
			return strings.Join(got, " ")
		}
		o, m, s := ids["open"], ids["members"], ids["secret"]
		for _, tc := range []struct {
			who  string
			p    accounts.Principal
			want string
		}{
			{"anonymous", anon, "open | " + o + " | " + o},
			{"outsider", outsider, "members open | " + m + " " + o + " | " + m + " " + o},
			{"insider", insider, "members open secret | " + s + " " + m + " " + o + " | " + s + " " + m + " " + o},
			{"community manager", cm, "members open secret | " + s + " " + m + " " + o + " | " + s + " " + m + " " + o},
		} {
			if got := see(tc.p); got != tc.want {
				t.Errorf("%s sees %q, want %q", tc.who, got, tc.want)
			}
		}
		_, err = f.c.Post(ctx, outsider, s)
		wantKind(t, err, errs.KindNotFound)
		_, err = f.c.Post(ctx, anon, m)
		wantKind(t, err, errs.KindNotFound)

		// A mention of someone who may not see the space tells them nothing.
		before, _ := f.notify.UnreadCount(ctx, outsider.MemberID)
		if _, err := f.c.CreatePost(ctx, insider, "secret", community.PostInput{Title: "内緒", Body: "@outsider には見えない"}); err != nil {
			t.Fatal(err)
		}
		if after, _ := f.notify.UnreadCount(ctx, outsider.MemberID); after != before {
			t.Fatal("an outsider was notified of a private space's post")
		}
	})
}

func TestIdeasVotesStatusAndMerge(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		pm := f.member("pm@example.jp", accounts.RoleProduct)
		a := f.member("a@example.jp", accounts.RoleMember)
		b := f.member("b@example.jp", accounts.RoleMember)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		if _, err := f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "ideas", Name: "アイデア"}); err != nil {
			t.Fatal(err)
		}
		idea, err := f.c.CreatePost(ctx, a, "ideas", community.PostInput{Kind: community.Idea, Title: "ダークモード", Body: "夜に見やすく"})
		if err != nil || idea.Status != community.IdeaNew {
			t.Fatalf("idea: %+v %v", idea, err)
		}
		dup, _ := f.c.CreatePost(ctx, b, "ideas", community.PostInput{Kind: community.Idea, Title: "黒い画面", Body: "同じ要望"})
		f.events()
		for _, p := range []accounts.Principal{a, b, b} {
			if err := f.c.Vote(ctx, p, idea.ID); err != nil {
				t.Fatal(err)
			}
		}
		f.wantEvents("Idea Voted", "Idea Voted")
		if err := f.c.Vote(ctx, b, dup.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.c.Vote(ctx, pm, dup.ID); err != nil {
			t.Fatal(err)
		}
		f.events()
		wantKind(t, f.c.SetIdeaStatus(ctx, a, idea.ID, community.IdeaPlanned, ""), errs.KindForbidden)
		wantKind(t, f.c.SetIdeaStatus(ctx, pm, idea.ID, "someday", ""), errs.KindInvalid)
		if err := f.c.MergeIdea(ctx, pm, dup.ID, idea.ID); err != nil {
			t.Fatal(err)
		}
		got, _ := f.c.Post(ctx, a, idea.ID)
		if got.VoteCount != 3 {
			t.Fatalf("votes after merge = %d, want 3 (a, b once, pm)", got.VoteCount)
		}
		wantKind(t, f.c.Vote(ctx, a, dup.ID), errs.KindConflict)
		f.events()
		before, _ := f.notify.UnreadCount(ctx, b.MemberID)
		if err := f.c.SetIdeaStatus(ctx, pm, idea.ID, community.IdeaPlanned, "来期に対応予定です"); err != nil {
			t.Fatal(err)
		}
		if got := f.events("to", "notified"); strings.Join(got, "") != `Idea Status Changed to="planned" notified=3` {
			t.Fatalf("events %v", got)
		}
		if after, _ := f.notify.UnreadCount(ctx, b.MemberID); after != before+1 {
			t.Fatal("a voter was not notified of the status change")
		}
		byVotes, _, err := f.c.Topics(ctx, a, community.TopicQuery{Kind: community.Idea, Sort: community.SortVotes})
		if err != nil || byVotes[0].ID != idea.ID {
			t.Fatalf("by votes: %v %v", byVotes, err)
		}
		if err := f.c.Unvote(ctx, a, idea.ID); err != nil {
			t.Fatal(err)
		}
		f.wantEvents("Idea Unvoted")
	})
}

func TestModerationEditsAndReactions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		mod := f.member("mod@example.jp", accounts.RoleModerator)
		a := f.member("a@example.jp", accounts.RoleMember)
		b := f.member("b@example.jp", accounts.RoleMember)
		f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "talk", Name: "雑談"})
		p, err := f.c.CreatePost(ctx, a, "talk", community.PostInput{Title: "はじめまして", Body: "<script>alert(1)</script>\n\n**よろしく** [x](javascript:alert(1)) <img src=x onerror=alert(1)>"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(p.BodyHTML, "<script") || strings.Contains(p.BodyHTML, `href="javascript`) || strings.Contains(p.BodyHTML, "<img") ||
			!strings.Contains(p.BodyHTML, "&lt;script&gt;") || !strings.Contains(p.BodyHTML, "<strong>よろしく</strong>") {
			t.Fatalf("body html %q", p.BodyHTML)
		}
		f.events()
		_, err = f.c.EditPost(ctx, b, p.ID, community.PostInput{Title: "乗っ取り", Body: "x"})
		wantKind(t, err, errs.KindForbidden)
		if _, err := f.c.EditPost(ctx, a, p.ID, community.PostInput{Title: "はじめまして！", Body: "よろしくお願いします"}); err != nil {
			t.Fatal(err)
		}
		revs, _ := f.c.Revisions(ctx, a, p.ID)
		if len(revs) != 1 || revs[0].Title != "はじめまして" {
			t.Fatalf("revisions %+v", revs)
		}
		if err := f.c.React(ctx, b, "post", p.ID, "like"); err != nil {
			t.Fatal(err)
		}
		f.c.React(ctx, b, "post", p.ID, "like")
		wantKind(t, f.c.React(ctx, b, "post", p.ID, "poop"), errs.KindInvalid)
		f.wantEvents("Post Edited", "Reaction Added")
		if pr, _ := f.c.Profile(ctx, "a"); pr.Points != 1 {
			t.Fatalf("points = %d", pr.Points)
		}

		wantKind(t, f.c.Moderate(ctx, b, p.ID, community.ActionHide, "spam"), errs.KindForbidden)
		wantKind(t, f.c.Moderate(ctx, mod, p.ID, community.ActionHide, ""), errs.KindInvalid)
		if err := f.c.Moderate(ctx, mod, p.ID, community.ActionLock, "heated"); err != nil {
			t.Fatal(err)
		}
		_, err = f.c.AddComment(ctx, b, p.ID, community.CommentInput{Body: "まだ話したい"})
		wantKind(t, err, errs.KindConflict)
		if err := f.c.Moderate(ctx, mod, p.ID, community.ActionHide, "off-topic"); err != nil {
			t.Fatal(err)
		}
		_, err = f.c.Post(ctx, b, p.ID)
		wantKind(t, err, errs.KindNotFound)
		if _, err := f.c.Post(ctx, a, p.ID); err != nil {
			t.Fatalf("the author still sees their hidden post: %v", err)
		}
		hits, _, _ := f.c.Search(ctx, b, search.Query{Text: "よろしく"})
		if len(hits) != 0 {
			t.Fatalf("hidden post found by search: %v", hits)
		}
		entries, _, _ := f.acc.ListAudit(ctx, accounts.System(), "", 10)
		if entries[0].Action != "post.hide" || entries[0].Details["reason"] != "off-topic" {
			t.Fatalf("audit %+v", entries[0])
		}
		f.wantEvents("Post Moderated", "Post Moderated")
	})
}

func TestFloodLimitAndImports(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		a := f.member("a@example.jp", accounts.RoleMember)
		f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "talk", Name: "雑談"})
		f.now = f.now.Add(time.Hour)
		var err error
		for i := range 6 {
			_, err = f.c.CreatePost(ctx, a, "talk", community.PostInput{Title: "連投", Body: strings.Repeat("!", i+1)})
		}
		if e, ok := errs.As(err); !ok || e.Kind != errs.KindTooMany || e.Reason != "flood" {
			t.Fatalf("sixth post in a minute: %v", err)
		}
		raw, _, _ := f.acc.CreateAPIKey(ctx, accounts.System(), "import", []accounts.Scope{accounts.ScopeAdmin})
		key, _ := f.acc.AuthenticateAPIKey(ctx, raw)
		_, err = f.c.CreatePost(ctx, key, "talk", community.PostInput{Title: "移行", Body: "旧フォーラムから"})
		if e, ok := errs.As(err); !ok || e.Field != "author_id" {
			t.Fatalf("key without author_id: %v", err)
		}
		p, err := f.c.CreatePost(ctx, key, "talk", community.PostInput{Title: "移行", Body: "旧フォーラムから", AuthorID: a.MemberID})
		if err != nil || p.Author.ID != a.MemberID {
			t.Fatalf("import: %+v %v", p, err)
		}
		raw, _, _ = f.acc.CreateAPIKey(ctx, accounts.System(), "write", []accounts.Scope{accounts.ScopeWrite})
		wkey, _ := f.acc.AuthenticateAPIKey(ctx, raw)
		_, err = f.c.CreatePost(ctx, wkey, "talk", community.PostInput{Title: "移行", Body: "x", AuthorID: a.MemberID})
		wantKind(t, err, errs.KindForbidden)
	})
}

func TestTopicPagesKeepOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "talk", Name: "雑談"})
		var want []string
		for i := range 7 {
			f.now = f.now.Add(time.Minute) // stay under the flood limit
			p, err := f.c.CreatePost(ctx, cm, "talk", community.PostInput{Title: "話題", Body: strings.Repeat("あ", i+1)})
			if err != nil {
				t.Fatal(err)
			}
			want = append([]string{p.ID}, want...)
		}
		if err := f.c.Moderate(ctx, cm, want[6], community.ActionPin, ""); err != nil {
			t.Fatal(err)
		}
		want = append([]string{want[6]}, want[:6]...)
		var got []string
		cursor := ""
		for range 10 {
			page, next, err := f.c.Topics(ctx, cm, community.TopicQuery{SpaceID: "talk", Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				got = append(got, p.ID)
			}
			if cursor = next; cursor == "" {
				break
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("pages %v, want %v", got, want)
		}
	})
}

func TestSeedLoad(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		data, err := f.c.SeedLoad(ctx, community.LoadOptions{Spaces: 2, Members: 3, Posts: 41, Comments: 260, ThreadSize: 200})
		if err != nil {
			t.Fatal(err)
		}
		anon := accounts.Principal{}
		topics, next, err := f.c.Topics(ctx, anon, community.TopicQuery{SpaceID: data.SpaceSlug, Limit: 30})
		if err != nil || len(topics) != 21 || next != "" || topics[0].ID != data.ThreadID {
			t.Fatalf("topics %d next %q first %v err %v", len(topics), next, topics[0].ID, err)
		}
		comments, _, err := f.c.Comments(ctx, anon, data.ThreadID, "", 500)
		if err != nil || len(comments) != 200 || comments[0].BodyHTML == "" {
			t.Fatalf("thread has %d comments: %v", len(comments), err)
		}
		if p, _ := f.c.Post(ctx, anon, data.ThreadID); p.CommentCount != 200 {
			t.Fatalf("comment count %d", p.CommentCount)
		}
	})
}

func TestThreadReadsSeeEveryChange(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		a := f.member("aki@example.jp", accounts.RoleMember)
		b := f.member("ben@example.jp", accounts.RoleMember)
		f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "talk", Name: "雑談"})
		p, _ := f.c.CreatePost(ctx, a, "talk", community.PostInput{Title: "話題", Body: "本文"})
		f.c.AddComment(ctx, a, p.ID, community.CommentInput{Body: "一つ目"})
		count := func(who accounts.Principal) (int, int) {
			_, cs, _, err := f.c.Thread(ctx, who, p.ID, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			reactions := 0
			for _, c := range cs {
				reactions += c.ReactionCount
			}
			return len(cs), reactions
		}
		if n, _ := count(accounts.Principal{}); n != 1 {
			t.Fatalf("%d replies", n)
		}
		second, _ := f.c.AddComment(ctx, b, p.ID, community.CommentInput{Body: "二つ目"})
		if n, _ := count(accounts.Principal{}); n != 2 {
			t.Fatalf("after a reply: %d replies", n)
		}
		if err := f.c.React(ctx, a, "comment", second.ID, "heart"); err != nil {
			t.Fatal(err)
		}
		if _, r := count(accounts.Principal{}); r != 1 {
			t.Fatalf("after a reaction: %d reactions", r)
		}
		if err := f.c.HideComment(ctx, cm, second.ID, true, "spam"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			who  accounts.Principal
			want int
		}{{accounts.Principal{}, 1}, {a, 1}, {b, 2}, {cm, 2}} {
			if n, _ := count(tc.who); n != tc.want {
				t.Errorf("%+v sees %d replies after the hide, want %d", tc.who, n, tc.want)
			}
		}
	})
}

func TestReportsAndTheModerationQueue(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		a := f.member("aki@example.jp", accounts.RoleMember)
		b := f.member("ben@example.jp", accounts.RoleMember)
		spaceMod := f.member("smod@example.jp", accounts.RoleMember)
		f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "talk", Name: "雑談"})
		f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "other", Name: "その他"})
		f.c.AddSpaceMember(ctx, cm, "other", spaceMod.MemberID, community.SpaceModerator)
		p, _ := f.c.CreatePost(ctx, a, "talk", community.PostInput{Title: "格安商品はこちら", Body: "スパムです"})
		f.events()
		_, err := f.c.ReportContent(ctx, b, community.ReportInput{TargetKind: "post", TargetID: p.ID, Reason: "scam"})
		if e, ok := errs.As(err); !ok || e.Field != "reason" {
			t.Fatalf("bad reason: %v", err)
		}
		var ids []string
		for range 2 {
			r, err := f.c.ReportContent(ctx, b, community.ReportInput{TargetKind: "post", TargetID: p.ID, Reason: "spam", Note: "宣伝"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		}
		if ids[0] != ids[1] {
			t.Fatalf("reporting again made a second report: %v", ids)
		}
		f.wantEvents("Content Reported")
		_, _, err = f.c.Reports(ctx, a, "", "", 0)
		wantKind(t, err, errs.KindForbidden)
		if rs, _, _ := f.c.Reports(ctx, spaceMod, "", "", 0); len(rs) != 0 {
			t.Fatalf("a moderator of another space sees %d reports", len(rs))
		}
		rs, _, err := f.c.Reports(ctx, cm, "", "", 0)
		if err != nil || len(rs) != 1 || rs[0].Excerpt == "" || rs[0].PostID != p.ID {
			t.Fatalf("queue: %+v %v", rs, err)
		}
		if err := f.c.ResolveReport(ctx, cm, rs[0].ID, community.ResolveHide, "広告"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.c.Post(ctx, b, p.ID); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("the reported post is still visible: %v", err)
		}
		if rs, _, _ := f.c.Reports(ctx, cm, "", "", 0); len(rs) != 0 {
			t.Fatalf("%d open reports after resolving", len(rs))
		}
		wantKind(t, f.c.ResolveReport(ctx, cm, rs[0].ID, community.ResolveDismiss, ""), errs.KindConflict)
		if got := f.events(); strings.Join(got, "|") != "Post Moderated|Report Resolved" {
			t.Fatalf("events %v", got)
		}
	})
}

func TestFirstPostApproval(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		mod := f.member("mod@example.jp", accounts.RoleModerator)
		newbie := f.member("new@example.jp", accounts.RoleMember)
		other := f.member("other@example.jp", accounts.RoleMember)
		f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "talk", Name: "雑談"})
		wantKind(t, f.c.SetSettings(ctx, mod, community.Settings{FirstPostApproval: true}), errs.KindForbidden)
		if err := f.c.SetSettings(ctx, cm, community.Settings{FirstPostApproval: true}); err != nil {
			t.Fatal(err)
		}
		p, err := f.c.CreatePost(ctx, newbie, "talk", community.PostInput{Title: "はじめての投稿", Body: "よろしくお願いします @other"})
		if err != nil || !p.Pending || !p.Hidden {
			t.Fatalf("first post: %+v %v", p, err)
		}
		if _, err := f.c.Post(ctx, other, p.ID); errs.KindOf(err) != errs.KindNotFound {
			t.Fatal("a post waiting for approval is visible to others")
		}
		if n, _ := f.notify.UnreadCount(ctx, other.MemberID); n != 0 {
			t.Fatal("a mention in a waiting post notified")
		}
		if hits, _, _ := f.c.Search(ctx, other, search.Query{Text: "はじめて"}); len(hits) != 0 {
			t.Fatal("a waiting post is searchable")
		}
		pending, _, err := f.c.PendingPosts(ctx, mod, "", 0)
		if err != nil || len(pending) != 1 {
			t.Fatalf("pending: %v %v", pending, err)
		}
		f.events()
		if err := f.c.ApprovePost(ctx, mod, p.ID); err != nil {
			t.Fatal(err)
		}
		f.wantEvents("Post Approved")
		if got, err := f.c.Post(ctx, other, p.ID); err != nil || got.Pending {
			t.Fatalf("approved post: %+v %v", got, err)
		}
		if n, _ := f.notify.UnreadCount(ctx, other.MemberID); n != 1 {
			t.Fatal("approval did not deliver the mention")
		}
		second, _ := f.c.CreatePost(ctx, newbie, "talk", community.PostInput{Title: "二回目", Body: "もう承認不要"})
		if second.Pending {
			t.Fatal("a member's second post waited for approval")
		}
		wantKind(t, f.c.ApprovePost(ctx, mod, second.ID), errs.KindConflict)
	})
}
