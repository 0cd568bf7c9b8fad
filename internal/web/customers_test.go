package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// customer is a profile seeded for the 360 tests.
type customer struct {
	root, loser string // the profile and the one merged into it
	mergeID     string
}

// seedCustomer records a customer as the data hub would: CRM records under their email (account,
// two purchases in two currencies, contracts, a ticket), an anonymous browser that viewed the
// pricing page and 30 help pages, then an identify call that links browser, user id and email —
// merging the browser's profile into the CRM one — and a later change of plan.
func (s *site) seedCustomer() customer {
	s.t.Helper()
	ctx := context.Background()
	sys := accounts.System()
	must := func(err error) {
		s.t.Helper()
		if err != nil {
			s.t.Fatal(err)
		}
	}
	email := []identity.ID{{Type: "email", Value: "taro@sample.co.jp"}}
	_, err := s.crm.UpsertAccount(ctx, sys, crm.AccountInput{ExternalID: "acct-1", Name: "株式会社サンプル", Plan: "Enterprise"})
	must(err)
	day := time.Now().UTC().Add(-40 * 24 * time.Hour)
	p1, err := s.crm.UpsertPurchase(ctx, sys, crm.PurchaseInput{ExternalID: "ord-1", Customer: email, AccountExternalID: "acct-1",
		AmountMinor: 12000, Currency: "JPY", PurchasedAt: day, Product: "年間ライセンス"})
	must(err)
	_, err = s.crm.UpsertPurchase(ctx, sys, crm.PurchaseInput{ExternalID: "ord-2", Customer: email,
		AmountMinor: 120000, Currency: "usd", PurchasedAt: day.Add(time.Hour), Product: "Onboarding workshop"})
	must(err)
	must(s.crm.LinkProfileToAccount(ctx, sys, p1.ProfileID, "acct-1"))
	_, err = s.crm.UpsertContract(ctx, sys, crm.ContractInput{ExternalID: "ct-1", AccountExternalID: "acct-1", Plan: "Enterprise 年間契約",
		Status: "active", StartsOn: day, RenewsOn: time.Now().UTC().AddDate(0, 0, 20), AmountMinor: 1200000, Currency: "JPY"})
	must(err)
	_, err = s.crm.UpsertContract(ctx, sys, crm.ContractInput{ExternalID: "ct-0", AccountExternalID: "acct-1", Plan: "Trial",
		Status: "expired", StartsOn: day.AddDate(-1, 0, 0), AmountMinor: 0, Currency: "JPY"})
	must(err)
	_, err = s.crm.UpsertTicket(ctx, sys, crm.TicketInput{ExternalID: "tk-1", Customer: email, Subject: "SSO でログインできない",
		Status: "open", Priority: "high", OpenedAt: day.Add(48 * time.Hour)})
	must(err)

	at := time.Now().UTC().Add(-2 * time.Hour)
	ev := func(typ, name string, mod func(*event.Event)) event.Event {
		e := event.New(typ, name, event.SourceTracking, at)
		e.AnonymousID = "anon-1"
		mod(&e)
		at = at.Add(time.Second)
		return e
	}
	evs := []event.Event{ev(event.Page, "", func(e *event.Event) {
		e.Properties = map[string]any{"title": "料金プラン", "url": "https://kizuna.example/pricing", "path": "/pricing"}
	})}
	for i := range 30 {
		evs = append(evs, ev(event.Page, "", func(e *event.Event) {
			e.Properties = map[string]any{"title": fmt.Sprintf("Help %02d", i), "path": fmt.Sprintf("/kb/help-%02d", i)}
		}))
	}
	must(s.prf.Consumer().Handle(ctx, evs))
	browser, err := s.idg.Lookup(ctx, "anonymous_id", "anon-1")
	must(err)
	must(s.prf.Consumer().Handle(ctx, []event.Event{
		ev(event.Identify, "", func(e *event.Event) {
			e.UserID = "u-100"
			e.Traits = map[string]any{"email": "taro@sample.co.jp", "name": "山田 太郎", "phone": "090-1234-5678", "plan": "pro"}
		}),
		ev(event.Track, "Post Created", func(e *event.Event) {
			e.Source, e.UserID, e.AnonymousID = event.SourceCommunity, "u-100", ""
			e.Properties = map[string]any{"title": "SSO の設定方法", "space": "guide"}
		}),
		ev(event.Identify, "", func(e *event.Event) {
			e.UserID = "u-100"
			e.Traits = map[string]any{"plan": "enterprise"}
		}),
	}))
	// What the customer agreed to, with its evidence; a complaint about a text message; and two
	// provisions of their data to third parties.
	signup := time.Now().UTC().Add(-30 * 24 * time.Hour)
	_, err = s.cns.Record(ctx, sys, p1.ProfileID, []consent.Input{
		{Channel: "email", Purpose: "marketing", Status: "opted_in", RecordedAt: signup, Source: consent.SourceSignupForm,
			TextVersion: "signup-2026-04", IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)"},
		{Channel: "email", Purpose: "product_news", Status: "opted_in", RecordedAt: signup, Source: consent.SourceSignupForm, TextVersion: "signup-2026-04"},
		{Channel: "email", Purpose: "third_party:crm", Status: "opted_in", RecordedAt: signup, Source: consent.SourcePermissionScreen, TextVersion: "perm-v1"},
		{Channel: "line", Purpose: "marketing", Status: "opted_in", RecordedAt: signup.Add(time.Hour), Source: consent.SourceLINEFollow},
		{Channel: "email", Purpose: "product_news", Status: "opted_out", RecordedAt: signup.Add(72 * time.Hour), Source: consent.SourceUnsubscribeLink},
		{Channel: "sms", Purpose: "research", Status: "unknown", RecordedAt: signup, Source: consent.SourceImport},
	})
	must(err)
	_, _, err = s.cns.Suppress(ctx, sys, consent.SuppressionInput{Channel: "sms", Value: "090-1234-5678", Reason: "complaint", Note: "STOP を受信"})
	must(err)
	_, err = s.cns.RecordProvision(ctx, p1.ProfileID, "Salesforce（CRM 連携）", []string{"email", "name", "purchases"}, consent.BasisConsent, signup.Add(24*time.Hour))
	must(err)
	_, err = s.cns.RecordProvision(ctx, p1.ProfileID, "ヤマト運輸（配送委託）", []string{"name", "address", "phone"}, consent.BasisEntrustment, signup.Add(48*time.Hour))
	must(err)

	ms, err := s.idg.Merges(ctx, p1.ProfileID)
	must(err)
	if len(ms) != 1 || ms[0].LoserID != browser || ms[0].WinnerID != p1.ProfileID {
		s.t.Fatalf("merges after the identify: %+v (browser %s, crm %s)", ms, browser, p1.ProfileID)
	}
	return customer{root: p1.ProfileID, loser: browser, mergeID: ms[0].ID}
}

func TestCustomerSearch(t *testing.T) {
	s := newSite(t)
	c := s.seedCustomer()
	admin := s.admin("ja")
	admin.get("/admin").expect(t, http.StatusOK, `href="/admin/customers"`, "顧客")
	admin.get("/admin/customers").expect(t, http.StatusOK, `id="customer-q"`, "全角文字")

	link := `href="/admin/customers/` + c.root + `"`
	for q, matched := range map[string]string{
		"ＴＡＲＯ＠ｓａｍｐｌｅ．ｃｏ．ｊｐ": "メール", // full-width, as typed on a Japanese keyboard
		"090-1234-5678": "電話番号",
		"u-100":         "ユーザー ID",
	} {
		p := admin.get("/admin/customers?q=" + url.QueryEscape(q))
		p.expect(t, http.StatusOK, link, "山田 太郎", "taro@sample.co.jp", `<span class="badge badge-role">`+matched+`</span>`)
		if n := strings.Count(p.Body, link); n != 1 {
			t.Fatalf("search %q lists the customer %d times", q, n)
		}
	}
	admin.get("/admin/customers?q="+url.QueryEscape("nobody@sample.co.jp")).expect(t, http.StatusOK, "を持つ顧客はいません")

	admin.post("/lang", url.Values{"lang": {"en"}, "next": {"/admin/customers"}}).redirectsTo(t, "/admin/customers")
	admin.get("/admin/customers?q=taro%40sample.co.jp").expect(t, http.StatusOK, "Customers matching", link, "Email")

	member := s.member("plain@example.com", "en")
	member.get("/admin/customers?q=taro%40sample.co.jp").expect(t, http.StatusForbidden)
	member.get("/admin/customers/"+c.root).expect(t, http.StatusForbidden)
	s.browser("en").get("/admin/customers").redirectsTo(t, "/login?next=%2Fadmin%2Fcustomers")
}

func TestCustomer360(t *testing.T) {
	s := newSite(t)
	c := s.seedCustomer()
	admin := s.admin("en")
	p := admin.get("/admin/customers/" + c.root)
	p.expect(t, http.StatusOK,
		// header and key facts
		"<h1>山田 太郎</h1>", "taro@sample.co.jp", "株式会社サンプル", `<span class="badge badge-role">Enterprise</span>`,
		"Page views</span><span class=\"stat-value\">31</span>", "Purchases</span><span class=\"stat-value\">2</span>",
		"<span>$1,200.00</span>", "<span>¥12,000</span>",
		// identities, and why they were linked
		"Browser (anonymous id)", "anon-1", "&#43;819012345678", "u-100",
		`id="merge-`+c.mergeID+`"`, "Shared Browser (anonymous id)", "identify ",
		`action="/admin/customers/`+c.root+`/merges/`+c.mergeID+`/undo"`, "Undo merge", "Yes, undo merge",
		// traits with source and history
		`<tr id="trait-plan">`, "enterprise", "History (2 values)", "Tracking API",
		// timeline, newest first
		"Post Created", "SSO の設定方法", "Identified", "Viewed a page", "Help 29",
		// CRM records
		"年間ライセンス", "Onboarding workshop", "Enterprise 年間契約", `class="is-renewing"`, "Renews in 20 days", "Trial", "Expired",
		"SSO でログインできない", "High priority",
	)
	p.expect(t, http.StatusOK,
		// consents: the matrix, the suppression, the evidence, the provision records
		`id="consents"`, "Consents", "May send", "Third party: CRM", "Suppressed", `<span class="consent-when consent-why">Complaint</span>`, "STOP を受信", "Not required",
		"History (newest 6 records)", "signup-2026-04", "203.0.113.7", "Sign-up form", "Unsubscribe link", "LINE follow",
		`id="provisions"`, "Third-party provision records", "APPI Art. 29", "Salesforce（CRM 連携）", "ヤマト運輸（配送委託）", "Entrustment",
		`<span class="kv">purchases</span>`,
	)
	want := map[string]string{
		"email": "marketing=in product_news=out research=none service=tx third_party:crm=in",
		"line":  "marketing=in product_news=none research=none service=tx third_party:crm=none",
		"sms":   "marketing=sup product_news=sup research=sup service=tx third_party:crm=none",
		"phone": "marketing=none product_news=none research=none service=tx third_party:crm=none",
	}
	for ch, cells := range want {
		if got := consentRow(t, p.Body, ch); got != cells {
			t.Errorf("consent row %s: %s, want %s", ch, got, cells)
		}
	}
	body := p.Body
	if i, j := strings.Index(body, "Post Created"), strings.Index(body, "Help 29"); i < 0 || j < i {
		t.Fatal("timeline is not newest first")
	}
	if strings.Contains(body, "料金プラン") {
		t.Fatal("the first page of the timeline reaches the oldest event")
	}
	if strings.Count(body, `class="tl-item`) != 25 {
		t.Fatalf("timeline shows %d events, want a page of 25", strings.Count(body, `class="tl-item`))
	}

	// Older: a whole page without JavaScript, the next items for htmx.
	older := regexp.MustCompile(`href="(/admin/customers/[^"?]+\?before=[^"#]+)#timeline"`).FindStringSubmatch(body)
	if older == nil {
		t.Fatal("no Older link")
	}
	next := strings.ReplaceAll(older[1], "&amp;", "&")
	admin.get(next).expect(t, http.StatusOK, "<html", "料金プラン", "https://kizuna.example/pricing", "Newest")
	frag := admin.do(http.MethodGet, next, nil, http.Header{"Hx-Request": {"true"}})
	frag.expect(t, http.StatusOK, "料金プラン")
	if strings.Contains(frag.Body, "<html") || strings.Contains(frag.Body, "Post Created") {
		t.Fatalf("htmx page of the timeline:\n%s", frag.Body)
	}

	// Japanese labels and dates in Japan time.
	admin.post("/lang", url.Values{"lang": {"ja"}, "next": {"/admin"}}).redirectsTo(t, "/admin")
	jp := admin.get("/admin/customers/" + c.root)
	jp.expect(t, http.StatusOK, "同意", "送信できる", "第三者提供: CRM", "配信停止", "苦情", "同意不要", "会員登録フォーム", "配信停止リンク",
		"第三者提供の記録", "個人情報保護法 第29条", "委託", "本人の同意")
	jp.expect(t, http.StatusOK, "統合された理由", "同じブラウザ（匿名 ID）", "統合を取り消す", "ページを閲覧", "投稿を作成", fmt.Sprintf("あと %d 日で更新", daysInTokyo(20)), "JST")

	// The merged browser profile answers as the customer; an unknown one is a 404 page.
	admin.get("/admin/customers/"+c.loser).redirectsTo(t, "/admin/customers/"+c.root)
	admin.get("/admin/customers/no-such-profile").expect(t, http.StatusNotFound, "<html")
}

func TestUndoMerge(t *testing.T) {
	s := newSite(t)
	c := s.seedCustomer()
	admin := s.admin("en")
	undo := "/admin/customers/" + c.root + "/merges/" + c.mergeID + "/undo"

	// Staff who may view customers but not manage members see no button and are refused.
	mod := s.member("mod@example.com", "en")
	admin.htmx("/admin/members/"+s.memberID("mod@example.com")+"/role", url.Values{"role": {"moderator"}}).expect(t, http.StatusOK)
	page := mod.get("/admin/customers/" + c.root)
	page.expect(t, http.StatusOK, "Why they were linked", "Shared Browser (anonymous id)")
	if strings.Contains(page.Body, "Undo merge") {
		t.Fatal("a moderator is offered to undo a merge")
	}
	mod.post(undo, nil).expect(t, http.StatusForbidden)
	// Cross-site posts are refused whoever sends them.
	admin.do(http.MethodPost, undo, url.Values{}, http.Header{"Sec-Fetch-Site": {"cross-site"}}).expect(t, http.StatusForbidden)
	// A merge of another profile cannot be undone from this one.
	admin.post("/admin/customers/"+c.root+"/merges/nope/undo", nil).expect(t, http.StatusNotFound)
	if root, _ := s.idg.Root(context.Background(), c.loser); root != c.root {
		t.Fatal("a refused undo changed the graph")
	}

	admin.post(undo, nil).redirectsTo(t, "/admin/customers/"+c.root+"?notice=unmerged#merges")
	after := admin.get("/admin/customers/" + c.root + "?notice=unmerged")
	after.expect(t, http.StatusOK, "The merge was undone", "Undone", `href="/admin/customers/`+c.loser+`"`)
	_, ids, _ := strings.Cut(after.Body, `id="identities"`)
	ids, _, _ = strings.Cut(ids, `id="merges"`)
	if strings.Contains(ids, "anon-1") || !strings.Contains(ids, "u-100") {
		t.Fatalf("identities after the undo:\n%s", ids)
	}
	if strings.Contains(after.Body, "料金プラン") || strings.Contains(after.Body, "Yes, undo merge") {
		t.Fatal("the browser's page views or the undo button are still on the customer")
	}
	// The browser is a profile of its own again, with its page views.
	admin.get("/admin/customers/"+c.loser).expect(t, http.StatusOK, "Anonymous visitor", "anon-1", "Viewed a page", "Help 29")
	admin.post(undo, nil).expect(t, http.StatusConflict)
}

// TestCommunityPagesCarryTheTracker checks the layout's tracker: the built-in source's write key,
// made once and valid for the tracking API, on community pages but not on staff pages; and that
// the browser's anonymous id cookie reaches the sign-up's identify call, linking the visitor's
// earlier page views to the member's profile without JavaScript.
func TestCommunityPagesCarryTheTracker(t *testing.T) {
	s := newSiteOpts(t, siteOptions{backbone: true})
	ctx := context.Background()
	anon := s.browser("en")
	home := anon.get("/")
	home.expect(t, http.StatusOK, `<script src="/kizuna.js" data-write-key="`, `data-member=""`)
	key := regexp.MustCompile(`data-write-key="([^"]+)"`).FindStringSubmatch(home.Body)[1]
	if again, err := s.src.Builtin(ctx, "Community website"); err != nil || again != key {
		t.Fatalf("built-in key %q, %v; the page has %q", again, err, key)
	}
	src, err := s.src.Authenticate(ctx, key)
	if err != nil || src.Name != "Community website" {
		t.Fatalf("the page's write key does not authenticate: %+v, %v", src, err)
	}
	if all, _ := s.src.List(ctx, accounts.System()); len(all) != 1 {
		t.Fatalf("sources after two calls: %+v", all)
	}
	anon.get("/kizuna.js").expect(t, http.StatusOK, "kizuna.js")

	// Revoking the built-in source replaces it with a new key.
	if err := s.src.Revoke(ctx, accounts.System(), src.ID); err != nil {
		t.Fatal(err)
	}
	fresh := regexp.MustCompile(`data-write-key="([^"]+)"`).FindStringSubmatch(s.browser("en").get("/login").Body)[1]
	if fresh == key {
		t.Fatal("a revoked built-in key is still handed out")
	}
	if _, err := s.src.Authenticate(ctx, fresh); err != nil {
		t.Fatal(err)
	}

	// A visitor's page view through the tracking API, then a sign-up with the same browser.
	const aid = "7d0c5a1e-2f3b-4c5d-8e9f-0a1b2c3d4e5f"
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/page", strings.NewReader(`{"anonymousId":"`+aid+`","name":"Pricing","properties":{"path":"/pricing"}}`))
	req.SetBasicAuth(fresh, "")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("page call: %v, %v", resp, err)
	}
	visitor := s.browser("en")
	u, _ := url.Parse(s.URL)
	visitor.c.Jar.SetCookies(u, []*http.Cookie{{Name: "kizuna_aid", Value: aid}})
	visitor.post("/signup", url.Values{"email": {"hina@sample.co.jp"}, "password": {"correct horse battery"}, "display_name": {"Hina"}}).
		redirectsTo(t, "/?notice=welcome")
	me := visitor.get("/")
	me.expect(t, http.StatusOK, `data-member="`+s.memberID("hina@sample.co.jp")+`"`)
	admin := s.admin("en")
	if strings.Contains(admin.get("/admin").Body, "kizuna.js") {
		t.Fatal("staff pages load the tracker")
	}
	// The backbone carries the sign-up's events from the outbox to the profile consumer.
	pid := s.eventually("the member's log-in on their profile", func() (string, bool) {
		pid, err := s.idg.Lookup(ctx, "email", "hina@sample.co.jp")
		if err != nil {
			return "", false
		}
		pr, err := s.prf.Get(ctx, accounts.System(), pid)
		return pid, err == nil && pr.Computed.EventCounts["Member Logged In"] > 0
	})
	admin.get("/admin/customers?q=hina%40sample.co.jp").expect(t, http.StatusOK, "Hina", `href="/admin/customers/`+pid+`"`)
	admin.get("/admin/customers/"+pid).expect(t, http.StatusOK, "Viewed a page", "Pricing", aid, "Member Signed Up", "Member Logged In")
}

// daysInTokyo is how many days a renewal set n days after today's UTC date is from today's date in
// Tokyo, where the Japanese reader counts: one day fewer from 15:00 UTC, when Tokyo is a day ahead.
func daysInTokyo(n int) int {
	now := time.Now()
	u, t := now.UTC(), now.In(time.FixedZone("JST", 9*3600))
	if t.Day() != u.Day() {
		return n - 1
	}
	return n
}

// consentRow reads one channel's row of the 360's consent matrix as "purpose=state …", the
// state being the cell's style: in, tx, out, sup or none.
func consentRow(t *testing.T, body, channel string) string {
	t.Helper()
	_, row, ok := strings.Cut(body, `<tr id="consent-`+channel+`">`)
	if !ok {
		t.Fatalf("no consent row for %s", channel)
	}
	row, _, _ = strings.Cut(row, "</tr>")
	var out []string
	for _, m := range regexp.MustCompile(`data-purpose="([^"]+)">\s*<span class="consent-pill consent-(\w+)"`).FindAllStringSubmatch(row, -1) {
		out = append(out, m[1]+"="+m[2])
	}
	return strings.Join(out, " ")
}
