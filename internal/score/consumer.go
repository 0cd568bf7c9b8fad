package score

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/profile"
	"github.com/kizuna-community/kizuna/internal/segment"
)

// ConsumerName is the durable name of the score consumer.
const ConsumerName = "scores"

// Consumer returns the backbone consumer that awards points as events arrive. It reads each
// event as the profile event log holds it (the profile it landed on, its properties), which is
// also what a recomputation reads, so both award the same points.
func (s *Service) Consumer() backbone.Consumer {
	return backbone.Consumer{Name: ConsumerName, HandleLean: s.handleLean}
}

func (s *Service) handleLean(ctx context.Context, leans []backbone.Lean) error {
	models, err := s.models(ctx, s.db.R, false)
	if err != nil || len(models) == 0 {
		return err
	}
	var msgs []string
	pending := map[string]time.Time{}
	var merged []string
	for i := range leans {
		ev := &leans[i].Event
		if ev.Type == event.Track && slices.Contains(loopEvents, ev.Event) {
			// Scores' and segments' own events never count (a rule on every track event would
			// otherwise see them): a crossing or an entry cannot feed back into a score.
			continue
		}
		if ev.Event == identity.EventProfilesMerged || ev.Event == identity.EventProfilesUnmerged {
			var p struct{ Winner, Loser string }
			if err := gojson.Unmarshal(leans[i].Properties, &p); err == nil {
				merged = append(merged, p.Winner, p.Loser)
			}
			continue
		}
		name := ev.Event
		if ev.Type != event.Track {
			name = ev.Name
		}
		if !slices.ContainsFunc(models, func(m Model) bool {
			return slices.ContainsFunc(m.Rules, func(r Rule) bool { return r.wants(ev.Type, name) })
		}) {
			continue
		}
		if ev.ProfileID == "" && ev.UserID == "" && (ev.AnonymousID == "" || strings.HasPrefix(ev.AnonymousID, "kizuna:")) {
			continue // no person: it never lands on a profile (a system actor's community event)
		}
		if _, ok := pending[ev.MessageID]; !ok {
			msgs = append(msgs, ev.MessageID)
			pending[ev.MessageID] = ev.ReceivedAt
		}
	}
	if len(msgs) == 0 && len(merged) == 0 {
		return nil
	}
	landed := map[string]loggedEvent{}
	if err := profile.AwaitLanded(ctx, s.db, s.now, pending, "message_id, profile_id, type, name, at, properties", func(rows *sql.Rows) (string, error) {
		var e loggedEvent
		err := rows.Scan(&e.messageID, &e.profileID, &e.typ, &e.name, &e.at, &e.properties)
		landed[e.messageID] = e
		return e.messageID, err
	}); err != nil {
		return err
	}
	var evs []loggedEvent
	for _, m := range msgs {
		if e, ok := landed[m]; ok {
			evs = append(evs, e)
		}
	}
	touched, err := s.award(ctx, evs, merged)
	if err != nil {
		return err
	}
	if s.segments != nil && len(touched) > 0 {
		if uses, err := segment.AnyUsesScores(ctx, s.db.R); err != nil || !uses {
			return err
		}
		// After the commit, so that the segments read the new scores. The profile of every event
		// a rule counts is re-evaluated, counted now or before (a redelivery after a crash
		// between the commit and this call): a segment on a score so never misses a change.
		for chunk := range slices.Chunk(touched, 100) {
			if err := s.segments.Reevaluate(ctx, chunk); err != nil {
				return fmt.Errorf("re-evaluating segments after scores changed: %w", err)
			}
		}
	}
	return nil
}

// award counts the logged events evs (in order) under every model, each event at most once per
// model, checks the thresholds of the profiles whose score changed and of the profiles merged
// (both sides of a merge or its undoing), and emits the crossings, in one transaction. It
// returns the profiles of the events some rule counts.
func (s *Service) award(ctx context.Context, evs []loggedEvent, merged []string) ([]string, error) {
	now := s.now()
	var touched []string
	err := s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		touched = touched[:0]
		models, err := s.models(ctx, tx, true)
		if err != nil {
			return err
		}
		var out []event.Event
		props := make([]map[string]any, len(evs)) // decoded once, when some rule filters on them
		for mi := range models {
			m := &models[mi]
			states := map[string]*state{}
			var order []string
			for i := range evs {
				ev := &evs[i]
				rules := m.matching(ev, &props[i])
				if len(rules) == 0 {
					continue
				}
				touched = append(touched, ev.profileID)
				res, err := tx.ExecContext(ctx, `INSERT INTO score_applied (model_id, message_id, profile_id, applied_at) VALUES ($1, $2, $3, $4)
					ON CONFLICT (model_id, message_id) DO NOTHING`, m.ID, ev.messageID, ev.profileID, db.Now(now))
				if err != nil {
					return fmt.Errorf("recording event %s for score %s: %w", ev.messageID, m.ID, err)
				}
				if n, err := res.RowsAffected(); err != nil || n == 0 {
					if err != nil {
						return err
					}
					continue // counted before
				}
				st := states[ev.profileID]
				if st == nil {
					if st, err = loadState(ctx, tx, m.ID, ev.profileID); err != nil {
						return err
					}
					states[ev.profileID] = st
					order = append(order, ev.profileID)
				}
				if err := m.apply(st, rules, ev.at, windowLoader(ctx, tx, m.ID, ev.profileID)); err != nil {
					return err
				}
			}
			var changed []string
			for _, pid := range order {
				if err := saveState(ctx, tx, m.ID, pid, states[pid]); err != nil {
					return err
				}
				if states[pid].changed {
					changed = append(changed, pid)
				}
			}
			if m.Recomputing {
				continue // the recomputation announces its crossings when it is done
			}
			crossed, err := s.checkProfiles(ctx, tx, m, append(changed, merged...), now)
			if err != nil {
				return err
			}
			out = append(out, crossed...)
		}
		return s.outbox.Emit(ctx, tx, out...)
	})
	slices.Sort(touched)
	return slices.Compact(touched), err
}
