// Package survey is polls in posts and standalone surveys: questions with one or several choices,
// free text or a scale, one response per member, and results counted by the database. A poll
// follows its post's visibility; a survey is community-wide (members only) or follows its space.
// Every change commits together with its event (Poll Created, Survey Created, Survey Responded).
package survey

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the survey tables. They refer to the community's posts and spaces and to members,
// so they run after accounts.Migrations and community.Migrations.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "survey", FS: sub}
}

// Deps are what the survey part needs.
type Deps struct {
	DB        *db.DB
	Outbox    *backbone.Outbox
	Accounts  *accounts.Service
	Community *community.Service
	Now       func() time.Time // time.Now when nil
}

// Service is the survey part.
type Service struct {
	db        *db.DB
	outbox    *backbone.Outbox
	acc       *accounts.Service
	community *community.Service
	now       func() time.Time
}

// New returns the survey service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, outbox: d.Outbox, acc: d.Accounts, community: d.Community, now: d.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Question kinds.
const (
	Single   = "single"   // choose one option
	Multiple = "multiple" // choose one or more options
	Text     = "text"     // free text
	Scale    = "scale"    // a number from ScaleMin to ScaleMax
)

// Option is one choice of a single or multiple question.
type Option struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Question is one question of a survey.
type Question struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Prompt   string   `json:"prompt"`
	Options  []Option `json:"options,omitempty"`
	Required bool     `json:"required"`
	ScaleMin int      `json:"scale_min,omitempty"`
	ScaleMax int      `json:"scale_max,omitempty"`
}

// Survey is a set of questions members answer once: a poll attached to a post, or a standalone
// survey run by staff.
type Survey struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Questions   []Question `json:"questions"`
	PostID      string     `json:"post_id,omitempty"`  // set for a poll attached to a post
	SpaceID     string     `json:"space_id,omitempty"` // "" for a community-wide survey
	Anonymous   bool       `json:"anonymous"`          // results never say who answered what
	ClosesAt    *time.Time `json:"closes_at"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	Responses   int        `json:"responses"`
	// Responded says whether the viewer has responded.
	Responded bool `json:"responded"`
}

// Poll reports whether the survey is a poll attached to a post.
func (sv Survey) Poll() bool { return sv.PostID != "" }

// Closed reports whether the survey no longer takes responses at time now.
func (sv Survey) Closed(now time.Time) bool { return sv.ClosesAt != nil && !now.Before(*sv.ClosesAt) }

// errNoSurvey hides whether a survey the reader may not see exists.
func errNoSurvey(id string) error { return errs.NotFound("no survey %s", id) }

const surveyCols = `id, title, description, coalesce(post_id, ''), coalesce(space_id, ''), anonymous, questions, closes_at, created_by, created_at, responses`

func scanSurvey(row interface{ Scan(...any) error }) (Survey, error) {
	var sv Survey
	var anonymous int
	var questions string
	var closes sql.NullInt64
	var created int64
	if err := row.Scan(&sv.ID, &sv.Title, &sv.Description, &sv.PostID, &sv.SpaceID, &anonymous, &questions, &closes, &sv.CreatedBy, &created, &sv.Responses); err != nil {
		return sv, err
	}
	sv.Anonymous = anonymous == 1
	if closes.Valid {
		t := db.Time(closes.Int64)
		sv.ClosesAt = &t
	}
	sv.CreatedAt = db.Time(created)
	if err := json.Unmarshal([]byte(questions), &sv.Questions); err != nil {
		return sv, err
	}
	return sv, nil
}

// staff reports whether p runs surveys: community managers and marketers (and admins, keys and the
// system with those permissions).
func staff(p accounts.Principal) bool {
	return accounts.Allowed(p, accounts.PermManageCommunity) || accounts.Allowed(p, accounts.PermManageMarketing)
}

// analyst reports whether p may read survey results: the staff who run surveys and those who view
// analytics.
func analyst(p accounts.Principal) bool {
	return staff(p) || accounts.Allowed(p, accounts.PermViewAnalytics)
}

// load reads a survey and checks that p may see it: a poll through its post, a space survey
// through its space, a community-wide survey when signed in; staff see every standalone survey.
// It returns the poll's post, when there is one.
func (s *Service) load(ctx context.Context, p accounts.Principal, surveyID string) (Survey, *community.Post, error) {
	sv, err := scanSurvey(s.db.R.QueryRowContext(ctx, `SELECT `+surveyCols+` FROM surveys WHERE id = $1`, surveyID))
	if errors.Is(err, sql.ErrNoRows) {
		return Survey{}, nil, errNoSurvey(surveyID)
	}
	if err != nil {
		return Survey{}, nil, err
	}
	var post *community.Post
	switch {
	case sv.PostID != "":
		pp, err := s.community.Post(ctx, p, sv.PostID)
		if errs.KindOf(err) == errs.KindNotFound {
			return Survey{}, nil, errNoSurvey(surveyID)
		}
		if err != nil {
			return Survey{}, nil, err
		}
		post = &pp
	case analyst(p):
	case sv.SpaceID != "":
		if _, err := s.community.Space(ctx, p, sv.SpaceID); errs.KindOf(err) == errs.KindNotFound {
			return Survey{}, nil, errNoSurvey(surveyID)
		} else if err != nil {
			return Survey{}, nil, err
		}
	case p.Anonymous():
		return Survey{}, nil, errNoSurvey(surveyID)
	}
	if p.MemberID != "" {
		var n int
		if err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM survey_respondents WHERE survey_id = $1 AND member_id = $2`, sv.ID, p.MemberID).Scan(&n); err != nil {
			return Survey{}, nil, err
		}
		sv.Responded = n > 0
	}
	return sv, post, nil
}

// Get returns a survey or poll p may see, with whether p has responded.
func (s *Service) Get(ctx context.Context, p accounts.Principal, surveyID string) (Survey, error) {
	sv, _, err := s.load(ctx, p, surveyID)
	return sv, err
}

// ForPost returns the poll attached to a post p may see, or nil when the post has none (a post
// that p may not see, or that does not exist, has none).
func (s *Service) ForPost(ctx context.Context, p accounts.Principal, postID string) (*Survey, error) {
	var surveyID string
	err := s.db.R.QueryRowContext(ctx, `SELECT id FROM surveys WHERE post_id = $1`, postID).Scan(&surveyID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil // most posts have none; a post p may not see has none either
	}
	if err != nil {
		return nil, err
	}
	sv, _, err := s.load(ctx, p, surveyID)
	if err != nil {
		return nil, err
	}
	return &sv, nil
}

// List returns the standalone surveys (not polls), newest first, up to limit after the survey id
// cursor, and the id to continue from. For the staff who run surveys and read their results.
func (s *Service) List(ctx context.Context, p accounts.Principal, cursor string, limit int) ([]Survey, string, error) {
	if !analyst(p) {
		return nil, "", errs.Forbidden("only staff who run surveys may list them")
	}
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	q := `SELECT ` + surveyCols + ` FROM surveys WHERE post_id IS NULL`
	args := []any{limit + 1}
	if cursor != "" {
		q += ` AND id < $2`
		args = append(args, cursor)
	}
	rows, err := s.db.R.QueryContext(ctx, q+` ORDER BY id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	out := []Survey{}
	for rows.Next() {
		sv, err := scanSurvey(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, sv)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := db.TrimPage(out, limit, func(sv Survey) string { return sv.ID })
	return out, next, nil
}
