package kb_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/kb"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/search"
)

var ctx = context.Background()

type fixture struct {
	t    *testing.T
	db   *db.DB
	acc  *accounts.Service
	c    *community.Service
	kb   *kb.Service
	ix   *search.Index
	now  time.Time
	seen int // outbox rows already looked at by events()
}

func newFixture(t *testing.T, e db.Engine) *fixture {
	t.Helper()
	d := dbtest.Open(t, e, backbone.Migrations(), accounts.Migrations(), notify.Migrations(), search.Migrations(), community.Migrations(), kb.Migrations())
	f := &fixture{t: t, db: d, now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time { f.now = f.now.Add(time.Second); return f.now }
	ob := backbone.NewOutbox(d)
	f.ix = search.New(d)
	f.acc = accounts.New(accounts.Deps{DB: d, Outbox: ob, HashParams: accounts.TestHashParams(), Now: clock})
	n := notify.New(notify.Deps{DB: d, Now: clock})
	f.c = community.New(community.Deps{DB: d, Outbox: ob, Accounts: f.acc, Notify: n, Search: f.ix, Now: clock})
	f.kb = kb.New(kb.Deps{DB: d, Outbox: ob, Accounts: f.acc, Community: f.c, Search: f.ix, Markdown: f.c.Markdown(), Now: clock})
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

// events returns the track events committed since the last call, as "Name" or "Name key=value";
// the keys userId and anonymousId name the event's own fields, others its properties.
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
			Type        string         `json:"type"`
			Event       string         `json:"event"`
			UserID      string         `json:"userId"`
			AnonymousID string         `json:"anonymousId"`
			Properties  map[string]any `json:"properties"`
		}
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			f.t.Fatal(err)
		}
		if ev.Type != "track" || ev.Event == "Member Signed Up" {
			continue
		}
		s := ev.Event
		for _, k := range keys {
			v, ok := ev.Properties[k]
			switch k {
			case "userId":
				v, ok = ev.UserID, ev.UserID != ""
			case "anonymousId":
				v, ok = ev.AnonymousID, ev.AnonymousID != ""
			}
			if ok {
				b, _ := json.Marshal(v)
				s += " " + k + "=" + string(b)
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
		f.t.Fatalf("events = %q, want %q", got, want)
	}
}

// found reports the ids of the articles a search for text finds.
func (f *fixture) found(text string) []string {
	f.t.Helper()
	hits, _, err := f.ix.Search(ctx, search.Query{Text: text, Kinds: []string{search.KindArticle}, NoSpace: true})
	if err != nil {
		f.t.Fatal(err)
	}
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.ID)
	}
	return ids
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

func TestArticleLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		reader := f.member("yui@example.jp", accounts.RoleMember)
		anon := accounts.Principal{}

		_, err := f.kb.CreateCategory(ctx, reader, "請求", "billing")
		wantErr(t, err, errs.KindForbidden, "", "")
		_, err = f.kb.CreateCategory(ctx, cm, "請求", "Billing Q&A")
		wantErr(t, err, errs.KindInvalid, "slug", "slug_invalid")
		billing, err := f.kb.CreateCategory(ctx, cm, " 請求 ", "Billing")
		if err != nil || billing.Slug != "billing" || billing.Name != "請求" || billing.Position != 0 {
			t.Fatalf("category: %+v %v", billing, err)
		}
		setup, err := f.kb.CreateCategory(ctx, cm, "初期設定", "setup")
		if err != nil || setup.Position != 1 {
			t.Fatalf("second category: %+v %v", setup, err)
		}
		_, err = f.kb.CreateCategory(ctx, cm, "別の請求", "billing")
		wantErr(t, err, errs.KindConflict, "slug", "category_slug_taken")
		f.wantEvents([]string{`Article Category Created slug="billing"`, `Article Category Created slug="setup"`}, "slug")

		_, err = f.kb.CreateArticle(ctx, reader, kb.ArticleInput{Title: "x", Body: "y"})
		wantErr(t, err, errs.KindForbidden, "", "")
		_, err = f.kb.CreateArticle(ctx, cm, kb.ArticleInput{Title: "x", Body: "y", CategoryID: "nope"})
		wantErr(t, err, errs.KindInvalid, "category_id", "category_unknown")
		_, err = f.kb.CreateArticle(ctx, cm, kb.ArticleInput{Title: " ", Body: "y"})
		wantErr(t, err, errs.KindInvalid, "title", "title_required")
		draft, err := f.kb.CreateArticle(ctx, cm, kb.ArticleInput{Slug: "invoice-pdf", CategoryID: "billing", Title: "請求書をPDFで受け取る",
			Body: "**管理画面** の請求メニューから請求書PDFをダウンロードできます。<script>alert(1)</script>"})
		if err != nil {
			t.Fatal(err)
		}
		if draft.Published || draft.PublishedAt != nil || draft.CategoryID != billing.ID || draft.AuthorID != cm.MemberID ||
			!strings.Contains(draft.BodyHTML, "<strong>管理画面</strong>") || strings.Contains(draft.BodyHTML, "<script>") {
			t.Fatalf("draft: %+v", draft)
		}
		f.wantEvents([]string{`Article Created published=false userId="` + cm.MemberID + `"`}, "published", "userId")
		if f.audited("kb.article_created") != 1 || f.audited("kb.category_created") != 2 {
			t.Fatal("article and category creation are not audited")
		}

		// A draft is the staff's alone: not to readers, not in search, not counted for them.
		if _, err := f.kb.Article(ctx, reader, "invoice-pdf"); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("reader sees a draft: %v", err)
		}
		if got, err := f.kb.Article(ctx, cm, draft.ID); err != nil || got.Slug != "invoice-pdf" {
			t.Fatalf("staff read of the draft: %+v %v", got, err)
		}
		if len(f.found("請求書PDF")) != 0 {
			t.Fatal("a draft is searchable")
		}
		cats, _ := f.kb.Categories(ctx, anon)
		staffCats, _ := f.kb.Categories(ctx, cm)
		if len(cats) != 2 || cats[0].Slug != "billing" || cats[0].Articles != 0 || staffCats[0].Articles != 1 {
			t.Fatalf("categories: %+v staff %+v", cats, staffCats)
		}
		if list, _, _ := f.kb.Articles(ctx, reader, "", "", 0); len(list) != 0 {
			t.Fatalf("reader lists drafts: %+v", list)
		}
		if err := f.kb.RecordView(ctx, draft.ID, reader.MemberID); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("a view of a draft counts: %v", err)
		}

		// Publishing: once Article Published, every time Article Updated; search follows.
		in := kb.ArticleInput{CategoryID: billing.ID, Title: draft.Title, Body: draft.Body, Published: true}
		_, err = f.kb.UpdateArticle(ctx, reader, draft.ID, in)
		wantErr(t, err, errs.KindForbidden, "", "")
		pub, err := f.kb.UpdateArticle(ctx, cm, draft.ID, in)
		if err != nil || !pub.Published || pub.PublishedAt == nil || pub.Slug != "invoice-pdf" {
			t.Fatalf("published: %+v %v", pub, err)
		}
		f.wantEvents([]string{`Article Updated fields=["published"]`, "Article Published"}, "fields")
		if got := f.found("請求書PDF"); len(got) != 1 || got[0] != draft.ID {
			t.Fatalf("search after publishing: %v", got)
		}
		if got, err := f.kb.Article(ctx, anon, "invoice-pdf"); err != nil || got.ID != draft.ID {
			t.Fatalf("anonymous read: %+v %v", got, err)
		}
		in.Published = false
		if _, err := f.kb.UpdateArticle(ctx, cm, "invoice-pdf", in); err != nil {
			t.Fatal(err)
		}
		if len(f.found("請求書PDF")) != 0 {
			t.Fatal("an unpublished article is searchable")
		}
		in.Published, in.Slug, in.Title, in.CategoryID = true, "invoice", "請求書PDFのダウンロード", ""
		again, err := f.kb.UpdateArticle(ctx, cm, draft.ID, in)
		if err != nil || again.Slug != "invoice" || again.CategoryID != "" || !again.PublishedAt.Equal(*pub.PublishedAt) {
			t.Fatalf("republished: %+v %v", again, err)
		}
		f.wantEvents([]string{`Article Updated fields=["published"]`, `Article Updated fields=["slug","category_id","title","published"]`}, "fields")
		if got := f.found("ダウンロード"); len(got) != 1 {
			t.Fatalf("search after editing: %v", got)
		}
		if f.audited("kb.article_updated") != 3 {
			t.Fatal("updates are not audited")
		}

		other, err := f.kb.CreateArticle(ctx, cm, kb.ArticleInput{CategoryID: "setup", Title: "初期設定の手順", Body: "手順です", Published: true})
		if err != nil || other.Slug != strings.ToLower(other.ID) || other.PublishedAt == nil {
			t.Fatalf("article without slug: %+v %v", other, err)
		}
		f.wantEvents([]string{"Article Created published=true", "Article Published"}, "published")
		_, err = f.kb.UpdateArticle(ctx, cm, other.ID, kb.ArticleInput{Slug: "invoice", Title: "x", Body: "y"})
		wantErr(t, err, errs.KindConflict, "slug", "article_slug_taken")
		_, err = f.kb.UpdateArticle(ctx, cm, "missing", kb.ArticleInput{Title: "x", Body: "y"})
		if errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("update of a missing article: %v", err)
		}

		// Lists page newest first.
		page1, next, err := f.kb.Articles(ctx, anon, "", "", 1)
		if err != nil || len(page1) != 1 || page1[0].ID != other.ID || next == "" {
			t.Fatalf("page 1: %+v %q %v", page1, next, err)
		}
		page2, next, err := f.kb.Articles(ctx, anon, "", next, 1)
		if err != nil || len(page2) != 1 || page2[0].ID != draft.ID || next != "" {
			t.Fatalf("page 2: %+v %q %v", page2, next, err)
		}
		if inSetup, _, _ := f.kb.Articles(ctx, anon, "setup", "", 0); len(inSetup) != 1 || inSetup[0].ID != other.ID {
			t.Fatalf("setup category: %+v", inSetup)
		}
		if _, _, err := f.kb.Articles(ctx, anon, "nope", "", 0); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("unknown category: %v", err)
		}
	})
}

func TestRecordView(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		reader := f.member("yui@example.jp", accounts.RoleMember)
		a, err := f.kb.CreateArticle(ctx, accounts.System(), kb.ArticleInput{Slug: "faq", Title: "よくある質問", Body: "答え", Published: true})
		if err != nil {
			t.Fatal(err)
		}
		if a.AuthorID != "system" {
			t.Fatalf("author of a system article: %q", a.AuthorID)
		}
		f.wantEvents([]string{`Article Created anonymousId="kizuna:system"`, `Article Published anonymousId="kizuna:system"`}, "anonymousId")
		for _, r := range []string{reader.MemberID, "", cm.MemberID} {
			if err := f.kb.RecordView(ctx, a.ID, r); err != nil {
				t.Fatal(err)
			}
		}
		f.wantEvents([]string{`Article Viewed userId="` + reader.MemberID + `"`, `Article Viewed anonymousId="kizuna:anonymous"`,
			`Article Viewed userId="` + cm.MemberID + `"`}, "userId", "anonymousId")
		if got, _ := f.kb.Article(ctx, reader, "faq"); got.Views != 3 {
			t.Fatalf("views = %d", got.Views)
		}
		if err := f.kb.RecordView(ctx, "missing", ""); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("view of a missing article: %v", err)
		}
	})
}

func TestArticleFromAnswer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		asker := f.member("yui@example.jp", accounts.RoleMember)
		answerer := f.member("riku@example.jp", accounts.RoleMember)
		outsider := f.member("ken@example.jp", accounts.RoleMember)
		if _, err := f.c.CreateSpace(ctx, cm, community.SpaceInput{Slug: "customers", Name: "お客様", Visibility: community.Private}); err != nil {
			t.Fatal(err)
		}
		for _, m := range []accounts.Principal{asker, answerer} {
			if err := f.c.AddSpaceMember(ctx, cm, "customers", m.MemberID, community.SpaceMember); err != nil {
				t.Fatal(err)
			}
		}
		q, err := f.c.CreatePost(ctx, asker, "customers", community.PostInput{Kind: community.Question, Title: "CSVの書き出し方法", Body: "どこから書き出せますか"})
		if err != nil {
			t.Fatal(err)
		}
		a, err := f.c.AddComment(ctx, answerer, q.ID, community.CommentInput{Body: "**設定 → エクスポート** から書き出せます。"})
		if err != nil {
			t.Fatal(err)
		}
		other, err := f.c.CreatePost(ctx, asker, "customers", community.PostInput{Title: "別の話題", Body: "雑談"})
		if err != nil {
			t.Fatal(err)
		}
		elsewhere, err := f.c.AddComment(ctx, answerer, other.ID, community.CommentInput{Body: "返信"})
		if err != nil {
			t.Fatal(err)
		}

		_, err = f.kb.ArticleFromAnswer(ctx, cm, q.ID, "", kb.ArticleInput{})
		wantErr(t, err, errs.KindInvalid, "comment_id", "no_accepted_answer")
		if err := f.c.AcceptAnswer(ctx, asker, q.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		f.events()
		_, err = f.kb.ArticleFromAnswer(ctx, asker, q.ID, "", kb.ArticleInput{})
		wantErr(t, err, errs.KindForbidden, "", "")
		_, err = f.kb.ArticleFromAnswer(ctx, cm, q.ID, elsewhere.ID, kb.ArticleInput{})
		wantErr(t, err, errs.KindInvalid, "comment_id", "comment_not_on_post")
		if _, err := f.kb.ArticleFromAnswer(ctx, cm, "missing", "", kb.ArticleInput{}); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("missing post: %v", err)
		}

		before, _ := f.c.Post(ctx, cm, q.ID)
		art, err := f.kb.ArticleFromAnswer(ctx, cm, q.ID, "", kb.ArticleInput{Slug: "csv-export", Published: true})
		if err != nil {
			t.Fatal(err)
		}
		if after, _ := f.c.Post(ctx, cm, q.ID); after.Version <= before.Version {
			t.Fatal("the question's version did not move when its answer became an article")
		}
		if art.Title != q.Title || art.Body != a.Body || !strings.Contains(art.BodyHTML, "<strong>") ||
			art.SourcePostID != q.ID || art.SourceCommentID != a.ID || !art.Published {
			t.Fatalf("article from answer: %+v", art)
		}
		f.wantEvents([]string{`Article Created From Answer answerer_id="` + answerer.MemberID + `" accepted_answer=true`,
			`Article Published source_post_id="` + q.ID + `"`}, "answerer_id", "accepted_answer", "source_post_id")
		if f.audited("kb.article_from_answer") != 1 {
			t.Fatal("not audited")
		}
		if got := f.found("エクスポート"); len(got) != 1 || got[0] != art.ID {
			t.Fatalf("search: %v", got)
		}

		// A draft from the other reply, with a title of its own.
		draft, err := f.kb.ArticleFromAnswer(ctx, cm, q.ID, a.ID, kb.ArticleInput{Title: "CSVエクスポート（下書き）"})
		if err != nil || draft.Published || draft.Title != "CSVエクスポート（下書き）" {
			t.Fatalf("draft from answer: %+v %v", draft, err)
		}
		f.wantEvents([]string{"Article Created From Answer published=false"}, "published")

		// The question links to what it became, for those who may read the question.
		got, err := f.kb.ArticlesForPost(ctx, asker, q.ID)
		if err != nil || len(got) != 1 || got[0].ID != art.ID {
			t.Fatalf("articles for the asker: %+v %v", got, err)
		}
		if got, _ := f.kb.ArticlesForPost(ctx, cm, q.ID); len(got) != 2 {
			t.Fatalf("staff see drafts too: %+v", got)
		}
		if _, err := f.kb.ArticlesForPost(ctx, outsider, q.ID); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("an outsider learns of a private question: %v", err)
		}
		if got, _ := f.kb.ArticlesForPost(ctx, asker, other.ID); len(got) != 0 {
			t.Fatalf("articles for another post: %+v", got)
		}
	})
}
