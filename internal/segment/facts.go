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

// loadFacts reads the facts of the root profile whose family is family, through q: its track
// events only those named in events, its scores only under the models named in scores.
func loadFacts(ctx context.Context, q db.Queryer, family []string, events, scores []string) (*Facts, error) {
	f := &Facts{Traits: map[string]any{}, Counters: map[string]Counter{}, Consents: map[[2]string]string{}, Scores: map[string]FactScore{}}
	in, args := db.InList(family, 1)
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
	traitFrom := map[string]traitAt{}
	if err := each("traits", `SELECT profile_id, name, value, updated_at FROM profile_traits WHERE profile_id `+in, args, func(rows *sql.Rows) error {
		var pid, name, value string
		var at int64
		if err := rows.Scan(&pid, &name, &value, &at); err != nil {
			return err
		}
		// Across the family the latest value wins; on a tie, the greater profile id (as in SQL).
		if old, ok := traitFrom[name]; ok && (old.at > at || (old.at == at && old.profile > pid)) {
			return nil
		}
		var v any
		if err := json.Unmarshal([]byte(stripNUL(value)), &v); err != nil {
			return fmt.Errorf("trait %s: %w", name, err)
		}
		traitFrom[name] = traitAt{at, pid}
		f.Traits[name] = v
		return nil
	}); err != nil {
		return nil, err
	}
	if err := each("counters", `SELECT key, SUM(count), MIN(first_at), MAX(last_at) FROM profile_counts WHERE profile_id `+in+
		` AND key IN ('source:community', 'source:tracking', 'type:page') GROUP BY key`, args, func(rows *sql.Rows) error {
		var key string
		var c Counter
		if err := rows.Scan(&key, &c.N, &c.FirstAt, &c.LastAt); err != nil {
			return err
		}
		f.Counters[key] = c
		return nil
	}); err != nil {
		return nil, err
	}
	if len(events) > 0 {
		names, nargs := db.InList(events, len(args)+1)
		eargs := append(append([]any(nil), args...), nargs...)
		q := `SELECT name, at, properties FROM profile_events WHERE profile_id ` + in + ` AND type = 'track' AND name ` + names
		if err := each("events", q, eargs, func(rows *sql.Rows) error {
			var e FactEvent
			var props string
			if err := rows.Scan(&e.Name, &e.At, &props); err != nil {
				return err
			}
			var v any
			if err := json.Unmarshal([]byte(stripNUL(props)), &v); err != nil {
				return fmt.Errorf("event properties: %w", err)
			}
			e.Properties, _ = v.(map[string]any)
			f.Events = append(f.Events, e)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM crm_purchases WHERE profile_id `+in, args...).Scan(&f.Purchases); err != nil {
		return nil, fmt.Errorf("reading purchases for segments: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM crm_tickets WHERE profile_id `+in+` AND status IN ('open', 'pending')`,
		args...).Scan(&f.OpenTickets); err != nil {
		return nil, fmt.Errorf("reading tickets for segments: %w", err)
	}
	if err := each("contracts", `SELECT DISTINCT k.id, k.plan, k.status, COALESCE(k.renews_on, '') FROM crm_contracts k
		JOIN profile_accounts pa ON pa.account_id = k.account_id WHERE pa.profile_id `+in, args, func(rows *sql.Rows) error {
		var id string
		var k FactContract
		if err := rows.Scan(&id, &k.Plan, &k.Status, &k.RenewsOn); err != nil {
			return err
		}
		f.Contracts = append(f.Contracts, k)
		return nil
	}); err != nil {
		return nil, err
	}
	type consentAt struct {
		at  int64
		out bool // opted_out
		id  string
	}
	consentFrom := map[[2]string]consentAt{}
	if err := each("consents", `SELECT channel, purpose, status, recorded_at, id FROM consent_records WHERE profile_id `+in, args, func(rows *sql.Rows) error {
		var ch, pu, st, id string
		var at int64
		if err := rows.Scan(&ch, &pu, &st, &at, &id); err != nil {
			return err
		}
		// The latest recorded_at wins; on a tie an opt-out, then the greater id (as the consent
		// ledger chooses).
		k := [2]string{ch, pu}
		cur := consentAt{at, st == "opted_out", id}
		if old, ok := consentFrom[k]; ok && cmp.Or(cmp.Compare(old.at, cur.at), compareBool(old.out, cur.out), cmp.Compare(old.id, cur.id)) > 0 {
			return nil
		}
		consentFrom[k] = cur
		f.Consents[k] = st
		return nil
	}); err != nil {
		return nil, err
	}
	if len(scores) > 0 {
		models, margs := db.InList(scores, len(args)+1)
		sargs := append(append([]any(nil), args...), margs...)
		if err := each("scores", `SELECT v.model_id, v.value, v.as_of, k.half_life_ms, k.max_score FROM score_values v
			JOIN score_models k ON k.id = v.model_id WHERE v.profile_id `+in+` AND v.model_id `+models, sargs, func(rows *sql.Rows) error {
			var mid string
			var st ScoreState
			var hl int64
			var capv sql.NullFloat64
			if err := rows.Scan(&mid, &st.Value, &st.AsOf, &hl, &capv); err != nil {
				return err
			}
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
	return f, nil
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

// eventNames returns the track event names the expanded definition n counts.
func eventNames(n Node, into map[string]bool) {
	switch {
	case n.Event != nil:
		into[n.Event.Name] = true
	case n.ref != nil:
		eventNames(*n.ref, into)
	}
	for _, x := range n.All {
		eventNames(x, into)
	}
	for _, x := range n.Any {
		eventNames(x, into)
	}
	if n.Not != nil {
		eventNames(*n.Not, into)
	}
}
