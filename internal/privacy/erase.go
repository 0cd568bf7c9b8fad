package privacy

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
)

// The events of erasures. Neither names anyone: Erasure Requested carries the request id,
// Erasure Completed the request and tombstone ids and hashes of the erased ids.
const (
	EventErasureRequested = "Erasure Requested"
	EventErasureCompleted = "Erasure Completed"
)

// ConsumerName is the durable name of the consumer that carries out erasures.
const ConsumerName = "privacy"

// authorize checks that p may act on the subject ref names: the member themselves, or staff and
// API keys with accounts.PermManageMembers. It returns the channel the request came through.
func authorize(p accounts.Principal, ref Ref) (Channel, error) {
	if p.MemberID != "" && p.APIKeyID == "" && ref.MemberID == p.MemberID && ref.ProfileID == "" {
		return ChannelCentre, nil
	}
	if err := accounts.Authorize(p, permAct); err != nil {
		return "", err
	}
	if p.APIKeyID != "" {
		return ChannelAPI, nil
	}
	return ChannelStaff, nil
}

// RequestErasure records a request to erase the subject ref names, for p: the member themselves
// (from the privacy centre, under the community's default regime), or staff and API keys with
// accounts.PermManageMembers. Unless in.Hold, it runs at once: the subject's accounts are closed
// (no log-in, sessions ended) in the same transaction, and the privacy consumer erases the rest
// shortly, when the backbone has caught up (the request's status turns completed). The request
// and its audit entry commit together. A second erasure of someone already being erased is a
// conflict (reason erasure_running).
func (s *Service) RequestErasure(ctx context.Context, p accounts.Principal, ref Ref, in RequestInput) (Request, error) {
	ch, err := authorize(p, ref)
	if err != nil {
		return Request{}, err
	}
	if ch == ChannelCentre {
		in = RequestInput{} // a member asks now, under the community's regime, and at once
	}
	set, err := s.Settings(ctx)
	if err != nil {
		return Request{}, err
	}
	now := s.now()
	regime, received, due, note, err := in.check(now, set.DefaultRegime)
	if err != nil {
		return Request{}, err
	}
	sub, err := s.resolve(ctx, s.db.R, ref)
	if err != nil {
		return Request{}, err
	}
	r := Request{ID: id.New(now), Kind: KindErasure, Status: StatusRunning, Regime: regime, Channel: ch, ReceivedAt: received, DueAt: due,
		RequestedBy: p.Actor(), Note: note, CreatedAt: db.Time(db.Now(now)), tombstone: id.New(now)}
	r.UpdatedAt = r.CreatedAt
	if len(sub.MemberIDs) > 0 {
		r.MemberID = sub.MemberIDs[0]
	}
	r.ProfileID = sub.Root
	if in.Hold {
		r.Status = StatusOpen
	}
	err = s.bb.Outbox().Tx(ctx, func(tx *sql.Tx) error {
		var running int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM privacy_requests WHERE kind = 'erasure' AND status = 'running'
			AND ((member_id <> '' AND member_id = $1) OR (profile_id <> '' AND profile_id = $2))`, r.MemberID, r.ProfileID).Scan(&running); err != nil {
			return err
		}
		if running > 0 {
			return errs.Because(errs.Conflict("", "this person's data is being erased already"), "erasure_running")
		}
		if err := s.insertRequest(ctx, tx, r); err != nil {
			return err
		}
		if err := s.acc.Audit(ctx, tx, p, "privacy.erasure_requested", r.ID, map[string]any{
			"member_id": r.MemberID, "profile_id": r.ProfileID, "regime": r.Regime, "channel": r.Channel, "held": in.Hold}); err != nil {
			return err
		}
		if in.Hold {
			return nil
		}
		return s.start(ctx, tx, r, sub, now)
	})
	if err != nil {
		return Request{}, err
	}
	return s.Request(ctx, accounts.System(), r.ID)
}

// start closes the subject's accounts, stops their tracking and hands the erasure to the
// privacy consumer, inside tx.
func (s *Service) start(ctx context.Context, tx *sql.Tx, r Request, sub dsr.Subject, now time.Time) error {
	for _, m := range sub.MemberIDs {
		if err := s.acc.BeginErasure(ctx, tx, m); err != nil {
			return err
		}
	}
	// From now on the tracking API drops what still arrives under their ids.
	if err := s.forget(ctx, tx, sub, now); err != nil {
		return err
	}
	ev := event.New(event.Track, EventErasureRequested, event.SourceSystem, now)
	ev.AnonymousID = actorID
	ev.Properties = map[string]any{"request_id": r.ID}
	return s.bb.Outbox().Emit(ctx, tx, ev)
}

// Run starts an erasure request recorded with Hold, for p (accounts.PermManageMembers).
func (s *Service) Run(ctx context.Context, p accounts.Principal, id string) (Request, error) {
	if err := accounts.Authorize(p, permAct); err != nil {
		return Request{}, err
	}
	r, err := s.getRequest(ctx, s.db.R, id)
	if err != nil {
		return Request{}, err
	}
	if r.Kind != KindErasure || r.Status != StatusOpen {
		return Request{}, errs.Because(errs.Conflict("status", "only an open erasure request can be run; this %s request is %s", r.Kind, r.Status), "request_not_open")
	}
	sub, err := s.resolve(ctx, s.db.R, Ref{MemberID: r.MemberID, ProfileID: r.ProfileID})
	if err != nil {
		return Request{}, err
	}
	now := s.now()
	err = s.bb.Outbox().Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE privacy_requests SET status = 'running', updated_at = $1 WHERE id = $2 AND status = 'open'`, db.Now(now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.Because(errs.Conflict("status", "the request is no longer open"), "request_not_open")
		}
		if err := s.acc.Audit(ctx, tx, p, "privacy.erasure_started", id, nil); err != nil {
			return err
		}
		return s.start(ctx, tx, r, sub, now)
	})
	if err != nil {
		return Request{}, err
	}
	return s.Request(ctx, accounts.System(), id)
}

// Consumer returns the backbone consumer that carries out erasures: for each Erasure Requested
// it waits until every other consumer has handled what came before on the stream, then erases
// (CompleteErasure). A failure is retried by the backbone with backoff.
func (s *Service) Consumer() backbone.Consumer {
	return backbone.Consumer{
		Name: ConsumerName,
		Want: func(ev *event.Event) bool {
			return ev.Type == event.Track && ev.Event == EventErasureRequested && ev.AnonymousID == actorID
		},
		Handle: func(ctx context.Context, evs []event.Event) error {
			wait, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			if err := s.bb.CaughtUp(wait, ConsumerName); err != nil {
				return err
			}
			for _, ev := range evs {
				id, _ := ev.Properties["request_id"].(string)
				if err := s.CompleteErasure(ctx, id); err != nil {
					return fmt.Errorf("erasure %s: %w", id, err)
				}
			}
			return nil
		},
	}
}

// CompleteErasure carries out the running erasure request id (the privacy consumer calls it;
// tests and tools may call it directly): see the package comment. A request that is not running
// (completed already, declined, unknown) is left alone.
func (s *Service) CompleteErasure(ctx context.Context, id string) error {
	r, err := s.getRequest(ctx, s.db.R, id)
	if errs.KindOf(err) == errs.KindNotFound {
		s.log.WarnContext(ctx, "erasure of an unknown request", "request", id)
		return nil
	}
	if err != nil || r.Status != StatusRunning {
		return err
	}
	set, err := s.Settings(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	e := dsr.Erasure{Tombstone: r.tombstone, At: now, RemoveContent: set.ErasedContent == ContentRemove}
	ref := Ref{MemberID: r.MemberID, ProfileID: r.ProfileID}
	if e.Subject, err = s.resolve(ctx, s.db.R, ref); err != nil && errs.KindOf(err) != errs.KindNotFound {
		return err
	}
	// The event log first: it is its own database on SQLite, and if the main transaction then
	// fails the erasure runs again, finding the subject where it was.
	if err := s.bb.EraseLog(ctx, e); err != nil {
		return err
	}
	err = s.bb.Outbox().Tx(ctx, func(tx *sql.Tx) error {
		// What the subject's profile gained since (a merge, an identifier) goes too.
		if again, err := s.resolve(ctx, tx, ref); err == nil {
			e.Subject = union(e.Subject, again)
		} else if errs.KindOf(err) != errs.KindNotFound {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO privacy_tombstones (id, erased_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
			e.Tombstone, db.Now(now)); err != nil {
			return err
		}
		if len(e.MemberIDs) > 0 {
			if err := s.acc.AddTombstone(ctx, tx, e.Tombstone, now); err != nil {
				return err
			}
		}
		if err := s.forget(ctx, tx, e.Subject, now); err != nil {
			return err
		}
		for _, part := range s.parts {
			if err := part.EraseSubject(ctx, tx, e); err != nil {
				return err
			}
		}
		if err := s.eraseRequests(ctx, tx, e); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE privacy_requests SET status = 'completed', completed_at = $1, updated_at = $1 WHERE id = $2`,
			db.Now(now), r.ID); err != nil {
			return err
		}
		if err := s.acc.Audit(ctx, tx, accounts.System(), "privacy.erasure_completed", r.ID, map[string]any{
			"tombstone_id": e.Tombstone, "regime": r.Regime, "erased_content": set.ErasedContent}); err != nil {
			return err
		}
		return s.bb.Outbox().Emit(ctx, tx, erasureCompleted(r, e))
	})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "erasure completed", "request", r.ID, "tombstone", e.Tombstone,
		"accounts", len(e.MemberIDs), "profiles", len(e.ProfileIDs))
	return nil
}

// eraseRequests blanks the subject out of every request about them, this one included: they
// keep the tombstone, the regime and the dates, which show the request was answered in time.
func (s *Service) eraseRequests(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	for _, q := range []struct {
		col    string
		values []string
	}{{"member_id", e.MemberIDs}, {"profile_id", e.ProfileIDs}} {
		if len(q.values) == 0 {
			continue
		}
		in, args := db.InList(q.values, 2)
		if _, err := tx.ExecContext(ctx, `UPDATE privacy_requests SET member_id = '', profile_id = '', tombstone_id = $1, note = ''
			WHERE `+q.col+` `+in, append([]any{e.Tombstone}, args...)...); err != nil {
			return fmt.Errorf("erasing requests: %w", err)
		}
	}
	for _, m := range e.MemberIDs {
		if _, err := tx.ExecContext(ctx, `UPDATE privacy_requests SET requested_by = $2 WHERE requested_by = $1`, m, e.Tombstone); err != nil {
			return err
		}
	}
	return nil
}

// erasureCompleted is the event connectors propagate an erasure from (GDPR Art. 17(2), 19).
func erasureCompleted(r Request, e dsr.Erasure) event.Event {
	ev := event.New(event.Track, EventErasureCompleted, event.SourceSystem, e.At)
	ev.AnonymousID = actorID
	var hashes []string
	for _, p := range e.ProfileIDs {
		hashes = append(hashes, Hash("profile_id", p))
	}
	for _, u := range append(slices.Clone(e.MemberIDs), e.Values("user_id")...) {
		if h := Hash("user_id", u); !slices.Contains(hashes, h) {
			hashes = append(hashes, h)
		}
	}
	ev.Properties = map[string]any{
		"request_id":   r.ID,
		"tombstone_id": e.Tombstone,
		"regime":       string(r.Regime),
		"erased_at":    e.At.UTC().Format(time.RFC3339Nano),
		"subjects":     hashes,
	}
	return ev
}

// Hash is how erased ids are kept and announced: the hex SHA-256 of "type:value", for example
// Hash("user_id", "01J…"). A connector that knows a person by one of their ids computes it to
// recognise them in Erasure Completed.
func Hash(typ, value string) string {
	sum := sha256.Sum256([]byte(typ + ":" + value))
	return hex.EncodeToString(sum[:])
}

// forget keeps the hashes of the subject's user ids and anonymous ids, inside tx.
func (s *Service) forget(ctx context.Context, tx *sql.Tx, sub dsr.Subject, now time.Time) error {
	var hashes []string
	for _, u := range append(slices.Clone(sub.MemberIDs), sub.Values("user_id")...) {
		hashes = append(hashes, Hash("user_id", u))
	}
	for _, a := range sub.Values("anonymous_id") {
		hashes = append(hashes, Hash("anonymous_id", a))
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO privacy_erased_ids (hash, created_at) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING`,
			h, db.Now(now)); err != nil {
			return fmt.Errorf("forgetting ids: %w", err)
		}
	}
	return nil
}

// Forgotten reports which of ids (user ids and anonymous ids, by Type "user_id" or
// "anonymous_id") belong to people who were erased, or are being erased: the tracking API drops
// their events.
func (s *Service) Forgotten(ctx context.Context, ids []dsr.Identifier) (map[dsr.Identifier]bool, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	byHash := make(map[string]dsr.Identifier, len(ids))
	hashes := make([]string, 0, len(ids))
	for _, it := range ids {
		h := Hash(it.Type, it.Value)
		if _, ok := byHash[h]; !ok {
			byHash[h] = it
			hashes = append(hashes, h)
		}
	}
	in, args := db.InList(hashes, 1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT hash FROM privacy_erased_ids WHERE hash `+in, args...)
	if err != nil {
		return nil, fmt.Errorf("reading erased ids: %w", err)
	}
	defer rows.Close()
	var out map[dsr.Identifier]bool
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		if out == nil {
			out = map[dsr.Identifier]bool{}
		}
		out[byHash[h]] = true
	}
	return out, rows.Err()
}
