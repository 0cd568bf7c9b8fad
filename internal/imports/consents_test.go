package imports_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/imports"
)

func TestImportConsents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		env := setup(t, e)
		tokyo, _ := time.LoadLocation("Asia/Tokyo")

		// A Japanese CRM export: Japanese headers and values, local times without an offset, a
		// full-width address, an era date and a third party written the Japanese way.
		file := "メールアドレス,チャネル,目的,同意状況,同意日時,文言バージョン\r\n" +
			"ＴＡＲＯ＠ＫＩＺＵＮＡＳＨＯＰ．ＪＰ,メール,マーケティング,同意,2025/04/01 10:30,crm-v2\r\n" +
			"taro@kizunashop.jp,LINE,お知らせ,オプトイン,令和7年4月2日,\r\n" +
			"hanako@kizunashop.jp,Ｅメール,第三者提供：MA,拒否,2025-04-03T09:00:00+09:00,\r\n"
		rep := run(t, env.im, imports.Input{Kind: "consents", FileName: "同意.csv", Body: strings.NewReader(file)})
		if rep.TotalRows != 3 || rep.ChangedRows != 3 || len(rep.IgnoredColumns) != 0 {
			t.Fatalf("report = %+v", rep)
		}
		taro, err := env.g.Lookup(ctx, "email", "taro@kizunashop.jp")
		if err != nil {
			t.Fatal(err)
		}
		d, err := env.l.May(ctx, taro, consent.ChannelEmail, consent.PurposeMarketing, "")
		if err != nil || !d.Allowed || d.Record.Source != consent.SourceImport || d.Record.ImportID != rep.ID || d.Record.TextVersion != "crm-v2" ||
			!d.Record.RecordedAt.Equal(time.Date(2025, 4, 1, 10, 30, 0, 0, tokyo)) || d.Record.RecordedBy != "system" {
			t.Fatalf("taro email marketing: %+v %+v %v", d, d.Record, err)
		}
		d, err = env.l.May(ctx, taro, consent.ChannelLINE, consent.PurposeProductNews, "")
		if err != nil || !d.Allowed || !d.Record.RecordedAt.Equal(time.Date(2025, 4, 2, 0, 0, 0, 0, tokyo)) {
			t.Fatalf("taro LINE news: %+v %v", d, err)
		}
		hanako, err := env.g.Lookup(ctx, "email", "hanako@kizunashop.jp")
		if err != nil {
			t.Fatal(err)
		}
		d, err = env.l.May(ctx, hanako, consent.ChannelEmail, consent.ThirdParty("ma"), "")
		if err != nil || d.Allowed || d.Reason != consent.ReasonOptedOut {
			t.Fatalf("hanako MA: %+v %v", d, err)
		}
		evs := events(t, env.d, "Consent Updated")
		if len(evs) != 3 || evs[0].Source != event.SourceImport || evs[0].ProfileID != taro || evs[2].Properties["destination"] != "ma" {
			t.Fatalf("events %+v", evs)
		}

		// The same file again changes nothing.
		again := run(t, env.im, imports.Input{Kind: "consents", FileName: "同意.csv", Body: strings.NewReader(file)})
		if again.ChangedRows != 0 || count(t, env.d, "consent_records") != 3 || len(events(t, env.d, "Consent Updated")) != 3 {
			t.Fatalf("second run: %+v, %d records", again, count(t, env.d, "consent_records"))
		}

		// English headers in JSON Lines, the CRM's own id, a later opt-out of the marketing mail.
		jsonl := `{"crm_id":"C-77","email":"taro@kizunashop.jp","channel":"email","purpose":"marketing","consent_status":"unsubscribed","consented_at":"2025-06-01T12:00:00Z","ip_address":"198.51.100.4"}` + "\n" +
			`{"crm_id":"C-78","channel":"SMS","purpose":"survey","consent_status":"yes","date":"2025-06-02 08:00","ua":"CRM form"}` + "\n"
		rep = run(t, env.im, imports.Input{Kind: "consents", FileName: "consents.jsonl", Body: strings.NewReader(jsonl),
			Options: imports.Options{CRMSystem: "salesforce", TimeZone: "UTC"}})
		if rep.ChangedRows != 2 {
			t.Fatalf("jsonl report %+v", rep)
		}
		d, err = env.l.May(ctx, taro, consent.ChannelEmail, consent.PurposeMarketing, "taro@kizunashop.jp")
		if err != nil || d.Allowed || d.Reason != consent.ReasonOptedOut || d.Record.IP != "198.51.100.4" {
			t.Fatalf("after the opt-out: %+v %v", d, err)
		}
		c78, err := env.g.Lookup(ctx, "crm:salesforce", "C-78")
		if err != nil {
			t.Fatal(err)
		}
		d, err = env.l.May(ctx, c78, consent.ChannelSMS, consent.PurposeResearch, "")
		if err != nil || !d.Allowed || !d.Record.RecordedAt.Equal(time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)) || d.Record.UserAgent != "CRM form" {
			t.Fatalf("C-78 research: %+v %v", d, err)
		}

		// A file with faults writes nothing, and the report names each line and field.
		records := count(t, env.d, "consent_records")
		bad := "email,channel,purpose,status,recorded_at,text_version\n" +
			"ok@kizunashop.jp,email,marketing,opted_in,2025-04-01,\n" + // line 2 is fine
			"a@kizunashop.jp,fax,marketing,opted_in,2025-04-01,\n" +
			"b@kizunashop.jp,email,spam,opted_in,2025-04-01,\n" +
			"c@kizunashop.jp,email,marketing,perhaps,2025-04-01,\n" +
			"d@kizunashop.jp,email,marketing,opted_in,2999-01-01,\n" +
			",email,marketing,opted_in,2025-04-01,\n" +
			"e@kizunashop.jp,email,marketing,opted_in,,\n" +
			"f@kizunashop.jp,email,third_party:,opted_in,2025-04-01,\n"
		rep, err = env.im.Run(ctx, accounts.System(), imports.Input{Kind: "consents", FileName: "bad.csv", Body: bytes.NewReader([]byte(bad))})
		if errs.KindOf(err) != errs.KindInvalid || rep.Status != imports.StatusFailed {
			t.Fatalf("bad file: %v %+v", err, rep)
		}
		var got []string
		for _, re := range rep.Errors {
			got = append(got, strconv.Itoa(re.Line)+":"+re.Field)
		}
		want := []string{"3:channel", "4:purpose", "5:status", "6:recorded_at", "7:customer", "8:recorded_at", "9:purpose"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("errors %q, want %q (%+v)", got, want, rep.Errors)
		}
		if n := count(t, env.d, "consent_records"); n != records {
			t.Fatalf("a failed import wrote %d records", n-records)
		}
		if _, err := env.im.Run(ctx, accounts.System(), imports.Input{Kind: "consents", FileName: "x.csv", Body: strings.NewReader(file),
			Options: imports.Options{TimeZone: "Mars/Olympus"}}); errs.KindOf(err) != errs.KindInvalid {
			t.Fatalf("bad time zone: %v", err)
		}
	})
}
