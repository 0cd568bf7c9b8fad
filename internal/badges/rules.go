package badges

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
)

// ConsumerName is the durable name of the badges consumer on the backbone.
const ConsumerName = "badges"

// award is one badge a rule gives a member, community-wide (space "") or in a space.
type award struct {
	badge Badge
	space string
}

// heldKey names an award a member has or had.
type heldKey struct{ badgeID, space string }

// EvaluateRules gives a member every rule badge they now qualify for that they have not held
// before, and sends Badge Awarded for each. Running it again changes nothing, and a badge staff
// revoked is not given back. Rule badges are never taken away by rules: a member whose points
// drop keeps "helpful". Suspended members earn nothing; an unknown member is NotFound.
func (s *Service) EvaluateRules(ctx context.Context, memberID string) error {
	m, err := s.acc.GetMember(ctx, memberID)
	if err != nil {
		return err
	}
	if m.Status != "active" {
		return nil
	}
	rules, err := s.badges(ctx, s.db.R, KindRule)
	if err != nil {
		return err
	}
	held, err := s.held(ctx, memberID)
	if err != nil {
		return err
	}
	facts := &memberFacts{db: s.db.R, memberID: memberID}
	var due []award
	for _, b := range rules {
		r, err := parseRule(b.Rule)
		if err != nil {
			return fmt.Errorf("badge %s has rule %q: %w", b.Slug, b.Rule, err)
		}
		spaces, err := facts.qualifies(ctx, r)
		if err != nil {
			return fmt.Errorf("evaluating badge %s for %s: %w", b.Slug, memberID, err)
		}
		for _, sp := range spaces {
			if !held[heldKey{b.ID, sp}] {
				due = append(due, award{badge: b, space: sp})
			}
		}
	}
	if len(due) == 0 {
		return nil // the usual case: no write at all
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		for _, a := range due {
			res, err := tx.ExecContext(ctx, `INSERT INTO badge_awards (badge_id, member_id, space_id, reason, awarded_at, awarded_by)
				VALUES ($1, $2, $3, $4, $5, 'system') ON CONFLICT (badge_id, member_id, space_id) DO NOTHING`,
				a.badge.ID, memberID, a.space, a.badge.Rule, db.Now(now))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue // another node awarded it meanwhile
			}
			if err := s.outbox.Emit(ctx, tx, awarded(a.badge, memberID, a.space, methodRule, "system", now)); err != nil {
				return err
			}
		}
		return nil
	})
}

// held returns the awards a member has or had (revoked ones too), keyed by badge id and space.
func (s *Service) held(ctx context.Context, memberID string) (map[heldKey]bool, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT badge_id, space_id FROM badge_awards WHERE member_id = $1`, memberID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[heldKey]bool{}
	for rows.Next() {
		var k heldKey
		if err := rows.Scan(&k.badgeID, &k.space); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

// memberFacts reads what rules look at, each fact once and only when a rule needs it.
type memberFacts struct {
	db       db.Queryer
	memberID string

	points, answers *int
	spaceAnswers    map[string]int
}

// qualifies returns the spaces in which the member meets r: [""] for a community-wide rule met,
// none when it is not met.
func (f *memberFacts) qualifies(ctx context.Context, r rule) ([]string, error) {
	if r.metric == metricSpaceAnswers {
		if f.spaceAnswers == nil {
			if err := f.loadSpaceAnswers(ctx); err != nil {
				return nil, err
			}
		}
		var out []string
		for sp, n := range f.spaceAnswers {
			if n >= r.n {
				out = append(out, sp)
			}
		}
		return out, nil
	}
	var v **int
	var query string
	var args []any
	switch r.metric {
	case metricPoints:
		v, query, args = &f.points, `SELECT coalesce(max(points), 0) FROM profiles WHERE member_id = $1`, []any{f.memberID}
	case metricAnswers:
		v, query, args = &f.answers, `SELECT count(*) `+acceptedAnswers+` AND c.author_id = $1`, []any{f.memberID}
	case metricSignupRank:
		// Ids are ULIDs, in sign-up order; counting at most n earlier ones walks n keys of the
		// primary key whatever the size of the community.
		var earlier int
		if err := f.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM members WHERE id < $1 LIMIT $2) e`, f.memberID, r.n).Scan(&earlier); err != nil {
			return nil, err
		}
		if earlier+1 > r.n {
			return nil, nil
		}
		return []string{""}, nil
	default:
		return nil, fmt.Errorf("unknown metric %q", r.metric)
	}
	if *v == nil {
		var n int
		if err := f.db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
			return nil, err
		}
		*v = &n
	}
	if **v < r.n {
		return nil, nil
	}
	return []string{""}, nil
}

func (f *memberFacts) loadSpaceAnswers(ctx context.Context) error {
	rows, err := f.db.QueryContext(ctx, `SELECT p.space_id, count(*) `+acceptedAnswers+` AND c.author_id = $1 GROUP BY p.space_id`, f.memberID)
	if err != nil {
		return err
	}
	defer rows.Close()
	f.spaceAnswers = map[string]int{}
	for rows.Next() {
		var sp string
		var n int
		if err := rows.Scan(&sp, &n); err != nil {
			return err
		}
		f.spaceAnswers[sp] = n
	}
	return rows.Err()
}

// Consumer is the durable backbone consumer that keeps rule badges up to date: it evaluates the
// rules for the member behind every Answer Accepted (the answerer), Reaction Added (the author
// reacted to) and Member Signed Up. It is idempotent because awards are unique; events about
// members that no longer exist are skipped. Register it with Backbone.Register before Run.
func (s *Service) Consumer() backbone.Consumer {
	return backbone.Consumer{Name: ConsumerName, Handle: s.handle, Want: wanted}
}

// wanted picks the events subject may name someone for, from their scalar fields.
func wanted(ev *event.Event) bool {
	if ev.Type != event.Track || ev.Source != event.SourceCommunity {
		return false // the tracking API could name anyone; only the community's own events count
	}
	switch ev.Event {
	case "Answer Accepted", "Reaction Added", "Member Signed Up":
		return true
	}
	return false
}

func (s *Service) handle(ctx context.Context, evs []event.Event) error {
	done := map[string]bool{}
	for _, ev := range evs {
		memberID := subject(ev)
		if memberID == "" || done[memberID] {
			continue // one evaluation per member and batch sees everything the batch did
		}
		done[memberID] = true
		if err := s.EvaluateRules(ctx, memberID); err != nil && errs.KindOf(err) != errs.KindNotFound {
			return fmt.Errorf("evaluating badge rules for %s: %w", memberID, err)
		}
	}
	return nil
}

// subject returns the member whose badges an event may change, or "".
func subject(ev event.Event) string {
	if !wanted(&ev) {
		return ""
	}
	prop := func(k string) string { v, _ := ev.Properties[k].(string); return v }
	switch ev.Event {
	case "Answer Accepted":
		return prop("answerer_id")
	case "Reaction Added":
		return prop("author_id")
	case "Member Signed Up":
		return ev.UserID
	}
	return ""
}
