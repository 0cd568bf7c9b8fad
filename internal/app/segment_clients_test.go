package app

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	analytics "github.com/segmentio/analytics-go/v3"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/testkit/e2e"
)

// AnalyticsNodeVersion is the pinned @segment/analytics-node the Node.js client test installs.
const AnalyticsNodeVersion = "3.1.0"

// person is one visitor as a client library reports them: anonymous first, then signed in. The
// email is typed in full-width characters; the graph keys it by its normal form, emailKey.
type person struct {
	UserID      string `json:"userId"`
	AnonymousID string `json:"anonymousId"`
	Email       string `json:"email"`
	emailKey    string
}

func people(client string) []person {
	return []person{
		{UserID: client + "-user-1", AnonymousID: client + "-anon-1", Email: "ＨＡＮＡＫＯ．" + client + "＠ｓｈｏｐ．ｋｉｚｕｎａ．ｄｅｖ",
			emailKey: "hanako." + client + "@shop.kizuna.dev"},
		{UserID: client + "-user-2", AnonymousID: client + "-anon-2", Email: "ｔａｒｏ．" + client + "＠ｓｈｏｐ．ｋｉｚｕｎａ．ｄｅｖ",
			emailKey: "taro." + client + "@shop.kizuna.dev"},
	}
}

// TestOfficialSegmentClientsLandOnProfiles sends page, identify, track and alias calls through
// Segment's own Go and Node.js libraries to a running server and checks, in the identity graph,
// that each person's user id, device id and email resolve to one profile, and different people to
// different profiles.
func TestOfficialSegmentClientsLandOnProfiles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		env := testEnv(t, e)
		s := startServer(t, env)
		key := created(t, env, "source", "create", "--name", "official clients")
		a, err := Open(context.Background(), mustConfig(t, env), discard(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()

		var mu sync.Mutex
		profiles := map[string]string{} // profile → user id, across both clients
		check := func(t *testing.T, ps []person) {
			t.Helper()
			for _, p := range ps {
				got := waitForOneProfile(t, a, p)
				mu.Lock()
				if other, ok := profiles[got]; ok {
					t.Errorf("%s and %s share profile %s", other, p.UserID, got)
				}
				profiles[got] = p.UserID
				mu.Unlock()
			}
		}

		t.Run("analytics-go", func(t *testing.T) {
			ps := people("go")
			fails := &clientFailures{}
			client, err := analytics.NewWithConfig(key, analytics.Config{Endpoint: s.url, Interval: 50 * time.Millisecond,
				BatchSize: 2, Callback: fails})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				for _, m := range []analytics.Message{
					analytics.Page{AnonymousId: p.AnonymousID, Name: "料金", Properties: analytics.NewProperties().SetURL("https://shop.kizuna.dev/pricing")},
					analytics.Identify{UserId: p.UserID, Traits: analytics.NewTraits().SetEmail(p.Email).SetName("山田 花子")},
					analytics.Track{UserId: p.UserID, Event: "Order Completed", Properties: analytics.NewProperties().SetRevenue(1200).SetCurrency("JPY")},
					analytics.Alias{UserId: p.UserID, PreviousId: p.AnonymousID},
				} {
					if err := client.Enqueue(m); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := client.Close(); err != nil {
				t.Fatal(err)
			}
			if err := fails.err(); err != nil {
				t.Fatalf("analytics-go: %v", err)
			}
			check(t, ps)
		})

		t.Run("analytics-node", func(t *testing.T) {
			node := e2e.Node(t)
			modules := e2e.NPM(t, "@segment/analytics-node@"+AnalyticsNodeVersion)
			ps := people("node")
			list, _ := json.Marshal(ps)
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "analytics-node.mjs"))
			cmd.Env = append(os.Environ(), "KIZUNA_NPM_MODULES="+modules, "KIZUNA_URL="+s.url,
				"KIZUNA_WRITE_KEY="+key, "PEOPLE="+string(list))
			out, err := cmd.CombinedOutput()
			t.Logf("analytics-node.mjs output:\n%s", out)
			if err != nil {
				t.Fatalf("analytics-node.mjs: %v", err)
			}
			check(t, ps)
		})
	})
}

// waitForOneProfile waits until the profile consumer has put p's user id, device id and email on
// one profile, and returns it.
func waitForOneProfile(t *testing.T, a *App, p person) string {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got [3]string
		var err error
		for i, id := range [][2]string{{"user_id", p.UserID}, {"anonymous_id", p.AnonymousID}, {"email", p.Email}} {
			got[i], err = a.Identity.Lookup(ctx, id[0], id[1])
			if err != nil && errs.KindOf(err) != errs.KindNotFound {
				t.Fatal(err)
			}
		}
		if got[0] != "" && got[0] == got[1] && got[0] == got[2] {
			// The normal form of the email is the same identifier.
			if q, err := a.Identity.Lookup(ctx, "email", p.emailKey); err != nil || q != got[0] {
				t.Errorf("email %s is on profile %q (%v), %s on %s", p.emailKey, q, err, p.Email, got[0])
			}
			return got[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: user id on profile %q, device id on %q, email on %q", p.UserID, got[0], got[1], got[2])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clientFailures is an analytics-go callback that keeps the failures.
type clientFailures struct {
	mu   sync.Mutex
	errs []error
}

func (f *clientFailures) Success(analytics.Message) {}

func (f *clientFailures) Failure(_ analytics.Message, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, err)
}

func (f *clientFailures) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.errs) == 0 {
		return nil
	}
	return f.errs[0]
}
