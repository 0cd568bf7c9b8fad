package segment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
)

// BenchDefinition is the five-condition segment the benchmarks evaluate: pro-plan people who
// posted in the support space at least twice in the last 30 days, were seen in the last 7 days,
// have not opted out of marketing email and have fewer than three open tickets.
const BenchDefinition = `{"all":[{"trait":"plan","op":"eq","value":"pro"},
	{"event":"Post Created","where":[{"property":"space","op":"eq","value":"support"}],"count":{"op":"gte","value":2},"within_last":"P30D"},
	{"computed":"last_seen","op":"within_last","value":"P7D"},
	{"not":{"consent":{"channel":"email","purpose":"marketing","status":"opted_out"}}},
	{"open_tickets":{"op":"lt","value":3}}]}`

// BenchData is the size of a benchmark data set.
type BenchData struct {
	Profiles int // root profiles and merged ones: one in twenty is merged into the one before it
	Events   int // about this many events, spread over the profiles
}

// BenchProfileID is the id of the benchmark's i-th profile.
func BenchProfileID(i int) string { return fmt.Sprintf("bench-%08d", i) }

// BenchSeeded reports whether the database already holds the data set of this size (its first
// and last profile), so a benchmark can reuse it.
func BenchSeeded(ctx context.Context, d *db.DB, size BenchData) (bool, error) {
	var n int
	err := d.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM identity_profiles WHERE id IN ($1, $2)`,
		BenchProfileID(0), BenchProfileID(size.Profiles-1)).Scan(&n)
	if err != nil {
		return false, err
	}
	var next int
	err = d.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM identity_profiles WHERE id = $1`, BenchProfileID(size.Profiles)).Scan(&next)
	return n == 2 && next == 0, err
}

// The events of the data set, with how often each occurs: page views from the sites' tracker
// are most of what people do; posting, the benchmark's event, is one in twenty.
var benchEvents = []struct {
	typ, name, source string
	weight            int
}{
	{"page", "Thread", "tracking", 35},
	{"page", "Space", "tracking", 12},
	{"page", "Home", "tracking", 8},
	{"track", "Reaction Added", "community", 10},
	{"track", "Product Viewed", "tracking", 10},
	{"track", "Comment Created", "community", 8},
	{"track", "Member Logged In", "community", 7},
	{"track", "Post Created", "community", 5},
	{"track", "Search Performed", "tracking", 5},
}

// SeedBench writes a realistic data set straight into the tables segments read: profiles (one
// in twenty merged into another), four traits each, events with their counters, open and solved
// tickets, and email consents. Each person has a last active day (a few days ago for many, months
// ago for some) and events spread over up to half a year before it. The random source is fixed,
// so the same size gives the same data. Progress goes to w every 10%.
func SeedBench(ctx context.Context, d *db.DB, size BenchData, now time.Time, w io.Writer) (events int, err error) {
	if size.Profiles < 1 || size.Events < 0 {
		return 0, errors.New("a benchmark data set needs at least one profile")
	}
	r := rand.New(rand.NewPCG(1, 2))
	type table struct {
		q    string
		cols int
		rows []any
	}
	tables := []*table{
		{q: `INSERT INTO identity_profiles (id, created_at, merged_into) VALUES `, cols: 3},
		{q: `INSERT INTO profile_traits (profile_id, name, value, source, updated_at) VALUES `, cols: 5},
		{q: `INSERT INTO profile_events (message_id, profile_id, type, name, source, at, properties) VALUES `, cols: 7},
		{q: `INSERT INTO profile_counts (profile_id, key, count, first_at, last_at) VALUES `, cols: 5},
		{q: `INSERT INTO crm_tickets (id, external_id, profile_id, subject, status, priority, opened_at, updated_at) VALUES `, cols: 8},
		{q: `INSERT INTO consent_records (id, profile_id, channel, purpose, status, recorded_at, source, recorded_by, created_at) VALUES `, cols: 9},
	}
	flush := func(tx *sql.Tx) error {
		for _, t := range tables {
			for len(t.rows) > 0 {
				k := min(len(t.rows)/t.cols, 500)
				if _, err := tx.ExecContext(ctx, t.q+d.Engine.Values(k, t.cols), t.rows[:k*t.cols]...); err != nil {
					return fmt.Errorf("seeding: %w", err)
				}
				t.rows = t.rows[k*t.cols:]
			}
		}
		return nil
	}
	total := 0
	for _, e := range benchEvents {
		total += e.weight
	}
	pick := func() int {
		x := r.IntN(total)
		for i, e := range benchEvents {
			if x < e.weight {
				return i
			}
			x -= e.weight
		}
		return 0
	}
	mean := float64(size.Events) / float64(size.Profiles)
	plans := []string{`"free"`, `"free"`, `"free"`, `"pro"`, `"pro"`, `"enterprise"`}
	industries := []string{`"製造"`, `"小売"`, `"金融"`, `"IT"`, `"医療"`}
	spaces := []string{"support", "ideas", "general", "announcements"}
	day := int64(24 * time.Hour / time.Millisecond)
	nowMS := db.Now(now)
	const chunk = 10_000
	for start := 0; start < size.Profiles; start += chunk {
		for i := start; i < min(start+chunk, size.Profiles); i++ {
			pid := BenchProfileID(i)
			var merged any
			if i > 0 && i%20 == 0 {
				merged = BenchProfileID(i - 1)
			}
			tables[0].rows = append(tables[0].rows, pid, nowMS-400*day, merged)
			tables[1].rows = append(tables[1].rows,
				pid, "plan", plans[r.IntN(len(plans))], "crm", nowMS-int64(r.IntN(300))*day,
				pid, "email", fmt.Sprintf(`"person%d@example.jp"`, i), "community", nowMS-400*day,
				pid, "name", fmt.Sprintf(`"利用者 %d"`, i), "community", nowMS-400*day,
				pid, "industry", industries[r.IntN(len(industries))], "crm", nowMS-int64(r.IntN(300))*day)
			n := int(math.Round(r.ExpFloat64() * mean))
			if events+n > size.Events || i == size.Profiles-1 {
				n = max(0, size.Events-events)
			}
			if n == 0 {
				continue
			}
			// The last active day: exponential with a mean of 45 days ago (within a week for one in seven).
			last := nowMS - int64(r.ExpFloat64()*45*float64(day))
			span := int64(r.IntN(180)) * day
			type counter struct{ n, first, last int64 }
			counts := map[string]*counter{}
			count := func(key string, at int64) {
				c := counts[key]
				if c == nil {
					counts[key] = &counter{1, at, at}
					return
				}
				c.n++
				c.first, c.last = min(c.first, at), max(c.last, at)
			}
			for k := range n {
				e := benchEvents[pick()]
				at := last
				if k > 0 && span > 0 {
					at -= r.Int64N(span)
				}
				props := `{}`
				switch e.name {
				case "Post Created", "Comment Created":
					props = fmt.Sprintf(`{"space":%q,"post_id":"p%d"}`, spaces[r.IntN(len(spaces))], r.IntN(1_000_000))
				case "Product Viewed":
					props = fmt.Sprintf(`{"product":"sku-%d","price":%d}`, r.IntN(200), 1000*(1+r.IntN(50)))
				case "Thread", "Space", "Home":
					props = fmt.Sprintf(`{"path":"/t/%d","title":"スレッド %d"}`, r.IntN(100_000), r.IntN(100_000))
				}
				tables[2].rows = append(tables[2].rows, fmt.Sprintf("bench-%08d-%d", i, k), pid, e.typ, e.name, e.source, at, props)
				count("all", at)
				if e.typ == "track" {
					count("event:"+e.name, at)
				} else {
					count("type:"+e.typ, at)
				}
				count("source:"+e.source, at)
			}
			events += n
			for key, c := range counts {
				tables[3].rows = append(tables[3].rows, pid, key, c.n, c.first, c.last)
			}
			switch r.IntN(10) {
			case 0, 1:
				tables[4].rows = append(tables[4].rows, "t"+pid, "xt"+pid, pid, "ログインできない", "open", "normal", last, last)
			case 2:
				tables[4].rows = append(tables[4].rows, "t"+pid, "xt"+pid, pid, "請求書について", "solved", "low", last, last)
			}
			if r.IntN(3) == 0 {
				tables[5].rows = append(tables[5].rows, "c"+pid, pid, "email", "marketing",
					[]string{"opted_in", "opted_in", "opted_out"}[r.IntN(3)], last, "bench", "system", last)
			}
		}
		if err := d.Tx(ctx, flush); err != nil {
			return events, err
		}
		if w != nil && (start/chunk)%max(1, size.Profiles/chunk/10) == 0 {
			fmt.Fprintf(w, "  seeded %d of %d profiles, %d events\n", min(start+chunk, size.Profiles), size.Profiles, events)
		}
	}
	if d.Engine == db.Postgres { // as autovacuum would have by now
		if _, err := d.W.ExecContext(ctx, `ANALYZE`); err != nil {
			return events, err
		}
	}
	return events, nil
}
