package consent_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// env is the ledger on a fresh database of one engine, with a clock that moves a millisecond per
// call (so "later" is always well defined).
type env struct {
	t   *testing.T
	db  *db.DB
	g   *identity.Graph
	l   *consent.Ledger
	acc *accounts.Service
	now time.Time
}

func newEnv(t *testing.T, e db.Engine) *env {
	t.Helper()
	d := dbtest.Open(t, e, backbone.Migrations(), accounts.Migrations(), identity.Migrations(), consent.Migrations())
	v := &env{t: t, db: d, now: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time { v.now = v.now.Add(time.Millisecond); return v.now }
	ob := backbone.NewOutbox(d)
	v.g = identity.New(identity.Deps{DB: d, Outbox: ob, Now: clock})
	v.acc = accounts.New(accounts.Deps{DB: d, Outbox: ob, HashParams: accounts.TestHashParams(), Now: clock})
	v.l = consent.New(consent.Deps{DB: d, Outbox: ob, Identity: v.g, Accounts: v.acc, Now: clock})
	return v
}

func (v *env) profile(ids ...identity.ID) string {
	v.t.Helper()
	var p string
	err := v.db.Tx(context.Background(), func(tx *sql.Tx) (err error) {
		p, err = v.g.Resolve(context.Background(), tx, ids, "test")
		return err
	})
	if err != nil {
		v.t.Fatal(err)
	}
	return p
}

// consentEvents returns the Consent Updated events in the outbox, oldest first.
func (v *env) consentEvents() []event.Event {
	v.t.Helper()
	rows, err := v.db.R.Query(`SELECT payload FROM outbox ORDER BY seq`)
	if err != nil {
		v.t.Fatal(err)
	}
	defer rows.Close()
	var out []event.Event
	for rows.Next() {
		var s string
		var ev event.Event
		if err := rows.Scan(&s); err != nil {
			v.t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(s), &ev); err != nil {
			v.t.Fatal(err)
		}
		if ev.Event == "Consent Updated" {
			out = append(out, ev)
		}
	}
	return out
}

func (v *env) count(table string) int {
	v.t.Helper()
	var n int
	if err := v.db.R.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		v.t.Fatal(err)
	}
	return n
}

func (v *env) may(pid string, ch consent.Channel, pu consent.Purpose, addr string) consent.Decision {
	v.t.Helper()
	d, err := v.l.May(context.Background(), pid, ch, pu, addr)
	if err != nil {
		v.t.Fatalf("May(%s, %s, %s): %v", ch, pu, addr, err)
	}
	return d
}

// invalid fails unless err is an errs.Invalid on field (inside a *BatchError at index, when index >= 0).
func invalid(t *testing.T, err error, index int, field string) {
	t.Helper()
	if index >= 0 {
		var be *consent.BatchError
		if !errors.As(err, &be) || be.Index != index {
			t.Fatalf("err = %v, want an error about input %d", err, index)
		}
	}
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.KindInvalid || e.Field != field {
		t.Fatalf("err = %v, want invalid %s", err, field)
	}
}

func TestRecordAndRead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		ctx := context.Background()
		sys := accounts.System()
		pid := v.profile(identity.ID{Type: "email", Value: "hanako@sakura.co.jp"})
		t0 := v.now

		// Bad input names the input and its field, and nothing is written.
		good := consent.Input{Channel: consent.ChannelEmail, Purpose: consent.PurposeMarketing, Status: consent.StatusOptedIn}
		for _, c := range []struct {
			bad   consent.Input
			field string
		}{
			{consent.Input{Channel: "fax", Purpose: "marketing", Status: "opted_in"}, "channel"},
			{consent.Input{Purpose: "marketing", Status: "opted_in"}, "channel"},
			{consent.Input{Channel: "email", Purpose: "spam", Status: "opted_in"}, "purpose"},
			{consent.Input{Channel: "email", Purpose: "third_party:", Status: "opted_in"}, "purpose"},
			{consent.Input{Channel: "email", Purpose: "third_party:Sales Force", Status: "opted_in"}, "purpose"},
			{consent.Input{Channel: "email", Purpose: "marketing", Status: "maybe"}, "status"},
			{consent.Input{Channel: "email", Purpose: "marketing", Status: "opted_in", Source: "carrier_pigeon"}, "source"},
			{consent.Input{Channel: "email", Purpose: "marketing", Status: "opted_in", RecordedAt: t0.Add(time.Hour)}, "recorded_at"},
			{consent.Input{Channel: "email", Purpose: "marketing", Status: "opted_in", Source: consent.SourceSignupForm}, "text_version"},
			{consent.Input{Channel: "email", Purpose: "marketing", Status: "opted_in", IP: "300.1.1.1"}, "ip"},
		} {
			_, err := v.l.Record(ctx, sys, pid, []consent.Input{good, c.bad})
			invalid(t, err, 1, c.field)
		}
		if _, err := v.l.Record(ctx, sys, pid, nil); errs.KindOf(err) != errs.KindInvalid {
			t.Fatalf("no inputs: %v", err)
		}
		if n := v.count("consent_records"); n != 0 {
			t.Fatalf("%d records written by refused calls", n)
		}
		if _, err := v.l.Record(ctx, sys, "nobody", []consent.Input{good}); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("unknown profile: %v", err)
		}
		member := accounts.Principal{MemberID: "m-1", Role: accounts.RoleMember}
		if _, err := v.l.Record(ctx, member, pid, []consent.Input{good}); errs.KindOf(err) != errs.KindForbidden {
			t.Fatalf("a member recorded consent for someone: %v", err)
		}
		reader := accounts.Principal{Role: accounts.RoleAdmin, APIKeyID: "k-1", Scopes: []accounts.Scope{accounts.ScopeRead}}
		if _, err := v.l.Record(ctx, reader, pid, []consent.Input{good}); errs.KindOf(err) != errs.KindForbidden {
			t.Fatalf("a read key recorded consent: %v", err)
		}

		// The person signs up with marketing mail (wording v3), later unsubscribes.
		signup := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
		recs, err := v.l.Record(ctx, sys, pid, []consent.Input{
			{Channel: "email", Purpose: "marketing", Status: "opted_in", RecordedAt: signup, Source: consent.SourceSignupForm,
				TextVersion: "signup-v3", IP: "::ffff:203.0.113.7", UserAgent: "Mozilla/5.0 (iPhone)"},
			{Channel: "EMAIL", Purpose: " Product_News ", Status: "opted_in", RecordedAt: signup, Source: consent.SourceSignupForm, TextVersion: "signup-v3"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if r := recs[0]; r.IP != "203.0.113.7" || r.RecordedBy != "system" || r.Source != consent.SourceSignupForm || !r.RecordedAt.Equal(signup) ||
			r.ProfileID != pid || recs[1].Purpose != consent.PurposeProductNews || recs[1].Channel != consent.ChannelEmail {
			t.Fatalf("recorded %+v", recs)
		}
		unsub := signup.Add(48 * time.Hour)
		if _, err := v.l.Record(ctx, sys, pid, []consent.Input{{Channel: "email", Purpose: "marketing", Status: "opted_out", RecordedAt: unsub,
			Source: consent.SourceUnsubscribeLink}}); err != nil {
			t.Fatal(err)
		}
		// The CRM's export, imported today, still has the opt-in of a year ago: history, not current.
		old, added, err := applyOne(v, pid, consent.Input{Channel: "email", Purpose: "marketing", Status: "opted_in",
			RecordedAt: signup.AddDate(-1, 0, 0), Source: consent.SourceImport})
		if err != nil || !added {
			t.Fatal(err, added)
		}
		// A retried request stores nothing new.
		again, added, err := applyOne(v, pid, consent.Input{Channel: "email", Purpose: "marketing", Status: "opted_out", RecordedAt: unsub,
			Source: consent.SourceUnsubscribeLink})
		if err != nil || added || again.Status != consent.StatusOptedOut {
			t.Fatalf("repeat: %+v added %v err %v", again, added, err)
		}

		cur, err := v.l.Current(ctx, sys, pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(cur) != 2 || cur[0].Purpose != consent.PurposeMarketing || cur[0].Status != consent.StatusOptedOut ||
			cur[1].Purpose != consent.PurposeProductNews || cur[1].Status != consent.StatusOptedIn {
			t.Fatalf("current %+v", cur)
		}
		hist, next, err := v.l.History(ctx, sys, pid, "", 2)
		if err != nil {
			t.Fatal(err)
		}
		more, end, err := v.l.History(ctx, sys, pid, next, 2)
		if err != nil {
			t.Fatal(err)
		}
		all := append(hist, more...)
		if len(all) != 4 || next == "" || end != "" || all[0].Status != consent.StatusOptedOut || all[3].ID != old.ID {
			t.Fatalf("history %+v next %q end %q", all, next, end)
		}
		if _, _, err := v.l.History(ctx, sys, pid, "garbage", 2); errs.KindOf(err) != errs.KindInvalid {
			t.Fatalf("bad cursor: %v", err)
		}
		if d := v.may(pid, consent.ChannelEmail, consent.PurposeMarketing, "hanako@sakura.co.jp"); d.Allowed || d.Reason != consent.ReasonOptedOut {
			t.Fatalf("after unsubscribing: %+v", d)
		}
		if d := v.may(pid, consent.ChannelEmail, consent.PurposeProductNews, ""); !d.Allowed || d.Reason != consent.ReasonOptedIn ||
			d.Record == nil || d.Record.TextVersion != "signup-v3" {
			t.Fatalf("product news: %+v", d)
		}

		// One event per change of a current status, none for history or repeats.
		evs := v.consentEvents()
		var got []string
		for _, ev := range evs {
			if ev.ProfileID != pid || ev.AnonymousID != "kizuna:consent" || ev.UserID != "" {
				t.Fatalf("event %+v", ev)
			}
			got = append(got, ev.Properties["purpose"].(string)+" "+ev.Properties["previous_status"].(string)+"→"+ev.Properties["status"].(string))
		}
		want := []string{"marketing unknown→opted_in", "product_news unknown→opted_in", "marketing opted_in→opted_out"}
		if !slices.Equal(got, want) {
			t.Fatalf("events %q, want %q", got, want)
		}
		if !evs[2].Timestamp.Equal(unsub) || evs[2].Properties["source"] != "unsubscribe_link" {
			t.Fatalf("opt-out event %+v", evs[2])
		}
	})
}

func applyOne(v *env, pid string, in consent.Input) (consent.Record, bool, error) {
	var recs []consent.Record
	var added []bool
	err := v.db.Tx(context.Background(), func(tx *sql.Tx) (err error) {
		recs, added, err = v.l.Apply(context.Background(), tx, consent.Recording{Actor: "system", ProfileID: pid, Inputs: []consent.Input{in}, Now: v.now})
		return err
	})
	if err != nil {
		return consent.Record{}, false, err
	}
	return recs[0], added[0], nil
}

// TestMergeFamily: consent is read across the merge family, latest statement wins, and undoing
// the merge gives each side its own answers back.
func TestMergeFamily(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		ctx := context.Background()
		sys := accounts.System()
		crmSide := v.profile(identity.ID{Type: "email", Value: "ken@kizuna-shop.co.jp"})
		webSide := v.profile(identity.ID{Type: "anonymous_id", Value: "browser-1"})
		day := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
		rec := func(pid string, st consent.Status, at time.Time) {
			t.Helper()
			if _, err := v.l.Record(ctx, sys, pid, []consent.Input{{Channel: "email", Purpose: "marketing", Status: st, RecordedAt: at}}); err != nil {
				t.Fatal(err)
			}
		}
		rec(crmSide, consent.StatusOptedIn, day)
		rec(webSide, consent.StatusOptedOut, day.Add(time.Hour)) // the browser unsubscribed later
		if d := v.may(crmSide, "email", "marketing", "ken@kizuna-shop.co.jp"); !d.Allowed {
			t.Fatalf("before the merge the CRM side is opted in: %+v", d)
		}
		// An identify joins them.
		root := v.profile(identity.ID{Type: "email", Value: "ken@kizuna-shop.co.jp"}, identity.ID{Type: "anonymous_id", Value: "browser-1"})
		for _, pid := range []string{crmSide, webSide} {
			if d := v.may(pid, "email", "marketing", ""); d.Allowed || d.Reason != consent.ReasonOptedOut || d.Record.ProfileID != webSide {
				t.Fatalf("after the merge, asked as %s: %+v", pid, d)
			}
		}
		cur, err := v.l.Current(ctx, sys, root)
		if err != nil || len(cur) != 1 || cur[0].Status != consent.StatusOptedOut {
			t.Fatalf("current %+v %v", cur, err)
		}
		hist, _, err := v.l.History(ctx, sys, root, "", 10)
		if err != nil || len(hist) != 2 {
			t.Fatalf("history across the family %+v %v", hist, err)
		}
		// Recording on the merged-away id counts for the person.
		rec(webSide, consent.StatusOptedIn, day.Add(2*time.Hour))
		if d := v.may(root, "email", "marketing", ""); !d.Allowed {
			t.Fatalf("opted in again: %+v", d)
		}
		ms, err := v.g.Merges(ctx, root)
		if err != nil || len(ms) != 1 {
			t.Fatalf("merges %+v %v", ms, err)
		}
		if err := v.g.Unmerge(ctx, ms[0].ID); err != nil {
			t.Fatal(err)
		}
		if d := v.may(crmSide, "email", "marketing", ""); !d.Allowed || d.Record.ProfileID != crmSide || !d.Record.RecordedAt.Equal(day) {
			t.Fatalf("CRM side after the undo: %+v", d)
		}
		if d := v.may(webSide, "email", "marketing", "ken@kizuna-shop.co.jp"); !d.Allowed || d.Record.ProfileID != webSide {
			t.Fatalf("web side after the undo: %+v", d)
		}
	})
}

func TestSuppressionList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		ctx := context.Background()
		sys := accounts.System()
		marketer := accounts.Principal{MemberID: "m-mkt", Role: accounts.RoleMarketer}
		pid := v.profile(identity.ID{Type: "email", Value: "taro@sakura-mail.jp"}, identity.ID{Type: "phone", Value: "090-1234-5678"})
		if _, err := v.l.Record(ctx, sys, pid, []consent.Input{
			{Channel: "email", Purpose: "marketing", Status: "opted_in"},
			{Channel: "sms", Purpose: "marketing", Status: "opted_in"},
		}); err != nil {
			t.Fatal(err)
		}

		for _, c := range []struct {
			in    consent.SuppressionInput
			field string
		}{
			{consent.SuppressionInput{Channel: "pager", Value: "x", Reason: "manual"}, "channel"},
			{consent.SuppressionInput{Channel: "email", Value: "not-an-address", Reason: "manual"}, "value"},
			{consent.SuppressionInput{Channel: "sms", Value: "12", Reason: "manual"}, "value"},
			{consent.SuppressionInput{Channel: "line", Value: "taro", Reason: "manual"}, "value"},
			{consent.SuppressionInput{Channel: "web_push", Value: "http://push.example/1", Reason: "manual"}, "value"},
			{consent.SuppressionInput{Channel: "email", Value: "taro@sakura-mail.jp", Reason: "bored"}, "reason"},
			{consent.SuppressionInput{Channel: "email", Value: "taro@sakura-mail.jp"}, "reason"},
		} {
			_, _, err := v.l.Suppress(ctx, marketer, c.in)
			invalid(t, err, -1, c.field)
		}
		analyst := accounts.Principal{MemberID: "m-an", Role: accounts.RoleAnalyst}
		if _, _, err := v.l.Suppress(ctx, analyst, consent.SuppressionInput{Channel: "email", Value: "taro@sakura-mail.jp", Reason: "manual"}); errs.KindOf(err) != errs.KindForbidden {
			t.Fatalf("an analyst suppressed: %v", err)
		}

		// A hard bounce, reported in the spelling the mail server used.
		s, added, err := v.l.Suppress(ctx, marketer, consent.SuppressionInput{Channel: "email", Value: "<TARO@Sakura-Mail.JP>", Reason: "hard_bounce", Note: "550 5.1.1 user unknown"})
		if err != nil || !added || s.Value != "taro@sakura-mail.jp" || s.CreatedBy != "m-mkt" {
			t.Fatalf("suppress: %+v %v %v", s, added, err)
		}
		if s2, added, err := v.l.Suppress(ctx, marketer, consent.SuppressionInput{Channel: "email", Value: "taro@sakura-mail.jp", Reason: "hard_bounce"}); err != nil || added || s2.ID != s.ID {
			t.Fatalf("again: %+v %v %v", s2, added, err)
		}
		if d := v.may(pid, "email", "marketing", "ｔａｒｏ＠ｓａｋｕｒａ－ｍａｉｌ．ｊｐ"); d.Allowed || d.Suppression != consent.SuppressHardBounce || d.Status != consent.StatusOptedIn {
			t.Fatalf("bounced address: %+v", d)
		}
		if d := v.may(pid, "email", "service", ""); d.Allowed || d.Suppression != consent.SuppressHardBounce {
			t.Fatalf("bounced address, found from the profile: %+v", d)
		}
		if d := v.may(pid, "sms", "marketing", ""); !d.Allowed {
			t.Fatalf("a bounce on email does not stop SMS: %+v", d)
		}
		if d := v.may(pid, "email", "marketing", "other@sakura-mail.jp"); !d.Allowed {
			t.Fatalf("another address of the person is not suppressed: %+v", d)
		}
		// A complaint on SMS, given as the person typed their number.
		if _, _, err := v.l.Suppress(ctx, marketer, consent.SuppressionInput{Channel: "sms", Value: "０９０－１２３４－５６７８", Reason: "complaint"}); err != nil {
			t.Fatal(err)
		}
		if d := v.may(pid, "sms", "marketing", "+819012345678"); d.Allowed || d.Suppression != consent.SuppressComplaint {
			t.Fatalf("complained number, marketing: %+v", d)
		}
		if d := v.may(pid, "sms", "service", "+819012345678"); !d.Allowed || d.Reason != consent.ReasonTransactional {
			t.Fatalf("complained number, service: %+v", d)
		}
		if d := v.may(pid, "phone", "marketing", "+819012345678"); d.Reason != consent.ReasonNoConsent {
			t.Fatalf("a complaint on SMS is not one on phone calls: %+v", d)
		}

		list, next, err := v.l.Suppressions(ctx, sys, consent.SuppressionFilter{}, "", 1)
		if err != nil || len(list) != 1 || next == "" || list[0].Channel != "sms" || list[0].Value != "+819012345678" {
			t.Fatalf("list %+v %q %v", list, next, err)
		}
		rest, end, err := v.l.Suppressions(ctx, sys, consent.SuppressionFilter{}, next, 1)
		if err != nil || len(rest) != 1 || end != "" || rest[0].ID != s.ID || rest[0].Note != "550 5.1.1 user unknown" {
			t.Fatalf("rest %+v %q %v", rest, end, err)
		}
		if l, _, err := v.l.Suppressions(ctx, sys, consent.SuppressionFilter{Reason: "complaint"}, "", 10); err != nil || len(l) != 1 {
			t.Fatalf("by reason %+v %v", l, err)
		}
		if l, _, err := v.l.Suppressions(ctx, sys, consent.SuppressionFilter{Channel: "email", Value: "Taro@sakura-mail.jp"}, "", 10); err != nil || len(l) != 1 || l[0].ID != s.ID {
			t.Fatalf("by address %+v %v", l, err)
		}
		if _, _, err := v.l.Suppressions(ctx, sys, consent.SuppressionFilter{Value: "taro@sakura-mail.jp"}, "", 10); errs.KindOf(err) != errs.KindInvalid {
			t.Fatalf("an address without a channel: %v", err)
		}
		of, err := v.l.SuppressionsOf(ctx, sys, pid)
		if err != nil || len(of) != 2 {
			t.Fatalf("suppressions of the profile %+v %v", of, err)
		}

		// The person is erased: the list keeps only a hash of their addresses.
		if _, _, err := v.l.Suppress(ctx, marketer, consent.SuppressionInput{Channel: "email", Value: "taro@sakura-mail.jp", Reason: "erased"}); err != nil {
			t.Fatal(err)
		}
		var clear int
		if err := v.db.R.QueryRow(`SELECT COUNT(*) FROM consent_suppressions WHERE value LIKE '%taro%'`).Scan(&clear); err != nil || clear != 0 {
			t.Fatalf("%d entries keep the erased address (%v)", clear, err)
		}
		if d := v.may(pid, "email", "third_party:crm", "taro@sakura-mail.jp"); d.Allowed || d.Suppression != consent.SuppressErased {
			t.Fatalf("erased address, third party: %+v", d)
		}
		if s, _, err := v.l.Suppress(ctx, marketer, consent.SuppressionInput{Channel: "email", Value: "taro@sakura-mail.jp", Reason: "manual"}); err != nil || s.Value != "" {
			t.Fatalf("a later entry for an erased address keeps it: %+v %v", s, err)
		}

		// Taking an address off needs the admin permission; the address still finds its entries.
		if _, err := v.l.Unsuppress(ctx, marketer, "email", "taro@sakura-mail.jp", ""); errs.KindOf(err) != errs.KindForbidden {
			t.Fatalf("a marketer unsuppressed: %v", err)
		}
		if n, err := v.l.Unsuppress(ctx, sys, "email", "taro@sakura-mail.jp", "hard_bounce"); err != nil || n != 1 {
			t.Fatalf("unsuppress one reason: %d %v", n, err)
		}
		if n, err := v.l.Unsuppress(ctx, sys, "email", "TARO@sakura-mail.jp", ""); err != nil || n != 2 {
			t.Fatalf("unsuppress the rest: %d %v", n, err)
		}
		if _, err := v.l.Unsuppress(ctx, sys, "email", "taro@sakura-mail.jp", ""); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("nothing left: %v", err)
		}
		if d := v.may(pid, "email", "marketing", "taro@sakura-mail.jp"); !d.Allowed {
			t.Fatalf("after removal: %+v", d)
		}
		entries, _, err := v.acc.ListAudit(ctx, sys, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, a := range entries {
			actions = append(actions, a.Action)
		}
		if !slices.Contains(actions, "suppression.added") || !slices.Contains(actions, "suppression.removed") {
			t.Fatalf("audit %q", actions)
		}
	})
}

func TestProvisions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		ctx := context.Background()
		a := v.profile(identity.ID{Type: "email", Value: "yui@sakura-mail.jp"})
		b := v.profile(identity.ID{Type: "user_id", Value: "u-yui"})
		day := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
		if _, err := v.l.RecordProvision(ctx, a, " ", []string{"email"}, consent.BasisConsent, day); errs.KindOf(err) != errs.KindInvalid {
			t.Fatal(err)
		}
		_, err := v.l.RecordProvision(ctx, a, "Salesforce", nil, consent.BasisConsent, day)
		invalid(t, err, -1, "items")
		_, err = v.l.RecordProvision(ctx, a, "Salesforce", []string{"email", " "}, consent.BasisConsent, day)
		invalid(t, err, -1, "items")
		_, err = v.l.RecordProvision(ctx, a, "Salesforce", []string{"email"}, "because", day)
		invalid(t, err, -1, "basis")
		_, err = v.l.RecordProvision(ctx, a, "Salesforce", []string{"email"}, consent.BasisConsent, v.now.Add(time.Hour))
		invalid(t, err, -1, "provided_at")
		if _, err := v.l.RecordProvision(ctx, "nobody", "Salesforce", []string{"email"}, consent.BasisConsent, day); errs.KindOf(err) != errs.KindNotFound {
			t.Fatal(err)
		}
		p1, err := v.l.RecordProvision(ctx, a, "Salesforce (crm)", []string{"email", "name", "email"}, consent.BasisConsent, day)
		if err != nil || !slices.Equal(p1.Items, []string{"email", "name"}) || p1.RecordedBy != "system" {
			t.Fatalf("%+v %v", p1, err)
		}
		if _, err := v.l.RecordProvision(ctx, b, "配送業者 (委託)", []string{"name", "address"}, consent.BasisEntrustment, day.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		root := v.profile(identity.ID{Type: "email", Value: "yui@sakura-mail.jp"}, identity.ID{Type: "user_id", Value: "u-yui"})
		list, err := v.l.Provisions(ctx, accounts.System(), root)
		if err != nil || len(list) != 2 || list[0].Basis != consent.BasisEntrustment || list[1].ID != p1.ID || !list[1].ProvidedAt.Equal(day) {
			t.Fatalf("provisions %+v %v", list, err)
		}
		member := accounts.Principal{MemberID: "m-1", Role: accounts.RoleMember}
		if _, err := v.l.Provisions(ctx, member, root); errs.KindOf(err) != errs.KindForbidden {
			t.Fatalf("a member read provisions: %v", err)
		}
	})
}

// TestOptOutWinsATie: two records of one channel and purpose in the same millisecond (from two
// nodes, whose ids order at random) — the opt-out is the current one, whichever id is greater.
func TestOptOutWinsATie(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		ctx := context.Background()
		pid := v.profile(identity.ID{Type: "email", Value: "yui@sakura-mail.jp"})
		at := db.Now(v.now)
		for _, r := range []struct{ id, purpose, status string }{
			// The opt-in has the greater id for marketing, the smaller one for research.
			{"01A", "marketing", "opted_out"}, {"01Z", "marketing", "opted_in"},
			{"01B", "research", "opted_in"}, {"01C", "research", "opted_out"},
			// Unknown against an opt-in: the greater id still decides.
			{"01D", "product_news", "unknown"}, {"01E", "product_news", "opted_in"},
		} {
			if _, err := v.db.W.Exec(`INSERT INTO consent_records (id, profile_id, channel, purpose, status, recorded_at, source, recorded_by, created_at)
				VALUES ($1, $2, 'email', $3, $4, $5, 'api', 'system', $5)`, r.id, pid, r.purpose, r.status, at); err != nil {
				t.Fatal(err)
			}
		}
		want := map[consent.Purpose]consent.Status{"marketing": "opted_out", "research": "opted_out", "product_news": "opted_in"}
		for pu, st := range want {
			if d := v.may(pid, "email", pu, ""); d.Status != st || (st == "opted_out") == d.Allowed {
				t.Errorf("May(email, %s) = %+v, want %s", pu, d, st)
			}
		}
		cur, err := v.l.Current(ctx, accounts.System(), pid)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range cur {
			if r.Status != want[r.Purpose] {
				t.Errorf("current %s: %s, want %s", r.Purpose, r.Status, want[r.Purpose])
			}
		}
		if len(cur) != len(want) {
			t.Errorf("%d current records, want %d", len(cur), len(want))
		}
	})
}
