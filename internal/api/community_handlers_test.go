package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/badges"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/dm"
	"github.com/kizuna-community/kizuna/internal/dsr"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/imports"
	"github.com/kizuna-community/kizuna/internal/ingest"
	"github.com/kizuna-community/kizuna/internal/kb"
	"github.com/kizuna-community/kizuna/internal/media"
	"github.com/kizuna-community/kizuna/internal/meetup"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/privacy"
	"github.com/kizuna-community/kizuna/internal/profile"
	"github.com/kizuna-community/kizuna/internal/score"
	"github.com/kizuna-community/kizuna/internal/search"
	"github.com/kizuna-community/kizuna/internal/segment"
	"github.com/kizuna-community/kizuna/internal/survey"
)

// world is the API with every part it can serve, on real services over a test database.
type world struct {
	t     *testing.T
	db    *db.DB
	acc   *accounts.Service
	api   *API
	url   string
	seen  int            // outbox rows already looked at by events()
	media media.DirStore // where uploaded images go
	com   *community.Service

	crm      *crm.Service
	profiles *profile.Service
	consent  *consent.Ledger
	identity *identity.Graph
	segments *segment.Service
	scores   *score.Service
	privacy  *privacy.Service
}

func newWorld(t *testing.T, e db.Engine) *world {
	t.Helper()
	d := dbtest.Open(t, e, backbone.Migrations(), accounts.Migrations(), notify.Migrations(), search.Migrations(), community.Migrations(), dm.Migrations(), meetup.Migrations(),
		kb.Migrations(), badges.Migrations(), survey.Migrations(), media.Migrations(), ingest.Migrations(), identity.Migrations(),
		crm.Migrations(), profile.Migrations(), consent.Migrations(), imports.Migrations(), segment.Migrations(),
		score.Migrations(), privacy.Migrations())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	ob := backbone.NewOutbox(d)
	w := &world{t: t, db: d}
	w.acc = accounts.New(accounts.Deps{DB: d, Outbox: ob, Log: log, HashParams: accounts.TestHashParams(), Now: clock})
	nt := notify.New(notify.Deps{DB: d, Now: clock})
	c := community.New(community.Deps{DB: d, Outbox: ob, Accounts: w.acc, Notify: nt, Search: search.New(d), Log: log, Now: clock})
	m := meetup.New(meetup.Deps{DB: d, Outbox: ob, Accounts: w.acc, Community: c, Notify: nt, Search: search.New(d), Log: log, Now: clock})
	w.com = c
	k := kb.New(kb.Deps{DB: d, Outbox: ob, Accounts: w.acc, Community: c, Search: search.New(d), Now: clock})
	b := badges.New(badges.Deps{DB: d, Outbox: ob, Accounts: w.acc, Now: clock})
	sv := survey.New(survey.Deps{DB: d, Outbox: ob, Accounts: w.acc, Community: c, Now: clock})
	w.media = media.DirStore{Root: t.TempDir()}
	md := media.New(media.Deps{DB: d, Outbox: ob, Store: w.media, Now: clock})
	g := identity.New(identity.Deps{DB: d, Outbox: ob, Now: clock})
	w.crm = crm.New(crm.Deps{DB: d, Outbox: ob, Identity: g, Now: clock})
	w.profiles = profile.New(profile.Deps{DB: d, Outbox: ob, Identity: g, CRM: w.crm, Log: log, Now: clock})
	w.identity = g
	w.consent = consent.New(consent.Deps{DB: d, Outbox: ob, Identity: g, Accounts: w.acc, Now: clock})
	w.segments = segment.New(segment.Deps{DB: d, Outbox: ob, Identity: g, Accounts: w.acc, Log: log, Now: clock})
	w.scores = score.New(score.Deps{DB: d, Outbox: ob, Identity: g, Segments: w.segments, Log: log, Now: clock})
	// A backbone without a stream: its outbox and event log; erasures are completed by the test.
	bb := backbone.New(backbone.Deps{DB: d, LogDB: dbtest.Open(t, e, backbone.LogMigrations()), Log: log})
	src := ingest.NewSources(d, nil)
	im := imports.New(imports.Deps{DB: d, Outbox: ob, Identity: g, CRM: w.crm, Consent: w.consent, Now: clock, TempDir: t.TempDir()})
	w.privacy = privacy.New(privacy.Deps{DB: d, Backbone: bb, Accounts: w.acc, Identity: g, Consent: w.consent, Log: log, Now: clock,
		Parts: []dsr.Part{c, w.dm(d, ob, nt, clock), m, sv, b, md, k, nt, search.New(d), src, im, w.crm, w.profiles, w.scores, w.consent, g, bb, w.acc}})
	w.api = New(Deps{Accounts: w.acc, Community: c, Meetup: m, KB: k, Badges: b, Survey: sv, Media: md,
		Sources: src, Identity: g, Profiles: w.profiles, CRM: w.crm, Consent: w.consent, Segments: w.segments, Scores: w.scores,
		Imports: im, Privacy: w.privacy, Log: log})
	mux := http.NewServeMux()
	w.api.Routes(mux)
	srv := httptest.NewServer(httpx.Chain(mux, httpx.RequestID, httpx.Recover(log)))
	t.Cleanup(srv.Close)
	w.url = srv.URL
	return w
}

// dm is the direct messages part, which the API does not serve but an erasure covers.
func (w *world) dm(d *db.DB, ob *backbone.Outbox, nt *notify.Service, clock func() time.Time) *dm.Service {
	return dm.New(dm.Deps{DB: d, Outbox: ob, Accounts: w.acc, Notify: nt, Now: clock})
}

func (w *world) key(name string, scope accounts.Scope) client {
	w.t.Helper()
	raw, _, err := w.acc.CreateAPIKey(context.Background(), accounts.System(), name, []accounts.Scope{scope})
	if err != nil {
		w.t.Fatal(err)
	}
	return client{w.t, w.url, raw}
}

func (w *world) member(email string) string {
	w.t.Helper()
	m, err := w.acc.CreateMember(context.Background(), accounts.System(), accounts.SignUpInput{Email: email, Password: "member password", DisplayName: strings.Split(email, "@")[0]}, accounts.RoleMember)
	if err != nil {
		w.t.Fatal(err)
	}
	return m.ID
}

// events returns the track events committed since the last call, as "Name" or "Name key=value".
func (w *world) events(keys ...string) []string {
	w.t.Helper()
	rows, err := w.db.R.Query(`SELECT payload FROM outbox ORDER BY seq`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	i := 0
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			w.t.Fatal(err)
		}
		if i++; i <= w.seen {
			continue
		}
		var ev struct {
			Type       string         `json:"type"`
			Event      string         `json:"event"`
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			w.t.Fatal(err)
		}
		if ev.Type != "track" {
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
	w.seen = i
	return out
}

func (w *world) wantEvents(step string, want ...string) {
	w.t.Helper()
	if got := w.events(); strings.Join(got, "|") != strings.Join(want, "|") {
		w.t.Fatalf("%s: events = %q, want %q", step, got, want)
	}
}

// jsonBody encodes v for a request.
func jsonBody(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// wantError checks a JSON error answer: its status, code and (when given) the field it names.
func wantError(t *testing.T, c client, method, path, body string, status int, field string) apiError {
	t.Helper()
	var ae apiError
	code, _ := c.do(method, path, body, &ae)
	if code != status || ae.Error.Code == "" || ae.Error.RequestID == "" || (field != "" && ae.Error.Field != field) {
		t.Fatalf("%s %s %s = %d %+v, want %d naming %q", method, path, body, code, ae, status, field)
	}
	return ae
}

func TestCommunityScenario(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		admin, writer, reader := w.key("migration", accounts.ScopeAdmin), w.key("bot", accounts.ScopeWrite), w.key("bi", accounts.ScopeRead)
		yui, riku, mio := w.member("yui@example.jp"), w.member("riku@example.jp"), w.member("mio@example.jp")
		w.events()

		// A space, made by a write key; a read key may not.
		ae := wantError(t, reader, "POST", "/spaces", `{"slug":"x","name":"x"}`, 403, "")
		if !strings.Contains(ae.Error.Message, `"write"`) {
			t.Fatalf("read key creating a space: %+v, want the write scope named", ae)
		}
		var sp community.Space
		code, h := writer.do("POST", "/spaces", `{"slug":"product-qa","name":"製品Q&A","categories":["設定","請求"]}`, &sp)
		if code != 201 || sp.Slug != "product-qa" || len(sp.Categories) != 2 || h.Get("Location") != Prefix+"/spaces/product-qa" {
			t.Fatalf("create space = %d %+v", code, sp)
		}
		w.wantEvents("space", "Space Created")
		wantError(t, writer, "POST", "/spaces", `{"slug":"product-qa","name":"again"}`, 409, "slug")
		wantError(t, writer, "POST", "/spaces", `{"slug":"ok-slug","name":"x","visibility":"secret"}`, 400, "visibility")
		wantError(t, writer, "POST", "/spaces", `{"slug":"ok-slug","name":"x","owner":"me"}`, 400, "owner")

		// An admin key imports a question on behalf of yui.
		question := jsonBody(map[string]any{"kind": "question", "title": "CSVの書き出し方法", "body": "管理画面からCSVを書き出すにはどうすればいいですか",
			"tags": []string{"csv"}, "category_id": sp.Categories[0].ID, "author_id": yui})
		ae = wantError(t, writer, "POST", "/spaces/product-qa/posts", question, 403, "")
		if !strings.Contains(ae.Error.Message, `"admin"`) {
			t.Fatalf("write key importing: %+v, want the admin scope named", ae)
		}
		var q community.Post
		code, h = admin.do("POST", "/spaces/product-qa/posts", question, &q)
		if code != 201 || q.Author.ID != yui || q.Kind != community.Question || q.CategoryID != sp.Categories[0].ID || h.Get("Location") != Prefix+"/posts/"+q.ID {
			t.Fatalf("import post = %d %+v", code, q)
		}
		if got := w.events("imported"); strings.Join(got, "|") != "Post Created imported=true" {
			t.Fatalf("import events %q", got)
		}
		for _, tc := range []struct{ body, field string }{
			{`{"title":"t","body":"b"}`, "author_id"},
			{`{"title":"t","body":"b","author_id":"nobody"}`, "author_id"},
			{jsonBody(map[string]any{"title": "", "body": "b", "author_id": yui}), "title"},
			{jsonBody(map[string]any{"titel": "t", "body": "b", "author_id": yui}), "titel"},
			{jsonBody(map[string]any{"title": "t", "body": "b", "tags": "csv", "author_id": yui}), "tags"},
			{jsonBody(map[string]any{"kind": "poll", "title": "t", "body": "b", "author_id": yui}), "kind"},
			{`{"title":`, "body"},
		} {
			wantError(t, admin, "POST", "/spaces/product-qa/posts", tc.body, 400, tc.field)
		}
		if ae := wantError(t, admin, "POST", "/spaces/product-qa/posts", jsonBody(map[string]any{"title": "t", "body": strings.Repeat("あ", maxBody/3+1), "author_id": yui}), 413, ""); ae.Error.Code != "too_large" {
			t.Fatalf("huge body: %+v", ae)
		}
		wantError(t, admin, "POST", "/spaces/no-such-space/posts", jsonBody(map[string]any{"title": "t", "body": "b", "author_id": yui}), 404, "")

		// riku answers; the write key accepts the answer.
		var answer community.Comment
		if code, _ := admin.do("POST", "/posts/"+q.ID+"/comments", jsonBody(map[string]any{"body": "設定 → エクスポート から書き出せます。", "author_id": riku}), &answer); code != 201 || answer.Author.ID != riku {
			t.Fatalf("answer = %d %+v", code, answer)
		}
		if got := w.events("first_response", "imported"); strings.Join(got, "|") != "Comment Created first_response=true imported=true" {
			t.Fatalf("answer events %q", got)
		}
		wantError(t, admin, "POST", "/posts/"+q.ID+"/comments", jsonBody(map[string]any{"body": " ", "author_id": riku}), 400, "body")
		wantError(t, reader, "POST", "/posts/"+q.ID+"/accept", jsonBody(map[string]any{"comment_id": answer.ID}), 403, "")
		wantError(t, writer, "POST", "/posts/"+q.ID+"/accept", `{"comment_id":"nope"}`, 400, "comment_id")
		var accepted community.Post
		if code, _ := writer.do("POST", "/posts/"+q.ID+"/accept", jsonBody(map[string]any{"comment_id": answer.ID}), &accepted); code != 200 || accepted.AcceptedCommentID != answer.ID || accepted.SolvedAt == nil {
			t.Fatalf("accept = %d %+v", code, accepted)
		}
		if got := w.events("answerer_id"); strings.Join(got, "|") != `Answer Accepted answerer_id="`+riku+`"` {
			t.Fatalf("accept events %q", got)
		}
		var comments httpx.List[community.Comment]
		if code, _ := reader.do("GET", "/posts/"+q.ID+"/comments", "", &comments); code != 200 || len(comments.Data) != 1 || !comments.Data[0].Accepted {
			t.Fatalf("comments = %d %+v", code, comments)
		}

		// Member actions: an admin key votes and reacts for a member it names.
		var idea community.Post
		admin.do("POST", "/spaces/product-qa/posts", jsonBody(map[string]any{"kind": "idea", "title": "ダークモード", "body": "夜に見やすくしてほしい", "author_id": yui}), &idea)
		w.events()
		wantError(t, writer, "POST", "/posts/"+idea.ID+"/vote", jsonBody(map[string]any{"member_id": mio}), 403, "")
		wantError(t, admin, "POST", "/posts/"+idea.ID+"/vote", "", 400, "member_id")
		wantError(t, admin, "POST", "/posts/"+idea.ID+"/vote", `{}`, 400, "member_id")
		wantError(t, admin, "POST", "/posts/"+idea.ID+"/vote", `{"member_id":"nobody"}`, 400, "member_id")
		wantError(t, admin, "POST", "/posts/"+q.ID+"/vote", jsonBody(map[string]any{"member_id": mio}), 409, "")
		var voted community.Post
		if code, _ := admin.do("POST", "/posts/"+idea.ID+"/vote", jsonBody(map[string]any{"member_id": mio}), &voted); code != 200 || voted.VoteCount != 1 || !voted.Voted {
			t.Fatalf("vote = %d %+v", code, voted)
		}
		w.wantEvents("vote", "Idea Voted")
		var planned community.Post
		if code, _ := writer.do("PUT", "/posts/"+idea.ID+"/status", `{"status":"planned","response":"次のリリースで対応します"}`, &planned); code != 200 || planned.Status != community.IdeaPlanned || planned.StaffResponse == "" {
			t.Fatalf("status = %d %+v", code, planned)
		}
		w.wantEvents("status", "Idea Status Changed")
		wantError(t, writer, "PUT", "/posts/"+idea.ID+"/status", `{"status":"maybe"}`, 400, "status")
		var rs reactionSummary
		if code, _ := admin.do("POST", "/posts/"+q.ID+"/reactions/like", jsonBody(map[string]any{"member_id": mio}), &rs); code != 200 || rs.Counts["like"] != 1 || strings.Join(rs.MemberReacted, ",") != "like" {
			t.Fatalf("react = %d %+v", code, rs)
		}
		w.wantEvents("react", "Reaction Added")
		wantError(t, admin, "POST", "/posts/"+q.ID+"/reactions/poop", jsonBody(map[string]any{"member_id": mio}), 400, "emoji")
		var none reactionSummary
		if code, _ := admin.do("DELETE", "/comments/"+answer.ID+"/reactions/clap", jsonBody(map[string]any{"member_id": mio}), &none); code != 200 || len(none.Counts) != 0 {
			t.Fatalf("unreact nothing = %d %+v", code, none)
		}
		w.wantEvents("unreact nothing")
		if code, _ := admin.do("DELETE", "/posts/"+idea.ID+"/vote", jsonBody(map[string]any{"member_id": mio}), &voted); code != 200 || voted.VoteCount != 0 || voted.Voted {
			t.Fatalf("unvote = %d %+v", code, voted)
		}
		w.wantEvents("unvote", "Idea Unvoted")

		// Search finds a Japanese word in the middle of a sentence.
		var hits httpx.List[searchHit]
		if code, _ := reader.do("GET", "/search?q=書き出&kinds=post,comment", "", &hits); code != 200 || len(hits.Data) != 2 {
			t.Fatalf("search = %d %+v", code, hits)
		}
		kinds := []string{hits.Data[0].Kind, hits.Data[1].Kind}
		slices.Sort(kinds)
		if strings.Join(kinds, ",") != "comment,post" || !strings.Contains(hits.Data[0].Snippet+hits.Data[1].Snippet, "<mark>書き出</mark>") {
			t.Fatalf("hits %+v", hits.Data)
		}
		if code, _ := reader.do("GET", "/search?q=書き出&kinds=post", "", &hits); code != 200 || len(hits.Data) != 1 || hits.Data[0].ID != q.ID || hits.Data[0].URL != "/posts/"+q.ID {
			t.Fatalf("search posts = %d %+v", code, hits)
		}
		wantError(t, reader, "GET", "/search?q=", "", 400, "q")
		wantError(t, reader, "GET", "/search?q=csv&kinds=post,poll", "", 400, "kinds")

		// Topics page with next_cursor.
		for i := range 3 {
			admin.do("POST", "/spaces/product-qa/posts", jsonBody(map[string]any{"title": "雑談 " + string(rune('A'+i)), "body": "こんにちは", "author_id": riku}), nil)
		}
		var seen []string
		cursor, pages := "", 0
		for ; pages < 10; pages++ {
			var page httpx.List[community.Post]
			path := "/spaces/product-qa/posts?limit=2"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			if code, _ := reader.do("GET", path, "", &page); code != 200 || len(page.Data) == 0 {
				t.Fatalf("GET %s = %d %+v", path, code, page)
			}
			for _, p := range page.Data {
				seen = append(seen, p.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if len(seen) != 5 || pages != 2 || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 5 {
			t.Fatalf("paged topics %v in %d pages", seen, pages+1)
		}
		var questions httpx.List[community.Post]
		if code, _ := reader.do("GET", "/spaces/product-qa/posts?kind=question&filter=solved", "", &questions); code != 200 || len(questions.Data) != 1 || questions.Data[0].ID != q.ID {
			t.Fatalf("solved questions = %d %+v", code, questions)
		}
		wantError(t, reader, "GET", "/spaces/product-qa/posts?kind=poll", "", 400, "kind")
		wantError(t, reader, "GET", "/spaces/product-qa/posts?sort=random", "", 400, "sort")
		wantError(t, reader, "GET", "/spaces/product-qa/posts?limit=101", "", 400, "limit")
		wantError(t, reader, "GET", "/spaces/product-qa/posts?cursor=*", "", 400, "cursor")
		w.events()

		// A private space: keys see it and what is in it, as integrations of the organisation do.
		var staff community.Space
		writer.do("POST", "/spaces", `{"slug":"staff-room","name":"スタッフ","visibility":"private"}`, &staff)
		var secret community.Post
		if code, _ := admin.do("POST", "/spaces/staff-room/posts", jsonBody(map[string]any{"title": "内部メモ", "body": "非公開", "author_id": yui}), &secret); code != 201 {
			t.Fatalf("post in private space = %d", code)
		}
		var spaces httpx.List[community.Space]
		if code, _ := reader.do("GET", "/spaces", "", &spaces); code != 200 || len(spaces.Data) != 2 {
			t.Fatalf("spaces = %d %+v", code, spaces)
		}
		var got community.Post
		if code, _ := reader.do("GET", "/posts/"+secret.ID, "", &got); code != 200 || got.SpaceID != staff.ID {
			t.Fatalf("private post for a read key = %d %+v", code, got)
		}
		if code, _ := writer.do("POST", "/spaces/staff-room/members", jsonBody(map[string]any{"member_id": riku}), nil); code != 204 {
			t.Fatalf("add space member = %d", code)
		}
		wantError(t, writer, "POST", "/spaces/staff-room/members", jsonBody(map[string]any{"member_id": riku, "role": "owner"}), 400, "role")
		wantError(t, writer, "POST", "/spaces/staff-room/members", `{"role":"member"}`, 400, "member_id")
		w.wantEvents("private space", "Space Created", "Post Created", "Space Joined")

		// Edits keep revisions; moderation needs reasons.
		var edited community.Post
		if code, _ := writer.do("PATCH", "/posts/"+q.ID, `{"title":"CSVの書き出し方法（解決）"}`, &edited); code != 200 || edited.Title != "CSVの書き出し方法（解決）" || edited.Body != q.Body {
			t.Fatalf("edit = %d %+v", code, edited)
		}
		var revs httpx.List[community.Revision]
		if code, _ := reader.do("GET", "/posts/"+q.ID+"/revisions", "", &revs); code != 200 || len(revs.Data) != 1 || revs.Data[0].Title != q.Title {
			t.Fatalf("revisions = %d %+v", code, revs)
		}
		wantError(t, writer, "PATCH", "/posts/"+q.ID, `{"body":""}`, 400, "body")
		wantError(t, writer, "POST", "/posts/"+secret.ID+"/moderation", `{"action":"hide"}`, 400, "reason")
		wantError(t, writer, "POST", "/posts/"+secret.ID+"/moderation", `{"action":"delete"}`, 400, "action")
		var hidden community.Post
		if code, _ := writer.do("POST", "/posts/"+secret.ID+"/moderation", `{"action":"hide","reason":"誤投稿"}`, &hidden); code != 200 || !hidden.Hidden {
			t.Fatalf("hide = %d %+v", code, hidden)
		}
		wantError(t, writer, "POST", "/comments/"+answer.ID+"/moderation", `{"reason":"x"}`, 400, "hide")
		if code, _ := writer.do("POST", "/comments/"+answer.ID+"/moderation", `{"hide":false}`, nil); code != 204 {
			t.Fatalf("unhide comment = %d", code)
		}
		w.wantEvents("edits and moderation", "Post Edited", "Post Moderated", "Comment Moderated")

		// Merging ideas.
		var dup community.Post
		admin.do("POST", "/spaces/product-qa/posts", jsonBody(map[string]any{"kind": "idea", "title": "黒い画面", "body": "ダークモードがほしい", "author_id": mio}), &dup)
		admin.do("POST", "/posts/"+dup.ID+"/vote", jsonBody(map[string]any{"member_id": riku}), nil)
		w.events()
		wantError(t, writer, "POST", "/posts/"+dup.ID+"/merge", `{}`, 400, "into")
		var merged community.Post
		if code, _ := writer.do("POST", "/posts/"+dup.ID+"/merge", jsonBody(map[string]any{"into": idea.ID}), &merged); code != 200 || merged.MergedInto != idea.ID || !merged.Locked {
			t.Fatalf("merge = %d %+v", code, merged)
		}
		w.wantEvents("merge", "Idea Merged")

		// Profiles.
		var pr community.Profile
		if code, _ := reader.do("GET", "/members/yui/profile", "", &pr); code != 200 || pr.Handle != "yui" || pr.MemberID != yui {
			t.Fatalf("profile = %d %+v", code, pr)
		}
		wantError(t, reader, "GET", "/members/"+yui+"/profile", "", 400, "ref")
		if code, _ := reader.do("GET", "/members/riku/profile", "", &pr); code != 200 || pr.MemberID != riku || pr.Points != 15 {
			t.Fatalf("profile by handle = %d %+v", code, pr)
		}

		// Unknown things are JSON 404s.
		for _, tc := range []struct{ method, path, body string }{
			{"GET", "/spaces/nope", ""},
			{"GET", "/spaces/nope/posts", ""},
			{"GET", "/posts/nope", ""},
			{"GET", "/posts/nope/comments", ""},
			{"GET", "/posts/nope/revisions", ""},
			{"POST", "/posts/nope/comments", jsonBody(map[string]any{"body": "x", "author_id": riku})},
			{"POST", "/posts/nope/vote", jsonBody(map[string]any{"member_id": mio})},
			{"POST", "/comments/nope/reactions/like", jsonBody(map[string]any{"member_id": mio})},
			{"POST", "/comments/nope/moderation", `{"hide":true,"reason":"x"}`},
			{"GET", "/members/nope/profile", ""},
		} {
			if ae := wantError(t, admin, tc.method, tc.path, tc.body, 404, ""); ae.Error.Code != "not_found" {
				t.Fatalf("%s %s: %+v", tc.method, tc.path, ae)
			}
		}
		w.wantEvents("nothing on errors")
	})
}

func TestEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		admin, writer, reader := w.key("migration", accounts.ScopeAdmin), w.key("bot", accounts.ScopeWrite), w.key("bi", accounts.ScopeRead)
		mio, riku := w.member("mio@example.jp"), w.member("riku@example.jp")
		writer.do("POST", "/spaces", `{"slug":"tokyo","name":"東京ユーザー会","visibility":"members"}`, nil)
		w.events()

		webinar := `{"title":"Kizuna 入門ウェビナー","description":"初めての方向け","online":true,"url":"https://meet.example.jp/kizuna",
			"starts_at":"2026-12-01T19:00:00+09:00","ends_at":"2026-12-01T20:00:00+09:00","time_zone":"Asia/Tokyo","capacity":1}`
		ae := wantError(t, reader, "POST", "/spaces/tokyo/events", webinar, 403, "")
		if !strings.Contains(ae.Error.Message, `"write"`) {
			t.Fatalf("read key creating an event: %+v", ae)
		}
		var ev meetup.Event
		code, h := writer.do("POST", "/spaces/tokyo/events", webinar, &ev)
		if code != 201 || ev.Title != "Kizuna 入門ウェビナー" || ev.URL == "" || ev.CheckInCode == "" || h.Get("Location") != Prefix+"/events/"+ev.ID {
			t.Fatalf("create event = %d %+v", code, ev)
		}
		w.wantEvents("create", "Event Created")
		for _, tc := range []struct{ body, field string }{
			{`{"title":"x","online":true,"url":"https://x.example","starts_at":"2026-12-01T19:00:00Z","ends_at":"2026-12-01T18:00:00Z","time_zone":"Asia/Tokyo"}`, "ends_at"},
			{`{"title":"x","online":true,"url":"https://x.example","starts_at":"2026-12-01T19:00:00Z","ends_at":"2026-12-01T20:00:00Z","time_zone":"Mars/Olympus"}`, "time_zone"},
			{`{"title":"x","starts_at":"tomorrow"}`, "starts_at"},
			{`{"title":"x","venue":"here"}`, "venue"},
		} {
			wantError(t, writer, "POST", "/spaces/tokyo/events", tc.body, 400, tc.field)
		}

		// A read key sees the event but not where to join it or the check-in code.
		var got meetup.Event
		if code, _ := reader.do("GET", "/events/"+ev.ID, "", &got); code != 200 || got.ID != ev.ID || got.URL != "" || got.CheckInCode != "" {
			t.Fatalf("event for a read key = %d %+v", code, got)
		}
		var list httpx.List[meetup.Event]
		if code, _ := reader.do("GET", "/spaces/tokyo/events?when=upcoming", "", &list); code != 200 || len(list.Data) != 1 || list.Data[0].URL != "" {
			t.Fatalf("events = %d %+v", code, list)
		}
		wantError(t, reader, "GET", "/spaces/tokyo/events?when=soon", "", 400, "when")
		req, _ := http.NewRequest("GET", w.url+Prefix+"/events/"+ev.ID+".ics", nil)
		req.Header.Set("Authorization", "Bearer "+reader.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		ics, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") ||
			!strings.HasPrefix(string(ics), "BEGIN:VCALENDAR") || !strings.Contains(string(ics), "UID:"+ev.ID) || strings.Contains(string(ics), "meet.example.jp") {
			t.Fatalf("ics = %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), ics)
		}
		wantError(t, reader, "GET", "/events/nope.ics", "", 404, "")
		wantError(t, reader, "GET", "/events/nope", "", 404, "")

		// RSVPs are the member's: an admin key answers for a member it names.
		wantError(t, writer, "POST", "/events/"+ev.ID+"/rsvp", jsonBody(map[string]any{"status": "going", "member_id": mio}), 403, "")
		wantError(t, admin, "POST", "/events/"+ev.ID+"/rsvp", `{"status":"going"}`, 400, "member_id")
		wantError(t, admin, "POST", "/events/"+ev.ID+"/rsvp", jsonBody(map[string]any{"status": "maybe", "member_id": mio}), 400, "status")
		var mine meetup.Event
		if code, _ := admin.do("POST", "/events/"+ev.ID+"/rsvp", jsonBody(map[string]any{"status": "going", "member_id": mio}), &mine); code != 200 || mine.MyRSVP != meetup.Going || mine.Going != 1 || mine.URL == "" || mine.CheckInCode != "" {
			t.Fatalf("rsvp = %d %+v", code, mine)
		}
		if code, _ := admin.do("POST", "/events/"+ev.ID+"/rsvp", jsonBody(map[string]any{"status": "going", "member_id": riku}), &mine); code != 200 || mine.MyRSVP != meetup.Waitlisted || mine.URL != "" {
			t.Fatalf("rsvp to a full event = %d %+v", code, mine)
		}
		if got := w.events("status"); strings.Join(got, "|") != `Event RSVP Changed status="going"|Event RSVP Changed status="waitlisted"` {
			t.Fatalf("rsvp events %q", got)
		}

		// Those who run the event see attendees, grow it and mark who came.
		wantError(t, reader, "GET", "/events/"+ev.ID+"/attendees", "", 403, "")
		var updated meetup.Event
		if code, _ := writer.do("PATCH", "/events/"+ev.ID, `{"capacity":2}`, &updated); code != 200 || updated.Capacity != 2 || updated.Going != 2 || updated.Title != ev.Title || !updated.StartsAt.Equal(ev.StartsAt) {
			t.Fatalf("patch = %d %+v", code, updated)
		}
		wantError(t, writer, "PATCH", "/events/"+ev.ID, `{"capacity":-1}`, 400, "capacity")
		if code, _ := writer.do("POST", "/events/"+ev.ID+"/attendance", jsonBody(map[string]any{"member_id": mio}), nil); code != 204 {
			t.Fatalf("attendance = %d", code)
		}
		wantError(t, writer, "POST", "/events/"+ev.ID+"/attendance", `{}`, 400, "member_id")
		wantError(t, writer, "POST", "/events/"+ev.ID+"/attendance", `{"member_id":"nobody"}`, 400, "member_id")
		var att httpx.List[meetup.Attendee]
		if code, _ := writer.do("GET", "/events/"+ev.ID+"/attendees", "", &att); code != 200 || len(att.Data) != 2 || att.Data[0].MemberID != mio || att.Data[0].CheckedInAt == nil || att.Data[1].Status != meetup.Going {
			t.Fatalf("attendees = %d %+v", code, att)
		}
		w.wantEvents("run", "Event Waitlist Promoted", "Event Updated", "Event Attended")
	})
}
