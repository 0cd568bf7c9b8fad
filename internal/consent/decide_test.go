package consent_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// expected is the answer May must give, written out by hand for every purpose × current status
// (— is no record at all) × suppression of the address (— is none). Every channel must answer
// the same: the rules do not depend on the channel. Reasons: in = opted_in and tx = transactional
// (allowed); none = no_consent, out = opted_out, and a suppression reason = suppressed by it
// (refused).
const expected = `
purpose          status     —     hard_bounce  complaint  erased  manual
marketing        —          none  hard_bounce  complaint  erased  manual
marketing        unknown    none  hard_bounce  complaint  erased  manual
marketing        opted_in   in    hard_bounce  complaint  erased  manual
marketing        opted_out  out   hard_bounce  complaint  erased  manual
product_news     —          none  hard_bounce  complaint  erased  manual
product_news     unknown    none  hard_bounce  complaint  erased  manual
product_news     opted_in   in    hard_bounce  complaint  erased  manual
product_news     opted_out  out   hard_bounce  complaint  erased  manual
research         —          none  hard_bounce  complaint  erased  manual
research         unknown    none  hard_bounce  complaint  erased  manual
research         opted_in   in    hard_bounce  complaint  erased  manual
research         opted_out  out   hard_bounce  complaint  erased  manual
service          —          tx    hard_bounce  tx         erased  manual
service          unknown    tx    hard_bounce  tx         erased  manual
service          opted_in   tx    hard_bounce  tx         erased  manual
service          opted_out  out   hard_bounce  out        erased  manual
third_party:crm  —          none  none         none       erased  none
third_party:crm  unknown    none  none         none       erased  none
third_party:crm  opted_in   in    in           in         erased  in
third_party:crm  opted_out  out   out          out        erased  out
third_party:ma   —          none  none         none       erased  none
third_party:ma   unknown    none  none         none       erased  none
third_party:ma   opted_in   in    in           in         erased  in
third_party:ma   opted_out  out   out          out        erased  out
`

// decisionCase is one cell of the table on one channel.
type decisionCase struct {
	channel     consent.Channel
	purpose     consent.Purpose
	status      string // "—" for no record
	suppression string // "—" for none
	want        string
	profile     string
	address     string
}

func (c decisionCase) String() string {
	return fmt.Sprintf("%s × %s × %s × %s", c.channel, c.purpose, c.status, c.suppression)
}

// parseExpected reads the table into cells, checking that it covers every purpose of the test,
// every status and every suppression reason exactly once.
func parseExpected(t *testing.T) (map[[3]string]string, []consent.Purpose, []string, []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(expected), "\n")
	head := strings.Fields(lines[0])
	suppressions := head[2:]
	if want := len(consent.SuppressionReasons) + 1; len(suppressions) != want {
		t.Fatalf("table has %d suppression columns, want %d", len(suppressions), want)
	}
	for _, r := range consent.SuppressionReasons {
		if !strings.Contains(lines[0], " "+string(r)) {
			t.Fatalf("table has no column for suppression %s", r)
		}
	}
	cells := map[[3]string]string{}
	var purposes []consent.Purpose
	statuses := []string{"—"}
	for _, s := range consent.Statuses {
		statuses = append(statuses, string(s))
	}
	seenPurpose := map[string]bool{}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) != len(head) {
			t.Fatalf("table line %q has %d fields, want %d", line, len(f), len(head))
		}
		if !seenPurpose[f[0]] {
			seenPurpose[f[0]] = true
			purposes = append(purposes, consent.Purpose(f[0]))
		}
		for i, sup := range suppressions {
			k := [3]string{f[0], f[1], sup}
			if _, dup := cells[k]; dup {
				t.Fatalf("table has %v twice", k)
			}
			cells[k] = f[2+i]
		}
	}
	for _, p := range append(consent.Purposes, consent.ThirdParty("crm"), consent.ThirdParty("ma")) {
		for _, st := range statuses {
			if _, ok := cells[[3]string{string(p), st, "—"}]; !ok {
				t.Fatalf("table has no row for %s × %s", p, st)
			}
		}
	}
	return cells, purposes, statuses, suppressions
}

// caseAddress is an address of channel ch unique to case n, and the identifier the profile holds
// it as (web push endpoints are not identifiers: the profile gets a user id instead).
func caseAddress(ch consent.Channel, n int) (string, identity.ID) {
	switch ch {
	case consent.ChannelEmail:
		a := fmt.Sprintf("case%d@kizuna-test.jp", n)
		return a, identity.ID{Type: "email", Value: a}
	case consent.ChannelSMS, consent.ChannelPhone:
		a := fmt.Sprintf("+8190%08d", n)
		return a, identity.ID{Type: "phone", Value: a}
	case consent.ChannelLINE:
		a := fmt.Sprintf("U%032x", n)
		return a, identity.ID{Type: "social:line", Value: a}
	case consent.ChannelInApp:
		a := fmt.Sprintf("member-%d", n)
		return a, identity.ID{Type: "user_id", Value: a}
	default:
		return fmt.Sprintf("https://push.kizuna-test.jp/sub/%d", n), identity.ID{Type: "user_id", Value: fmt.Sprintf("push-%d", n)}
	}
}

// TestDecisionTable checks May for every channel × purpose × status × suppression: one profile
// per case, with its own address, its status recorded and its address suppressed as the case
// says; each is asked with the address and without (found from the profile's identifiers).
func TestDecisionTable(t *testing.T) {
	cells, purposes, statuses, suppressions := parseExpected(t)
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		ctx := context.Background()
		var cases []decisionCase
		for _, ch := range consent.Channels {
			for _, pu := range purposes {
				for _, st := range statuses {
					for _, sup := range suppressions {
						cases = append(cases, decisionCase{channel: ch, purpose: pu, status: st, suppression: sup,
							want: cells[[3]string{string(pu), st, sup}]})
					}
				}
			}
		}
		if want := len(consent.Channels) * 6 * 4 * 5; len(cases) != want {
			t.Fatalf("%d cases, want %d", len(cases), want)
		}
		at := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
		err := v.db.Tx(ctx, func(tx *sql.Tx) error {
			for i := range cases {
				c := &cases[i]
				var idf identity.ID
				c.address, idf = caseAddress(c.channel, i)
				pid, err := v.g.Resolve(ctx, tx, []identity.ID{idf}, "decision table")
				if err != nil {
					return fmt.Errorf("%v: %w", c, err)
				}
				c.profile = pid
				if c.status != "—" {
					if _, _, err := v.l.Apply(ctx, tx, consent.Recording{Actor: "system", ProfileID: pid, Now: v.now, Inputs: []consent.Input{{
						Channel: c.channel, Purpose: c.purpose, Status: consent.Status(c.status), RecordedAt: at}}}); err != nil {
						return fmt.Errorf("%v: %w", c, err)
					}
				}
				if c.suppression != "—" {
					if _, _, err := v.l.ApplySuppression(ctx, tx, "system", consent.SuppressionInput{Channel: c.channel, Value: c.address,
						Reason: consent.SuppressionReason(c.suppression)}, v.now); err != nil {
						return fmt.Errorf("%v: %w", c, err)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		failures := 0
		check := func(c decisionCase, how, address, want string) {
			t.Helper()
			d, err := v.l.May(ctx, c.profile, c.channel, c.purpose, address)
			if err != nil {
				t.Fatalf("%v (%s): %v", c, how, err)
			}
			var wantAllowed bool
			var wantReason consent.Reason
			var wantSup consent.SuppressionReason
			switch want {
			case "in":
				wantAllowed, wantReason = true, consent.ReasonOptedIn
			case "tx":
				wantAllowed, wantReason = true, consent.ReasonTransactional
			case "none":
				wantReason = consent.ReasonNoConsent
			case "out":
				wantReason = consent.ReasonOptedOut
			default:
				wantReason, wantSup = consent.ReasonSuppressed, consent.SuppressionReason(want)
			}
			wantStatus := consent.Status(c.status)
			if c.status == "—" {
				wantStatus = consent.StatusUnknown
			}
			recordOK := (c.status == "—") == (d.Record == nil)
			if d.Record != nil {
				recordOK = recordOK && d.Record.ProfileID == c.profile && d.Record.Channel == c.channel && d.Record.Purpose == c.purpose
			}
			if d.Allowed != wantAllowed || d.Reason != wantReason || d.Suppression != wantSup || d.Status != wantStatus || !recordOK {
				failures++
				if failures <= 20 {
					t.Errorf("%v (%s): got allowed=%v reason=%s suppression=%q status=%s record=%v; want allowed=%v reason=%s suppression=%q status=%s",
						c, how, d.Allowed, d.Reason, d.Suppression, d.Status, d.Record != nil, wantAllowed, wantReason, wantSup, wantStatus)
				}
			}
		}
		allowed := 0
		for _, c := range cases {
			check(c, "address given", c.address, c.want)
			// Without an address the profile's own addresses are checked; a push endpoint is not one
			// of them, so for web push the endpoint must be given.
			if c.channel == consent.ChannelWebPush {
				_, err := v.l.May(ctx, c.profile, c.channel, c.purpose, "")
				invalid(t, err, -1, "address")
			} else {
				check(c, "address from the profile", "", c.want)
			}
			if c.want == "in" || c.want == "tx" {
				allowed++
			}
		}
		// A table that allowed everything or nothing would be a broken fixture, not a result.
		if allowed == 0 || allowed == len(cases) {
			t.Fatalf("%d of %d cases allowed", allowed, len(cases))
		}
		if failures > 20 {
			t.Errorf("… and %d more failures", failures-20)
		}
	})
}

// TestConsentIsSpecific: an opt-in is for its channel and purpose only (and a third party's for
// that destination only).
func TestConsentIsSpecific(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		ctx := context.Background()
		pid := v.profile(identity.ID{Type: "email", Value: "mio@sakura-mail.jp"})
		if _, err := v.l.Record(ctx, accounts.System(), pid, []consent.Input{
			{Channel: "email", Purpose: "marketing", Status: "opted_in"},
			{Channel: "email", Purpose: "third_party:crm", Status: "opted_in"},
		}); err != nil {
			t.Fatal(err)
		}
		for _, ch := range consent.Channels {
			addr := ""
			if ch == consent.ChannelWebPush {
				addr = "https://push.kizuna-test.jp/sub/mio" // no identifier: it must be given
			}
			for _, pu := range append(consent.Purposes, consent.ThirdParty("crm"), consent.ThirdParty("ma")) {
				d := v.may(pid, ch, pu, addr)
				want := consent.ReasonNoConsent
				switch {
				case pu == consent.PurposeService:
					want = consent.ReasonTransactional
				case ch == consent.ChannelEmail && (pu == consent.PurposeMarketing || pu == consent.ThirdParty("crm")):
					want = consent.ReasonOptedIn
				}
				if d.Reason != want {
					t.Errorf("%s × %s: %s, want %s", ch, pu, d.Reason, want)
				}
			}
		}
	})
}

func TestMayRefusesBadQuestions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		ctx := context.Background()
		pid := v.profile(identity.ID{Type: "email", Value: "sora@sakura-mail.jp"})
		for _, c := range []struct {
			ch      consent.Channel
			pu      consent.Purpose
			address string
			field   string
		}{
			{"carrier_pigeon", "marketing", "", "channel"},
			{"email", "", "", "purpose"},
			{"email", "third_party:", "", "purpose"},
			{"email", "marketing", "sora-at-example", "address"},
			{"sms", "marketing", "call me", "address"},
			{"line", "marketing", "sora", "address"},
			{"web_push", "marketing", "ftp://push", "address"},
			{"web_push", "marketing", "", "address"},
			{"web_push", "service", " ", "address"},
		} {
			_, err := v.l.May(ctx, pid, c.ch, c.pu, c.address)
			invalid(t, err, -1, c.field)
		}
		if _, err := v.l.May(ctx, "no-such-profile", "email", "service", ""); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("unknown profile: %v", err)
		}
	})
}

// TestMatrixAgreesWithMay: the 360's matrix gives, cell by cell, what May answers a sender who
// gives no address.
func TestMatrixAgreesWithMay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		ctx := context.Background()
		sys := accounts.System()
		pid := v.profile(identity.ID{Type: "email", Value: "rin@sakura-mail.jp"}, identity.ID{Type: "phone", Value: "080-1111-2222"})
		if _, err := v.l.Record(ctx, sys, pid, []consent.Input{
			{Channel: "email", Purpose: "marketing", Status: "opted_in"},
			{Channel: "email", Purpose: "research", Status: "opted_out"},
			{Channel: "sms", Purpose: "product_news", Status: "opted_in"},
			{Channel: "line", Purpose: "service", Status: "opted_out"},
			{Channel: "email", Purpose: "third_party:ma", Status: "opted_in"},
			{Channel: "phone", Purpose: "third_party:crm", Status: "unknown"},
		}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := v.l.Suppress(ctx, sys, consent.SuppressionInput{Channel: "sms", Value: "08011112222", Reason: "complaint"}); err != nil {
			t.Fatal(err)
		}
		m, err := v.l.Matrix(ctx, sys, pid)
		if err != nil {
			t.Fatal(err)
		}
		wantCols := []consent.Purpose{"marketing", "product_news", "research", "service", "third_party:crm", "third_party:ma"}
		if !slices.Equal(m.Purposes, wantCols) || len(m.Rows) != len(consent.Channels) || len(m.Suppressions) != 1 {
			t.Fatalf("matrix %+v", m)
		}
		for _, row := range m.Rows {
			addr := ""
			if row.Channel == consent.ChannelWebPush {
				// The matrix knows no push endpoint: it answers as for one not suppressed.
				addr = "https://push.kizuna-test.jp/sub/rin"
			}
			for i, cell := range row.Cells {
				d := v.may(pid, row.Channel, m.Purposes[i], addr)
				if cell.Allowed != d.Allowed || cell.Reason != d.Reason || cell.Status != d.Status || cell.Suppression != d.Suppression {
					t.Errorf("%s × %s: matrix %+v, May %+v", row.Channel, m.Purposes[i], cell, d)
				}
			}
		}
		email, sms := m.Rows[0].Cells, m.Rows[3].Cells
		if !email[0].Allowed || email[2].Reason != consent.ReasonOptedOut || !email[5].Allowed || sms[1].Suppression != consent.SuppressComplaint ||
			m.Rows[1].Cells[3].Reason != consent.ReasonOptedOut {
			t.Fatalf("cells: email %+v sms %+v", email, sms)
		}
	})
}
