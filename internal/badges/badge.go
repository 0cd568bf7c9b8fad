package badges

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
)

// Kinds of badge.
const (
	KindRule   = "rule"   // rules award it (EvaluateRules); staff may award it too
	KindManual = "manual" // only staff award it
)

// The built-in badges, seeded by the migration.
const (
	Staff        = "staff"         // manual
	EarlyAdopter = "early-adopter" // rule: among the first 100 accounts by sign-up
	Expert       = "expert"        // rule: 5 or more accepted answers in a space, per space; or by staff
	Helpful      = "helpful"       // rule: 50 points or more
)

// Badge is something a member can hold.
type Badge struct {
	ID          string    `json:"id"`
	Slug        string    `json:"slug"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Kind        string    `json:"kind"` // KindRule or KindManual
	Rule        string    `json:"rule,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// BadgeInput is a new badge. A rule badge's Rule is one comparison with a whole number:
//
//	points>=N                  the member's community points
//	accepted_answers>=N        accepted answers anywhere (replies accepted on others' questions)
//	space_accepted_answers>=N  accepted answers in one space: the badge is held per space
//	signup_rank<=N             among the first N accounts by sign-up
type BadgeInput struct {
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Kind        string `json:"kind"`
	Rule        string `json:"rule"`
}

// rule is a parsed Rule.
type rule struct {
	metric string
	n      int
}

// The metrics of rules, and the comparison each one takes.
const (
	metricPoints       = "points"
	metricAnswers      = "accepted_answers"
	metricSpaceAnswers = "space_accepted_answers"
	metricSignupRank   = "signup_rank"
)

var metricOps = map[string]string{metricPoints: ">=", metricAnswers: ">=", metricSpaceAnswers: ">=", metricSignupRank: "<="}

// parseRule reads a rule as BadgeInput describes it.
func parseRule(s string) (rule, error) {
	bad := errs.Because(errs.Invalid("rule", "a rule is points>=N, accepted_answers>=N, space_accepted_answers>=N or signup_rank<=N"), "rule_invalid")
	s = strings.Join(strings.Fields(s), "")
	for metric, op := range metricOps {
		rest, ok := strings.CutPrefix(s, metric+op)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 || n > 1_000_000_000 || strconv.Itoa(n) != rest {
			return rule{}, bad
		}
		return rule{metric: metric, n: n}, nil
	}
	return rule{}, bad
}

func (r rule) String() string { return r.metric + metricOps[r.metric] + strconv.Itoa(r.n) }

const (
	maxName        = 80
	maxDescription = 500
)

func (in *BadgeInput) check() error {
	in.Slug = strings.ToLower(strings.TrimSpace(in.Slug))
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	switch {
	case !slugRe.MatchString(in.Slug):
		return errs.Because(errs.Invalid("slug", "slug must be 2-63 lower-case letters, digits or hyphens"), "slug_invalid")
	case in.Name == "":
		return errs.Because(errs.Invalid("name", "name is required"), "name_required")
	case utf8.RuneCountInString(in.Name) > maxName:
		return errs.Because(errs.Invalid("name", "name must be at most %d characters", maxName), "name_long", maxName)
	case utf8.RuneCountInString(in.Description) > maxDescription:
		return errs.Because(errs.Invalid("description", "description must be at most %d characters", maxDescription), "description_long", maxDescription)
	}
	switch in.Kind {
	case KindManual:
		if strings.TrimSpace(in.Rule) != "" {
			return errs.Because(errs.Invalid("rule", "a manual badge has no rule"), "rule_on_manual")
		}
		in.Rule = ""
	case KindRule:
		r, err := parseRule(in.Rule)
		if err != nil {
			return err
		}
		in.Rule = r.String()
	default:
		return errs.Because(errs.Invalid("kind", "kind must be rule or manual"), "kind_invalid")
	}
	return nil
}

// CreateBadge adds a badge. Needs PermManageCommunity. A rule badge is awarded as members next
// pass through EvaluateRules (after their next accepted answer, reaction received or sign-up).
func (s *Service) CreateBadge(ctx context.Context, p accounts.Principal, in BadgeInput) (Badge, error) {
	if err := accounts.Authorize(p, accounts.PermManageCommunity); err != nil {
		return Badge{}, err
	}
	if err := in.check(); err != nil {
		return Badge{}, err
	}
	now := s.now()
	b := Badge{ID: id.New(now), Slug: in.Slug, Name: in.Name, Description: in.Description, Kind: in.Kind, Rule: in.Rule, CreatedAt: now.Truncate(time.Millisecond)}
	err := s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM badges WHERE slug = $1`, b.Slug).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errs.Because(errs.Conflict("slug", "a badge with slug %q exists", b.Slug), "badge_slug_taken")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO badges (id, slug, name, description, kind, rule, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			b.ID, b.Slug, b.Name, b.Description, b.Kind, b.Rule, db.Now(now)); err != nil {
			return err
		}
		if err := s.acc.Audit(ctx, tx, p, "badge.created", b.ID, map[string]any{"slug": b.Slug, "kind": b.Kind, "rule": b.Rule}); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Badge Created", p.Actor(), now, map[string]any{"badge_id": b.ID, "badge": b.Slug, "kind": b.Kind, "rule": b.Rule}))
	})
	if err != nil {
		return Badge{}, err
	}
	return b, nil
}

const badgeCols = `id, slug, name, description, kind, rule, created_at`

func scanBadge(row interface{ Scan(...any) error }) (Badge, error) {
	var b Badge
	var created int64
	err := row.Scan(&b.ID, &b.Slug, &b.Name, &b.Description, &b.Kind, &b.Rule, &created)
	b.CreatedAt = db.Time(created)
	return b, err
}

// Badges lists every badge, built-in ones first, then by creation.
func (s *Service) Badges(ctx context.Context) ([]Badge, error) {
	return s.badges(ctx, s.db.R, "")
}

// badges lists the badges, only those of kind when it is not empty.
func (s *Service) badges(ctx context.Context, q db.Queryer, kind string) ([]Badge, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+badgeCols+` FROM badges WHERE $1 = '' OR kind = $1 ORDER BY id`, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Badge{}
	for rows.Next() {
		b, err := scanBadge(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Badge returns the badge with this slug.
func (s *Service) Badge(ctx context.Context, slug string) (Badge, error) {
	b, err := scanBadge(s.db.R.QueryRowContext(ctx, `SELECT `+badgeCols+` FROM badges WHERE slug = $1`, strings.ToLower(slug)))
	if errors.Is(err, sql.ErrNoRows) {
		return b, errs.NotFound("no badge %s", slug)
	}
	return b, err
}
