package profile

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	gojson "github.com/goccy/go-json"

	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// ConsumerName is the durable name of the profile consumer.
const ConsumerName = "profiles"

// Consumer returns the backbone consumer that puts every event on its profile: the identity graph
// resolves the event's identifiers (creating, extending or merging profiles) and, in the same
// transaction, the event joins the profile's timeline, its counters move and identify traits are
// applied. One transaction per few hundred events; an event already on a profile is skipped, so
// redelivery changes nothing.
func (s *Service) Consumer() backbone.Consumer {
	return backbone.Consumer{Name: ConsumerName, Handle: s.handle, HandleLean: s.handleLean}
}

// maxRows bounds the rows of one multi-row statement.
const maxRows = 200

// handle puts events already decoded on their profiles.
func (s *Service) handle(ctx context.Context, evs []event.Event) error {
	payloads := make([]string, len(evs))
	for i := range evs {
		p, err := json.Marshal(payloadOf(&evs[i]))
		if err != nil {
			return fmt.Errorf("encoding event %s: %w", evs[i].MessageID, err)
		}
		payloads[i] = string(p)
	}
	return s.put(ctx, evs, payloads)
}

// handleLean puts events from the stream on their profiles, decoding only the traits and the
// context fields the identity graph (identity.ContextKeys) and the trait sources read: the stored
// payload is the properties (or traits) as they were on the stream.
func (s *Service) handleLean(ctx context.Context, leans []backbone.Lean) error {
	evs := make([]event.Event, len(leans))
	payloads := make([]string, len(leans))
	for i := range leans {
		l := &leans[i]
		ev := l.Event
		if len(l.Traits) > 0 {
			if err := gojson.Unmarshal(l.Traits, &ev.Traits); err != nil {
				return fmt.Errorf("event %s: traits: %w", ev.MessageID, err)
			}
		}
		if len(l.Context) > 0 {
			var c map[string]json.RawMessage
			if err := gojson.Unmarshal(l.Context, &c); err != nil {
				return fmt.Errorf("event %s: context: %w", ev.MessageID, err)
			}
			ev.Context = map[string]any{}
			for _, k := range contextKeys {
				if raw, ok := c[k]; ok {
					var v any
					if err := gojson.Unmarshal(raw, &v); err != nil {
						return fmt.Errorf("event %s: context.%s: %w", ev.MessageID, k, err)
					}
					ev.Context[k] = v
				}
			}
		}
		payload := l.Properties
		if usesTraits(ev.Type) {
			payload = l.Traits
		}
		payloads[i] = "{}"
		if len(payload) > 0 && string(payload) != "null" {
			payloads[i] = string(payload)
		}
		evs[i] = ev
	}
	return s.put(ctx, evs, payloads)
}

// contextKeys are the context fields handleLean decodes: the graph's, and the source id of
// traitSource.
var contextKeys = append(slices.Clone(identity.ContextKeys), contextSourceID)

// contextSourceID is the context field that names the tracking source (ingest.ContextSourceID).
const contextSourceID = "source_id"

// usesTraits reports whether events of type typ carry traits rather than properties.
func usesTraits(typ string) bool { return typ == event.Identify || typ == event.Group }

// payloadOf is what an event stores on its profile: its properties, or its traits for identify and
// group, never null.
func payloadOf(ev *event.Event) map[string]any {
	p := ev.Properties
	if usesTraits(ev.Type) {
		p = ev.Traits
	}
	if p == nil {
		return map[string]any{}
	}
	return p
}

// put puts evs on their profiles; payloads[i] is what evs[i] stores (JSON).
func (s *Service) put(ctx context.Context, evs []event.Event, payloads []string) error {
	if err := s.prepare(ctx); err != nil {
		return err
	}
	size, apply := txEvents, s.apply
	if s.db.Engine == db.Postgres {
		size, apply = txEventsPostgres, s.applyInParts
	}
	for lo := 0; lo < len(evs); lo += size {
		hi := min(lo+size, len(evs))
		if err := apply(ctx, evs[lo:hi], payloads[lo:hi]); err != nil {
			return err
		}
	}
	return nil
}

// pgParts is how many transactions put one chunk of events on profiles at once on PostgreSQL,
// where one connection's statements run on one server process: together they use the other cores
// while one waits for its commit to reach disk.
const pgParts = 2

// applyInParts splits evs by person (anonymous id, else user id) into pgParts parts and applies
// them in concurrent transactions, so one person's events keep their order. Two parts can still
// meet: the first call of a person with a new anonymous id and a call by their user id alone, or
// a merge. Each part's transaction is REPEATABLE READ, so where they meet, one waits for the other
// and then fails (a duplicate key, a serialization failure or a deadlock) rather than act on what
// it read before; a part that failed is applied again after the others have committed, seeing
// what they did.
func (s *Service) applyInParts(ctx context.Context, evs []event.Event, payloads []string) error {
	if len(evs) < 2*maxRows {
		return s.apply(ctx, evs, payloads)
	}
	type part struct {
		evs      []event.Event
		payloads []string
		err      error
	}
	parts := make([]part, pgParts)
	for i := range evs {
		key := evs[i].AnonymousID
		if key == "" {
			key = evs[i].UserID
		}
		p := &parts[fnv32(key)%pgParts]
		p.evs = append(p.evs, evs[i])
		p.payloads = append(p.payloads, payloads[i])
	}
	var wg sync.WaitGroup
	for i := range parts {
		if len(parts[i].evs) > 0 {
			wg.Go(func() { parts[i].err = s.applyIsolated(ctx, parts[i].evs, parts[i].payloads, true) })
		}
	}
	wg.Wait()
	for _, p := range parts {
		if p.err != nil {
			if err := s.apply(ctx, p.evs, p.payloads); err != nil {
				return err
			}
		}
	}
	return nil
}

// fnv32 is the 32-bit FNV-1a hash of s.
func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

// txEvents bounds the events one transaction puts on profiles. On SQLite a transaction holds the
// database's only writer, which the tracking API needs to acknowledge calls: short transactions
// keep its latency low while the consumer catches up with a backlog.
const txEvents = 400

// txEventsPostgres is the same bound on PostgreSQL, which locks rows, not the database: there a
// commit's cost is its flush to disk, so fewer, larger transactions go faster.
const txEventsPostgres = 5000

// apply puts evs on their profiles in one transaction.
func (s *Service) apply(ctx context.Context, evs []event.Event, payloads []string) error {
	return s.applyIsolated(ctx, evs, payloads, false)
}

// applyIsolated is apply, in a REPEATABLE READ transaction on PostgreSQL when isolated: one that
// runs beside another then reads one state of the graph throughout, and fails rather than
// overwrite a row the other changed.
func (s *Service) applyIsolated(ctx context.Context, evs []event.Event, payloads []string, isolated bool) error {
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if isolated && s.db.Engine == db.Postgres {
			if _, err := tx.ExecContext(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`); err != nil {
				return err
			}
		}
		seen, err := s.landed(ctx, tx, evs)
		if err != nil {
			return err
		}
		ids, err := s.identity.NewBatch(ctx, tx, evs)
		if err != nil {
			return err
		}
		b := batch{counts: map[countKey]*counter{}}
		var traits []traitSet
		for i := range evs {
			ev := &evs[i]
			if seen[ev.MessageID] {
				continue
			}
			seen[ev.MessageID] = true
			pid, err := ids.Resolve(ctx, ev)
			if err != nil {
				return err
			}
			if pid == "" {
				continue
			}
			b.add(pid, ev, payloads[i])
			if ev.Type == event.Identify && len(ev.Traits) > 0 {
				traits = append(traits, traitSet{profile: pid, source: traitSource(ev), messageID: ev.MessageID, at: at(ev), traits: ev.Traits})
			}
		}
		if err := ids.Flush(ctx); err != nil {
			return err
		}
		if err := s.applyTraits(ctx, tx, traits); err != nil {
			return err
		}
		return s.flush(ctx, tx, &b)
	})
}

// prepare prepares the statements the consumer runs most, once.
func (s *Service) prepare(ctx context.Context) error {
	s.prepared.Do(func() {
		s.q = queries{
			events: s.insertEvents(maxRows),
			counts: s.upsertCounts(maxRows),
			landed: s.landedQuery(maxRows),
			traits: s.traitsQuery(maxRows),
		}
	})
	err := s.db.Prepare(ctx, s.q.events, s.q.counts, s.q.landed, s.q.traits)
	if err != nil {
		return err
	}
	return s.identity.Prepare(ctx)
}

// queries are the consumer's statements; the multi-row ones for a full chunk of maxRows.
type queries struct {
	events, counts, landed, traits string
}

func (s *Service) insertEvents(rows int) string {
	return `INSERT INTO profile_events (message_id, profile_id, type, name, source, at, properties) VALUES ` +
		s.db.Engine.Values(rows, eventCols) + ` ON CONFLICT (message_id) DO NOTHING`
}

func (s *Service) upsertCounts(rows int) string {
	least, greatest := "LEAST", "GREATEST"
	if s.db.Engine == db.SQLite {
		least, greatest = "MIN", "MAX"
	}
	return `INSERT INTO profile_counts (profile_id, key, count, first_at, last_at) VALUES ` + s.db.Engine.Values(rows, 5) +
		` ON CONFLICT (profile_id, key) DO UPDATE SET count = profile_counts.count + excluded.count,
		first_at = ` + least + `(profile_counts.first_at, excluded.first_at), last_at = ` + greatest + `(profile_counts.last_at, excluded.last_at)`
}

// landed returns which of evs are already on a profile.
func (s *Service) landed(ctx context.Context, tx *sql.Tx, evs []event.Event) (map[string]bool, error) {
	seen := make(map[string]bool, len(evs))
	for chunk := range slices.Chunk(evs, maxRows) {
		ids := make([]string, len(chunk))
		for i, ev := range chunk {
			ids[i] = ev.MessageID
		}
		q := s.q.landed
		if len(ids) < maxRows {
			q = s.landedQuery(len(ids))
		}
		rows, err := s.db.Query(ctx, tx, q, s.db.Engine.InArgs(ids)...)
		if err != nil {
			return nil, fmt.Errorf("checking events already on profiles: %w", err)
		}
		for rows.Next() {
			var m string
			if err := rows.Scan(&m); err != nil {
				rows.Close()
				return nil, err
			}
			seen[m] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return seen, nil
}

// at is when an event happened, in stored form.
func at(ev *event.Event) int64 {
	if !ev.Timestamp.IsZero() {
		return db.Now(ev.Timestamp)
	}
	return db.Now(ev.ReceivedAt)
}

// traitSource names where a trait came from: the event's source, and for the tracking API the
// source (write key) that sent it.
func traitSource(ev *event.Event) string {
	if id, ok := ev.Context[contextSourceID].(string); ok && id != "" {
		return ev.Source + ":" + id
	}
	return ev.Source
}

type countKey struct{ profile, key string }

type counter struct{ n, first, last int64 }

// batch gathers the rows one Handle call writes, so that each profile's counters are written once
// per batch however many of its events it holds.
type batch struct {
	events []any // profile_events rows, flattened
	counts map[countKey]*counter
}

const eventCols = 7

func (b *batch) add(pid string, ev *event.Event, payload string) {
	name := ev.Event
	switch ev.Type {
	case event.Page, event.Screen:
		name = ev.Name
	case event.Identify, event.Group:
		name = ""
	}
	t := at(ev)
	b.events = append(b.events, ev.MessageID, pid, ev.Type, name, ev.Source, t, payload)
	// Counters kept: all events, per type (per name for tracks), and per source for the person's
	// own doings (community and tracking), which segments count as activity; nobody reads the
	// others' (crm, import, system).
	keys := []string{"all", "type:" + ev.Type}
	if ev.Type == event.Track {
		keys[1] = "event:" + ev.Event
	}
	if ev.Source == event.SourceCommunity || ev.Source == event.SourceTracking {
		keys = append(keys, "source:"+ev.Source)
	}
	for _, k := range keys {
		c := b.counts[countKey{pid, k}]
		if c == nil {
			b.counts[countKey{pid, k}] = &counter{n: 1, first: t, last: t}
			continue
		}
		c.n++
		c.first, c.last = min(c.first, t), max(c.last, t)
	}
}

func (s *Service) flush(ctx context.Context, tx *sql.Tx, b *batch) error {
	for rows := range slices.Chunk(b.events, maxRows*eventCols) {
		q := s.q.events
		if n := len(rows) / eventCols; n < maxRows {
			q = s.insertEvents(n)
		}
		if _, err := s.db.Exec(ctx, tx, q, rows...); err != nil {
			return fmt.Errorf("adding events to profiles: %w", err)
		}
	}
	keys := make([]countKey, 0, len(b.counts))
	for k := range b.counts {
		keys = append(keys, k)
	}
	// A fixed order keeps two writers from locking the same rows in opposite orders on PostgreSQL.
	slices.SortFunc(keys, func(x, y countKey) int {
		return cmp.Or(cmp.Compare(x.profile, y.profile), cmp.Compare(x.key, y.key))
	})
	for chunk := range slices.Chunk(keys, maxRows) {
		args := make([]any, 0, len(chunk)*5)
		for _, k := range chunk {
			c := b.counts[k]
			args = append(args, k.profile, k.key, c.n, c.first, c.last)
		}
		q := s.q.counts
		if len(chunk) < maxRows {
			q = s.upsertCounts(len(chunk))
		}
		if _, err := s.db.Exec(ctx, tx, q, args...); err != nil {
			return fmt.Errorf("counting profile events: %w", err)
		}
	}
	return nil
}

// traitSet is the traits of one identify call.
type traitSet struct {
	profile, source, messageID string
	at                         int64
	traits                     map[string]any
}

type traitKey struct{ profile, name string }

type storedTrait struct {
	value, source string
	at            int64
	changed       bool
}

// applyTraits records the batch's identify traits. A value different from the stored one goes
// into the history; it becomes the current value unless the stored one is newer (an event that
// arrives late does not undo a later change). The current values of the profiles concerned are
// read with one query per chunk and written back once each.
func (s *Service) applyTraits(ctx context.Context, tx *sql.Tx, sets []traitSet) error {
	if len(sets) == 0 {
		return nil
	}
	cur := map[traitKey]*storedTrait{}
	var pids []string
	seen := map[string]bool{}
	for _, ts := range sets {
		if !seen[ts.profile] {
			seen[ts.profile] = true
			pids = append(pids, ts.profile)
		}
	}
	for chunk := range slices.Chunk(pids, maxRows) {
		q := s.q.traits
		if len(chunk) < maxRows {
			q = s.traitsQuery(len(chunk))
		}
		rows, err := s.db.Query(ctx, tx, q, s.db.Engine.InArgs(chunk)...)
		if err != nil {
			return fmt.Errorf("reading traits: %w", err)
		}
		for rows.Next() {
			var k traitKey
			st := &storedTrait{}
			if err := rows.Scan(&k.profile, &k.name, &st.value, &st.source, &st.at); err != nil {
				rows.Close()
				return err
			}
			cur[k] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	var changes []any
	var dirty []traitKey
	for _, ts := range sets {
		names := make([]string, 0, len(ts.traits))
		for n := range ts.traits {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			js, err := json.Marshal(ts.traits[n])
			if err != nil {
				return fmt.Errorf("encoding trait %s: %w", n, err)
			}
			v, k := string(js), traitKey{ts.profile, n}
			old := cur[k]
			if old != nil && old.value == v {
				continue
			}
			changes = append(changes, ts.profile, n, v, ts.source, ts.at, ts.messageID)
			if old != nil && old.at > ts.at {
				continue
			}
			if old == nil || !old.changed {
				dirty = append(dirty, k)
			}
			cur[k] = &storedTrait{value: v, source: ts.source, at: ts.at, changed: true}
		}
	}
	for rows := range slices.Chunk(changes, 6*maxRows) {
		if _, err := s.db.Exec(ctx, tx, `INSERT INTO profile_trait_changes (profile_id, name, value, source, at, message_id) VALUES `+
			s.db.Engine.Values(len(rows)/6, 6), rows...); err != nil {
			return fmt.Errorf("recording trait changes: %w", err)
		}
	}
	for chunk := range slices.Chunk(dirty, maxRows) {
		args := make([]any, 0, 5*len(chunk))
		for _, k := range chunk {
			st := cur[k]
			args = append(args, k.profile, k.name, st.value, st.source, st.at)
		}
		if _, err := s.db.Exec(ctx, tx, `INSERT INTO profile_traits (profile_id, name, value, source, updated_at) VALUES `+
			s.db.Engine.Values(len(chunk), 5)+` ON CONFLICT (profile_id, name) DO UPDATE SET value = excluded.value,
			source = excluded.source, updated_at = excluded.updated_at`, args...); err != nil {
			return fmt.Errorf("setting traits: %w", err)
		}
	}
	return nil
}

func (s *Service) traitsQuery(profiles int) string {
	return `SELECT profile_id, name, value, source, updated_at FROM profile_traits WHERE profile_id ` + s.db.Engine.In(profiles, 1)
}

func (s *Service) landedQuery(events int) string {
	return `SELECT message_id FROM profile_events WHERE message_id ` + s.db.Engine.In(events, 1)
}
