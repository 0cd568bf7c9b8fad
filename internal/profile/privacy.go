package profile

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
)

var _ dsr.Part = (*Service)(nil)

// traitExport is one trait of the subject's profile, current or past.
type traitExport struct {
	ProfileID string    `json:"profile_id"`
	Name      string    `json:"name"`
	Value     any       `json:"value"`
	Source    string    `json:"source"`
	At        time.Time `json:"at"`
}

// countExport is one counter computed from the subject's events.
type countExport struct {
	ProfileID string    `json:"profile_id"`
	Key       string    `json:"key"`
	Count     int64     `json:"count"`
	FirstAt   time.Time `json:"first_at"`
	LastAt    time.Time `json:"last_at"`
}

// ExportSubject returns the subject's traits (current and every change), every event on their
// profile with its properties, and the counters computed from them.
func (s *Service) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.ProfileIDs) == 0 {
		return nil, nil
	}
	in, args := familyIn(sub.ProfileIDs)
	traits, err := s.exportTraits(ctx, `SELECT profile_id, name, value, source, updated_at FROM profile_traits WHERE profile_id `+in+` ORDER BY name`, args)
	if err != nil {
		return nil, err
	}
	history, err := s.exportTraits(ctx, `SELECT profile_id, name, value, source, at FROM profile_trait_changes WHERE profile_id `+in+` ORDER BY at, id`, args)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT message_id, profile_id, type, name, source, at, properties FROM profile_events
		WHERE profile_id `+in+` ORDER BY at, message_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting events: %w", err)
	}
	events := []Event{}
	for rows.Next() {
		var e Event
		var at int64
		var props string
		if err := rows.Scan(&e.MessageID, &e.ProfileID, &e.Type, &e.Name, &e.Source, &at, &props); err != nil {
			rows.Close()
			return nil, err
		}
		e.At, e.Properties = db.Time(at), json.RawMessage(props)
		events = append(events, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.db.R.QueryContext(ctx, `SELECT profile_id, key, count, first_at, last_at FROM profile_counts WHERE profile_id `+in+` ORDER BY key`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting counters: %w", err)
	}
	defer rows.Close()
	counts := []countExport{}
	for rows.Next() {
		var c countExport
		var first, last int64
		if err := rows.Scan(&c.ProfileID, &c.Key, &c.Count, &first, &last); err != nil {
			return nil, err
		}
		c.FirstAt, c.LastAt = db.Time(first), db.Time(last)
		counts = append(counts, c)
	}
	return []dsr.Table{
		{Name: "traits", Rows: traits}, {Name: "trait_history", Rows: history},
		{Name: "events", Rows: events}, {Name: "event_counts", Rows: counts},
	}, rows.Err()
}

func (s *Service) exportTraits(ctx context.Context, query string, args []any) ([]traitExport, error) {
	rows, err := s.db.R.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting traits: %w", err)
	}
	defer rows.Close()
	out := []traitExport{}
	for rows.Next() {
		var t traitExport
		var v string
		var at int64
		if err := rows.Scan(&t.ProfileID, &t.Name, &v, &t.Source, &at); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(v), &t.Value); err != nil {
			return nil, fmt.Errorf("decoding trait %s: %w", t.Name, err)
		}
		t.At = db.Time(at)
		out = append(out, t)
	}
	return out, rows.Err()
}

// EraseSubject deletes the subject's timeline, counters, traits and trait history. Events of
// other people that name the subject's ids (an answer of theirs accepted by someone else, a
// message sent to them) name the tombstone instead.
func (s *Service) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	if len(e.ProfileIDs) > 0 {
		in, args := familyIn(e.ProfileIDs)
		for _, table := range []string{"profile_events", "profile_counts", "profile_traits", "profile_trait_changes"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE profile_id `+in, args...); err != nil {
				return fmt.Errorf("erasing %s: %w", table, err)
			}
		}
	}
	for _, v := range e.IDs() {
		if err := db.Replace(ctx, tx, "profile_events", "properties", v, e.Tombstone); err != nil {
			return err
		}
	}
	return nil
}
