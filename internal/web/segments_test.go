package web_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/event"
)

// seedProCustomer adds a second customer on the pro plan, with a name and an email.
func (s *site) seedProCustomer() {
	s.t.Helper()
	e := event.New(event.Identify, "", event.SourceTracking, time.Now().UTC().Add(-time.Hour))
	e.UserID = "u-200"
	e.Traits = map[string]any{"email": "hanako@example.jp", "name": "佐藤 花子", "plan": "pro"}
	if err := s.prf.Consumer().Handle(context.Background(), []event.Event{e}); err != nil {
		s.t.Fatal(err)
	}
}

// builderForm is a builder post as the new segment page sends it: the root group (bare: one
// condition is written as itself) and the rows given as field=value pairs.
func builderForm(name string, pairs ...string) url.Values {
	f := url.Values{"name": {name}, "c0.kind": {"all"}, "c0.parent": {"-1"}, "bare": {"1"}}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		f.Add(k, v)
	}
	return f
}

// TestSegmentPages builds a segment through the form — nested group, "not", a list value — sees
// the live preview, saves it, and reads it back on its page, in the CSV export and on the
// customer 360; then edits it through the advanced JSON and deletes it.
func TestSegmentPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		s := newSiteOpts(t, siteOptions{engine: e})
		c := s.seedCustomer()
		s.seedProCustomer()
		admin := s.admin("ja")
		admin.get("/admin").expect(t, http.StatusOK, `href="/admin/segments"`, "セグメント")
		admin.get("/admin/segments").expect(t, http.StatusOK, "まだセグメントはありません", `href="/admin/segments/new"`)
		admin.get("/admin/segments/new").expect(t, http.StatusOK, `name="c0.kind"`, `name="c1.f.trait"`, `id="segment-preview"`, "条件を追加")

		// Live preview of a draft: the count and the sample with names and links.
		draft := builderForm("", "c1.kind=trait", "c1.parent=0", "c1.f.trait=plan", "c1.f.op=in", "c1.f.value=enterprise, pro")
		p := admin.htmx("/admin/segments/preview", draft)
		p.expect(t, http.StatusOK, `id="preview-count">2<`, "山田 太郎", "佐藤 花子", `href="/admin/customers/`+c.root+`"`)
		if strings.Contains(p.Body, "<html") {
			t.Fatal("the preview answers a whole page to htmx")
		}
		// The advanced JSON follows the rows (out of band), but never overwrites JSON being edited.
		p.expect(t, http.StatusOK, `id="segment-json-box" hx-swap-oob="true"`, "&#34;pro&#34;")
		typed := url.Values{"definition": {`{"trait":"plan","op":"eq","value":"pro"}`}, "definition_base": {`{}`}}
		p = admin.htmx("/admin/segments/preview", typed)
		p.expect(t, http.StatusOK, `id="preview-count">1<`)
		if strings.Contains(p.Body, "hx-swap-oob") {
			t.Fatal("a preview of edited JSON replaces the JSON")
		}
		// A row changed after JSON was typed and not applied: the row is the latest change, so the
		// rows decide and the JSON follows them.
		both := builderForm("", "c1.kind=trait", "c1.parent=0", "c1.f.trait=plan", "c1.f.op=in", "c1.f.value=enterprise, pro")
		both.Set("definition", `{"trait":"plan","op":"eq","value":"pro"}`)
		both.Set("definition_base", `{}`)
		both.Set("last_edit", "rows")
		p = admin.htmx("/admin/segments/preview", both)
		p.expect(t, http.StatusOK, `id="preview-count">2<`, `id="segment-json-box" hx-swap-oob="true"`, "&#34;enterprise&#34;")
		admin.htmx("/admin/segments/preview", builderForm("", "c1.kind=trait", "c1.parent=0", "c1.f.trait=plan", "c1.f.op=gt", "c1.f.value=abc")).
			expect(t, http.StatusOK, "定義を確認してください", "definition.value")

		// Community conditions are form rows too; a space that does not exist is named.
		admin.htmx("/admin/segments/preview", builderForm("", "c1.kind=space_member", "c1.parent=0", "c1.f.space_member=no-such-space")).
			expect(t, http.StatusOK, "定義を確認してください", "definition.space_member")

		// Adding a condition re-renders the form (without JavaScript: the whole page) and keeps
		// what was typed.
		add := builderForm("Pro 以上", "c1.kind=trait", "c1.parent=0", "c1.f.trait=plan", "c1.f.op=in", "c1.f.value=enterprise, pro", "c0.add=consent", "do=add:0")
		admin.post("/admin/segments/new", add).expect(t, http.StatusOK, `<html`, `name="c2.f.consent.channel"`, `value="enterprise, pro"`, `value="Pro 以上"`)
		admin.htmx("/admin/segments/new", builderForm("", "do=group:0")).expect(t, http.StatusOK, `id="segment-builder"`, `name="c2.kind"`, `<option value="any" selected>`)

		// A bad condition is shown beside its row, with its path.
		bad := builderForm("壊れた", "c1.kind=trait", "c1.parent=0", "c1.f.trait=plan", "c1.f.op=eq", "c1.f.value=pro",
			"c2.kind=open_tickets", "c2.parent=0", "c2.f.open_tickets.op=gte", "c2.f.open_tickets.value=-1", "do=save")
		p = admin.post("/admin/segments/new", bad)
		p.expect(t, http.StatusUnprocessableEntity, `has-error" id="row-2"`, "definition.all[1].open_tickets.value")
		if strings.Contains(p.Body, `has-error" id="row-1"`) {
			t.Fatal("the error is shown on the wrong row")
		}
		admin.post("/admin/segments/new", builderForm(" ", "c1.kind=trait", "c1.parent=0", "c1.f.trait=plan", "c1.f.op=exists", "do=save")).
			expect(t, http.StatusUnprocessableEntity, "200 文字以内で名前を入力してください")

		// Save: plan in (enterprise, pro) and not (any: opted out of marketing email, 5+ open tickets).
		save := builderForm("Pro 以上（配信可）",
			"c1.kind=trait", "c1.parent=0", "c1.f.trait=plan", "c1.f.op=in", "c1.f.value=enterprise, pro",
			"c2.kind=any", "c2.parent=0", "c2.not=1",
			"c3.kind=consent", "c3.parent=2", "c3.f.consent.channel=email", "c3.f.consent.purpose=marketing", "c3.f.consent.status=opted_out",
			"c4.kind=open_tickets", "c4.parent=2", "c4.f.open_tickets.op=gte", "c4.f.open_tickets.value=5", "do=save")
		p = admin.post("/admin/segments/new", save)
		loc := p.Header.Get("Location")
		id, ok := strings.CutPrefix(loc, "/admin/segments/")
		if p.StatusCode != http.StatusSeeOther || !ok || !strings.HasSuffix(id, "?notice=created") {
			t.Fatalf("save: %d %q\n%s", p.StatusCode, loc, excerpt(p.Body))
		}
		id = strings.TrimSuffix(id, "?notice=created")
		sg, err := s.seg.Get(context.Background(), accounts.System(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := sg.Definition.MarshalJSON(); string(got) != `{"all":[{"op":"in","trait":"plan","value":["enterprise","pro"]},`+
			`{"not":{"any":[{"consent":{"channel":"email","purpose":"marketing","status":"opted_out"}},{"open_tickets":{"op":"gte","value":5}}]}}]}` {
			t.Fatalf("stored definition %s", got)
		}

		// The segment page: count, the definition in words, the chart's data, the members.
		p = admin.get(loc)
		p.expect(t, http.StatusOK, "セグメントを作成し", `id="segment-count">2<`, "plan が enterprise, pro のいずれか", "該当しない",
			"メール・マーケティングの同意が「拒否」", "未解決チケット数が 5 以上", `data-points="[[`, `,2]]"`,
			"山田 太郎", "taro@sample.co.jp", "佐藤 花子", "uplot-1.6.32.iife.min.js", `href="/admin/segments/`+id+`/members.csv"`)
		admin.get("/admin/segments").expect(t, http.StatusOK, "Pro 以上（配信可）", "<strong>2</strong>", "Aiko Admin")

		// The CSV export: UTF-8 with a byte order mark, one row per member; audited.
		p = admin.get("/admin/segments/" + id + "/members.csv")
		if p.StatusCode != http.StatusOK || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(p.Body, "\ufeff") {
			t.Fatalf("csv: %d %s %q", p.StatusCode, p.Header.Get("Content-Type"), p.Body)
		}
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(p.Body, "\ufeff"))).ReadAll()
		if err != nil || len(recs) != 3 || strings.Join(recs[0], ",") != "id,entered_at,email,name,company,plan" {
			t.Fatalf("csv %q %v", recs, err)
		}
		rows := map[string]string{}
		for _, r := range recs[1:] {
			rows[r[2]] = r[3] + "/" + r[5]
		}
		if rows["taro@sample.co.jp"] != "山田 太郎/enterprise" || rows["hanako@example.jp"] != "佐藤 花子/pro" {
			t.Fatalf("csv rows %q", recs)
		}
		entries, _, err := s.acc.ListAudit(context.Background(), accounts.System(), "", 5)
		if err != nil || len(entries) == 0 || entries[0].Action != "segment.exported" || entries[0].Target != id {
			t.Fatalf("the export is not audited: %v %+v", err, entries)
		}

		// The customer 360 lists the segment with the day the customer entered it.
		admin.get("/admin/customers/"+c.root).expect(t, http.StatusOK, `id="segments"`, `href="/admin/segments/`+id+`"`, "Pro 以上（配信可）", "から")

		// Edit through the advanced JSON: the changed text wins over the form's rows.
		p = admin.get("/admin/segments/" + id + "/edit")
		p.expect(t, http.StatusOK, `value="Pro 以上（配信可）"`, `name="c1.f.trait" type="text"`, `name="c2.not" value="1" checked`, "&#34;opted_out&#34;")
		edit := url.Values{"name": {"Pro"}, "definition": {`{"trait":"plan","op":"eq","value":"pro"}`}, "definition_base": {"{}"}, "do": {"save"},
			"c0.kind": {"all"}, "c0.parent": {"-1"}}
		admin.post("/admin/segments/"+id+"/edit", edit).redirectsTo(t, "/admin/segments/"+id+"?notice=updated")
		admin.get("/admin/segments/"+id+"?notice=updated").expect(t, http.StatusOK, "メンバーを再計算しました", `id="segment-count">1<`, "plan が pro に等しい")

		// A condition the form cannot show stays a JSON row; Parse's error is shown beside it.
		unknown := url.Values{"name": {"x"}, "definition": {`{"all":[{"trait":"plan","op":"exists"},{"churn_risk":{"op":"gte","value":70}}]}`},
			"c0.kind": {"all"}, "c0.parent": {"-1"}, "do": {"json"}}
		p = admin.post("/admin/segments/new", unknown)
		p.expect(t, http.StatusOK, `name="c2.json"`, "&#34;churn_risk&#34;")
		unknown.Set("do", "save")
		admin.post("/admin/segments/new", unknown).expect(t, http.StatusUnprocessableEntity, `has-error" id="row-2"`, "definition.all[1]")
		unknown.Set("definition", `{"all":[`)
		admin.post("/admin/segments/new", unknown).expect(t, http.StatusOK, "JSON として読めません")

		// Staff who only read (customer success) see segments but do not build them; members see nothing.
		cs := s.member("cs@example.com", "en")
		if err := s.acc.SetRole(context.Background(), accounts.System(), s.memberID("cs@example.com"), accounts.RoleCS); err != nil {
			t.Fatal(err)
		}
		p = cs.get("/admin/segments")
		p.expect(t, http.StatusOK, "Segments", "Pro")
		if strings.Contains(p.Body, "/admin/segments/new") {
			t.Fatal("a read-only role is offered the builder")
		}
		pg := cs.get("/admin/segments/" + id)
		pg.expect(t, http.StatusOK, "Size over time")
		if strings.Contains(pg.Body, "Export CSV") {
			t.Fatal("a read-only role is offered the CSV export")
		}
		cs.get("/admin/segments/"+id+"/members.csv").expect(t, http.StatusForbidden)
		cs.get("/admin/segments/new").expect(t, http.StatusForbidden)
		cs.htmx("/admin/segments/preview", draft).expect(t, http.StatusForbidden)
		member := s.member("plain@example.com", "en")
		for _, path := range []string{"/admin/segments", "/admin/segments/" + id, "/admin/segments/" + id + "/members.csv"} {
			member.get(path).expect(t, http.StatusForbidden)
		}
		member.post("/admin/segments/new", save).expect(t, http.StatusForbidden)
		member.post("/admin/segments/"+id+"/delete", nil).expect(t, http.StatusForbidden)

		admin.post("/admin/segments/"+id+"/delete", url.Values{}).redirectsTo(t, "/admin/segments?notice=deleted")
		admin.get("/admin/segments?notice=deleted").expect(t, http.StatusOK, "セグメントを削除しました", "まだセグメントはありません")
		admin.get("/admin/segments/"+id).expect(t, http.StatusNotFound)
	})
}
