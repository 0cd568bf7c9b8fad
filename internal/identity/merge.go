package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
)

// The events the identity graph emits.
const (
	EventProfilesMerged   = "Profiles Merged"
	EventProfilesUnmerged = "Profiles Unmerged"
)

// systemActor is the anonymousId of the graph's own events; the consumer skips "kizuna:" ids, so
// they never link anything.
const systemActor = "kizuna:system"

// Merge is one recorded merge of the loser profile into the winner.
type Merge struct {
	ID          string    `json:"id"`
	WinnerID    string    `json:"winner_id"`
	LoserID     string    `json:"loser_id"`
	Reason      string    `json:"reason"`      // why the identifiers were seen together, e.g. "identify <messageId>"
	Rule        string    `json:"rule"`        // what allowed the merge, e.g. "shared email"
	Identifiers []ID      `json:"identifiers"` // what moved from the loser to the winner
	At          time.Time `json:"at"`
	UndoneAt    time.Time `json:"undone_at,omitzero"` // zero while the merge stands
}

func (g *Graph) mergeCount(ctx context.Context, tx *sql.Tx, winner string) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM identity_merges WHERE winner_id = $1 AND undone_at IS NULL`, winner).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting merges of %s: %w", winner, err)
	}
	return n, nil
}

// merge moves every identifier of loser to winner, records it and emits Profiles Merged.
func (g *Graph) merge(ctx context.Context, tx *sql.Tx, winner, loser, reason, rule string, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT type, value FROM identity_identifiers WHERE profile_id = $1 ORDER BY type, value`, loser)
	if err != nil {
		return fmt.Errorf("reading identifiers of %s: %w", loser, err)
	}
	moved := []ID{}
	for rows.Next() {
		var m ID
		if err := rows.Scan(&m.Type, &m.Value); err != nil {
			rows.Close()
			return err
		}
		moved = append(moved, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE identity_identifiers SET profile_id = $1 WHERE profile_id = $2`, winner, loser); err != nil {
		return fmt.Errorf("moving identifiers of %s: %w", loser, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE identity_profiles SET merged_into = $1 WHERE id = $2`, winner, loser); err != nil {
		return fmt.Errorf("marking %s merged: %w", loser, err)
	}
	js, err := json.Marshal(moved)
	if err != nil {
		return err
	}
	mergeID := id.New(now)
	if _, err := tx.ExecContext(ctx, `INSERT INTO identity_merges (id, winner_id, loser_id, reason, rule, identifiers, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, mergeID, winner, loser, reason, rule, string(js), db.Now(now)); err != nil {
		return fmt.Errorf("recording merge: %w", err)
	}
	g.log.Info("identity: profiles merged", "winner", winner, "loser", loser, "rule", rule, "reason", reason, "merge", mergeID)
	return g.emit(ctx, tx, EventProfilesMerged, now, map[string]any{
		"merge_id": mergeID, "winner": winner, "loser": loser, "reason": reason, "rule": rule,
	})
}

func (g *Graph) emit(ctx context.Context, tx *sql.Tx, name string, now time.Time, props map[string]any) error {
	if g.outbox == nil {
		return errors.New("identity: no outbox to emit " + name)
	}
	ev := event.New(event.Track, name, event.SourceSystem, now)
	ev.AnonymousID = systemActor
	ev.Properties = props
	return g.outbox.Emit(ctx, tx, ev)
}

// Unmerge undoes merge mergeID: the identifiers it moved go back to the loser profile (wherever
// they are now), the loser is no longer merged, the merge is marked undone and a "Profiles
// Unmerged" event is emitted. Identifiers first seen after the merge stay with the winner. It
// returns errs.NotFound for an unknown merge and errs.Conflict for one already undone.
func (g *Graph) Unmerge(ctx context.Context, mergeID string) error {
	return g.outbox.Tx(ctx, func(tx *sql.Tx) error {
		var m Merge
		var js string
		var at int64
		var undone sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT winner_id, loser_id, reason, identifiers, at, undone_at FROM identity_merges WHERE id = $1`, mergeID).
			Scan(&m.WinnerID, &m.LoserID, &m.Reason, &js, &at, &undone)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("no merge %s", mergeID)
		}
		if err != nil {
			return fmt.Errorf("reading merge %s: %w", mergeID, err)
		}
		if undone.Valid {
			return errs.Conflict("merge", "merge %s is already undone", mergeID)
		}
		if err := json.Unmarshal([]byte(js), &m.Identifiers); err != nil {
			return fmt.Errorf("decoding merge %s: %w", mergeID, err)
		}
		for _, it := range m.Identifiers {
			if _, err := tx.ExecContext(ctx, `UPDATE identity_identifiers SET profile_id = $1 WHERE type = $2 AND value = $3`, m.LoserID, it.Type, it.Value); err != nil {
				return fmt.Errorf("moving %s back: %w", it.Type, err)
			}
		}
		now := g.now()
		if _, err := tx.ExecContext(ctx, `UPDATE identity_profiles SET merged_into = NULL WHERE id = $1`, m.LoserID); err != nil {
			return fmt.Errorf("unmarking %s: %w", m.LoserID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE identity_merges SET undone_at = $1 WHERE id = $2`, db.Now(now), mergeID); err != nil {
			return fmt.Errorf("marking merge %s undone: %w", mergeID, err)
		}
		g.log.Info("identity: merge undone", "merge", mergeID, "winner", m.WinnerID, "loser", m.LoserID)
		return g.emit(ctx, tx, EventProfilesUnmerged, now, map[string]any{
			"merge_id": mergeID, "winner": m.WinnerID, "loser": m.LoserID, "reason": m.Reason,
		})
	})
}

// Merges lists the merges a profile took part in, as winner or loser, oldest first.
func (g *Graph) Merges(ctx context.Context, profileID string) ([]Merge, error) {
	rows, err := g.db.R.QueryContext(ctx, `SELECT id, winner_id, loser_id, reason, rule, identifiers, at, undone_at FROM identity_merges
		WHERE winner_id = $1 OR loser_id = $1 ORDER BY at, id`, profileID)
	if err != nil {
		return nil, fmt.Errorf("listing merges of %s: %w", profileID, err)
	}
	defer rows.Close()
	var out []Merge
	for rows.Next() {
		var m Merge
		var js string
		var at int64
		var undone sql.NullInt64
		if err := rows.Scan(&m.ID, &m.WinnerID, &m.LoserID, &m.Reason, &m.Rule, &js, &at, &undone); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(js), &m.Identifiers); err != nil {
			return nil, fmt.Errorf("decoding merge %s: %w", m.ID, err)
		}
		m.At = db.Time(at)
		if undone.Valid {
			m.UndoneAt = db.Time(undone.Int64)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
