package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/privacy"
)

// profileOf gives the member with email a customer profile (the backbone would make it from the
// sign-up) and returns its id.
func (s *site) profileOf(email string, more ...identity.ID) string {
	s.t.Helper()
	var pid string
	ids := append([]identity.ID{{Type: "user_id", Value: s.memberID(email)}, {Type: "email", Value: email}}, more...)
	err := s.db.Tx(context.Background(), func(tx *sql.Tx) (err error) {
		pid, err = s.idg.Resolve(context.Background(), tx, ids, "test")
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return pid
}

func TestPrivacyCentre(t *testing.T) {
	var unlinked []string
	s := newSiteOpts(t, siteOptions{unlink: func(_ context.Context, p accounts.Principal, typ, value string) error {
		unlinked = append(unlinked, p.MemberID+" "+typ+" "+value)
		return nil
	}})
	s.spaces()
	ja := s.member("mio@example.com", "ja")
	ctx := context.Background()
	pid := s.profileOf("mio@example.com", identity.ID{Type: "social:line", Value: "U" + strings.Repeat("a1", 16)}, identity.ID{Type: "phone", Value: "090-1111-2222"})

	// Linked from the account menu; the page lists consents, identities, download and delete.
	ja.get("/").expect(t, http.StatusOK, `href="/settings/privacy"`, "プライバシーとデータ")
	page := ja.get("/settings/privacy")
	page.expect(t, http.StatusOK, "プライバシーセンター", "連絡の受け取り方", `name="text_version" value="privacy-centre-2026-05:ja"`,
		`name="c.email.marketing"`, `name="c.line.marketing"`, `name="c.sms.research"`, "mio@example.com", "090-1111-2222", ">LINE<",
		`action="/settings/privacy/unlink"`, "データをダウンロード", "アカウントを完全に削除する", "「退会したメンバー」")
	if strings.Contains(page.Body, `name="c.web_push.marketing"`) {
		t.Error("web push is offered without a subscription or a record")
	}
	s.browser("en").get("/settings/privacy").redirectsTo(t, "/login?next=%2Fsettings%2Fprivacy")

	// Opting in and out records the wording's version, the IP address and the browser.
	form := url.Values{"text_version": {"privacy-centre-2026-05:ja"}, "shown": {"c.email.marketing", "c.email.research", "c.line.marketing"},
		"c.email.marketing": {"on"}, "c.line.marketing": {"on"}}
	ja.post("/settings/privacy/consents", form).redirectsTo(t, "/settings/privacy?notice=saved#consents")
	form.Del("c.email.marketing")
	ja.post("/settings/privacy/consents", form).redirectsTo(t, "/settings/privacy?notice=saved#consents")
	hist, _, err := s.cns.History(ctx, accounts.System(), pid, "", 50)
	if err != nil || len(hist) != 3 {
		t.Fatalf("ledger after two saves: %+v %v", hist, err)
	}
	for _, r := range hist {
		if r.Source != consent.SourcePrivacyCentre || r.TextVersion != "privacy-centre-2026-05:ja" || r.IP != "127.0.0.1" || !strings.Contains(r.UserAgent, "Go-http-client") {
			t.Errorf("record lacks its evidence: %+v", r)
		}
	}
	if hist[0].Channel != consent.ChannelEmail || hist[0].Status != consent.StatusOptedOut {
		t.Errorf("newest record: %+v", hist[0])
	}
	d, err := s.cns.May(ctx, pid, consent.ChannelLINE, consent.PurposeMarketing, "")
	if err != nil || !d.Allowed {
		t.Errorf("LINE marketing after opting in: %+v %v", d, err)
	}
	ja.get("/settings/privacy?notice=saved").expect(t, http.StatusOK, "連絡の受け取り方を保存しました。")
	// A page from before the wording changed records nothing.
	form.Set("text_version", "privacy-centre-2025-01:ja")
	form.Set("c.email.marketing", "on")
	ja.post("/settings/privacy/consents", form).redirectsTo(t, "/settings/privacy?notice=reworded#consents")
	if again, _, _ := s.cns.History(ctx, accounts.System(), pid, "", 50); len(again) != 3 {
		t.Errorf("a stale wording recorded consent: %d records", len(again))
	}

	// Unlinking goes to the social log-in part's hook.
	ja.post("/settings/privacy/unlink", url.Values{"type": {"social:line"}, "value": {"U" + strings.Repeat("a1", 16)}}).
		redirectsTo(t, "/settings/privacy?notice=unlinked#identities")
	ja.post("/settings/privacy/unlink", url.Values{"type": {"email"}, "value": {"mio@example.com"}}).expect(t, http.StatusBadRequest)
	if len(unlinked) != 1 || !strings.HasSuffix(unlinked[0], " social:line U"+strings.Repeat("a1", 16)) {
		t.Errorf("unlink hook calls: %q", unlinked)
	}

	// The download.
	dl := ja.post("/settings/privacy/export", url.Values{})
	dl.expect(t, http.StatusOK)
	if dl.Header.Get("Content-Type") != "application/zip" || !strings.HasPrefix(dl.Header.Get("Content-Disposition"), `attachment; filename="kizuna-data-`) {
		t.Fatalf("download headers: %v", dl.Header)
	}
	zr, err := zip.NewReader(bytes.NewReader([]byte(dl.Body)), int64(len(dl.Body)))
	if err != nil || len(zr.File) < 10 {
		t.Fatalf("download is not the archive: %v", err)
	}

	// Deleting needs the box ticked and the email typed.
	mine := s.postAs("mio@example.com", "guide", community.PostInput{Title: "はじめまして", Body: "よろしくお願いします。"})
	ja.post("/settings/privacy/delete", url.Values{"understand": {"yes"}, "confirm_email": {"someone@example.com"}}).
		expect(t, http.StatusUnprocessableEntity, "登録しているメールアドレスを正しく入力してください")
	bye := ja.post("/settings/privacy/delete", url.Values{"understand": {"yes"}, "confirm_email": {"MIO@example.com"}})
	bye.expect(t, http.StatusOK, "アカウントを削除しました")
	if bye.Header.Get("Clear-Site-Data") != `"cookies", "storage"` || strings.Contains(bye.Body, "kizuna.js") || ja.cookie("kizuna_session") != "" {
		t.Fatalf("the farewell page: Clear-Site-Data %q, session %q", bye.Header.Get("Clear-Site-Data"), ja.cookie("kizuna_session"))
	}
	ja.get("/settings/privacy").redirectsTo(t, "/login?next=%2Fsettings%2Fprivacy")
	reqs, _, err := s.priv.Requests(ctx, accounts.System(), privacy.Filter{Kind: privacy.KindErasure}, "", 10)
	if err != nil || len(reqs) != 1 || reqs[0].Status != privacy.StatusRunning || reqs[0].Channel != privacy.ChannelCentre {
		t.Fatalf("erasure request: %+v %v", reqs, err)
	}
	if err := s.priv.CompleteErasure(ctx, reqs[0].ID); err != nil {
		t.Fatal(err)
	}
	// Her post stays, by a former member who has no profile page.
	post := s.browser("ja").get("/posts/" + mine.ID)
	post.expect(t, http.StatusOK, "はじめまして", "退会したメンバー")
	if strings.Contains(post.Body, "Test mio@example.com") {
		t.Error("the post page still names her")
	}
	s.browser("en").get("/posts/"+mine.ID).expect(t, http.StatusOK, "Former member")
}

func TestAdminPrivacy(t *testing.T) {
	s := newSite(t)
	s.spaces()
	admin := s.admin("ja")
	s.member("ren@example.com", "ja")
	s.member("aoi@example.com", "en")
	ren, aoi := s.profileOf("ren@example.com"), s.profileOf("aoi@example.com")

	admin.get("/admin").expect(t, http.StatusOK, `href="/admin/privacy"`, "データ主体リクエスト")
	admin.get("/admin/customers/"+ren).expect(t, http.StatusOK, `id="dsr"`, `action="/admin/customers/`+ren+`/export"`, `action="/admin/customers/`+ren+`/erasure"`)
	// Export on the customer's behalf: a zip, and a completed request in the list.
	dl := admin.post("/admin/customers/"+ren+"/export", url.Values{"regime": {"gdpr"}, "received_on": {"2026-01-05"}, "note": {"チケット #42"}})
	dl.expect(t, http.StatusOK)
	if dl.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("export: %v", dl.Header)
	}
	admin.post("/admin/customers/"+ren+"/export", url.Values{"received_on": {"5 Jan"}}).expect(t, http.StatusBadRequest, "YYYY-MM-DD")
	// Erasure needs the confirmation; held requests wait, and are overdue once past their date.
	admin.post("/admin/customers/"+aoi+"/erasure", url.Values{"regime": {"appi"}}).expect(t, http.StatusBadRequest, "チェックボックス")
	admin.post("/admin/customers/"+aoi+"/erasure", url.Values{"regime": {"appi"}, "received_on": {"2026-01-05"}, "hold": {"1"}}).
		redirectsTo(t, "/admin/privacy?notice=held")
	list := admin.get("/admin/privacy")
	list.expect(t, http.StatusOK, "データの消去", "受付済み", "日超過", `action="/admin/privacy/requests/`, "期限を過ぎたリクエストが 1 件あります。")
	admin.get("/admin/privacy?tab=all").expect(t, http.StatusOK, "データの開示（ダウンロード）", "GDPR", "チケット #42")
	reqs, _, err := s.priv.Requests(context.Background(), accounts.System(), privacy.Filter{Kind: privacy.KindErasure}, "", 10)
	if err != nil || len(reqs) != 1 || !reqs[0].Overdue || reqs[0].Status != privacy.StatusOpen {
		t.Fatalf("held request: %+v %v", reqs, err)
	}
	admin.post("/admin/privacy/requests/"+reqs[0].ID+"/run", url.Values{}).redirectsTo(t, "/admin/privacy?notice=erasure")
	if m, err := s.acc.GetMember(context.Background(), s.memberID("aoi@example.com")); err != nil || m.Status != accounts.StatusErasing {
		t.Fatalf("aoi after the run: %+v %v", m, err)
	}
	admin.post("/admin/privacy/requests/"+reqs[0].ID+"/decline", url.Values{"reason": {"x"}}).expect(t, http.StatusConflict)

	// Settings: administrators only; members see nothing of it.
	admin.post("/admin/privacy/settings", url.Values{"erased_content": {"remove"}, "default_regime": {"gdpr"}}).redirectsTo(t, "/admin/privacy?notice=settings")
	admin.get("/admin/privacy?notice=settings").expect(t, http.StatusOK, "プライバシーの設定を保存しました。", `<option value="remove" selected>`)
	if set, _ := s.priv.Settings(context.Background()); set.ErasedContent != privacy.ContentRemove || set.DefaultRegime != privacy.RegimeGDPR {
		t.Errorf("settings: %+v", set)
	}
	s.member("m@example.com", "en").get("/admin/privacy").expect(t, http.StatusForbidden)
}

// TestErasedMemberInOthersPages checks what others see of an erased member: a former member on
// the threads, in the conversation (which takes no more messages), and in the moderation queue.
func TestErasedMemberInOthersPages(t *testing.T) {
	s := newSite(t)
	s.spaces()
	admin := s.admin("ja")
	ctx := context.Background()
	gone := s.named("gone@example.com", "消える 人")
	stay := s.member("stay@example.com", "ja")
	stayer, err := s.acc.GetMember(ctx, s.memberID("stay@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	p := s.postAs("stay@example.com", "guide", community.PostInput{Title: "質問です", Body: "教えてください。"})
	if _, err := s.com.AddComment(ctx, gone, p.ID, community.CommentInput{Body: "こうすればできます。"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.dms.Send(ctx, gone, stayer.ID, "こんにちは"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.dms.Send(ctx, stayer.Principal(), gone.MemberID, "こんにちは！"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.com.ReportContent(ctx, gone, community.ReportInput{TargetKind: "post", TargetID: p.ID, Reason: "spam"}); err != nil {
		t.Fatal(err)
	}
	req, err := s.priv.RequestErasure(ctx, accounts.System(), privacy.Ref{MemberID: gone.MemberID}, privacy.RequestInput{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.priv.CompleteErasure(ctx, req.ID); err != nil {
		t.Fatal(err)
	}
	body := stay.get("/posts/" + p.ID).Body
	if !strings.Contains(body, "退会したメンバー") || strings.Contains(body, "消える 人") || !strings.Contains(body, "こうすればできます。") {
		t.Fatalf("the thread after the erasure:\n%s", excerpt(body))
	}
	convs, err := s.dms.Conversations(ctx, stayer.Principal(), 10)
	if err != nil || len(convs) != 1 || convs[0].LastMessage != "こんにちは！" {
		t.Fatalf("conversations after the erasure: %+v %v", convs, err)
	}
	stay.get("/messages/"+convs[0].ID).expect(t, http.StatusOK, "退会したメンバー", "メッセージを送ることはできません", "こんにちは！")
	if strings.Contains(stay.get("/messages/"+convs[0].ID).Body, "こんにちは<") {
		t.Error("the erased member's message is still shown")
	}
	admin.get("/admin/moderation").expect(t, http.StatusOK, "退会したメンバー")
}
