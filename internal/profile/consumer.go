package profile

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/event"
)

// ConsumerName is the durable name of the profile consumer.
const ConsumerName = "profiles"

// Consumer returns the backbone consumer that puts every event on its profile: the identity graph
// resolves the event's identifiers (creating, extending or merging profiles) and, in the same
// transaction, the event joins the profile's timeline, its counters move and identify traits are
// applied. One transaction per few hundred events; an event already on a profile is skipped, so
// redelivery changes nothing.
func (s *Service) Consumer() backbone.Consumer {
	return backbone.Consumer{Name: ConsumerName, Handle: s.handle}
}

// maxRows bounds the rows of one multi-row statement.
const maxRows = 200

func (s *Service) handle(ctx context.Context, evs []event.Event) error {
	if err := s.prepare(ctx); err != nil {
		return err
	}
	for chunk := range slices.Chunk(evs, txEvents) {
		if err := s.apply(ctx, chunk); err != nil {
			return err
		}
	}
	return nil
}

// txEvents bounds the events one transaction puts on profiles. On SQLite a transaction holds the
// database's only writer, which the tracking API needs to acknowledge calls: short transactions
// keep its latency low while the consumer catches up with a backlog.
const txEvents = 400

// apply puts evs on their profiles in one transaction.
func (s *Service) apply(ctx context.Context, evs []event.Event) error {
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
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
			if err := b.add(pid, ev); err != nil {
				return err
			}
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
	if id, ok := ev.Context["source_id"].(string); ok && id != "" {
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

func (b *batch) add(pid string, ev *event.Event) error {
	name, payload := ev.Event, ev.Properties
	switch ev.Type {
	case event.Page, event.Screen:
		name = ev.Name
	case event.Identify, event.Group:
		name, payload = "", ev.Traits
	}
	props := []byte("{}")
	if len(payload) > 0 {
		var err error
		if props, err = json.Marshal(payload); err != nil {
			return fmt.Errorf("encoding event %s: %w", ev.MessageID, err)
		}
	}
	t := at(ev)
	b.events = append(b.events, ev.MessageID, pid, ev.Type, name, ev.Source, t, string(props))
	keys := []string{"all", "source:" + ev.Source, "type:" + ev.Type}
	if ev.Type == event.Track {
		keys[2] = "event:" + ev.Event
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
	return nil
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
