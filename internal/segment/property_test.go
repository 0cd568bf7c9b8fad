package segment

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/meetup"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/profile"
	"github.com/kizuna-community/kizuna/internal/search"
)

var (
	seed   = flag.Uint64("seed", 20261204, "seed of the property test's random worlds and segments")
	worlds = flag.Int("worlds", 30, "random data sets the property test builds per engine")
	defs   = flag.Int("defs", 100, "random segment definitions the property test checks per data set")
)

// openAll opens a database of engine e with every table segments read, the community's and
// meetups' included.
func openAll(t testing.TB, e db.Engine) *db.DB {
	t.Helper()
	return dbtest.Open(t, e, backbone.Migrations(), accounts.Migrations(), notify.Migrations(), search.Migrations(), community.Migrations(),
		meetup.Migrations(), identity.Migrations(), profile.Migrations(), crm.Migrations(), consent.Migrations(), scoreMigrations(), Migrations())
}

// scoreMigrations are the score part's tables, which score conditions read. Read from its
// directory: internal/score imports this package, so this package's tests cannot import it.
func scoreMigrations() db.Migrations {
	return db.Migrations{Part: "score", FS: os.DirFS(filepath.Join("..", "score", "migrations"))}
}

// TestEvaluatorsAgree is the property test: on random data (profiles with merges, traits,
// events, counters, purchases, contracts, tickets, consents, and members — linked to profiles by
// their user_id — following spaces, checking in at events, asking questions and having replies
// accepted) the compiled SQL and the incremental
// evaluator give the same members for random segment definitions. Reproduce a failure with
// -seed; -worlds and -defs set its size (worlds × defs cases per engine).
func TestEvaluatorsAgree(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		d := openAll(t, e)
		g := identity.New(identity.Deps{DB: d})
		now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
		start := time.Now()
		cases, mixed, scoreMixed := 0, 0, 0
		splitBy := map[string]int{} // a definition's top-level kind → cases it split the profiles
		for w := range *worlds {
			r := rand.New(rand.NewPCG(*seed, uint64(w)))
			wd := genWorld(r, now)
			if err := wd.store(ctx, d); err != nil {
				t.Fatalf("world %d: %v", w, err)
			}
			facts := map[string]*Facts{}
			for _, root := range wd.roots() {
				_, family, err := g.RootFamily(ctx, d.W, root)
				if err != nil {
					t.Fatal(err)
				}
				if facts[root], err = loadFacts(ctx, d.W, family, wants{events: eventVocab, scores: scoreVocab, community: true}); err != nil {
					t.Fatal(err)
				}
			}
			known := map[string]Node{}
			var ids []string
			for k := range *defs {
				raw := genDefinition(r, 0, ids)
				js, _ := json.Marshal(raw)
				n, err := Parse(js)
				if err != nil {
					t.Fatalf("seed %d world %d def %d: %s does not parse: %v", *seed, w, k, js, err)
				}
				x, err := Expand(n, lookupIn(known))
				if err != nil {
					t.Fatalf("seed %d world %d def %d: %s: %v", *seed, w, k, js, err)
				}
				sid := fmt.Sprintf("s%d", k)
				known[sid] = n
				ids = append(ids, sid)
				q, err := Compile(e, x, now)
				if err != nil {
					t.Fatal(err)
				}
				got, err := scanIDs(d.W.QueryContext(ctx, q.SQL, q.Args...))
				if err != nil {
					t.Fatalf("seed %d world %d def %d: %s: %v\n%s", *seed, w, k, js, err, q.SQL)
				}
				for _, root := range wd.roots() {
					if in := Eval(x, facts[root], now); in != got[root] {
						t.Fatalf("seed %d world %d def %d: profile %s: SQL says %v, incremental says %v\ndefinition %s\nfacts %+v\n%s",
							*seed, w, k, root, got[root], in, js, *facts[root], q.SQL)
					}
				}
				for pid := range got {
					if !slices.Contains(wd.roots(), pid) {
						t.Fatalf("SQL returned %s, which is not a root", pid)
					}
				}
				cases++
				if len(got) > 0 && len(got) < len(wd.roots()) {
					mixed++ // some roots in, some out: the case told the evaluators something
					for k := range raw {
						splitBy[k]++
					}
					if len(x.Scores()) > 0 {
						scoreMixed++
					}
				}
			}
		}
		t.Logf("%d cases on %s in %v; %d split the profiles", cases, e, time.Since(start).Round(time.Millisecond), mixed)
		if scoreMixed < cases/20 {
			t.Errorf("only %d of %d cases with a score condition split the profiles", scoreMixed, cases)
		}
		if mixed < cases/4 {
			t.Errorf("only %d of %d cases split the profiles: the random definitions say too little", mixed, cases)
		}
		for _, k := range nodeKinds {
			if splitBy[k] < 10 {
				t.Errorf("definitions of kind %s split the profiles only %d times: the random worlds rarely meet them", k, splitBy[k])
			}
		}
	})
}

// The vocabulary of the random worlds and definitions: small, so conditions often meet data.
var (
	traitVocab    = []string{"plan", "age", "tags", "signup", "vip"}
	eventVocab    = []string{"Post Created", "Order Completed", "Signed In", EventLoggedIn}
	propertyVocab = []string{"space", "amount", "tags", "when"}
	valuePool     = []any{"free", "pro", "enterprise", "東京", `a"b`, "", 0.0, 1.0, 2.5, 3.0, 10.0, -1.0, true, false, nil,
		[]any{"a", "pro"}, []any{"beta"}, []any{1.0, 2.0}, map[string]any{"x": 1.0},
		"2026-11-20T10:00:00Z", "2026-12-01", "2025-01-01T00:00:00Z", "2026-12-04T11:59:59Z", "2026-12-01T10:00:00+09:00", "not a date",
		"2026-12-03", "beta release",
		// U+0000, which jsonb refuses: both evaluators take it out (and keep an escaped backslash
		// followed by u0000, which is no NUL).
		"\x00pro", "東\x00京", "2026-12-01\x00", "a\x00\x00b", `\u0000`, "\\\x00",
		// Integers beyond 2^53 compare as the doubles they round to, on every engine.
		json.Number("9007199254740993"), json.Number("9007199254740992"), json.Number("-9007199254740993"), json.Number("18014398509481985")}
	scalarPool   = []any{"free", "pro", "enterprise", "東京", "", 0.0, 1.0, 2.5, 3.0, -1.0, true, false, "beta", 9007199254740992.0, 18014398509481984.0}
	numberPool   = []float64{-1, 0, 1, 2.5, 3, 10, 9007199254740992, -9007199254740992, 18014398509481984}
	containsPool = []string{"a", "pro", "beta", "東", "x"}
	timePool     = []string{"2026-12-01", "2026-11-20T10:00:00Z", "2026-12-03T23:59:59+09:00", "2025-06-01"}
	durationPool = []string{"P1D", "P7D", "P30D", "PT12H", "P1M", "P2W"}
	scoreVocab   = []string{"engagement", "fit"}
	scorePool    = []float64{0, 5, 10, 12.5, 25, 50, -5, 100, 7.3}
	channels     = []string{"email", "line"}
	purposes     = []string{"marketing", "research"}
	statuses     = []string{"opted_in", "opted_out", "unknown"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

type world struct {
	profiles  []wProfile
	traits    [][]any // profile_id, name, value, source, updated_at
	events    [][]any // message_id, profile_id, type, name, source, at, properties
	purchases [][]any
	accounts  []string
	links     [][]any // profile_id, account_id
	contracts [][]any
	tickets   [][]any
	consents  [][]any

	// The community: members, their user_id identifiers, spaces and who follows them, meetups
	// and check-ins, questions and replies (some accepted).
	members     []string
	identifiers [][]any // type, value, profile_id, first_seen, last_seen
	spaceRows   [][]any
	following   [][]any
	meetups     [][]any
	rsvps       [][]any
	posts       [][]any
	comments    [][]any
	accepted    [][]any // comment id, post id
	models      [][]any // id, half_life_ms, max_score
	scores      [][]any // model_id, profile_id, value, as_of
}

// The spaces and meetups of every world; a definition may name a space by id or slug, or one
// that does not exist.
var (
	spaceIDs   = []string{"sp1", "sp2", "sp3"}
	spaceSlugs = []string{"support", "ideas", "events"}
	spaceRefs  = []string{"sp1", "support", "sp2", "ideas", "events", "nowhere"}
	meetupIDs  = []string{"ev1", "ev2", "ev3"}
)

type wProfile struct {
	id     string
	merged string // "" when a root
}

func (w *world) roots() []string {
	var out []string
	for _, p := range w.profiles {
		if p.merged == "" {
			out = append(out, p.id)
		}
	}
	return out
}

func genWorld(r *rand.Rand, now time.Time) *world {
	w := &world{}
	n := 8 + r.IntN(16)
	for i := range n {
		// Mixed case ids: tie-breaks must order them by bytes on both engines.
		p := wProfile{id: fmt.Sprintf("%c%02d", "aBcD"[r.IntN(4)], i)}
		if i > 0 && r.IntN(10) < 3 {
			p.merged = w.profiles[r.IntN(i)].id
		}
		w.profiles = append(w.profiles, p)
	}
	ms := func(daysAgo float64) int64 { return db.Now(now.Add(-time.Duration(daysAgo * float64(24*time.Hour)))) }
	times := []float64{0.1, 0.4, 1, 1, 6, 8, 20, 29.9, 31, 45, 90, 400}
	for _, p := range w.profiles {
		for _, name := range traitVocab {
			if r.IntN(3) == 0 {
				continue
			}
			v, _ := json.Marshal(pick(r, valuePool))
			w.traits = append(w.traits, []any{p.id, name, string(v), "test", ms(pick(r, times[:4]))})
		}
		for k := range r.IntN(7) {
			typ, name := "track", pick(r, eventVocab)
			if r.IntN(8) == 0 {
				typ = "page" // a page named like a track event is not one
			}
			props := map[string]any{}
			for _, key := range propertyVocab {
				if r.IntN(2) == 0 {
					props[key] = pick(r, valuePool)
				}
			}
			js, _ := json.Marshal(props)
			w.events = append(w.events, []any{fmt.Sprintf("m-%s-%d", p.id, k), p.id, typ, name, pick(r, []string{"community", "tracking", "tracking", "system"}),
				ms(pick(r, times)), string(js)})
		}
		for k := range r.IntN(3) {
			w.purchases = append(w.purchases, []any{fmt.Sprintf("pu-%s-%d", p.id, k), fmt.Sprintf("x-pu-%s-%d", p.id, k), p.id, 1000, "JPY", ms(3), "Pro", 0, 0})
		}
		for k := range r.IntN(4) {
			w.tickets = append(w.tickets, []any{fmt.Sprintf("t-%s-%d", p.id, k), fmt.Sprintf("x-t-%s-%d", p.id, k), p.id, "help",
				pick(r, []string{"open", "pending", "solved", "closed"}), "normal", ms(2), 0})
		}
		for k := range r.IntN(5) {
			// Few distinct times and ids of mixed case: ties and their tie-break happen.
			w.consents = append(w.consents, []any{fmt.Sprintf("%c%d-%s", "kQ"[r.IntN(2)], r.IntN(3), p.id), p.id, pick(r, channels), pick(r, purposes),
				pick(r, statuses), ms(pick(r, []float64{1, 2})), fmt.Sprintf("src%d", k), "system", 0})
		}
	}
	// Score models with and without decay and cap. Scores as of now, as of whole half-lives ago
	// (the decayed value is then exact, and can meet a threshold exactly on both evaluators), as of
	// times in between, and as of the future (a clock ahead: no decay).
	day := int64(24 * time.Hour / time.Millisecond)
	for _, mid := range scoreVocab {
		var capv any
		if r.IntN(2) == 0 {
			capv = pick(r, []float64{50, 20})
		}
		hl := pick(r, []int64{0, day, 7 * day})
		w.models = append(w.models, []any{mid, "model " + mid, "[]", capv, hl})
		for _, p := range w.profiles {
			if r.IntN(3) == 0 {
				continue
			}
			asOf := db.Now(now) - pick(r, []int64{0, 0, day, 2 * day, 7 * day, 14 * day, day / 3, 5*day + 12345, 800 * day, -day})
			w.scores = append(w.scores, []any{mid, p.id, pick(r, []float64{10, 20, 25, 50, 60, 100, 3, -10, 7.3}), asOf})
		}
	}
	for a := range 3 {
		w.accounts = append(w.accounts, fmt.Sprintf("acc%d", a))
		for k := range r.IntN(3) {
			var renews any
			if r.IntN(4) > 0 {
				renews = now.AddDate(0, 0, r.IntN(80)-20).Format(time.DateOnly)
			}
			w.contracts = append(w.contracts, []any{fmt.Sprintf("k%d-%d", a, k), fmt.Sprintf("x-k%d-%d", a, k), w.accounts[a],
				pick(r, []string{"Pro", "Basic", "Enterprise"}), pick(r, []string{"active", "cancelled", "expired"}),
				pick(r, []string{"2026-01-01", "", now.AddDate(0, 0, -10).Format(time.DateOnly), now.AddDate(0, 0, -30).Format(time.DateOnly),
					now.AddDate(0, 0, -89).Format(time.DateOnly), now.AddDate(0, 0, 5).Format(time.DateOnly), now.AddDate(0, 0, 5).Format(time.DateOnly),
					now.Format(time.DateOnly)}),
				renews, 100, "JPY", 0})
		}
	}
	for _, p := range w.profiles {
		if r.IntN(3) == 0 {
			w.links = append(w.links, []any{p.id, pick(r, w.accounts)})
		}
	}
	w.genCommunity(r, now, ms)
	return w
}

// genCommunity adds members, most of them the user_id of a profile (a merged one too, or two
// members on one family), and what they did in the community.
func (w *world) genCommunity(r *rand.Rand, now time.Time, ms func(float64) int64) {
	for i, sid := range spaceIDs {
		w.spaceRows = append(w.spaceRows, []any{sid, spaceSlugs[i], sid, "public", "system", 0, 0})
	}
	for i, eid := range meetupIDs {
		w.meetups = append(w.meetups, []any{eid, spaceIDs[i], eid, db.Now(now), db.Now(now), "Asia/Tokyo", "CODE", "system", 0, 0})
	}
	n := 4 + r.IntN(10)
	for i := range n {
		mid := fmt.Sprintf("M%02d", i)
		w.members = append(w.members, mid)
		if r.IntN(6) > 0 {
			w.identifiers = append(w.identifiers, []any{"user_id", mid, pick(r, w.profiles).id, 0, 0})
		}
		for k, sid := range spaceIDs {
			if r.IntN(3) == 0 {
				w.following = append(w.following, []any{sid, mid, pick(r, []string{"member", "moderator"}), ms(float64(k))})
			}
		}
		for _, eid := range meetupIDs {
			if r.IntN(3) == 0 {
				var at any
				if r.IntN(3) > 0 {
					at = ms(pick(r, []float64{1, 20, 29.9, 31, 45, 89, 91, 400}))
				}
				w.rsvps = append(w.rsvps, []any{eid, mid, pick(r, []string{"going", "interested", ""}), 0, at})
			}
		}
	}
	for k := range r.IntN(3 * n) {
		pid := fmt.Sprintf("p%02d", k)
		asker := pick(r, w.members)
		at := ms(pick(r, []float64{0.1, 0.5, 1, 2, 3, 10, 40}))
		hidden := 0
		if r.IntN(8) == 0 {
			hidden = 1
		}
		w.posts = append(w.posts, []any{pid, pick(r, spaceIDs), asker, pick(r, []string{"question", "question", "question", "discussion"}),
			"t", "b", "b", hidden, at, at, at})
		var replies []string
		for j := range r.IntN(4) {
			cid := fmt.Sprintf("c%02d-%d", k, j)
			author := pick(r, w.members)
			if r.IntN(4) == 0 {
				author = asker // the asker's own reply is no answer from someone else
			}
			h := 0
			if r.IntN(5) == 0 {
				h = 1
			}
			w.comments = append(w.comments, []any{cid, pid, author, "c", "c", h, at, at})
			replies = append(replies, cid)
		}
		if len(replies) > 0 && r.IntN(2) == 0 {
			w.accepted = append(w.accepted, []any{pick(r, replies), pid})
		}
	}
}

// store replaces the tables' contents with the world's.
func (w *world) store(ctx context.Context, d *db.DB) error {
	return d.Tx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"score_values", "score_models", "segment_members", "segments", "profile_accounts", "crm_contracts", "crm_tickets", "crm_purchases", "crm_accounts",
			"consent_records", "profile_events", "profile_counts", "profile_traits", "identity_identifiers", "identity_profiles",
			"meetup_rsvps", "meetup_events", "comments", "posts", "space_members", "spaces", "members"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
				return err
			}
		}
		ins := func(q string, rows [][]any) error {
			for _, row := range rows {
				if _, err := tx.ExecContext(ctx, q, row...); err != nil {
					return fmt.Errorf("%s: %w", q, err)
				}
			}
			return nil
		}
		var ps [][]any
		for _, p := range w.profiles {
			var m any
			if p.merged != "" {
				m = p.merged
			}
			ps = append(ps, []any{p.id, 0, m})
		}
		var accs [][]any
		for _, a := range w.accounts {
			accs = append(accs, []any{a, "x-" + a, a, 0, 0})
		}
		counts := map[[2]string]*Counter{}
		for _, e := range w.events {
			pid, typ, name, src, at := e[1].(string), e[2].(string), e[3].(string), e[4].(string), e[5].(int64)
			keys := []string{"all", "source:" + src, "type:" + typ}
			if typ == "track" {
				keys[2] = "event:" + name
			}
			for _, k := range keys {
				c := counts[[2]string{pid, k}]
				if c == nil {
					counts[[2]string{pid, k}] = &Counter{N: 1, FirstAt: at, LastAt: at}
					continue
				}
				c.N++
				c.FirstAt, c.LastAt = min(c.FirstAt, at), max(c.LastAt, at)
			}
		}
		var cs [][]any
		for k, c := range counts {
			cs = append(cs, []any{k[0], k[1], c.N, c.FirstAt, c.LastAt})
		}
		for _, step := range []struct {
			q    string
			rows [][]any
		}{
			{`INSERT INTO identity_profiles (id, created_at, merged_into) VALUES ($1, $2, $3)`, ps},
			{`INSERT INTO profile_traits (profile_id, name, value, source, updated_at) VALUES ($1, $2, $3, $4, $5)`, w.traits},
			{`INSERT INTO profile_events (message_id, profile_id, type, name, source, at, properties) VALUES ($1, $2, $3, $4, $5, $6, $7)`, w.events},
			{`INSERT INTO profile_counts (profile_id, key, count, first_at, last_at) VALUES ($1, $2, $3, $4, $5)`, cs},
			{`INSERT INTO crm_accounts (id, external_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)`, accs},
			{`INSERT INTO crm_purchases (id, external_id, profile_id, amount_minor, currency, purchased_at, product, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, w.purchases},
			{`INSERT INTO crm_tickets (id, external_id, profile_id, subject, status, priority, opened_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, w.tickets},
			{`INSERT INTO crm_contracts (id, external_id, account_id, plan, status, starts_on, renews_on, amount_minor, currency, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, w.contracts},
			{`INSERT INTO profile_accounts (profile_id, account_id) VALUES ($1, $2)`, w.links},
			{`INSERT INTO consent_records (id, profile_id, channel, purpose, status, recorded_at, source, recorded_by, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`, w.consents},
			{`INSERT INTO identity_identifiers (type, value, profile_id, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5)`, w.identifiers},
			{`INSERT INTO members (id, email, display_name, role, locale, created_at, updated_at) VALUES ($1, $1 || '@example.com', $1, 'member', 'ja', 0, 0)`,
				ids(w.members)},
			{`INSERT INTO spaces (id, slug, name, visibility, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`, w.spaceRows},
			{`INSERT INTO space_members (space_id, member_id, role, joined_at) VALUES ($1, $2, $3, $4)`, w.following},
			{`INSERT INTO meetup_events (id, space_id, title, starts_at, ends_at, time_zone, check_in_code, created_by, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, w.meetups},
			{`INSERT INTO meetup_rsvps (event_id, member_id, status, status_at, checked_in_at) VALUES ($1, $2, $3, $4, $5)`, w.rsvps},
			{`INSERT INTO posts (id, space_id, author_id, kind, title, body, body_html, hidden, last_activity_at, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, w.posts},
			{`INSERT INTO comments (id, post_id, author_id, body, body_html, hidden, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				w.comments},
			{`UPDATE posts SET accepted_comment_id = $1 WHERE id = $2`, w.accepted},
			{`INSERT INTO score_models (id, name, rules, max_score, half_life_ms, created_by, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, 'test', 0, 0)`, w.models},
			{`INSERT INTO score_values (model_id, profile_id, value, as_of) VALUES ($1, $2, $3, $4)`, w.scores},
		} {
			if err := ins(step.q, step.rows); err != nil {
				return err
			}
		}
		return nil
	})
}

// ids is a list of ids as one-column rows.
func ids(list []string) [][]any {
	out := make([][]any, len(list))
	for i, x := range list {
		out[i] = []any{x}
	}
	return out
}

// genDefinition returns a random definition in JSON form; it may refer to the segments refs.
func genDefinition(r *rand.Rand, depth int, refs []string) map[string]any {
	if depth == 0 && r.IntN(3) == 0 {
		// A top-level "all" is what the compiler drives by its most selective condition: make
		// it common.
		list := make([]any, 2+r.IntN(3))
		for i := range list {
			list[i] = genDefinition(r, depth+1, refs)
		}
		return map[string]any{"all": list}
	}
	if depth < 3 && r.IntN(3) == 0 {
		switch r.IntN(3) {
		case 0:
			return map[string]any{"not": genDefinition(r, depth+1, refs)}
		default:
			list := make([]any, 1+r.IntN(3))
			for i := range list {
				list[i] = genDefinition(r, depth+1, refs)
			}
			return map[string]any{pick(r, []string{"all", "any"}): list}
		}
	}
	switch r.IntN(14) {
	case 12:
		return map[string]any{"score": pick(r, scoreVocab), "op": pick(r, countOps), "value": pick(r, scorePool)}
	case 0, 1:
		m := genValueCond(r, valueOps)
		m["trait"] = pick(r, traitVocab)
		return m
	case 2:
		name := pick(r, computedNames)
		if computedIsTime(name) {
			m := genValueCond(r, timeOps)
			m["computed"] = name
			return m
		}
		return map[string]any{"computed": name, "op": pick(r, countOps), "value": r.IntN(5)}
	case 3, 4:
		m := map[string]any{"event": pick(r, eventVocab)}
		if r.IntN(2) == 0 {
			m["count"] = map[string]any{"op": pick(r, countOps), "value": r.IntN(4)}
		}
		if r.IntN(2) == 0 {
			m["within_last"] = pick(r, durationPool)
		}
		if k := r.IntN(3); k > 0 {
			var where []any
			for range k {
				f := genValueCond(r, valueOps)
				f["property"] = pick(r, propertyVocab)
				where = append(where, f)
			}
			m["where"] = where
		}
		return m
	case 5:
		c := map[string]any{}
		if r.IntN(3) > 0 {
			c["product"] = pick(r, []string{"Pro", "Basic", "Enterprise"})
		}
		if r.IntN(2) == 0 {
			c["status"] = pick(r, []string{"active", "cancelled", "expired", "any"})
		}
		if r.IntN(2) == 0 {
			c["renews_within"] = pick(r, []string{"P10D", "P30D", "P1M"})
		}
		if r.IntN(2) == 0 {
			c["started_within"] = pick(r, []string{"P30D", "P90D", "P1Y"})
		}
		return map[string]any{"contract": c}
	case 6:
		return map[string]any{"open_tickets": map[string]any{"op": pick(r, countOps), "value": r.IntN(3)}}
	case 7:
		c := map[string]any{"channel": pick(r, channels), "purpose": pick(r, purposes)}
		if r.IntN(3) > 0 {
			c["status"] = pick(r, statuses)
		}
		return map[string]any{"consent": c}
	case 8:
		return map[string]any{"space_member": pick(r, spaceRefs)}
	case 9:
		a := map[string]any{}
		if r.IntN(2) == 0 {
			a["event"] = pick(r, append([]string{"ev-none"}, meetupIDs...))
		}
		if r.IntN(2) == 0 {
			a["within_last"] = pick(r, []string{"P30D", "P90D", "P1D"})
		}
		return map[string]any{"attended": a}
	case 10:
		return map[string]any{"accepted_answers": map[string]any{"op": pick(r, countOps), "value": r.IntN(3)}}
	case 11:
		u := map[string]any{"op": pick(r, countOps), "value": r.IntN(3)}
		if r.IntN(2) == 0 {
			u["older_than"] = pick(r, []string{"P1D", "PT12H", "P7D"})
		}
		return map[string]any{"unanswered_questions": u}
	}
	if len(refs) > 0 {
		return map[string]any{"segment": pick(r, refs)}
	}
	return map[string]any{"consent": map[string]any{"channel": "email", "purpose": "marketing"}}
}

func genValueCond(r *rand.Rand, ops []Op) map[string]any {
	op := pick(r, ops)
	m := map[string]any{"op": string(op)}
	switch op {
	case OpEq, OpNeq:
		m["value"] = pick(r, scalarPool)
	case OpGt, OpGte, OpLt, OpLte:
		m["value"] = pick(r, numberPool)
	case OpIn:
		var vs []any
		for range 1 + r.IntN(3) {
			vs = append(vs, pick(r, scalarPool))
		}
		m["value"] = vs
	case OpContains:
		m["value"] = pick(r, containsPool)
	case OpBefore, OpAfter:
		m["value"] = pick(r, timePool)
	case OpWithinLast, OpMoreThanAgo:
		m["value"] = pick(r, durationPool)
	}
	return m
}
