// Package score keeps scores: configurable models (engagement, lead fit …) that award points
// per event type and property, with per-rule caps per period, an overall cap and a decay
// half-life, and named thresholds whose crossing, either way, is an event (Score Threshold
// Crossed). Reputation in the community (internal/badges) is separate from these.
//
// A profile's score under a model is stored as a value and the time it is as of; it decays on
// read (value · 2^(−elapsed/half-life), segment.Decay), and adding points decays the stored
// value first. Points are recorded under the profile an event landed on, and a person's score is
// the sum over their merge family, decayed, then capped (docs/scores.md).
//
// The backbone consumer (Consumer) awards points as events arrive, exactly once per event and
// model (score_applied); creating or editing a model rebuilds its scores from the profile event
// log in chunks that resume where they stopped (Recompute); Run finishes pending rebuilds and
// announces the threshold crossings that decay and merges cause without any new event.
package score

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/id"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/segment"
)

// EventThresholdCrossed is emitted when a root profile's score reaches a threshold (direction
// "up") or falls below it ("down"). Properties: model_id, model_name, threshold (its name),
// threshold_value, value (the score) and direction.
const EventThresholdCrossed = "Score Threshold Crossed"

// anonymousID is the anonymousId of the events scores emit: "kizuna:" tells the identity graph
// it is no person.
const anonymousID = "kizuna:score"

// DefaultCheckEvery is how often Run checks the thresholds of every model.
const DefaultCheckEvery = 5 * time.Minute

// The permissions scores take: marketers build models, staff who see members read them.
const (
	permWrite = accounts.PermManageMarketing
	permRead  = accounts.PermViewMembers
)

// Deps are what scores need.
type Deps struct {
	DB       *db.DB
	Outbox   *backbone.Outbox
	Identity *identity.Graph
	// Segments, when set, re-evaluates the profiles whose score an event changed, after the
	// change commits: a segment on a score then moves at once rather than at its next
	// scheduled recomputation.
	Segments *segment.Service
	Log      *slog.Logger     // discarded when nil
	Now      func() time.Time // time.Now when nil
	// CheckEvery is the period of the scheduled threshold pass; DefaultCheckEvery when zero.
	CheckEvery time.Duration
}

// Service keeps score models and scores.
type Service struct {
	db       *db.DB
	outbox   *backbone.Outbox
	identity *identity.Graph
	segments *segment.Service
	log      *slog.Logger
	now      func() time.Time
	every    time.Duration
	chunk    int // profiles per transaction of a recomputation
}

// New returns the score service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, outbox: d.Outbox, identity: d.Identity, segments: d.Segments, log: d.Log, now: d.Now, every: d.CheckEvery, chunk: recomputeChunk}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.every <= 0 {
		s.every = DefaultCheckEvery
	}
	return s
}

// Create stores a model and computes its scores from the event log. A bad model is an
// errs.Invalid error naming the field path (rules[0].cap.per).
func (s *Service) Create(ctx context.Context, p accounts.Principal, in Input) (Model, error) {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return Model{}, err
	}
	m, err := Parse(in)
	if err != nil {
		return Model{}, err
	}
	now := s.now()
	m.ID = id.New(now)
	m.CreatedAt, m.UpdatedAt = db.Time(db.Now(now)), db.Time(db.Now(now))
	rules, thresholds, err := m.stored()
	if err != nil {
		return Model{}, err
	}
	if _, err := s.db.W.ExecContext(ctx, `INSERT INTO score_models (id, name, description, rules, max_score, half_life, half_life_ms, thresholds,
		created_by, created_at, updated_at, recompute_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '')`,
		m.ID, m.Name, m.Description, rules, m.Cap, m.HalfLife, m.halfLifeMs, thresholds, p.Actor(), db.Now(now), db.Now(now)); err != nil {
		return Model{}, fmt.Errorf("creating score model: %w", err)
	}
	return s.afterChange(ctx, p, m.ID)
}

// Update replaces a model's definition and rebuilds its scores from the event log.
func (s *Service) Update(ctx context.Context, p accounts.Principal, modelID string, in Input) (Model, error) {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return Model{}, err
	}
	m, err := Parse(in)
	if err != nil {
		return Model{}, err
	}
	rules, thresholds, err := m.stored()
	if err != nil {
		return Model{}, err
	}
	res, err := s.db.W.ExecContext(ctx, `UPDATE score_models SET name = $1, description = $2, rules = $3, max_score = $4, half_life = $5,
		half_life_ms = $6, thresholds = $7, updated_at = $8, recompute_from = '' WHERE id = $9`,
		m.Name, m.Description, rules, m.Cap, m.HalfLife, m.halfLifeMs, thresholds, db.Now(s.now()), modelID)
	if err != nil {
		return Model{}, fmt.Errorf("updating score model %s: %w", modelID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Model{}, errs.NotFound("no score model %s", modelID)
	}
	return s.afterChange(ctx, p, modelID)
}

// afterChange rebuilds a model's scores at once and returns it. A rebuild that fails leaves the
// model pending: Run resumes it.
func (s *Service) afterChange(ctx context.Context, p accounts.Principal, modelID string) (Model, error) {
	if err := s.Recompute(ctx, modelID); err != nil {
		s.log.Warn("score: recomputation failed; it resumes on schedule", "model", modelID, "err", err)
	}
	return s.Get(ctx, p, modelID)
}

// stored is the JSON the rules and thresholds are stored as.
func (m *Model) stored() (rules, thresholds string, err error) {
	if rules, err = rulesJSON(m.Rules); err != nil {
		return "", "", err
	}
	b, err := json.Marshal(m.Thresholds)
	return rules, string(b), err
}

const modelColumns = `id, name, description, rules, max_score, half_life, thresholds, created_at, updated_at, recompute_from`

// scanModel reads a model row (modelColumns) and parses its stored definition.
func scanModel(sc interface{ Scan(...any) error }) (Model, error) {
	var m Model
	var rules, hl, thresholds string
	var capv sql.NullFloat64
	var created, updated int64
	var from sql.NullString
	if err := sc.Scan(&m.ID, &m.Name, &m.Description, &rules, &capv, &hl, &thresholds, &created, &updated, &from); err != nil {
		return Model{}, err
	}
	in := Input{Name: m.Name, Description: m.Description, Rules: json.RawMessage(rules), HalfLife: hl, Thresholds: json.RawMessage(thresholds)}
	if capv.Valid {
		in.Cap, _ = json.Marshal(capv.Float64)
	}
	x, err := Parse(in)
	if err != nil {
		return Model{}, fmt.Errorf("score model %s no longer parses: %w", m.ID, err)
	}
	x.ID, x.CreatedAt, x.UpdatedAt, x.Recomputing = m.ID, db.Time(created), db.Time(updated), from.Valid
	return x, nil
}

// Get returns model modelID.
func (s *Service) Get(ctx context.Context, p accounts.Principal, modelID string) (Model, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return Model{}, err
	}
	m, err := scanModel(s.db.R.QueryRowContext(ctx, `SELECT `+modelColumns+` FROM score_models WHERE id = $1`, modelID))
	if errors.Is(err, sql.ErrNoRows) {
		return Model{}, errs.NotFound("no score model %s", modelID)
	}
	return m, err
}

// List returns every model, oldest first.
func (s *Service) List(ctx context.Context, p accounts.Principal) ([]Model, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, err
	}
	return s.models(ctx, s.db.R, false)
}

// models reads every model in id order; on PostgreSQL it locks their rows when lock is set, so
// that scores of one model change in one transaction at a time (the consumer and a chunk of a
// recomputation never interleave). A model whose stored definition no longer parses is logged
// and left out.
func (s *Service) models(ctx context.Context, q db.Queryer, lock bool) ([]Model, error) {
	query := `SELECT ` + modelColumns + ` FROM score_models ORDER BY id`
	if lock && s.db.Engine == db.Postgres {
		query += ` FOR UPDATE`
	}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("reading score models: %w", err)
	}
	defer rows.Close()
	out := []Model{}
	for rows.Next() {
		m, err := scanModel(rows)
		if err != nil {
			s.log.Error("score: model cannot be read; skipped", "err", err)
			continue
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Delete removes a model and every score under it, without events. A segment whose definition
// names the model would then see a score of 0 for everyone, so a model in use is refused
// (errs.Conflict).
func (s *Service) Delete(ctx context.Context, p accounts.Principal, modelID string) error {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		// The model's row lock first, as every writer of its scores takes it: deleting its scores
		// before it could cross a batch of the consumer that is writing them.
		lock := ""
		if s.db.Engine == db.Postgres {
			lock = ` FOR UPDATE`
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM score_models WHERE id = $1`+lock, modelID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("no score model %s", modelID)
		}
		if err != nil {
			return err
		}
		users, err := segment.UsingScore(ctx, tx, modelID)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return errs.Conflict("id", "score model %s is used by segment %s; change or delete it first", modelID, users[0])
		}
		for _, t := range []string{"score_levels", "score_applied", "score_windows", "score_values", "score_models"} {
			col := "model_id"
			if t == "score_models" {
				col = "id"
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE `+col+` = $1`, modelID); err != nil {
				return fmt.Errorf("deleting score model %s: %w", modelID, err)
			}
		}
		return nil
	})
}
