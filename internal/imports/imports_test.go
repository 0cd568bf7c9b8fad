package imports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/japanese"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/imports"
)

type env struct {
	d   *db.DB
	im  *imports.Importer
	crm *crm.Service
	g   *identity.Graph
	l   *consent.Ledger
}

func setup(t testing.TB, e db.Engine) env {
	t.Helper()
	d := dbtest.Open(t, e, backbone.Migrations(), identity.Migrations(), crm.Migrations(), consent.Migrations(), imports.Migrations())
	ob := backbone.NewOutbox(d)
	g := identity.New(identity.Deps{DB: d, Outbox: ob})
	c := crm.New(crm.Deps{DB: d, Outbox: ob, Identity: g})
	l := consent.New(consent.Deps{DB: d, Outbox: ob, Identity: g})
	return env{d: d, g: g, crm: c, l: l, im: imports.New(imports.Deps{DB: d, Outbox: ob, Identity: g, CRM: c, Consent: l, TempDir: t.TempDir()})}
}

// events returns the outbox events called name (track) or of type name (identify).
func events(t testing.TB, d *db.DB, name string) []event.Event {
	t.Helper()
	rows, err := d.R.Query(`SELECT payload FROM outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []event.Event
	for rows.Next() {
		var s string
		var ev event.Event
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(s), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Event == name || (ev.Type == name && ev.Type != event.Track) {
			out = append(out, ev)
		}
	}
	return out
}

func count(t testing.TB, d *db.DB, table string) int {
	t.Helper()
	var n int
	if err := d.R.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func sjis(t testing.TB, s string) []byte {
	t.Helper()
	b, err := japanese.ShiftJIS.NewEncoder().String(s)
	if err != nil {
		t.Fatalf("encoding Shift_JIS: %v", err)
	}
	return []byte(b)
}

// run imports body and fails the test on any error.
func run(t testing.TB, im *imports.Importer, in imports.Input) imports.Report {
	t.Helper()
	rep, err := im.Run(context.Background(), accounts.System(), in)
	if err != nil {
		t.Fatalf("import %s: %v (errors %v)", in.FileName, err, rep.Errors)
	}
	if rep.Status != imports.StatusDone {
		t.Fatalf("status = %s", rep.Status)
	}
	return rep
}

func seedAccount(t testing.TB, c *crm.Service, ext string) {
	t.Helper()
	if _, err := c.UpsertAccount(context.Background(), accounts.System(), crm.AccountInput{ExternalID: ext, Name: ext + " Inc."}); err != nil {
		t.Fatal(err)
	}
}

func TestImportContacts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		env := setup(t, e)
		seedAccount(t, env.crm, "A-1")
		// Shift_JIS, Japanese headers, a full-width address, full-width digits with a separator, an
		// era date, a yes/no in Japanese, a column no field knows (a trait) and a company link.
		file := "メールアドレス,氏名,電話番号,誕生日,保有ポイント,メルマガ,会員ランク,会社ID\r\n" +
			"ＴＡＲＯ＠ＫＩＺＵＮＡＳＨＯＰ．ＪＰ,山田 太郎,090-1234-5678,令和7年1月2日,\"１２,３４５\",はい,ゴールド,A-1\r\n" +
			"hanako@kizunashop.jp,佐藤 花子,,1990/04/01,0,いいえ,,\r\n"
		rep := run(t, env.im, imports.Input{Kind: "contacts", FileName: "顧客.csv", Body: bytes.NewReader(sjis(t, file))})
		if rep.TotalRows != 2 || rep.AppliedRows != 2 || rep.ChangedRows != 2 || rep.AppliedLine != 3 || rep.Encoding != "shift_jis" {
			t.Fatalf("report = %+v", rep)
		}

		taro, err := env.g.Lookup(ctx, "email", "taro@kizunashop.jp")
		if err != nil {
			t.Fatal(err)
		}
		if p, err := env.g.Lookup(ctx, "phone", "09012345678"); err != nil || p != taro {
			t.Fatalf("phone profile = %s, %v; want %s", p, err, taro)
		}
		ids := events(t, env.d, event.Identify)
		if len(ids) != 2 {
			t.Fatalf("identify events = %d, want 2", len(ids))
		}
		ev := ids[0]
		want := map[string]any{"email": "taro@kizunashop.jp", "phone": "+819012345678", "name": "山田 太郎", "birthday": "2025-01-02",
			"points": float64(12345), "newsletter": true, "会員ランク": "ゴールド"}
		if ev.ProfileID != taro || ev.AnonymousID != "kizuna:import" || ev.Source != event.SourceImport || ev.UserID != "" {
			t.Fatalf("identify = %+v", ev)
		}
		for k, v := range want {
			if ev.Traits[k] != v {
				t.Errorf("trait %s = %#v, want %#v", k, ev.Traits[k], v)
			}
		}
		if len(ev.Traits) != len(want) {
			t.Errorf("traits = %v", ev.Traits)
		}
		if ids[1].Traits["newsletter"] != false || ids[1].Traits["points"] != float64(0) {
			t.Errorf("second identify traits = %v", ids[1].Traits)
		}
		recs, err := env.crm.ForProfile(ctx, accounts.System(), taro)
		if err != nil || recs.Account == nil || recs.Account.ExternalID != "A-1" {
			t.Fatalf("taro's account = %+v, %v", recs.Account, err)
		}

		// Importing the same file again (as UTF-8 this time) changes nothing and emits nothing new.
		rep = run(t, env.im, imports.Input{Kind: "contacts", FileName: "顧客.csv", Body: strings.NewReader(file)})
		if rep.AppliedRows != 2 || rep.ChangedRows != 0 {
			t.Fatalf("re-import report = %+v", rep)
		}
		if n := len(events(t, env.d, event.Identify)); n != 2 {
			t.Fatalf("identify events after re-import = %d, want 2", n)
		}
		if n := count(t, env.d, "identity_profiles"); n != 2 {
			t.Fatalf("profiles = %d, want 2", n)
		}
		done := events(t, env.d, "Import Completed")
		if len(done) != 2 || done[0].Properties["import_id"] == "" || done[0].Properties["kind"] != "contacts" || done[0].Properties["rows"] != float64(2) {
			t.Fatalf("Import Completed = %+v", done)
		}

		got, err := env.im.Get(ctx, accounts.System(), rep.ID)
		if err != nil || got.Status != imports.StatusDone || got.AppliedRows != 2 || got.AppliedLine != 3 || got.FileName != "顧客.csv" || got.FinishedAt.IsZero() {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		list, next, err := env.im.List(ctx, accounts.System(), "", 1)
		if err != nil || len(list) != 1 || list[0].ID != rep.ID || next == "" {
			t.Fatalf("List = %+v, %q, %v", list, next, err)
		}
		list, next, err = env.im.List(ctx, accounts.System(), next, 1)
		if err != nil || len(list) != 1 || next != "" {
			t.Fatalf("List page 2 = %+v, %q, %v", list, next, err)
		}
	})
}

func TestImportCRMKinds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		env := setup(t, e)
		files := []struct{ kind, name, body string }{
			{"accounts", "会社.csv", "会社ID,会社名,業種,プラン,備考\nA-1,株式会社きずな,小売,エンタープライズ,大口\n"},
			{"purchases", "注文.csv", "注文番号,メールアドレス,金額,購入日,商品名,会社ID\n" +
				"O-1,ＨＡＮＡ＠ＫＩＺＵＮＡＳＨＯＰ．ＪＰ,\"￥１２,３４５\",令和7年1月2日,お茶セット,A-1\n" +
				"O-2,hana@kizunashop.jp,500円,2025/01/03,湯呑み,\n"},
			{"contracts", "契約.csv", "契約番号,会社ID,ステータス,開始日,更新日,契約金額\nC-1,A-1,契約中,2025/01/02,令和8年1月2日,\"１２,０００円\"\n"},
			{"tickets", "問い合わせ.csv", "チケット番号,メールアドレス,件名,状態,優先度,受付日\nT-1,hana@kizunashop.jp,ログインできない,対応中,高,2025-01-02\n"},
		}
		for _, f := range files {
			rep := run(t, env.im, imports.Input{Kind: f.kind, FileName: f.name, Body: bytes.NewReader(sjis(t, f.body))})
			if rep.AppliedRows != strings.Count(f.body, "\n")-1 || rep.ChangedRows != rep.AppliedRows {
				t.Fatalf("%s report = %+v", f.kind, rep)
			}
			if f.kind == "accounts" && (len(rep.IgnoredColumns) != 1 || rep.IgnoredColumns[0] != "備考") {
				t.Fatalf("ignored columns = %v", rep.IgnoredColumns)
			}
		}
		hana, err := env.g.Lookup(ctx, "email", "hana@kizunashop.jp")
		if err != nil {
			t.Fatal(err)
		}
		if err := env.crm.LinkProfileToAccount(ctx, accounts.System(), hana, "A-1"); err != nil {
			t.Fatal(err)
		}
		r, err := env.crm.ForProfile(ctx, accounts.System(), hana)
		if err != nil {
			t.Fatal(err)
		}
		if r.Account == nil || r.Account.Name != "株式会社きずな" || r.Account.Plan != "エンタープライズ" || r.Account.Industry != "小売" {
			t.Fatalf("account = %+v", r.Account)
		}
		if len(r.Purchases) != 2 || r.Purchases[1].AmountMinor != 12345 || r.Purchases[1].Currency != "JPY" ||
			!r.Purchases[1].PurchasedAt.Equal(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)) || r.Purchases[1].Product != "お茶セット" ||
			r.Purchases[1].AccountID != r.Account.ID || r.Purchases[0].AmountMinor != 500 {
			t.Fatalf("purchases = %+v", r.Purchases)
		}
		if len(r.Contracts) != 1 || r.Contracts[0].Status != "active" || r.Contracts[0].AmountMinor != 12000 ||
			!r.Contracts[0].RenewsOn.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("contracts = %+v", r.Contracts)
		}
		if len(r.Tickets) != 1 || r.Tickets[0].Status != "pending" || r.Tickets[0].Priority != "high" || r.Tickets[0].Subject != "ログインできない" {
			t.Fatalf("tickets = %+v", r.Tickets)
		}

		// Every file again: nothing changes, no change events.
		before := count(t, env.d, "outbox")
		for _, f := range files {
			rep := run(t, env.im, imports.Input{Kind: f.kind, FileName: f.name, Body: bytes.NewReader(sjis(t, f.body))})
			if rep.ChangedRows != 0 {
				t.Fatalf("%s re-import changed %d rows", f.kind, rep.ChangedRows)
			}
		}
		if after := count(t, env.d, "outbox"); after != before+len(files) { // one Import Completed each
			t.Fatalf("outbox grew by %d on re-import, want %d", after-before, len(files))
		}
		if n := count(t, env.d, "crm_purchases"); n != 2 {
			t.Fatalf("purchases = %d", n)
		}
	})
}

func TestImportBadRowsWriteNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		env := setup(t, e)
		file := "注文番号,メールアドレス,金額,購入日\n" +
			"O-1,a@kizunashop.jp,100,2025-01-02\n" + // line 2
			"O-2,b@kizunashop.jp,100,令和7年2月30日\n" + // line 3: no such day
			"O-3,c@kizunashop.jp,100,2025-01-02\n" +
			"O-4,d@kizunashop.jp,１２.５,2025-01-02\n" + // line 5: yen has no fraction
			"O-5,e@kizunashop.jp,100,2025-01-02\n"
		rep, err := env.im.Run(ctx, accounts.System(), imports.Input{Kind: "purchases", FileName: "bad.csv", Body: strings.NewReader(file)})
		if !errors.Is(err, imports.ErrRowsInvalid) || errs.KindOf(err) != errs.KindInvalid {
			t.Fatalf("err = %v", err)
		}
		if rep.Status != imports.StatusFailed || rep.ErrorCount != 2 || len(rep.Errors) != 2 || rep.AppliedRows != 0 || rep.TotalRows != 5 {
			t.Fatalf("report = %+v", rep)
		}
		if e := rep.Errors[0]; e.Line != 3 || e.Field != "purchased_at" || !strings.Contains(e.Message, "令和7年2月30日") {
			t.Errorf("first error = %+v", e)
		}
		if e := rep.Errors[1]; e.Line != 5 || e.Field != "amount" {
			t.Errorf("second error = %+v", e)
		}
		for _, table := range []string{"crm_purchases", "identity_profiles", "identity_identifiers"} {
			if n := count(t, env.d, table); n != 0 {
				t.Errorf("%s has %d rows after a failed import", table, n)
			}
		}
		if n := len(events(t, env.d, "Order Completed")); n != 0 {
			t.Errorf("Order Completed events = %d", n)
		}
		if f := events(t, env.d, "Import Failed"); len(f) != 1 || f[0].Properties["error_count"] != float64(2) {
			t.Errorf("Import Failed = %+v", f)
		}
		got, err := env.im.Get(ctx, accounts.System(), rep.ID)
		if err != nil || got.Status != imports.StatusFailed || len(got.Errors) != 2 || got.Errors[1].Line != 5 {
			t.Fatalf("Get = %+v, %v", got, err)
		}

		// Duplicate external ids, missing required fields, unknown accounts and placeholder-only
		// customers are caught before anything is written too.
		file = "id,email,amount,date,account_id\n" +
			"O-1,a@kizunashop.jp,100,2025-01-02,\n" +
			"O-1,b@kizunashop.jp,100,2025-01-02,\n" +
			"O-3,,100,2025-01-02,\n" +
			"O-4,test@example.com,100,2025-01-02,\n" +
			"O-5,c@kizunashop.jp,,2025-01-02,NOPE\n"
		rep, err = env.im.Run(ctx, accounts.System(), imports.Input{Kind: "purchases", Format: "csv", Body: strings.NewReader(file)})
		if !errors.Is(err, imports.ErrRowsInvalid) {
			t.Fatalf("err = %v", err)
		}
		var got2 []string
		for _, e := range rep.Errors {
			got2 = append(got2, e.String())
		}
		wantLines := []string{"3: external_id:", "4: customer:", "5: customer:", "6: amount:"}
		if len(got2) != len(wantLines) {
			t.Fatalf("errors = %q", got2)
		}
		for i, w := range wantLines {
			if !strings.HasPrefix(got2[i], w) {
				t.Errorf("error %d = %q, want %q…", i, got2[i], w)
			}
		}
		if !strings.Contains(got2[0], "line 2") {
			t.Errorf("duplicate error does not name the first line: %q", got2[0])
		}
		if n := count(t, env.d, "crm_purchases"); n != 0 {
			t.Errorf("purchases = %d", n)
		}
	})
}

func TestImportMappingAndJSONLines(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		env := setup(t, e)
		// Headers no default knows, named by a mapping; the mapping also leaves a column out and
		// overrides a default ("id" would be the external id).
		file := "No,Mail,Kingaku,Hi,id\nP-1,ken@kizunashop.jp,$12.50,2025-01-02,internal-7\n"
		mapping := map[string]string{"no": "external_id", "ＭＡＩＬ": "email", "Kingaku": "amount", "Hi": "purchased_at", "id": ""}
		rep := run(t, env.im, imports.Input{Kind: "purchases", FileName: "orders.csv", Body: strings.NewReader(file), Mapping: mapping})
		if rep.AppliedRows != 1 || len(rep.IgnoredColumns) != 0 {
			t.Fatalf("report = %+v", rep)
		}
		ken, err := env.g.Lookup(ctx, "email", "ken@kizunashop.jp")
		if err != nil {
			t.Fatal(err)
		}
		r, err := env.crm.ForProfile(ctx, accounts.System(), ken)
		if err != nil || len(r.Purchases) != 1 || r.Purchases[0].ExternalID != "P-1" || r.Purchases[0].AmountMinor != 1250 || r.Purchases[0].Currency != "USD" {
			t.Fatalf("purchases = %+v, %v", r.Purchases, err)
		}
		if _, err := env.im.Run(ctx, accounts.System(), imports.Input{Kind: "purchases", Format: "csv", Body: strings.NewReader(file),
			Mapping: map[string]string{"No": "order_number"}}); errs.KindOf(err) != errs.KindInvalid {
			t.Fatalf("mapping to an unknown field: %v", err)
		}

		// JSON Lines (from a reader that cannot seek, so it is spooled), with a CRM system for
		// crm_id, numbers as JSON numbers and an unknown key kept as a trait.
		jsonl := `{"crm_id":"0035g00000ABC","email":"ken@kizunashop.jp","name":"Ken","points":1200,"vip":true}` + "\n\n" +
			`{"crm_id":"0035g00000XYZ","電話番号":"03-1234-5678","会社名":"きずな商店"}` + "\n"
		rep = run(t, env.im, imports.Input{Kind: "contacts", FileName: "contacts.jsonl", Body: io.MultiReader(strings.NewReader(jsonl)),
			Options: imports.Options{CRMSystem: "Salesforce"}})
		if rep.AppliedRows != 2 || rep.AppliedLine != 3 || rep.Format != "jsonl" {
			t.Fatalf("report = %+v", rep)
		}
		if p, err := env.g.Lookup(ctx, "crm:salesforce", "0035g00000ABC"); err != nil || p != ken {
			t.Fatalf("crm id profile = %s, %v; want %s", p, err, ken)
		}
		ids := events(t, env.d, event.Identify)
		if len(ids) != 2 || ids[0].Traits["points"] != float64(1200) || ids[0].Traits["vip"] != "true" || ids[1].Traits["company"] != "きずな商店" ||
			ids[1].Traits["phone"] != "+81312345678" {
			t.Fatalf("identify events = %+v", ids)
		}
	})
}

func TestImportChunksInterruptAndResume(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		env := setup(t, e)
		var b strings.Builder
		b.WriteString("email,name\n")
		for i := range 10 {
			b.WriteString("user" + string(rune('a'+i)) + "@kizunashop.jp,User\n")
		}
		ctx, cancel := context.WithCancel(context.Background())
		var seen [][2]int
		in := imports.Input{Kind: "contacts", FileName: "c.csv", Body: strings.NewReader(b.String()), Options: imports.Options{ChunkRows: 4},
			Progress: func(done, total int) {
				seen = append(seen, [2]int{done, total})
				if total > 0 && done >= 4 {
					cancel() // the process is stopped after the first chunk
				}
			}}
		rep, err := env.im.Run(ctx, accounts.System(), in)
		if !errors.Is(err, context.Canceled) || rep.Status != imports.StatusInterrupted || rep.AppliedRows != 4 || rep.AppliedLine != 5 {
			t.Fatalf("interrupted run = %+v, %v", rep, err)
		}
		if n := count(t, env.d, "identity_profiles"); n != 4 {
			t.Fatalf("profiles after interruption = %d, want 4", n)
		}
		got, err := env.im.Get(context.Background(), accounts.System(), rep.ID)
		if err != nil || got.Status != imports.StatusInterrupted || got.AppliedLine != 5 || !strings.Contains(got.Message, "line 5") {
			t.Fatalf("record = %+v, %v", got, err)
		}
		if last := seen[len(seen)-1]; last != [2]int{4, 10} {
			t.Fatalf("progress = %v", seen)
		}

		// Running the file again finishes it; the first four rows change nothing.
		in.Body, in.Progress = strings.NewReader(b.String()), nil
		rep = run(t, env.im, in)
		if rep.AppliedRows != 10 || rep.ChangedRows != 6 || count(t, env.d, "identity_profiles") != 10 || len(events(t, env.d, event.Identify)) != 10 {
			t.Fatalf("resumed run = %+v", rep)
		}

		// A record left running by a process that died is marked interrupted at the next start.
		if _, err := env.d.W.Exec(`INSERT INTO imports (id, kind, format, status, created_by, created_at, updated_at, applied_rows, applied_line)
			VALUES ('dead', 'contacts', 'csv', 'running', 'system', 1, 1, 2000, 2001)`); err != nil {
			t.Fatal(err)
		}
		if n, err := env.im.MarkInterrupted(context.Background(), time.Now()); err != nil || n != 1 {
			t.Fatalf("MarkInterrupted = %d, %v", n, err)
		}
		if got, err := env.im.Get(context.Background(), accounts.System(), "dead"); err != nil || got.Status != imports.StatusInterrupted || got.AppliedLine != 2001 {
			t.Fatalf("dead import = %+v, %v", got, err)
		}
	})
}

func TestImportDryRunAndPermissions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		env := setup(t, e)
		file := "会社ID,会社名\nA-1,きずな\n"
		rep, err := env.im.Run(ctx, accounts.System(), imports.Input{Kind: "accounts", FileName: "a.csv", Body: strings.NewReader(file), DryRun: true})
		if err != nil || rep.Status != imports.StatusValid || rep.TotalRows != 1 {
			t.Fatalf("dry run = %+v, %v", rep, err)
		}
		if count(t, env.d, "crm_accounts")+count(t, env.d, "imports")+count(t, env.d, "outbox") != 0 {
			t.Fatal("a dry run wrote something")
		}
		member := accounts.Principal{MemberID: "m1", Role: accounts.RoleMember}
		if _, err := env.im.Run(ctx, member, imports.Input{Kind: "accounts", FileName: "a.csv", Body: strings.NewReader(file)}); errs.KindOf(err) != errs.KindForbidden {
			t.Fatalf("member import: %v", err)
		}
		if _, _, err := env.im.List(ctx, member, "", 10); errs.KindOf(err) != errs.KindForbidden {
			t.Fatalf("member list: %v", err)
		}
		if _, err := env.im.Run(ctx, accounts.System(), imports.Input{Kind: "leads", FileName: "a.csv", Body: strings.NewReader(file)}); errs.KindOf(err) != errs.KindInvalid {
			t.Fatalf("unknown kind: %v", err)
		}
		if _, err := env.im.Run(ctx, accounts.System(), imports.Input{Kind: "accounts", FileName: "a.xlsx", Body: strings.NewReader(file)}); errs.KindOf(err) != errs.KindInvalid {
			t.Fatalf("unknown format: %v", err)
		}
		// An empty file is a fault of line 1.
		rep, err = env.im.Run(ctx, accounts.System(), imports.Input{Kind: "accounts", FileName: "a.csv", Body: strings.NewReader("")})
		if !errors.Is(err, imports.ErrRowsInvalid) || len(rep.Errors) != 1 || rep.Errors[0].Line != 1 {
			t.Fatalf("empty file = %+v, %v", rep, err)
		}
	})
}

// A row that fails while applying (here: its account was deleted after validation) stops the
// import; the rows of the chunks before it stay in and the record says up to which line.
func TestImportFailureWhileApplyingSaysWhatWentIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		env := setup(t, e)
		seedAccount(t, env.crm, "A-1")
		file := "注文番号,メールアドレス,金額,購入日,会社ID\n" +
			"O-1,a@kizunashop.jp,100,2025-01-02,\n" +
			"O-2,b@kizunashop.jp,100,2025-01-02,\n" +
			"O-3,c@kizunashop.jp,100,2025-01-02,A-1\n" +
			"O-4,d@kizunashop.jp,100,2025-01-02,\n"
		in := imports.Input{Kind: "purchases", FileName: "o.csv", Body: strings.NewReader(file), Options: imports.Options{ChunkRows: 2},
			Progress: func(done, total int) {
				if total > 0 && done == 0 {
					if _, err := env.d.W.Exec(`DELETE FROM crm_accounts WHERE external_id = 'A-1'`); err != nil {
						t.Error(err)
					}
				}
			}}
		rep, err := env.im.Run(ctx, accounts.System(), in)
		if errs.KindOf(err) != errs.KindInvalid || rep.Status != imports.StatusFailed || rep.AppliedRows != 2 || rep.AppliedLine != 3 ||
			len(rep.Errors) != 1 || rep.Errors[0].Line != 4 || rep.Errors[0].Field != "account_external_id" || !strings.Contains(rep.Message, "line 3 (2 rows)") {
			t.Fatalf("report = %+v, %v", rep, err)
		}
		if n := count(t, env.d, "crm_purchases"); n != 2 {
			t.Fatalf("purchases = %d, want the 2 of the first chunk", n)
		}
		got, err := env.im.Get(ctx, accounts.System(), rep.ID)
		if err != nil || got.Status != imports.StatusFailed || got.AppliedLine != 3 || got.AppliedRows != 2 {
			t.Fatalf("record = %+v, %v", got, err)
		}
		if f := events(t, env.d, "Import Failed"); len(f) != 1 || f[0].Properties["applied_rows"] != float64(2) {
			t.Fatalf("Import Failed = %+v", f)
		}
	})
}
