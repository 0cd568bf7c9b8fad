package app

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/meetup"
	"github.com/kizuna-community/kizuna/internal/privacy"
	"github.com/kizuna-community/kizuna/internal/profile"
	"github.com/kizuna-community/kizuna/internal/survey"
	"github.com/kizuna-community/kizuna/internal/testkit/piiscan"
)

// The member who is erased, and everything that identifies her.
const (
	erasedEmail = "seiichiro.watanabe@sapporo-cafe.jp"
	erasedName  = "渡辺 精一郎"
	erasedPhone = "090-8765-4321"
	erasedE164  = "+819087654321"
	erasedAnon  = "anon-watanabe-7f3e9c"
	erasedCRMID = "C-WATANABE-0931"
	erasedOrder = "ORD-WATANABE-5521"
)

// activeMember is a member who did everything a member can, through a running server: the
// community, direct messages, an event, a survey, an upload, a badge, reports, tracked events
// with identify traits (her email and phone), consents with their evidence, CRM records, an
// import that merged a CRM contact into her profile, and a record of third-party provision.
type activeMember struct {
	s       *server
	a       *App // the same databases, as the CLI opens them
	member  accounts.Member
	bob     accounts.Member
	profile profile.Profile
	bobPost string // a question by Bob that she answered (her answer accepted)
	herPost string // her own question, which Bob answered
	media   string // the data directory's media folder
}

func newActiveMember(t *testing.T, e db.Engine) *activeMember {
	t.Helper()
	env := testEnv(t, e)
	s := startServer(t, env)
	key := created(t, env, "source", "create", "--name", "website")
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
	am := &activeMember{s: s, a: a, media: filepath.Join(env["KIZUNA_DATA"], "media")}

	// The CRM knew her first, by its contact id and her phone; a browsing visitor next; then the
	// sign-up that carries the browser's id, and an identify with her phone that merges all three.
	f := filepath.Join(t.TempDir(), "contacts.csv")
	must(os.WriteFile(f, []byte("顧客ID,電話番号,氏名\n"+erasedCRMID+","+erasedPhone+","+erasedName+"\n"), 0o600))
	if code, out, errOut := run(t, env, "import", "--kind", "contacts", "--file", f, "--crm-system", "salesforce"); code != 0 {
		t.Fatalf("import = %d\n%s\n%s", code, out, errOut)
	}
	waitProfile(t, a, "crm:salesforce", erasedCRMID, func(profile.Profile) bool { return true })
	track(t, s.url, key, []map[string]any{
		{"type": "page", "anonymousId": erasedAnon, "properties": map[string]any{"path": "/pricing"}},
		{"type": "track", "anonymousId": erasedAnon, "event": "Pricing Viewed", "properties": map[string]any{"plan": "pro"}},
	})
	am.member, err = a.Accounts.SignUp(ctx, accounts.SignUpInput{Email: erasedEmail, Password: "correct horse battery", DisplayName: erasedName,
		Locale: "ja", AnonymousID: erasedAnon})
	must(err)
	me := am.member.Principal()
	am.bob, err = a.Accounts.CreateMember(ctx, sys, accounts.SignUpInput{Email: "bob@example.com", Password: "bob's password", DisplayName: "Bob"}, accounts.RoleMember)
	must(err)
	bob := am.bob.Principal()
	// Identify from a back end with her phone, and a page view as the member.
	track(t, s.url, key, []map[string]any{
		{"type": "identify", "userId": am.member.ID, "anonymousId": erasedAnon,
			"traits": map[string]any{"email": erasedEmail, "phone": erasedPhone, "name": erasedName, "city": "札幌"}},
		{"type": "page", "userId": am.member.ID, "anonymousId": erasedAnon, "properties": map[string]any{"path": "/spaces"}},
	})

	// The community.
	_, err = a.Community.CreateSpace(ctx, sys, community.SpaceInput{Slug: "guide", Name: "使い方", Visibility: community.Public})
	must(err)
	bq, err := a.Community.CreatePost(ctx, bob, "guide", community.PostInput{Kind: community.Question, Title: "CSV の取り込み方は？", Body: "教えてください。"})
	must(err)
	am.bobPost = bq.ID
	answer, err := a.Community.AddComment(ctx, me, bq.ID, community.CommentInput{Body: "管理画面のインポートから取り込めます。"})
	must(err)
	must(a.Community.AcceptAnswer(ctx, bob, bq.ID, answer.ID))
	must(a.Community.React(ctx, bob, "comment", answer.ID, "heart"))
	mine, err := a.Community.CreatePost(ctx, me, "guide", community.PostInput{Kind: community.Question, Title: "通知の頻度を変えたい", Body: "毎日の通知が多すぎます。"})
	must(err)
	am.herPost = mine.ID
	_, err = a.Community.EditPost(ctx, me, mine.ID, community.PostInput{Kind: community.Question, Title: "通知の頻度を変えたい", Body: "毎日の通知が多すぎます。設定はどこですか。"})
	must(err)
	_, err = a.Community.AddComment(ctx, bob, mine.ID, community.CommentInput{Body: "設定のページから変えられます。"})
	must(err)
	must(a.Community.React(ctx, me, "post", bq.ID, "like"))
	idea, err := a.Community.CreatePost(ctx, bob, "guide", community.PostInput{Kind: community.Idea, Title: "ダークモード", Body: "ほしいです。"})
	must(err)
	must(a.Community.Vote(ctx, me, idea.ID))
	_, err = a.Community.ReportContent(ctx, me, community.ReportInput{TargetKind: "post", TargetID: idea.ID, Reason: "off_topic", Note: "重複しています"})
	must(err)
	_, err = a.Community.ReportContent(ctx, bob, community.ReportInput{TargetKind: "member", TargetID: am.member.ID, Reason: "other", Note: "確認してください"})
	must(err)
	_, err = a.Community.SetBio(ctx, me, "札幌でカフェを経営しています。")
	must(err)

	// Direct messages both ways.
	_, err = a.DM.Send(ctx, me, am.bob.ID, "来週の勉強会、一緒に行きませんか？")
	must(err)
	_, err = a.DM.Send(ctx, bob, am.member.ID, "ぜひ！")
	must(err)

	// An event, a survey, an upload, a badge.
	start := time.Now().Add(7 * 24 * time.Hour).Truncate(time.Hour)
	ev, err := a.Meetup.Create(ctx, sys, "guide", meetup.EventInput{Title: "札幌ユーザー会", Place: "札幌市中央区", StartsAt: start, EndsAt: start.Add(2 * time.Hour),
		TimeZone: "Asia/Tokyo", Capacity: 1})
	must(err)
	_, err = a.Meetup.RSVP(ctx, me, ev.ID, meetup.Going)
	must(err)
	_, err = a.Meetup.RSVP(ctx, bob, ev.ID, meetup.Going) // waitlisted: the one seat is hers
	must(err)
	sv, err := a.Survey.CreateSurvey(ctx, sys, survey.SurveyInput{Title: "満足度調査", Questions: []survey.Question{
		{ID: "q1", Kind: survey.Text, Prompt: "ご意見をどうぞ", Required: true},
		{ID: "q2", Kind: survey.Scale, Prompt: "満足度", ScaleMin: 1, ScaleMax: 5},
	}})
	must(err)
	must(a.Survey.Respond(ctx, me, sv.ID, map[string]survey.Answer{"q1": {Text: "検索がもっと速いとうれしいです"}, "q2": {Scale: 4}}))
	var img bytes.Buffer
	must(png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 4, 4))))
	_, err = a.Media.Upload(ctx, me, "cafe-watanabe.png", &img)
	must(err)
	must(a.Badges.Award(ctx, sys, "staff", am.member.ID, "", "カフェ部の部長"))

	// The customer data hub: a purchase and a ticket, consents with evidence, a provision record.
	_, err = a.CRM.UpsertPurchase(ctx, sys, crm.PurchaseInput{ExternalID: erasedOrder, Customer: []identity.ID{{Type: "email", Value: erasedEmail}},
		AmountMinor: 4800, Currency: "JPY", PurchasedAt: time.Now().Add(-time.Hour), Product: "コーヒー豆 定期便"})
	must(err)
	_, err = a.CRM.UpsertTicket(ctx, sys, crm.TicketInput{ExternalID: "T-WATANABE-77", Customer: []identity.ID{{Type: "phone", Value: erasedPhone}},
		Subject: "請求書の宛名を変更したい", Status: "open", OpenedAt: time.Now().Add(-time.Hour)})
	must(err)
	am.profile = waitProfile(t, a, "user_id", am.member.ID, func(p profile.Profile) bool {
		return p.Traits["phone"] != nil && p.Computed.PageViews >= 2 && len(p.MergedIDs) >= 1 && p.Computed.Purchases == 1
	})
	_, err = a.Consent.Record(ctx, sys, am.profile.ID, []consent.Input{
		{Channel: consent.ChannelEmail, Purpose: consent.PurposeMarketing, Status: consent.StatusOptedIn, Source: consent.SourceSignupForm,
			TextVersion: "signup-2026-05", IP: "203.0.113.77", UserAgent: "Mozilla/5.0 (Watanabe's Mac)"},
		{Channel: consent.ChannelSMS, Purpose: consent.PurposeMarketing, Status: consent.StatusOptedIn, Source: consent.SourceImport},
	})
	must(err)
	_, err = a.Privacy.SetConsents(ctx, me, "privacy-centre-2026-05", []privacy.ConsentChoice{
		{Channel: consent.ChannelEmail, Purpose: consent.PurposeMarketing, OptIn: false},
		{Channel: consent.ChannelEmail, Purpose: consent.PurposeResearch, OptIn: true},
	}, privacy.Client{IP: "198.51.100.23", UserAgent: "Mozilla/5.0 (Watanabe's iPhone)"})
	must(err)
	_, err = a.Consent.RecordProvision(ctx, am.profile.ID, "Salesforce (crm)", []string{"email", "name", "purchases"}, consent.BasisConsent, time.Time{})
	must(err)
	// Everything reached the event log and the profile.
	waitProfile(t, a, "user_id", am.member.ID, func(p profile.Profile) bool {
		return p.Computed.EventCounts["Consent Updated"] >= 3 && p.Computed.EventCounts["Message Sent"] >= 1 && p.Computed.EventCounts["Survey Responded"] >= 1
	})
	return am
}

// track sends events to the running server's tracking API.
func track(t *testing.T, url, key string, evs []map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"batch": evs})
	req, _ := http.NewRequest("POST", url+"/v1/batch", bytes.NewReader(body))
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("tracking = %d", resp.StatusCode)
	}
}

// waitProfile polls until the identifier's profile satisfies ok, and returns it.
func waitProfile(t *testing.T, a *App, typ, value string, ok func(profile.Profile) bool) profile.Profile {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err := a.Profiles.Lookup(context.Background(), accounts.System(), typ, value)
		if err == nil && ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: the profile did not get there within 30 s (%+v, %v)", typ, value, p, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// personal lists what identifies the member, for the scan: her email, name, phone in both
// spellings, her account id, her browser id, her profiles, her CRM ids.
func (am *activeMember) personal() []string {
	v := []string{erasedEmail, erasedName, erasedPhone, erasedE164, erasedAnon, erasedCRMID, erasedOrder, "T-WATANABE-77",
		am.member.ID, am.profile.ID}
	return append(v, am.profile.MergedIDs...)
}

// waitErased polls until the request is completed.
func waitErased(t *testing.T, s *server, a *App, id string) privacy.Request {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := a.Privacy.Request(context.Background(), accounts.System(), id)
		if err == nil && r.Status == privacy.StatusCompleted {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("erasure %s not completed within 60 s: %+v %v\nserver log:\n%s", id, r, err, s.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestErasureLeavesNoPersonalData erases a member who did everything, through the running
// server's privacy consumer, and scans every table of the main database and the event log
// for anything that identifies her.
func TestErasureLeavesNoPersonalData(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		am := newActiveMember(t, e)
		a, ctx := am.a, context.Background()
		// The scan finds her before the erasure: it looks in the right places.
		for _, d := range []*db.DB{a.DB, a.LogDB} {
			found, err := piiscan.Scan(ctx, d, am.personal()...)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range found {
				t.Logf("before: %s.%s %q", f.Table, f.Column, f.Value)
			}
			if len(found) < 5 {
				t.Fatalf("the scan found her in only %d places before the erasure: %v", len(found), found)
			}
		}
		tables, err := piiscan.Tables(ctx, a.DB)
		if err != nil || len(tables) < 40 {
			t.Fatalf("the scan covers %d tables of the main database: %v %v", len(tables), tables, err)
		}

		req, err := a.Privacy.RequestErasure(ctx, am.member.Principal(), privacy.Ref{MemberID: am.member.ID}, privacy.RequestInput{})
		if err != nil {
			t.Fatal(err)
		}
		// Her account closes at once.
		if m, err := a.Accounts.GetMember(ctx, am.member.ID); err != nil || m.Status != accounts.StatusErasing {
			t.Fatalf("account after the request: %+v %v", m, err)
		}
		done := waitErased(t, am.s, a, req.ID)
		if done.TombstoneID == "" || done.MemberID != "" || done.ProfileID != "" || done.Channel != privacy.ChannelCentre {
			t.Fatalf("completed request: %+v", done)
		}
		// The browser still sending her ids is ignored.
		key := created(t, am.s.env, "source", "create", "--name", "late")
		track(t, am.s.url, key, []map[string]any{{"type": "page", "userId": am.member.ID, "anonymousId": erasedAnon}})
		// Someone else's page view, sent after hers, on its profile: what came before it has been
		// handled.
		track(t, am.s.url, key, []map[string]any{{"type": "page", "anonymousId": "anon-someone-after"}})
		waitProfile(t, a, "anonymous_id", "anon-someone-after", func(p profile.Profile) bool { return p.Computed.PageViews == 1 })

		piiscan.Check(t, []*db.DB{a.DB, a.LogDB}, am.personal()...)
		if files, _ := os.ReadDir(am.media); len(files) != 0 {
			t.Errorf("uploads left in the media store: %v", files)
		}

		// What stays: her answer, by a former member; the evidence, without her; the suppression.
		post, comments, _, err := a.Community.Thread(ctx, accounts.System(), am.bobPost, "", 50)
		if err != nil || len(comments) != 1 || comments[0].Author.ID != done.TombstoneID || comments[0].Author.Name != "" || post.AcceptedCommentID != comments[0].ID {
			t.Fatalf("Bob's question after the erasure: %+v %+v %v", post, comments, err)
		}
		if p, err := a.Community.Post(ctx, accounts.System(), am.herPost); err != nil || p.Author.ID != done.TombstoneID {
			t.Fatalf("her question is kept anonymised (the default policy): %+v %v", p, err)
		}
		var consents int
		if err := a.DB.R.QueryRow(`SELECT count(*) FROM consent_records WHERE profile_id = $1 AND ip = '' AND user_agent = ''`, done.TombstoneID).Scan(&consents); err != nil || consents < 4 {
			t.Fatalf("consent evidence kept under the tombstone: %d %v", consents, err)
		}
		sup, _, err := a.Consent.Suppressions(ctx, accounts.System(), consent.SuppressionFilter{Channel: consent.ChannelEmail, Value: erasedEmail}, "", 10)
		if err != nil || len(sup) != 1 || sup[0].Reason != consent.SuppressErased || sup[0].Value != "" {
			t.Fatalf("her address on the suppression list: %+v %v", sup, err)
		}
		var completed int
		if err := a.LogDB.R.QueryRow(`SELECT count(*) FROM events WHERE event = $1 AND CAST(payload AS TEXT) LIKE $2`, privacy.EventErasureCompleted,
			"%"+privacy.Hash("user_id", am.member.ID)+"%").Scan(&completed); err != nil || completed != 1 {
			t.Fatalf("Erasure Completed in the event log with her hashed id: %d %v", completed, err)
		}
		audit, _, err := a.Accounts.ListAudit(ctx, accounts.System(), "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, en := range audit {
			actions = append(actions, en.Action)
		}
		if !slices.Contains(actions, "privacy.erasure_requested") || !slices.Contains(actions, "privacy.erasure_completed") {
			t.Fatalf("audit log: %v", actions)
		}
		// Bob's seat: the waitlist moved up.
		evs, _, err := a.Meetup.List(ctx, am.bob.Principal(), meetup.ListQuery{})
		if err != nil || len(evs) != 1 || evs[0].Going != 1 || evs[0].MyRSVP != meetup.Going {
			t.Fatalf("the event after her erasure: %+v %v", evs, err)
		}
	})
}

// TestErasureRemovesContentWhenThePolicySaysSo erases a member under the policy that removes
// what they wrote.
func TestErasureRemovesContentWhenThePolicySaysSo(t *testing.T) {
	am := newActiveMember(t, db.SQLite)
	a, ctx := am.a, context.Background()
	if _, err := a.Privacy.SetSettings(ctx, accounts.System(), privacy.Settings{ErasedContent: privacy.ContentRemove, DefaultRegime: privacy.RegimeGDPR}); err != nil {
		t.Fatal(err)
	}
	req, err := a.Privacy.RequestErasure(ctx, accounts.System(), privacy.Ref{ProfileID: am.profile.ID}, privacy.RequestInput{Note: "本人からメールで依頼"})
	if err != nil {
		t.Fatal(err)
	}
	if req.Regime != privacy.RegimeGDPR || !req.DueAt.Equal(req.ReceivedAt.AddDate(0, 1, 0)) || req.MemberID != am.member.ID {
		t.Fatalf("request: %+v", req)
	}
	waitErased(t, am.s, a, req.ID)
	piiscan.Check(t, []*db.DB{a.DB, a.LogDB}, am.personal()...)
	if _, err := a.Community.Post(ctx, accounts.System(), am.herPost); err == nil {
		t.Fatal("her question is still there")
	}
	post, comments, _, err := a.Community.Thread(ctx, accounts.System(), am.bobPost, "", 50)
	if err != nil || len(comments) != 0 || post.CommentCount != 0 || post.AcceptedCommentID != "" {
		t.Fatalf("Bob's question keeps her answer: %+v %+v %v", post, comments, err)
	}
}

// TestExportHoldsEverything downloads a member's data and checks the archive.
func TestExportHoldsEverything(t *testing.T) {
	am := newActiveMember(t, db.SQLite)
	a, ctx := am.a, context.Background()
	r, zipped, err := a.Privacy.Export(ctx, am.member.Principal(), privacy.Ref{MemberID: am.member.ID}, privacy.RequestInput{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != privacy.KindExport || r.Status != privacy.StatusCompleted || r.Channel != privacy.ChannelCentre || r.Regime != privacy.RegimeAPPI {
		t.Fatalf("request: %+v", r)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(b)
	}
	want := map[string][]string{
		"account":                {erasedEmail, erasedName},
		"posts":                  {"通知の頻度を変えたい"},
		"replies":                {"管理画面のインポートから取り込めます。"},
		"edits":                  {"毎日の通知が多すぎます。"},
		"direct_messages":        {"来週の勉強会、一緒に行きませんか？", "ぜひ！"},
		"event_rsvps":            {"札幌ユーザー会", "going"},
		"survey_answers":         {"検索がもっと速いとうれしいです", "満足度"},
		"badges":                 {"staff"},
		"uploads":                {"cafe-watanabe.png", "image/png"},
		"identifiers":            {erasedE164, erasedAnon, "crm:salesforce"},
		"traits":                 {"札幌"},
		"events":                 {"Pricing Viewed", "Member Signed Up"},
		"consents":               {"203.0.113.77", "privacy-centre-2026-05", "198.51.100.23"},
		"third_party_provisions": {"Salesforce (crm)"},
		"crm_purchases":          {erasedOrder, "コーヒー豆 定期便"},
		"crm_tickets":            {"請求書の宛名を変更したい"},
		"community_profile":      {"札幌でカフェを経営しています。"},
		"idea_votes":             {},
		"reports_filed":          {"重複しています"},
		"posts_viewed":           {},
		"linked_accounts":        {},
		"notifications":          {},
		"sessions":               {},
		"privacy_requests":       {},
	}
	for name, texts := range want {
		js, csvText := files["json/"+name+".json"], files["csv/"+name+".csv"]
		if js == "" || csvText == "" {
			t.Errorf("%s: missing from the archive (have %v)", name, keys(files))
			continue
		}
		if !strings.HasPrefix(csvText, "\ufeff") {
			t.Errorf("%s.csv has no byte order mark", name)
		}
		var rows []map[string]any
		if err := json.Unmarshal([]byte(js), &rows); err != nil {
			t.Errorf("%s.json: %v", name, err)
		}
		for _, s := range texts {
			if !strings.Contains(js, s) || !strings.Contains(csvText, s) {
				t.Errorf("%s: lacks %q\njson: %.500s\ncsv: %.500s", name, s, js, csvText)
			}
		}
	}
	var m struct {
		RequestID string `json:"request_id"`
		Tables    []struct {
			Name string `json:"name"`
			Rows int    `json:"rows"`
		} `json:"tables"`
	}
	if err := json.Unmarshal([]byte(files["manifest.json"]), &m); err != nil || m.RequestID != r.ID || len(m.Tables) < len(want) {
		t.Fatalf("manifest: %+v %v", m, err)
	}
	if !strings.Contains(files["README.txt"], "Kizuna") {
		t.Error("no README")
	}
	// The export is in the audit log, with no copy of the data.
	audit, _, err := a.Accounts.ListAudit(ctx, accounts.System(), "", 20)
	if err != nil || !slices.ContainsFunc(audit, func(e accounts.AuditEntry) bool { return e.Action == "privacy.exported" && e.Target == r.ID }) {
		t.Fatalf("audit: %+v %v", audit, err)
	}
	// Someone else may not export her data; staff may, on her behalf.
	if _, _, err := a.Privacy.Export(ctx, am.bob.Principal(), privacy.Ref{MemberID: am.member.ID}, privacy.RequestInput{}); err == nil {
		t.Fatal("Bob exported her data")
	}
	if r2, _, err := a.Privacy.Export(ctx, accounts.System(), privacy.Ref{ProfileID: am.profile.MergedIDs[0]}, privacy.RequestInput{Regime: privacy.RegimeGDPR}); err != nil ||
		r2.MemberID != am.member.ID || r2.ProfileID != am.profile.ID || r2.Channel != privacy.ChannelStaff {
		t.Fatalf("staff export by a merged profile's id: %+v %v", r2, err)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
