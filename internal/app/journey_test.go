package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/profile"
)

// TestVisitorSignsUpAndIsImportedAsOneProfile follows one customer through a running server: she
// browses anonymously, the CRM's first export knows her only by its contact id and phone, she
// signs up (the web passes the browser's anonymous id), and the CRM's next export adds her email
// typed in full-width characters. She ends as one profile with all of it; undoing the merge the
// second import made gives the CRM contact its own profile back, with its own history.
func TestVisitorSignsUpAndIsImportedAsOneProfile(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		env := testEnv(t, e)
		s := startServer(t, env)
		key := created(t, env, "source", "create", "--name", "website")
		a, err := Open(context.Background(), mustConfig(t, env), discard(), Options{HashParams: cheapHash()})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		ctx := context.Background()
		staff := accounts.System()
		// until polls until the identifier is on a profile that satisfies ok, and returns it.
		until := func(typ, value string, ok func(profile.Profile) bool) profile.Profile {
			t.Helper()
			deadline := time.Now().Add(20 * time.Second)
			for {
				p, err := a.Profiles.Lookup(ctx, staff, typ, value)
				if err == nil && ok(p) {
					return p
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s %s: not on the expected profile within 20 s (%+v, %v)", typ, value, p, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		waitFor := func(typ, value string, events int64) profile.Profile {
			t.Helper()
			return until(typ, value, func(p profile.Profile) bool { return p.Computed.Events >= events })
		}
		importCSV := func(name, body string) {
			t.Helper()
			f := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			if code, out, errOut := run(t, env, "import", "--kind", "contacts", "--file", f, "--crm-system", "salesforce"); code != 0 {
				t.Fatalf("import %s = %d\n%s\n%s", name, code, out, errOut)
			}
		}

		// 1. Two anonymous page views on the website.
		batch, _ := json.Marshal(map[string]any{"batch": []map[string]any{
			{"type": "page", "anonymousId": "anon-hanako", "name": "料金", "properties": map[string]any{"path": "/pricing"}},
			{"type": "page", "anonymousId": "anon-hanako", "name": "導入事例", "properties": map[string]any{"path": "/cases"}},
		}})
		req, _ := http.NewRequest("POST", s.url+"/v1/batch", bytes.NewReader(batch))
		req.SetBasicAuth(key, "")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("tracking = %v %v", resp, err)
		}
		resp.Body.Close()
		visitor := waitFor("anonymous_id", "anon-hanako", 2)

		// 2. The CRM's first export: a contact id and a phone number.
		importCSV("contacts-1.csv", "顧客ID,電話番号,氏名\nC-0077,090-5555-0001,山田 花子\n")
		contact := waitFor("crm:salesforce", "C-0077", 1)
		if contact.ID == visitor.ID {
			t.Fatal("the CRM contact joined the visitor with nothing in common")
		}

		// 3. She signs up on the web, which passes the tracker's anonymous id.
		m, err := a.Accounts.SignUp(ctx, accounts.SignUpInput{Email: "hanako@kizuna-shop.jp", Password: "correct horse battery",
			DisplayName: "山田 花子", Locale: "ja", AnonymousID: "anon-hanako"})
		if err != nil {
			t.Fatal(err)
		}
		if p := waitFor("user_id", m.ID, 4); p.ID != visitor.ID {
			t.Fatalf("the sign-up made profile %s, not the visitor's %s", p.ID, visitor.ID)
		}

		// 4. The CRM's next export has her email, typed in full-width characters.
		importCSV("contacts-2.csv", "顧客ID,メールアドレス,氏名,会社名\nC-0077,ＨＡＮＡＫＯ＠ＫＩＺＵＮＡ－ＳＨＯＰ．ＪＰ,山田 花子,株式会社さくら製作所\n")
		one := until("email", "hanako@kizuna-shop.jp", func(p profile.Profile) bool { return p.Traits["company"] != nil })
		for _, id := range [][2]string{{"anonymous_id", "anon-hanako"}, {"user_id", m.ID}, {"crm:salesforce", "C-0077"}, {"phone", "090-5555-0001"}} {
			if p := waitFor(id[0], id[1], 1); p.ID != one.ID {
				t.Errorf("%s %s is on %s, want %s", id[0], id[1], p.ID, one.ID)
			}
		}
		if one.ID != visitor.ID || !slices.Contains(one.MergedIDs, contact.ID) {
			t.Errorf("one profile %s (merged %v); want the visitor's %s with the contact %s merged in", one.ID, one.MergedIDs, visitor.ID, contact.ID)
		}
		c := one.Computed
		if c.PageViews != 2 || c.EventCounts["Member Signed Up"] != 1 || one.Traits["company"] != "株式会社さくら製作所" || one.Traits["name"] != "山田 花子" {
			t.Errorf("the profile lacks part of her history: %+v traits %v", c, one.Traits)
		}

		// 5. The merge was wrong after all: undoing it restores both.
		merges, err := a.Identity.Merges(ctx, one.ID)
		if err != nil || len(merges) != 1 || merges[0].LoserID != contact.ID {
			t.Fatalf("merges = %+v %v", merges, err)
		}
		if err := a.Identity.Unmerge(ctx, merges[0].ID); err != nil {
			t.Fatal(err)
		}
		her, err := a.Profiles.Lookup(ctx, staff, "email", "hanako@kizuna-shop.jp")
		if err != nil {
			t.Fatal(err)
		}
		back, err := a.Profiles.Lookup(ctx, staff, "crm:salesforce", "C-0077")
		if err != nil {
			t.Fatal(err)
		}
		if her.ID != visitor.ID || back.ID != contact.ID || len(her.MergedIDs) != 0 {
			t.Fatalf("after the undo: email on %s, contact on %s; want %s and %s", her.ID, back.ID, visitor.ID, contact.ID)
		}
		if her.Computed.PageViews != 2 || her.Computed.EventCounts["Member Signed Up"] != 1 || back.Computed.PageViews != 0 ||
			back.Computed.Events < 1 || back.Traits["phone"] == nil {
			t.Errorf("after the undo: hers %+v, the contact's %+v %v", her.Computed, back.Computed, back.Traits)
		}
		if p, err := a.Profiles.Lookup(ctx, staff, "phone", "090-5555-0001"); err != nil || p.ID != contact.ID {
			t.Errorf("the phone went to %s (%v), want the contact %s", p.ID, err, contact.ID)
		}
	})
}
