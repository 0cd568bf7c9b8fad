package segment

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kizuna-community/kizuna/internal/db"
)

// wants says which facts the segments being evaluated read beyond those always read: the track
// events they name, the score models they compare, and whether any has a community condition.
type wants struct {
	events    []string
	scores    []string // the score models they compare
	community bool
}

// loadFacts reads the facts of the root profile whose family is family, through q: of its track
// events only those w names, and its community facts only when w asks for them.
func loadFacts(ctx context.Context, q db.Queryer, family []string, w wants) (*Facts, error) {
	fs, err := loadFactsMany(ctx, q, [][]string{family}, w)
	if err != nil {
		return nil, err
	}
	return fs[0], nil
}

// loadFactsMany is loadFacts for several families at once, one statement per kind of fact for
// all of them: the incremental evaluator re-checks a batch of profiles in a dozen statements, not
// a dozen per profile.
func loadFactsMany(ctx context.Context, q db.Queryer, families [][]string, w wants) ([]*Facts, error) {
	out := make([]*Facts, len(families))
	owner := map[string]int{} // profile id → its family's index
	var ids []string
	for i, family := range families {
		out[i] = &Facts{Traits: map[string]any{}, Counters: map[string]Counter{}, Consents: map[[2]string]string{}, Scores: map[string]FactScore{}}
		for _, pid := range family {
			owner[pid] = i
			ids = append(ids, pid)
		}
	}
	in, args := db.InList(ids, 1)
	each := func(what, query string, args []any, scan func(rows *sql.Rows) error) error {
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("reading %s for segments: %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("reading %s for segments: %w", what, err)
			}
		}
		return rows.Err()
	}
	type traitAt struct {
		at      int64
		profile string
	}
	traitFrom := make([]map[string]traitAt, len(families))
	for i := range traitFrom {
		traitFrom[i] = map[string]traitAt{}
	}
	if err := each("traits", `SELECT profile_id, name, value, updated_at FROM profile_traits WHERE profile_id `+in, args, func(rows *sql.Rows) error {
		var pid, name, value string
		var at int64
		if err := rows.Scan(&pid, &name, &value, &at); err != nil {
			return err
		}
		i := owner[pid]
		// Across the family the latest value wins; on a tie, the greater profile id (as in SQL).
		if old, ok := traitFrom[i][name]; ok && (old.at > at || (old.at == at && old.profile > pid)) {
			return nil
		}
		var v any
		if err := json.Unmarshal([]byte(stripNUL(value)), &v); err != nil {
			return fmt.Errorf("trait %s: %w", name, err)
		}
		traitFrom[i][name] = traitAt{at, pid}
		out[i].Traits[name] = v
		return nil
	}); err != nil {
		return nil, err
	}
	if err := each("counters", `SELECT profile_id, key, count, first_at, last_at FROM profile_counts WHERE profile_id `+in+
		` AND key IN ('source:community', 'source:tracking', 'type:page', 'event:`+EventLoggedIn+`')`, args, func(rows *sql.Rows) error {
		var pid, key string
		var c Counter
		if err := rows.Scan(&pid, &key, &c.N, &c.FirstAt, &c.LastAt); err != nil {
			return err
		}
		f := out[owner[pid]]
		if old, ok := f.Counters[key]; ok {
			c = Counter{N: old.N + c.N, FirstAt: min(old.FirstAt, c.FirstAt), LastAt: max(old.LastAt, c.LastAt)}
		}
		f.Counters[key] = c
		return nil
	}); err != nil {
		return nil, err
	}
	if len(w.events) > 0 {
		names, nargs := db.InList(w.events, len(args)+1)
		eargs := append(append([]any(nil), args...), nargs...)
		// "name || ''" keeps SQLite, which has no statistics to tell, from choosing the index of
		// all track events by name over the family's own events.
		q := `SELECT profile_id, name, at, properties FROM profile_events WHERE profile_id ` + in + ` AND type = 'track' AND name || '' ` + names
		if err := each("events", q, eargs, func(rows *sql.Rows) error {
			var pid, props string
			var e FactEvent
			if err := rows.Scan(&pid, &e.Name, &e.At, &props); err != nil {
				return err
			}
			var v any
			if err := json.Unmarshal([]byte(stripNUL(props)), &v); err != nil {
				return fmt.Errorf("event properties: %w", err)
			}
			e.Properties, _ = v.(map[string]any)
			f := out[owner[pid]]
			f.Events = append(f.Events, e)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if err := each("purchases", `SELECT profile_id, COUNT(*) FROM crm_purchases WHERE profile_id `+in+` GROUP BY profile_id`, args, func(rows *sql.Rows) error {
		var pid string
		var n int64
		if err := rows.Scan(&pid, &n); err != nil {
			return err
		}
		out[owner[pid]].Purchases += n
		return nil
	}); err != nil {
		return nil, err
	}
	if err := each("tickets", `SELECT profile_id, COUNT(*) FROM crm_tickets WHERE profile_id `+in+` AND status IN ('open', 'pending') GROUP BY profile_id`,
		args, func(rows *sql.Rows) error {
			var pid string
			var n int64
			if err := rows.Scan(&pid, &n); err != nil {
				return err
			}
			out[owner[pid]].OpenTickets += n
			return nil
		}); err != nil {
		return nil, err
	}
	contracts := make([]map[string]bool, len(families)) // contract ids each family has, once each
	if err := each("contracts", `SELECT pa.profile_id, k.id, k.plan, k.status, COALESCE(k.renews_on, ''), k.starts_on FROM crm_contracts k
		JOIN profile_accounts pa ON pa.account_id = k.account_id WHERE pa.profile_id `+in, args, func(rows *sql.Rows) error {
		var pid, id string
		var k FactContract
		if err := rows.Scan(&pid, &id, &k.Plan, &k.Status, &k.RenewsOn, &k.StartsOn); err != nil {
			return err
		}
		i := owner[pid]
		if contracts[i] == nil {
			contracts[i] = map[string]bool{}
		}
		if !contracts[i][id] {
			contracts[i][id] = true
			out[i].Contracts = append(out[i].Contracts, k)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	type consentAt struct {
		at  int64
		out bool // opted_out
		id  string
	}
	consentFrom := make([]map[[2]string]consentAt, len(families))
	for i := range consentFrom {
		consentFrom[i] = map[[2]string]consentAt{}
	}
	if err := each("consents", `SELECT profile_id, channel, purpose, status, recorded_at, id FROM consent_records WHERE profile_id `+in, args, func(rows *sql.Rows) error {
		var pid, ch, pu, st, id string
		var at int64
		if err := rows.Scan(&pid, &ch, &pu, &st, &at, &id); err != nil {
			return err
		}
		// The latest recorded_at wins; on a tie an opt-out, then the greater id (as the consent
		// ledger chooses).
		i, k := owner[pid], [2]string{ch, pu}
		cur := consentAt{at, st == "opted_out", id}
		if old, ok := consentFrom[i][k]; ok && cmp.Or(cmp.Compare(old.at, cur.at), compareBool(old.out, cur.out), cmp.Compare(old.id, cur.id)) > 0 {
			return nil
		}
		consentFrom[i][k] = cur
		out[i].Consents[k] = st
		return nil
	}); err != nil {
		return nil, err
	}
	if len(w.scores) > 0 {
		models, margs := db.InList(w.scores, len(args)+1)
		sargs := append(append([]any(nil), args...), margs...)
		if err := each("scores", `SELECT v.profile_id, v.model_id, v.value, v.as_of, k.half_life_ms, k.max_score FROM score_values v
			JOIN score_models k ON k.id = v.model_id WHERE v.profile_id `+in+` AND v.model_id `+models, sargs, func(rows *sql.Rows) error {
			var pid, mid string
			var st ScoreState
			var hl int64
			var capv sql.NullFloat64
			if err := rows.Scan(&pid, &mid, &st.Value, &st.AsOf, &hl, &capv); err != nil {
				return err
			}
			f := out[owner[pid]]
			fs := f.Scores[mid]
			fs.HalfLifeMs = hl
			if capv.Valid {
				fs.Cap = &capv.Float64
			}
			fs.States = append(fs.States, st)
			f.Scores[mid] = fs
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if w.community {
		if err := loadCommunityFacts(out, owner, in, args, each); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// loadCommunityFacts reads the community facts of the members whose user_id identifier is on a
// profile of the families (owner maps each profile to its family's facts in out; in and args list
// the profiles), from the community's and meetups' tables. It reads rows as they are and decides
// in Go what the compiled SQL decides in its WHERE clauses.
func loadCommunityFacts(out []*Facts, owner map[string]int, in string, args []any,
	each func(what, query string, args []any, scan func(rows *sql.Rows) error) error) error {
	memberOf := map[string]int{} // member id → family index
	var members []string
	if err := each("members", `SELECT profile_id, value FROM identity_identifiers WHERE type = 'user_id' AND profile_id `+in, args, func(rows *sql.Rows) error {
		var pid, m string
		if err := rows.Scan(&pid, &m); err != nil {
			return err
		}
		memberOf[m] = owner[pid]
		members = append(members, m)
		return nil
	}); err != nil {
		return err
	}
	if len(members) == 0 {
		return nil
	}
	mIn, margs := db.InList(members, 1)
	if err := each("spaces", `SELECT sm.member_id, s.id, s.slug FROM space_members sm JOIN spaces s ON s.id = sm.space_id WHERE sm.member_id `+mIn, margs,
		func(rows *sql.Rows) error {
			var m string
			var sp FactSpace
			if err := rows.Scan(&m, &sp.ID, &sp.Slug); err != nil {
				return err
			}
			f := out[memberOf[m]]
			f.Spaces = append(f.Spaces, sp)
			return nil
		}); err != nil {
		return err
	}
	if err := each("attendance", `SELECT member_id, event_id, checked_in_at FROM meetup_rsvps WHERE checked_in_at IS NOT NULL AND member_id `+mIn, margs,
		func(rows *sql.Rows) error {
			var m string
			var a FactAttendance
			if err := rows.Scan(&m, &a.Event, &a.At); err != nil {
				return err
			}
			f := out[memberOf[m]]
			f.Attendance = append(f.Attendance, a)
			return nil
		}); err != nil {
		return err
	}
	if err := each("accepted answers", `SELECT p.author_id, a.author_id, p.hidden, a.hidden FROM comments a
		JOIN posts p ON p.accepted_comment_id = a.id WHERE a.author_id `+mIn, margs, func(rows *sql.Rows) error {
		var x FactAnswer
		var ph, ah int64
		if err := rows.Scan(&x.Asker, &x.Answerer, &ph, &ah); err != nil {
			return err
		}
		x.Hidden = ph != 0 || ah != 0
		f := out[memberOf[x.Answerer]]
		f.Answers = append(f.Answers, x)
		return nil
	}); err != nil {
		return err
	}
	// Each question with its replies' authors and whether each is hidden (a question without
	// replies comes once, with a NULL reply).
	questions := map[string]int{} // question id → its index in its asker's family's Questions
	return each("questions", `SELECT p.id, p.author_id, p.created_at, p.hidden, p.accepted_comment_id IS NOT NULL, a.author_id, a.hidden
		FROM posts p LEFT JOIN comments a ON a.post_id = p.id WHERE p.kind = 'question' AND p.author_id `+mIn, margs, func(rows *sql.Rows) error {
		var pid, asker string
		var at, hidden int64
		var accepted bool
		var replier sql.NullString
		var replyHidden sql.NullInt64
		if err := rows.Scan(&pid, &asker, &at, &hidden, &accepted, &replier, &replyHidden); err != nil {
			return err
		}
		f := out[memberOf[asker]]
		i, ok := questions[pid]
		if !ok {
			i = len(f.Questions)
			questions[pid] = i
			f.Questions = append(f.Questions, FactQuestion{At: at, Hidden: hidden != 0, Accepted: accepted})
		}
		if replier.Valid && replier.String != asker && replyHidden.Int64 == 0 {
			f.Questions[i].Replied = true
		}
		return nil
	})
}

// compareBool orders false before true.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

// stripNUL takes every \u0000 escape out of the JSON text doc, exactly as the compiled SQL does
// (see compiler.withoutNUL): an escaped backslash followed by u0000 stays.
func stripNUL(doc string) string {
	if !strings.Contains(doc, `\u0000`) {
		return doc
	}
	doc = strings.ReplaceAll(doc, `\\`, "\x01")
	doc = strings.ReplaceAll(doc, `\u0000`, "")
	return strings.ReplaceAll(doc, "\x01", `\\`)
}

// scanIDs reads a one-column result of ids into a set.
func scanIDs(rows *sql.Rows, err error) (map[string]bool, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var pid string
		if err := rows.Scan(&pid); err != nil {
			return nil, err
		}
		out[pid] = true
	}
	return out, rows.Err()
}

// scoreModels returns the score models the expanded definition n compares.
func scoreModels(n Node, into map[string]bool) {
	switch {
	case n.Score != nil:
		into[n.Score.Model] = true
	case n.ref != nil:
		scoreModels(*n.ref, into)
	}
	for _, x := range n.All {
		scoreModels(x, into)
	}
	for _, x := range n.Any {
		scoreModels(x, into)
	}
	if n.Not != nil {
		scoreModels(*n.Not, into)
	}
}

// wantsOf adds to into the track event names the expanded definition n counts, and reports in
// *community whether it has a community condition.
func wantsOf(n Node, into map[string]bool, community *bool) {
	switch {
	case n.Event != nil:
		into[n.Event.Name] = true
	case n.SpaceMember != "" || n.Attended != nil || n.AcceptedAnswers != nil || n.Unanswered != nil:
		*community = true
	case n.ref != nil:
		wantsOf(*n.ref, into, community)
	}
	for _, x := range n.All {
		wantsOf(x, into, community)
	}
	for _, x := range n.Any {
		wantsOf(x, into, community)
	}
	if n.Not != nil {
		wantsOf(*n.Not, into, community)
	}
}
