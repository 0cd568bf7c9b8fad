// Package segment is the segment language and its two evaluators, which must agree: a compiler
// to SQL (SQLite and PostgreSQL) that recomputes a segment over every root profile, and an
// incremental evaluator that re-checks only the profiles an event touches. Both keep
// segment_members and emit Segment Entered and Segment Exited through the outbox in the same
// transaction as the change of membership.
//
// A definition is one JSON tree (docs/segments.md): all, any and not over conditions on traits,
// computed attributes, counted events with property filters and windows, CRM contracts and open
// tickets, consent status, community facts (a space followed, an event attended, accepted answers,
// unanswered questions: current state read from the community's tables through the member's
// user_id identifier), and membership of other segments (evaluated inline, so a segment is
// never stale because another one is). Templates are the community playbook's ready-made
// definitions with parameters. Conditions read a profile's whole merge family: data
// recorded under profiles merged into a root counts for the root.
//
// The backbone consumer (Consumer) drives the incremental evaluator; Run recomputes every segment
// in full on a schedule, which catches time windows that expire without any new event ("no
// activity in 30 days"). Each full recomputation claims its segment in the database first, so
// several nodes share the work instead of repeating it, and runs its statement on a snapshot,
// holding no lock, then re-checks under the lock only the profiles whose membership changed.
// Every membership change is made under the segment's row lock (PostgreSQL) or the one writer
// (SQLite), and only a change actually made emits an event, so no entry or exit is ever
// announced twice.
package segment

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// The events membership changes emit. Their profileId is the root profile; properties carry
// segment_id and segment_name.
const (
	EventEntered = "Segment Entered"
	EventExited  = "Segment Exited"
)

// DefaultRecomputeEvery is how often Run recomputes each segment in full.
const DefaultRecomputeEvery = 5 * time.Minute

// Deps are what segments need.
type Deps struct {
	DB       *db.DB
	Outbox   *backbone.Outbox
	Identity *identity.Graph
	// Accounts records member exports in the audit log; nil records none (tests of evaluation).
	Accounts *accounts.Service
	Log      *slog.Logger     // discarded when nil
	Now      func() time.Time // time.Now when nil
	// RecomputeEvery is the period of the scheduled full recomputation; DefaultRecomputeEvery
	// when zero.
	RecomputeEvery time.Duration
}

// Service keeps segments and their members.
type Service struct {
	db       *db.DB
	outbox   *backbone.Outbox
	identity *identity.Graph
	acc      *accounts.Service
	log      *slog.Logger
	now      func() time.Time
	every    time.Duration
}

// New returns the segment service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, outbox: d.Outbox, identity: d.Identity, acc: d.Accounts, log: d.Log, now: d.Now, every: d.RecomputeEvery}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.every <= 0 {
		s.every = DefaultRecomputeEvery
	}
	return s
}

// The permissions segments take: marketers build them, staff who see members read them.
const (
	permWrite = accounts.PermManageMarketing
	permRead  = accounts.PermViewMembers
)

// Segment is a named definition with its member count.
type Segment struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Definition Node      `json:"definition"`
	Count      int64     `json:"count"`
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by"`             // the member id, api_key:ID or system
	Recomputed time.Time `json:"recomputed_at,omitzero"` // the last full recomputation
}

// Member is a root profile in a segment.
type Member struct {
	ID        string    `json:"id"`
	EnteredAt time.Time `json:"entered_at"`
}

// stored is a segment as read for evaluation: its definition expanded, or err when its stored
// definition no longer parses or expands (a reference to a segment since deleted).
type stored struct {
	id, name string
	def      Node
	err      error
	text     string // the definition as stored
}

// Create stores a segment, computes its members at once and returns it. A bad definition is an
// errs.Invalid error naming the JSON path of the bad node (definition.all[1].count.op).
func (s *Service) Create(ctx context.Context, p accounts.Principal, name string, definition json.RawMessage) (Segment, error) {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return Segment{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 200 {
		return Segment{}, errs.Invalid("name", "give a name of at most 200 characters")
	}
	def, err := Parse(definition)
	if err != nil {
		return Segment{}, err
	}
	canon, err := json.Marshal(def)
	if err != nil {
		return Segment{}, err
	}
	now := s.now()
	seg := Segment{ID: id.New(now), Name: name, Definition: def, CreatedAt: db.Time(db.Now(now)), CreatedBy: p.Actor()}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := checkRefs(ctx, tx, def); err != nil {
			return err
		}
		if refs := def.Refs(); len(refs) > 0 {
			if s.db.Engine == db.Postgres {
				// Keep the segments referred to until this one is stored: Delete takes their row
				// lock, so it waits for this transaction and then sees the reference.
				if _, err := tx.ExecContext(ctx, `SELECT id FROM segments WHERE id `+s.db.Engine.In(len(refs), 1)+` FOR SHARE`,
					s.db.Engine.InArgs(refs)...); err != nil {
					return fmt.Errorf("locking the segments referred to: %w", err)
				}
			}
			all, err := s.definitions(ctx, tx)
			if err != nil {
				return err
			}
			if _, err := Expand(def, lookupIn(all)); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO segments (id, name, definition, created_by, created_at) VALUES ($1, $2, $3, $4, $5)`,
			seg.ID, name, string(canon), p.Actor(), db.Now(now))
		if err != nil {
			return fmt.Errorf("creating segment: %w", err)
		}
		return nil
	})
	if err != nil {
		return Segment{}, err
	}
	if _, _, err := s.recompute(ctx, seg.ID, now, true); err != nil {
		// The segment stands; the scheduled recomputation fills it.
		s.log.Warn("segment: first computation failed", "segment", seg.ID, "err", err)
	} else {
		seg.Recomputed = db.Time(db.Now(now))
	}
	seg.Count, err = s.count(ctx, seg.ID)
	return seg, err
}

// checkRefs refuses a definition that names a space, community event or score model that does
// not exist, naming the path of the field.
func checkRefs(ctx context.Context, q db.Queryer, def Node) error {
	if err := checkCommunityRefs(ctx, q, def); err != nil {
		return err
	}
	return checkScores(ctx, q, def)
}

// checkCommunityRefs refuses a space or community event that does not exist, naming the path of
// its field: a typo would match nobody, or under not everybody. (A space or event deleted later
// simply matches nobody, as a trait nobody has.)
func checkCommunityRefs(ctx context.Context, q db.Queryer, n Node) error {
	var err error
	n.walkPaths("definition", func(x *Node, path string) {
		if err != nil {
			return
		}
		var what, query, ref string
		switch {
		case x.SpaceMember != "":
			what, query, ref, path = "space", `SELECT COUNT(*) FROM spaces WHERE id = $1 OR slug = $1`, x.SpaceMember, path+".space_member"
		case x.Attended != nil && x.Attended.Event != "":
			what, query, ref, path = "community event", `SELECT COUNT(*) FROM meetup_events WHERE id = $1`, x.Attended.Event, path+".attended.event"
		default:
			return
		}
		var k int
		if e := q.QueryRowContext(ctx, query, ref).Scan(&k); e != nil {
			err = fmt.Errorf("looking up %s %s: %w", what, ref, e)
		} else if k == 0 {
			err = errs.Invalid(path, "no %s %q", what, ref)
		}
	})
	return err
}

// checkScores refuses a score condition on a score model that does not exist (it would compare
// a score of 0 for everyone), naming the path of the condition.
func checkScores(ctx context.Context, q db.Queryer, def Node) error {
	ids := def.Scores()
	if len(ids) == 0 {
		return nil
	}
	in, args := db.InList(ids, 1)
	rows, err := q.QueryContext(ctx, `SELECT id FROM score_models WHERE id `+in, args...)
	known, err := scanIDs(rows, err)
	if err != nil {
		return fmt.Errorf("reading score models: %w", err)
	}
	var visit func(n Node, path string) error
	visit = func(n Node, path string) error {
		for i, x := range n.All {
			if err := visit(x, fmt.Sprintf("%s.all[%d]", path, i)); err != nil {
				return err
			}
		}
		for i, x := range n.Any {
			if err := visit(x, fmt.Sprintf("%s.any[%d]", path, i)); err != nil {
				return err
			}
		}
		if n.Not != nil {
			return visit(*n.Not, path+".not")
		}
		if n.Score != nil && !known[n.Score.Model] {
			return errs.Invalid(path+".score", "no score model %s", n.Score.Model)
		}
		return nil
	}
	return visit(def, "definition")
}

// UsingScore returns the segments whose definitions compare a score under score model modelID,
// in id order, read through q.
func UsingScore(ctx context.Context, q db.Queryer, modelID string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, definition FROM segments ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("reading segments: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sid, def string
		if err := rows.Scan(&sid, &def); err != nil {
			return nil, err
		}
		if n, err := Parse([]byte(def)); err == nil && slices.Contains(n.Scores(), modelID) {
			out = append(out, sid)
		}
	}
	return out, rows.Err()
}

// AnyUsesScores reports whether some segment's definition may compare a score, read through q:
// without one, a change of score cannot move any segment. (It may say yes for a definition that
// only mentions "score" in a value; never no for one that compares a score.)
func AnyUsesScores(ctx context.Context, q db.Queryer) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM segments WHERE definition LIKE '%"score":%'`).Scan(&n); err != nil {
		return false, fmt.Errorf("reading segments: %w", err)
	}
	return n > 0, nil
}

// definitions reads every segment's definition, as stored (not expanded). A definition that no
// longer parses is logged and left out: it must not stop other segments being created or deleted.
func (s *Service) definitions(ctx context.Context, q db.Queryer) (map[string]Node, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, definition FROM segments`)
	if err != nil {
		return nil, fmt.Errorf("reading segments: %w", err)
	}
	defer rows.Close()
	out := map[string]Node{}
	for rows.Next() {
		var sid, def string
		if err := rows.Scan(&sid, &def); err != nil {
			return nil, err
		}
		n, err := Parse([]byte(def))
		if err != nil {
			s.log.Error("segment: stored definition no longer parses; skipped", "segment", sid, "err", err)
			continue
		}
		out[sid] = n
	}
	return out, rows.Err()
}

// segments reads every segment with its definition expanded, in id order; on PostgreSQL it locks
// their rows when lock is set, so that membership changes of one segment happen one at a time.
// A segment whose definition no longer parses or expands comes back with err set, and is logged
// (with its id) so that it can be repaired: callers skip it and carry on with the others.
func (s *Service) segments(ctx context.Context, tx *sql.Tx, lock bool) ([]stored, error) {
	q := `SELECT id, name, definition FROM segments ORDER BY id`
	if lock && s.db.Engine == db.Postgres {
		q += ` FOR UPDATE`
	}
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("reading segments: %w", err)
	}
	defer rows.Close()
	var out []stored
	raw := map[string]Node{}
	for rows.Next() {
		var st stored
		var def string
		if err := rows.Scan(&st.id, &st.name, &def); err != nil {
			return nil, err
		}
		st.text = def
		if st.def, err = Parse([]byte(def)); err != nil {
			st.err = fmt.Errorf("segment %s has a definition that no longer parses: %w", st.id, err)
		} else {
			raw[st.id] = st.def
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].err != nil {
			continue
		}
		x, err := Expand(out[i].def, lookupIn(raw))
		if err != nil {
			out[i].def, out[i].err = Node{}, fmt.Errorf("segment %s: %w", out[i].id, err)
			continue
		}
		out[i].def = x
	}
	for _, sg := range out {
		if sg.err != nil {
			s.log.Error("segment: definition cannot be evaluated; skipped", "segment", sg.id, "err", sg.err)
		}
	}
	return out, nil
}

func (s *Service) count(ctx context.Context, segmentID string) (int64, error) {
	var n int64
	if err := s.db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM segment_members WHERE segment_id = $1`, segmentID).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting segment members: %w", err)
	}
	return n, nil
}

// Get returns the segment segmentID with its member count.
func (s *Service) Get(ctx context.Context, p accounts.Principal, segmentID string) (Segment, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return Segment{}, err
	}
	var seg Segment
	var def string
	var at, rat int64
	err := s.db.R.QueryRowContext(ctx, `SELECT id, name, definition, created_at, created_by, recomputed_at FROM segments WHERE id = $1`, segmentID).
		Scan(&seg.ID, &seg.Name, &def, &at, &seg.CreatedBy, &rat)
	if errors.Is(err, sql.ErrNoRows) {
		return Segment{}, errs.NotFound("no segment %s", segmentID)
	}
	if err != nil {
		return Segment{}, fmt.Errorf("reading segment %s: %w", segmentID, err)
	}
	if seg.Definition, err = Parse([]byte(def)); err != nil {
		return Segment{}, fmt.Errorf("segment %s: %w", segmentID, err)
	}
	seg.CreatedAt, seg.Recomputed = db.Time(at), recomputedAt(rat)
	seg.Count, err = s.count(ctx, segmentID)
	return seg, err
}

// List returns every segment with its member count, newest first.
func (s *Service) List(ctx context.Context, p accounts.Principal) ([]Segment, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, err
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT s.id, s.name, s.definition, s.created_at, s.created_by, s.recomputed_at,
		(SELECT COUNT(*) FROM segment_members m WHERE m.segment_id = s.id) FROM segments s ORDER BY s.created_at DESC, s.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("listing segments: %w", err)
	}
	defer rows.Close()
	out := []Segment{}
	for rows.Next() {
		var seg Segment
		var def string
		var at, rat int64
		if err := rows.Scan(&seg.ID, &seg.Name, &def, &at, &seg.CreatedBy, &rat, &seg.Count); err != nil {
			return nil, err
		}
		if seg.Definition, err = Parse([]byte(def)); err != nil {
			return nil, fmt.Errorf("segment %s: %w", seg.ID, err)
		}
		seg.CreatedAt, seg.Recomputed = db.Time(at), recomputedAt(rat)
		out = append(out, seg)
	}
	return out, rows.Err()
}

// Delete removes a segment and its membership (without exit events: the segment is gone, nobody
// left it). A segment another one refers to cannot be deleted (errs.Conflict).
func (s *Service) Delete(ctx context.Context, p accounts.Principal, segmentID string) error {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if s.db.Engine == db.Postgres {
			// Wait for any evaluation changing its membership to finish first: deleting its members
			// before its row lock could cross an evaluation that is removing one of them.
			if _, err := tx.ExecContext(ctx, `SELECT id FROM segments WHERE id = $1 FOR UPDATE`, segmentID); err != nil {
				return fmt.Errorf("locking segment %s: %w", segmentID, err)
			}
		}
		all, err := s.definitions(ctx, tx)
		if err != nil {
			return err
		}
		if _, ok := all[segmentID]; !ok {
			return errs.NotFound("no segment %s", segmentID)
		}
		var users []string
		for sid, n := range all {
			if sid != segmentID && slices.Contains(n.Refs(), segmentID) {
				users = append(users, sid)
			}
		}
		if len(users) > 0 {
			slices.Sort(users)
			return errs.Conflict("id", "segment %s is used by %s; delete those first", segmentID, strings.Join(users, ", "))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM segment_members WHERE segment_id = $1`, segmentID); err != nil {
			return fmt.Errorf("deleting segment members: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM segment_sizes WHERE segment_id = $1`, segmentID); err != nil {
			return fmt.Errorf("deleting segment sizes: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM segments WHERE id = $1`, segmentID); err != nil {
			return fmt.Errorf("deleting segment: %w", err)
		}
		return nil
	})
}

// Members returns a page of a segment's members in profile id order, after the id after, and
// the id to continue after ("" at the end).
func (s *Service) Members(ctx context.Context, p accounts.Principal, segmentID, after string, limit int) ([]Member, string, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, "", err
	}
	if err := s.exists(ctx, segmentID); err != nil {
		return nil, "", err
	}
	limit = db.Limit(limit, 100, 1000)
	order := "profile_id"
	if s.db.Engine == db.Postgres {
		order = `profile_id COLLATE "C"`
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT profile_id, entered_at FROM segment_members
		WHERE segment_id = $1 AND `+order+` > $2 ORDER BY `+order+` LIMIT `+strconv.Itoa(limit+1), segmentID, after)
	if err != nil {
		return nil, "", fmt.Errorf("reading segment members: %w", err)
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		var m Member
		var at int64
		if err := rows.Scan(&m.ID, &at); err != nil {
			return nil, "", err
		}
		m.EnteredAt = db.Time(at)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := db.TrimPage(out, limit, func(m Member) string { return m.ID })
	return out, next, nil
}

// exists returns errs.NotFound when there is no segment segmentID.
func (s *Service) exists(ctx context.Context, segmentID string) error {
	var one int
	err := s.db.R.QueryRowContext(ctx, `SELECT 1 FROM segments WHERE id = $1`, segmentID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.NotFound("no segment %s", segmentID)
	}
	if err != nil {
		return fmt.Errorf("reading segment %s: %w", segmentID, err)
	}
	return nil
}

// recomputedAt is a stored recomputed_at: zero (never) stays the zero time.
func recomputedAt(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return db.Time(ms)
}

// membershipEvent is Segment Entered or Segment Exited for profileID.
func membershipEvent(name string, seg stored, profileID string, now time.Time) event.Event {
	ev := event.New(event.Track, name, event.SourceSystem, now)
	ev.AnonymousID = "kizuna:segment"
	ev.ProfileID = profileID
	ev.Properties = map[string]any{"segment_id": seg.id, "segment_name": seg.name}
	return ev
}
