package api

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/badges"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/kb"
	"github.com/kizuna-community/kizuna/internal/media"
	"github.com/kizuna-community/kizuna/internal/survey"
)

// wantScope checks that a key without the scope is refused with 403 naming it.
func wantScope(t *testing.T, c client, method, path, body string, scope accounts.Scope) {
	t.Helper()
	if ae := wantError(t, c, method, path, body, 403, ""); !strings.Contains(ae.Error.Message, `"`+string(scope)+`"`) {
		t.Fatalf("%s %s: %+v, want the %s scope named", method, path, ae, scope)
	}
}

// wantReason is wantError that also checks the error's reason code.
func wantReason(t *testing.T, c client, method, path, body string, status int, field, reason string) {
	t.Helper()
	if ae := wantError(t, c, method, path, body, status, field); ae.Error.Reason != reason {
		t.Fatalf("%s %s %s: reason %q, want %q", method, path, body, ae.Error.Reason, reason)
	}
}

// space makes a space with a write key and a question yui asked in it, through the API.
func (w *world) space(writer, admin client, slug, author string) community.Post {
	w.t.Helper()
	if code, _ := writer.do("POST", "/spaces", jsonBody(map[string]any{"slug": slug, "name": slug}), nil); code != 201 {
		w.t.Fatalf("create space %s = %d", slug, code)
	}
	var post community.Post
	if code, _ := admin.do("POST", "/spaces/"+slug+"/posts", jsonBody(map[string]any{"kind": "question", "title": "請求書の再発行",
		"body": "請求書を再発行できますか", "author_id": author}), &post); code != 201 {
		w.t.Fatalf("import post = %d %+v", code, post)
	}
	w.events()
	return post
}

func TestKnowledgeBaseScenario(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		writer, reader := w.key("kb", accounts.ScopeWrite), w.key("bi", accounts.ScopeRead)
		w.events()

		wantScope(t, reader, "POST", "/kb/categories", `{"name":"設定","slug":"settings"}`, accounts.ScopeWrite)
		var cat kb.Category
		if code, _ := writer.do("POST", "/kb/categories", `{"name":"設定","slug":"settings"}`, &cat); code != 201 || cat.Slug != "settings" || cat.ID == "" {
			t.Fatalf("create category = %d %+v", code, cat)
		}
		w.wantEvents("category", "Article Category Created")
		wantReason(t, writer, "POST", "/kb/categories", `{"name":"again","slug":"settings"}`, 409, "slug", "category_slug_taken")
		wantReason(t, writer, "POST", "/kb/categories", `{"name":"x","slug":"Not A Slug"}`, 400, "slug", "slug_invalid")
		wantError(t, writer, "POST", "/kb/categories", `{"name":"x","slug":"ok","position":1}`, 400, "position")

		// A draft: the write key sees it, the read key does not.
		draft := jsonBody(map[string]any{"slug": "reissue-invoice", "category_id": "settings", "title": "請求書を再発行する", "body": "管理画面の **請求** から再発行します。"})
		wantScope(t, reader, "POST", "/kb/articles", draft, accounts.ScopeWrite)
		var art kb.Article
		code, h := writer.do("POST", "/kb/articles", draft, &art)
		if code != 201 || art.Published || art.CategoryID != cat.ID || !strings.Contains(art.BodyHTML, "<strong>") || h.Get("Location") != Prefix+"/kb/articles/reissue-invoice" {
			t.Fatalf("create article = %d %+v", code, art)
		}
		w.wantEvents("draft", "Article Created")
		wantReason(t, writer, "POST", "/kb/articles", jsonBody(map[string]any{"title": "", "body": "b"}), 400, "title", "title_required")
		wantReason(t, writer, "POST", "/kb/articles", jsonBody(map[string]any{"slug": "reissue-invoice", "title": "t", "body": "b"}), 409, "slug", "article_slug_taken")
		wantError(t, writer, "POST", "/kb/articles", `{"title":"t","body":"b","published":"yes"}`, 400, "published")

		wantError(t, reader, "GET", "/kb/articles/reissue-invoice", "", 404, "")
		var got kb.Article
		if code, _ := writer.do("GET", "/kb/articles/reissue-invoice", "", &got); code != 200 || got.ID != art.ID {
			t.Fatalf("writer reading the draft = %d %+v", code, got)
		}
		var list httpx.List[kb.Article]
		if code, _ := reader.do("GET", "/kb/articles?category=settings", "", &list); code != 200 || len(list.Data) != 0 {
			t.Fatalf("read key's articles = %d %+v", code, list)
		}
		var cats httpx.List[kb.Category]
		if code, _ := reader.do("GET", "/kb/categories", "", &cats); code != 200 || len(cats.Data) != 1 || cats.Data[0].Articles != 0 {
			t.Fatalf("read key's categories = %d %+v", code, cats)
		}
		wantError(t, reader, "GET", "/kb/articles?category=nope", "", 400, "category")
		wantError(t, reader, "GET", "/kb/articles?limit=101", "", 400, "limit")

		// Published, it is everyone's.
		pub := jsonBody(map[string]any{"category_id": cat.ID, "title": "請求書を再発行する", "body": "管理画面の **請求** から再発行します。", "published": true})
		wantScope(t, reader, "PUT", "/kb/articles/"+art.ID, pub, accounts.ScopeWrite)
		if code, _ := writer.do("PUT", "/kb/articles/"+art.ID, pub, &got); code != 200 || !got.Published || got.PublishedAt == nil || got.Slug != "reissue-invoice" {
			t.Fatalf("publish = %d %+v", code, got)
		}
		w.wantEvents("publish", "Article Updated", "Article Published")
		wantError(t, writer, "PUT", "/kb/articles/nope", pub, 404, "")
		if code, _ := reader.do("GET", "/kb/articles/reissue-invoice", "", &got); code != 200 || got.ID != art.ID {
			t.Fatalf("read key reading the article = %d %+v", code, got)
		}
		list = httpx.List[kb.Article]{}
		if code, _ := reader.do("GET", "/kb/articles", "", &list); code != 200 || len(list.Data) != 1 {
			t.Fatalf("read key's articles = %d %+v", code, list)
		}

		// An accepted answer becomes an article, found from its post.
		admin := w.key("ops", accounts.ScopeAdmin)
		yui, riku := w.member("yui@example.jp"), w.member("riku@example.jp")
		q := w.space(writer, admin, "billing", yui)
		wantReason(t, writer, "POST", "/posts/"+q.ID+"/article", `{}`, 400, "comment_id", "no_accepted_answer")
		var answer community.Comment
		admin.do("POST", "/posts/"+q.ID+"/comments", jsonBody(map[string]any{"body": "設定 → 請求 から再発行できます。", "author_id": riku}), &answer)
		writer.do("POST", "/posts/"+q.ID+"/accept", jsonBody(map[string]any{"comment_id": answer.ID}), nil)
		w.events()
		wantScope(t, reader, "POST", "/posts/"+q.ID+"/article", `{"published":true}`, accounts.ScopeWrite)
		wantError(t, writer, "POST", "/posts/nope/article", `{"published":true}`, 404, "")
		var fromAnswer kb.Article
		if code, _ := writer.do("POST", "/posts/"+q.ID+"/article", jsonBody(map[string]any{"category_id": "settings", "published": true}), &fromAnswer); code != 201 ||
			fromAnswer.SourceCommentID != answer.ID || fromAnswer.Title != q.Title || !fromAnswer.Published {
			t.Fatalf("article from answer = %d %+v", code, fromAnswer)
		}
		w.wantEvents("from answer", "Article Created From Answer", "Article Published")
		list = httpx.List[kb.Article]{}
		if code, _ := reader.do("GET", "/posts/"+q.ID+"/articles", "", &list); code != 200 || len(list.Data) != 1 || list.Data[0].ID != fromAnswer.ID {
			t.Fatalf("post's articles = %d %+v", code, list)
		}
		wantError(t, reader, "GET", "/posts/nope/articles", "", 404, "")
	})
}

func TestBadgesScenario(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		admin, writer, reader := w.key("ops", accounts.ScopeAdmin), w.key("bot", accounts.ScopeWrite), w.key("bi", accounts.ScopeRead)
		yui, riku := w.member("yui@example.jp"), w.member("riku@example.jp")
		w.space(writer, admin, "billing", yui)

		mentor := `{"slug":"mentor","name":"メンター","description":"新人を助ける","kind":"manual"}`
		wantScope(t, writer, "POST", "/badges", mentor, accounts.ScopeAdmin)
		var b badges.Badge
		if code, _ := admin.do("POST", "/badges", mentor, &b); code != 201 || b.Slug != "mentor" || b.Kind != badges.KindManual {
			t.Fatalf("create badge = %d %+v", code, b)
		}
		w.wantEvents("badge", "Badge Created")
		wantReason(t, admin, "POST", "/badges", `{"slug":"x-rule","name":"x","kind":"rule","rule":"karma>=3"}`, 400, "rule", "rule_invalid")
		wantReason(t, admin, "POST", "/badges", mentor, 409, "slug", "badge_slug_taken")
		var all httpx.List[badges.Badge]
		if code, _ := reader.do("GET", "/badges", "", &all); code != 200 || len(all.Data) < 5 {
			t.Fatalf("badges = %d %+v", code, all)
		}

		// An expert of the billing space, named by hand.
		award := jsonBody(map[string]any{"badge": "expert", "space_id": "billing", "reason": "請求の質問に詳しい"})
		wantScope(t, reader, "POST", "/members/"+riku+"/badges", award, accounts.ScopeWrite)
		var mb badges.MemberBadge
		if code, _ := writer.do("POST", "/members/"+riku+"/badges", award, &mb); code != 200 || mb.Slug != "expert" || mb.MemberID != riku || mb.SpaceID == "" {
			t.Fatalf("award = %d %+v", code, mb)
		}
		if got := w.events("method"); strings.Join(got, "|") != `Badge Awarded method="manual"` {
			t.Fatalf("award events %q", got)
		}
		wantReason(t, writer, "POST", "/members/"+riku+"/badges", `{"badge":"nope"}`, 400, "badge", "badge_unknown")
		wantError(t, writer, "POST", "/members/"+riku+"/badges", `{"badge":"expert","space_id":"nowhere"}`, 400, "space_id")
		wantError(t, writer, "POST", "/members/"+riku+"/badges", `{}`, 400, "badge")
		wantError(t, writer, "POST", "/members/nobody/badges", award, 404, "")

		var experts httpx.List[badges.ExpertRow]
		if code, _ := reader.do("GET", "/spaces/billing/experts", "", &experts); code != 200 || len(experts.Data) != 1 || experts.Data[0].MemberID != riku {
			t.Fatalf("experts = %d %+v", code, experts)
		}
		wantError(t, reader, "GET", "/spaces/nowhere/experts", "", 404, "")
		var held httpx.List[badges.MemberBadge]
		if code, _ := reader.do("GET", "/members/"+riku+"/badges", "", &held); code != 200 || len(held.Data) != 1 || held.Data[0].Reason != "請求の質問に詳しい" {
			t.Fatalf("member badges = %d %+v", code, held)
		}
		wantError(t, reader, "GET", "/members/nobody/badges", "", 404, "")

		wantScope(t, reader, "DELETE", "/members/"+riku+"/badges/expert?space_id=billing", "", accounts.ScopeWrite)
		if code, _ := writer.do("DELETE", "/members/"+riku+"/badges/expert?space_id=billing", "", nil); code != 204 {
			t.Fatalf("revoke = %d", code)
		}
		w.wantEvents("revoke", "Badge Revoked")
		wantReason(t, writer, "DELETE", "/members/"+riku+"/badges/expert?space_id=billing", "", 404, "", "badge_not_held")
		wantReason(t, writer, "DELETE", "/members/"+riku+"/badges/nope", "", 404, "", "badge_unknown")
		experts = httpx.List[badges.ExpertRow]{}
		if code, _ := reader.do("GET", "/spaces/billing/experts", "", &experts); code != 200 || len(experts.Data) != 0 {
			t.Fatalf("experts after revoking = %d %+v", code, experts)
		}
	})
}

func TestSurveyScenario(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		admin, writer, reader := w.key("ops", accounts.ScopeAdmin), w.key("bot", accounts.ScopeWrite), w.key("bi", accounts.ScopeRead)
		yui, riku := w.member("yui@example.jp"), w.member("riku@example.jp")
		post := w.space(writer, admin, "events", yui)

		// yui, the post's author, adds a poll through the admin key.
		poll := func(member string) string {
			return jsonBody(map[string]any{"question": "次の勉強会はいつがいい？", "options": []string{"平日夜", "土曜"}, "member_id": member})
		}
		wantScope(t, reader, "POST", "/posts/"+post.ID+"/poll", poll(""), accounts.ScopeWrite)
		wantScope(t, writer, "POST", "/posts/"+post.ID+"/poll", poll(yui), accounts.ScopeAdmin)
		wantError(t, admin, "POST", "/posts/"+post.ID+"/poll", poll(riku), 403, "")
		wantReason(t, admin, "POST", "/posts/"+post.ID+"/poll", jsonBody(map[string]any{"question": "q", "options": []string{"only"}, "member_id": yui}), 400, "options", "poll_options")
		wantError(t, admin, "POST", "/posts/nope/poll", poll(yui), 404, "")
		var sv survey.Survey
		code, h := admin.do("POST", "/posts/"+post.ID+"/poll", poll(yui), &sv)
		if code != 201 || sv.PostID != post.ID || len(sv.Questions) != 1 || len(sv.Questions[0].Options) != 2 || h.Get("Location") != Prefix+"/surveys/"+sv.ID {
			t.Fatalf("poll = %d %+v", code, sv)
		}
		if got := w.events(); strings.Join(got, "|") != "Poll Created" {
			t.Fatalf("poll events %q", got)
		}
		wantReason(t, writer, "POST", "/posts/"+post.ID+"/poll", poll(""), 409, "", "poll_exists")

		// riku answers.
		q := sv.Questions[0]
		answer := func(member string, option string) string {
			return jsonBody(map[string]any{"member_id": member, "answers": map[string]any{q.ID: map[string]any{"option_ids": []string{option}}}})
		}
		wantScope(t, writer, "POST", "/surveys/"+sv.ID+"/responses", answer(riku, q.Options[1].ID), accounts.ScopeAdmin)
		wantError(t, admin, "POST", "/surveys/"+sv.ID+"/responses", jsonBody(map[string]any{"answers": map[string]any{}}), 400, "member_id")
		wantError(t, admin, "POST", "/surveys/"+sv.ID+"/responses", jsonBody(map[string]any{"member_id": riku, "answers": map[string]any{"nope": map[string]any{"text": "x"}}}), 400, "answers.nope")
		wantError(t, admin, "POST", "/surveys/nope/responses", answer(riku, q.Options[1].ID), 404, "")
		var responded survey.Survey
		if code, _ := admin.do("POST", "/surveys/"+sv.ID+"/responses", answer(riku, q.Options[1].ID), &responded); code != 201 || !responded.Responded || responded.Responses != 1 {
			t.Fatalf("respond = %d %+v", code, responded)
		}
		w.wantEvents("respond", "Survey Responded")
		wantReason(t, admin, "POST", "/surveys/"+sv.ID+"/responses", answer(riku, q.Options[0].ID), 409, "", "already_responded")

		// A read key views analytics: it sees the survey and its results.
		var seen survey.Survey
		if code, _ := reader.do("GET", "/surveys/"+sv.ID, "", &seen); code != 200 || seen.ID != sv.ID || seen.Responses != 1 {
			t.Fatalf("get survey = %d %+v", code, seen)
		}
		var res survey.Results
		if code, _ := reader.do("GET", "/surveys/"+sv.ID+"/results", "", &res); code != 200 || res.Total != 1 || res.Questions[0].Options[1].Count != 1 || res.Questions[0].Options[1].Percent != 100 {
			t.Fatalf("results = %d %+v", code, res)
		}
		wantError(t, reader, "GET", "/surveys/nope", "", 404, "")
		wantError(t, reader, "GET", "/surveys/nope/results", "", 404, "")

		// A standalone survey, by a write key.
		standalone := jsonBody(map[string]any{"title": "満足度調査", "questions": []map[string]any{{"id": "nps", "kind": "scale", "prompt": "おすすめ度は？", "scale_min": 0, "scale_max": 10, "required": true}}})
		wantScope(t, reader, "POST", "/surveys", standalone, accounts.ScopeWrite)
		var st survey.Survey
		if code, _ := writer.do("POST", "/surveys", standalone, &st); code != 201 || st.Questions[0].ID != "nps" || st.PostID != "" {
			t.Fatalf("create survey = %d %+v", code, st)
		}
		w.wantEvents("survey", "Survey Created")
		wantError(t, writer, "POST", "/surveys", jsonBody(map[string]any{"title": "t", "questions": []map[string]any{{"kind": "text", "prompt": "p"}}, "closes_at": "next week"}), 400, "closes_at")
		wantError(t, writer, "POST", "/surveys", jsonBody(map[string]any{"title": "t", "questions": []map[string]any{}}), 400, "questions")
		if code, _ := admin.do("POST", "/surveys/"+st.ID+"/responses", jsonBody(map[string]any{"member_id": yui, "answers": map[string]any{"nps": map[string]any{"scale": 9}}}), nil); code != 201 {
			t.Fatalf("respond to the survey = %d", code)
		}
		w.wantEvents("survey response", "Survey Responded")
		res = survey.Results{}
		if code, _ := reader.do("GET", "/surveys/"+st.ID+"/results", "", &res); code != 200 || res.Questions[0].Scale == nil || res.Questions[0].Scale.Average != 9 {
			t.Fatalf("survey results = %d %+v", code, res)
		}
	})
}

// upload posts a multipart form with the fields in order; a field named file is sent as a file.
func upload(t *testing.T, c client, fields [][2]string) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		if f[0] == "file" {
			fw, _ := mw.CreateFormFile("file", "../../picture.png")
			fw.Write([]byte(f[1]))
		} else {
			mw.WriteField(f[0], f[1])
		}
	}
	mw.Close()
	req, _ := http.NewRequest("POST", c.url+Prefix+"/media", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestMediaUpload(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		admin, writer := w.key("ops", accounts.ScopeAdmin), w.key("bot", accounts.ScopeWrite)
		yui := w.member("yui@example.jp")
		w.events()

		img := image.NewRGBA(image.Rect(0, 0, 3, 2))
		img.Set(1, 1, color.RGBA{R: 200, A: 255})
		var pngBytes bytes.Buffer
		if err := png.Encode(&pngBytes, img); err != nil {
			t.Fatal(err)
		}
		code, b := upload(t, admin, [][2]string{{"member_id", yui}, {"file", pngBytes.String()}})
		var got media.Image
		json.Unmarshal(b, &got)
		if code != 201 || got.ContentType != media.PNG || got.Width != 3 || got.Height != 2 || got.UploaderID != yui || got.Filename != "picture.png" || !strings.HasSuffix(got.URL, ".png") {
			t.Fatalf("upload = %d %s", code, b)
		}
		stored, err := os.ReadFile(filepath.Join(w.media.Root, strings.TrimPrefix(got.URL, "/media/")))
		if err != nil || !bytes.Equal(stored, pngBytes.Bytes()) {
			t.Fatalf("stored bytes: %v", err)
		}
		w.wantEvents("upload", "Image Uploaded")

		for _, tc := range []struct {
			name           string
			c              client
			fields         [][2]string
			status         int
			field, reason  string
			scopeInMessage string
		}{
			{"svg", admin, [][2]string{{"member_id", yui}, {"file", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`}}, 400, "file", "file_type", ""},
			{"write key", writer, [][2]string{{"member_id", yui}, {"file", pngBytes.String()}}, 403, "", "", `"admin"`},
			{"no member", admin, [][2]string{{"file", pngBytes.String()}}, 400, "member_id", "", ""},
			{"unknown member", admin, [][2]string{{"member_id", "nobody"}, {"file", pngBytes.String()}}, 400, "member_id", "", ""},
			{"no file", admin, [][2]string{{"member_id", yui}}, 400, "file", "", ""},
			{"unknown field", admin, [][2]string{{"member_id", yui}, {"caption", "x"}}, 400, "caption", "", ""},
		} {
			code, b := upload(t, tc.c, tc.fields)
			var ae apiError
			json.Unmarshal(b, &ae)
			if code != tc.status || ae.Error.Field != tc.field || ae.Error.Reason != tc.reason || !strings.Contains(ae.Error.Message, tc.scopeInMessage) || ae.Error.RequestID == "" {
				t.Errorf("%s: %d %s", tc.name, code, b)
			}
		}
		wantError(t, admin, "POST", "/media", jsonBody(map[string]any{"member_id": yui}), 400, "body")
		w.wantEvents("refused uploads")
	})
}

func TestModerationScenario(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		w := newWorld(t, e)
		admin, writer, reader := w.key("ops", accounts.ScopeAdmin), w.key("mod", accounts.ScopeWrite), w.key("bi", accounts.ScopeRead)
		yui, riku, mio := w.member("yui@example.jp"), w.member("riku@example.jp"), w.member("mio@example.jp")
		post := w.space(writer, admin, "general", yui)
		rikuP := accounts.Principal{MemberID: riku, Role: accounts.RoleMember}

		// riku reports yui's post; the write key hides it.
		report := jsonBody(map[string]any{"member_id": riku, "target_kind": "post", "target_id": post.ID, "reason": "spam", "note": "宣伝です"})
		wantScope(t, writer, "POST", "/reports", report, accounts.ScopeAdmin)
		wantError(t, admin, "POST", "/reports", jsonBody(map[string]any{"member_id": riku, "target_kind": "post", "target_id": post.ID, "reason": "rude"}), 400, "reason")
		wantError(t, admin, "POST", "/reports", jsonBody(map[string]any{"member_id": riku, "target_kind": "post", "target_id": "nope", "reason": "spam"}), 400, "target_id")
		var rep community.Report
		if code, _ := admin.do("POST", "/reports", report, &rep); code != 201 || rep.ReporterID != riku || rep.Status != community.ReportOpen {
			t.Fatalf("report = %d %+v", code, rep)
		}
		w.wantEvents("report", "Content Reported")
		wantScope(t, reader, "GET", "/moderation/reports", "", accounts.ScopeWrite)
		var reports httpx.List[community.Report]
		if code, _ := writer.do("GET", "/moderation/reports", "", &reports); code != 200 || len(reports.Data) != 1 || reports.Data[0].ID != rep.ID || reports.Data[0].PostID != post.ID {
			t.Fatalf("reports = %d %+v", code, reports)
		}
		wantError(t, writer, "GET", "/moderation/reports?status=pending", "", 400, "status")
		wantScope(t, reader, "POST", "/moderation/reports/"+rep.ID+"/resolve", `{"action":"hide"}`, accounts.ScopeWrite)
		wantError(t, writer, "POST", "/moderation/reports/"+rep.ID+"/resolve", `{"action":"delete"}`, 400, "action")
		wantError(t, writer, "POST", "/moderation/reports/nope/resolve", `{"action":"hide"}`, 404, "")
		if code, _ := writer.do("POST", "/moderation/reports/"+rep.ID+"/resolve", `{"action":"hide","note":"宣伝"}`, nil); code != 204 {
			t.Fatalf("resolve = %d", code)
		}
		w.wantEvents("resolve", "Post Moderated", "Report Resolved")
		wantReason(t, writer, "POST", "/moderation/reports/"+rep.ID+"/resolve", `{"action":"dismiss"}`, 409, "", "report_closed")
		if _, err := w.com.Post(ctx, rikuP, post.ID); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("a member reading the hidden post: %v", err)
		}
		reports = httpx.List[community.Report]{}
		if code, _ := writer.do("GET", "/moderation/reports?status=resolved", "", &reports); code != 200 || len(reports.Data) != 1 || reports.Data[0].Resolution != "宣伝" {
			t.Fatalf("resolved reports = %d %+v", code, reports)
		}

		// First posts wait for approval once the admin key turns it on.
		var set community.Settings
		if code, _ := reader.do("GET", "/community/settings", "", &set); code != 200 || set.FirstPostApproval {
			t.Fatalf("settings = %d %+v", code, set)
		}
		wantScope(t, writer, "PUT", "/community/settings", `{"first_post_approval":true}`, accounts.ScopeAdmin)
		wantError(t, admin, "PUT", "/community/settings", `{}`, 400, "first_post_approval")
		wantError(t, admin, "PUT", "/community/settings", `{"first_post_approval":"yes"}`, 400, "first_post_approval")
		if code, _ := admin.do("PUT", "/community/settings", `{"first_post_approval":true}`, &set); code != 200 || !set.FirstPostApproval {
			t.Fatalf("put settings = %d %+v", code, set)
		}
		w.wantEvents("settings") // audited, no event
		var audit httpx.List[accounts.AuditEntry]
		if code, _ := admin.do("GET", "/audit-log?limit=1", "", &audit); code != 200 || audit.Data[0].Action != "community.settings_changed" {
			t.Fatalf("audit = %d %+v", code, audit)
		}
		first := func(author, title string) community.Post {
			var p community.Post
			if code, _ := admin.do("POST", "/spaces/general/posts", jsonBody(map[string]any{"title": title, "body": "はじめまして", "author_id": author}), &p); code != 201 || !p.Pending {
				t.Fatalf("first post = %d %+v", code, p)
			}
			w.events()
			return p
		}
		waiting, other := first(mio, "自己紹介"), first(riku, "こんにちは")
		wantScope(t, reader, "GET", "/moderation/pending", "", accounts.ScopeWrite)
		var pending httpx.List[community.Post]
		if code, _ := writer.do("GET", "/moderation/pending?limit=1", "", &pending); code != 200 || len(pending.Data) != 1 || pending.Data[0].ID != waiting.ID || pending.NextCursor == "" {
			t.Fatalf("pending = %d %+v", code, pending)
		}
		wantScope(t, reader, "POST", "/posts/"+waiting.ID+"/approve", "", accounts.ScopeWrite)
		var approved community.Post
		if code, _ := writer.do("POST", "/posts/"+waiting.ID+"/approve", "", &approved); code != 200 || approved.Pending || approved.Hidden {
			t.Fatalf("approve = %d %+v", code, approved)
		}
		w.wantEvents("approve", "Post Approved")
		wantReason(t, writer, "POST", "/posts/"+waiting.ID+"/approve", "", 409, "", "not_pending")
		wantError(t, writer, "POST", "/posts/nope/approve", "", 404, "")
		wantReason(t, writer, "POST", "/posts/"+other.ID+"/reject", `{"reason":" "}`, 400, "reason", "reason_required")
		var rejected community.Post
		if code, _ := writer.do("POST", "/posts/"+other.ID+"/reject", `{"reason":"宣伝のみ"}`, &rejected); code != 200 || rejected.Pending || !rejected.Hidden {
			t.Fatalf("reject = %d %+v", code, rejected)
		}
		w.wantEvents("reject", "Post Rejected")

		// Suspension, then reinstatement, both in the audit log.
		wantScope(t, writer, "POST", "/members/"+riku+"/suspend", `{"reason":"spam"}`, accounts.ScopeAdmin)
		wantReason(t, admin, "POST", "/members/"+riku+"/suspend", `{}`, 400, "reason", "reason_required")
		wantError(t, admin, "POST", "/members/nobody/suspend", `{"reason":"spam"}`, 404, "")
		var m accounts.Member
		if code, _ := admin.do("POST", "/members/"+riku+"/suspend", `{"reason":"宣伝の繰り返し"}`, &m); code != 200 || m.Status != accounts.StatusSuspended {
			t.Fatalf("suspend = %d %+v", code, m)
		}
		w.wantEvents("suspend", "Member Suspended")
		wantReason(t, admin, "POST", "/reports", report, 403, "", "suspended")
		if code, _ := admin.do("POST", "/members/"+riku+"/reinstate", `{"reason":"異議申し立て"}`, &m); code != 200 || m.Status != accounts.StatusActive {
			t.Fatalf("reinstate = %d %+v", code, m)
		}
		w.wantEvents("reinstate", "Member Reinstated")
		audit = httpx.List[accounts.AuditEntry]{}
		if code, _ := admin.do("GET", "/audit-log?limit=2", "", &audit); code != 200 || len(audit.Data) != 2 ||
			audit.Data[0].Action != "member.reinstated" || audit.Data[1].Action != "member.suspended" || audit.Data[1].Target != riku {
			t.Fatalf("audit = %d %+v", code, audit)
		}
	})
}
