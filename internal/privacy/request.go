package privacy

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// Kind is what a data-subject request asks for.
type Kind string

// The kinds of request.
const (
	KindExport  Kind = "export"  // a copy of the person's data (GDPR Art. 15 and 20, APPI Art. 33)
	KindErasure Kind = "erasure" // erasure of the person's data (GDPR Art. 17, APPI Art. 35)
)

// Regime is the law a request is answered under; it sets the deadline.
type Regime string

// The regimes.
const (
	RegimeGDPR Regime = "gdpr" // one month from receipt (Art. 12(3)), extendable by two more
	RegimeAPPI Regime = "appi" // "without delay" (遅滞なく, Art. 33(2), 35): Kizuna's target is APPIDays
	RegimeCCPA Regime = "ccpa" // 45 days (Cal. Civ. Code §1798.130), extendable by 45 more
)

// Regimes lists every regime.
var Regimes = []Regime{RegimeAPPI, RegimeGDPR, RegimeCCPA}

// APPIDays is the deadline Kizuna gives a request under APPI, which asks for an answer "without
// delay" and names no number of days: two weeks, the working target most Japanese privacy
// policies state. Staff can set an earlier due date on a request.
const APPIDays = 14

// ParseRegime reads a regime; field names the input in the error.
func ParseRegime(field, s string) (Regime, error) {
	r := Regime(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range Regimes {
		if r == k {
			return r, nil
		}
	}
	if r == "" {
		return "", errs.Invalid(field, "is required (one of appi, gdpr, ccpa)")
	}
	return "", errs.Invalid(field, "%q is not a regime (use appi, gdpr or ccpa)", s)
}

// Due is the deadline of a request received at under r.
func (r Regime) Due(received time.Time) time.Time {
	switch r {
	case RegimeGDPR:
		return received.AddDate(0, 1, 0)
	case RegimeCCPA:
		return received.AddDate(0, 0, 45)
	default:
		return received.AddDate(0, 0, APPIDays)
	}
}

// latest is the furthest a due date may be put off under r: GDPR's two-month extension, CCPA's
// 45 days; APPI allows no extension.
func (r Regime) latest(received time.Time) time.Time {
	switch r {
	case RegimeGDPR:
		return received.AddDate(0, 3, 0)
	case RegimeCCPA:
		return received.AddDate(0, 0, 90)
	default:
		return r.Due(received)
	}
}

// Status is where a request stands.
type Status string

// The statuses.
const (
	StatusOpen      Status = "open"      // recorded, waiting for staff (an identity check, say)
	StatusRunning   Status = "running"   // an erasure under way
	StatusCompleted Status = "completed" // done
	StatusDeclined  Status = "declined"  // refused, with the reason in the note
)

// Channel is how a request reached Kizuna.
type Channel string

// The channels.
const (
	ChannelCentre Channel = "privacy_centre" // the member asked in their privacy centre
	ChannelStaff  Channel = "staff"          // staff recorded it in the admin
	ChannelAPI    Channel = "api"            // an integration recorded it through the API
)

// Request is one data-subject request.
type Request struct {
	ID     string `json:"id"`
	Kind   Kind   `json:"kind"`
	Status Status `json:"status"`
	// MemberID and ProfileID are the subject: their account and customer profile ("" when they
	// have none, and both "" once the subject was erased).
	MemberID  string `json:"member_id"`
	ProfileID string `json:"profile_id"`
	// TombstoneID is, once the subject was erased, the opaque id that stands for them.
	TombstoneID string     `json:"tombstone_id,omitempty"`
	Regime      Regime     `json:"regime"`
	Channel     Channel    `json:"channel"`
	ReceivedAt  time.Time  `json:"received_at"`
	DueAt       time.Time  `json:"due_at"`
	CompletedAt *time.Time `json:"completed_at"`
	Overdue     bool       `json:"overdue"` // still open or running after its due date
	RequestedBy string     `json:"requested_by"`
	Note        string     `json:"note"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`

	tombstone string // the tombstone id an erasure will use, set from its creation
}

// Pending reports whether the request still has to be answered.
func (r Request) Pending() bool { return r.Status == StatusOpen || r.Status == StatusRunning }

// RequestInput is how a request came in, for staff and the API.
type RequestInput struct {
	Regime Regime // "" is the community's default regime (Settings.DefaultRegime)
	// ReceivedAt is when the person asked; the zero time means now. Not in the future.
	ReceivedAt time.Time
	// DueAt overrides the regime's deadline: earlier, or later within the extension the regime
	// allows (GDPR two more months, CCPA 45 more days, APPI none). Zero: the regime's.
	DueAt time.Time
	Note  string // for staff: the ticket, how the person's identity was checked; at most 1,000 characters
	// Hold records an erasure request as open without running it (until the person's identity
	// is checked, say); Run runs it later. Exports are answered at once.
	Hold bool
}

const (
	maxNote = 1000
	maxSkew = 5 * time.Minute
)

// check validates in for a request received now under the community's default regime def.
func (in RequestInput) check(now time.Time, def Regime) (Regime, time.Time, time.Time, string, error) {
	r := def
	if in.Regime != "" {
		var err error
		if r, err = ParseRegime("regime", string(in.Regime)); err != nil {
			return "", time.Time{}, time.Time{}, "", err
		}
	}
	received := in.ReceivedAt
	if received.IsZero() {
		received = now
	}
	if received.After(now.Add(maxSkew)) {
		return "", time.Time{}, time.Time{}, "", errs.Invalid("received_at", "is in the future; give when the person asked")
	}
	received = db.Time(db.Now(received))
	due := r.Due(received)
	if !in.DueAt.IsZero() {
		switch {
		case !in.DueAt.After(received):
			return "", time.Time{}, time.Time{}, "", errs.Invalid("due_at", "must be after received_at")
		case in.DueAt.After(r.latest(received)):
			return "", time.Time{}, time.Time{}, "", errs.Invalid("due_at", "is later than %s allows (%s)", strings.ToUpper(string(r)), r.latest(received).Format(time.DateOnly))
		}
		due = db.Time(db.Now(in.DueAt))
	}
	note := strings.TrimSpace(in.Note)
	if utf8.RuneCountInString(note) > maxNote || !utf8.ValidString(note) {
		return "", time.Time{}, time.Time{}, "", errs.Invalid("note", "must be valid text of at most %d characters", maxNote)
	}
	return r, received, due, note, nil
}

const requestCols = `id, kind, status, member_id, profile_id, tombstone_id, regime, channel, received_at, due_at, completed_at,
	requested_by, note, created_at, updated_at`

func (s *Service) scanRequests(rows *sql.Rows, err error) ([]Request, error) {
	if err != nil {
		return nil, fmt.Errorf("reading requests: %w", err)
	}
	defer rows.Close()
	now := s.now()
	out := []Request{}
	for rows.Next() {
		var r Request
		var received, due, created, updated int64
		var completed sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Kind, &r.Status, &r.MemberID, &r.ProfileID, &r.TombstoneID, &r.Regime, &r.Channel, &received, &due,
			&completed, &r.RequestedBy, &r.Note, &created, &updated); err != nil {
			return nil, fmt.Errorf("reading requests: %w", err)
		}
		r.ReceivedAt, r.DueAt, r.CreatedAt, r.UpdatedAt = db.Time(received), db.Time(due), db.Time(created), db.Time(updated)
		if completed.Valid {
			t := db.Time(completed.Int64)
			r.CompletedAt = &t
		}
		if r.tombstone = r.TombstoneID; r.MemberID != "" || r.ProfileID != "" {
			r.TombstoneID = "" // kept for the erasure to come; it names nobody yet
		}
		r.Overdue = r.Pending() && now.After(r.DueAt)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Service) insertRequest(ctx context.Context, tx *sql.Tx, r Request) error {
	var completed any
	if r.CompletedAt != nil {
		completed = db.Now(*r.CompletedAt)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO privacy_requests (`+requestCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)`,
		r.ID, r.Kind, r.Status, r.MemberID, r.ProfileID, r.tombstone, r.Regime, r.Channel, db.Now(r.ReceivedAt), db.Now(r.DueAt), completed,
		r.RequestedBy, r.Note, db.Now(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("recording the request: %w", err)
	}
	return nil
}

// getRequest reads one request through q.
func (s *Service) getRequest(ctx context.Context, q db.Queryer, id string) (Request, error) {
	list, err := s.scanRequests(q.QueryContext(ctx, `SELECT `+requestCols+` FROM privacy_requests WHERE id = $1`, id))
	if err != nil {
		return Request{}, err
	}
	if len(list) == 0 {
		return Request{}, errs.NotFound("no privacy request %s", id)
	}
	return list[0], nil
}

// Request returns the request id, for p: staff with accounts.PermViewMembers, or the member the
// request is about.
func (s *Service) Request(ctx context.Context, p accounts.Principal, id string) (Request, error) {
	r, err := s.getRequest(ctx, s.db.R, id)
	if err != nil {
		return Request{}, err
	}
	if p.MemberID != "" && p.MemberID == r.MemberID {
		return r, nil
	}
	if err := accounts.Authorize(p, permView); err != nil {
		if p.MemberID != "" && !accounts.Allowed(p, accounts.PermViewAdmin) {
			return Request{}, errs.NotFound("no privacy request %s", id) // a member does not learn of others' requests
		}
		return Request{}, err
	}
	return r, nil
}

// Filter narrows Requests; empty fields match everything.
type Filter struct {
	Kind      Kind
	Status    Status
	Overdue   bool   // only pending requests past their due date
	Pending   bool   // only open and running requests
	ProfileID string // the requests about one profile
	MemberID  string // the requests about one account
}

// Requests lists requests for p (accounts.PermViewMembers), the pending ones first by due date,
// then the rest newest first, limit at a time (1 to 500, default 50) after cursor, and the
// cursor of the next page ("" at the end).
func (s *Service) Requests(ctx context.Context, p accounts.Principal, f Filter, cursor string, limit int) ([]Request, string, error) {
	if err := accounts.Authorize(p, permView); err != nil {
		return nil, "", err
	}
	return s.requests(ctx, f, cursor, limit)
}

func (s *Service) requests(ctx context.Context, f Filter, cursor string, limit int) ([]Request, string, error) {
	limit = db.Limit(limit, 50, 500)
	var where []string
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	switch f.Kind {
	case "":
	case KindExport, KindErasure:
		arg("kind = ?", f.Kind)
	default:
		return nil, "", errs.Invalid("kind", "%q is not a kind of request (use export or erasure)", f.Kind)
	}
	switch f.Status {
	case "":
	case StatusOpen, StatusRunning, StatusCompleted, StatusDeclined:
		arg("status = ?", f.Status)
	default:
		return nil, "", errs.Invalid("status", "%q is not a status (use open, running, completed or declined)", f.Status)
	}
	if f.Overdue || f.Pending {
		where = append(where, "status IN ('open', 'running')")
	}
	if f.Overdue {
		arg("due_at < ?", db.Now(s.now()))
	}
	if f.ProfileID != "" {
		arg("profile_id = ?", f.ProfileID)
	}
	if f.MemberID != "" {
		arg("member_id = ?", f.MemberID)
	}
	// Pending first (rank 0) by due date, then the rest (rank 1) newest first: the sort key is
	// rank, then due_at for pending and -created_at for the rest, then id.
	order := `CASE WHEN status IN ('open', 'running') THEN 0 ELSE 1 END, CASE WHEN status IN ('open', 'running') THEN due_at ELSE -created_at END, id`
	if cursor != "" {
		parts := strings.Split(cursor, ".")
		if len(parts) != 3 {
			return nil, "", errs.Invalid("cursor", "is not a cursor this list gave")
		}
		rank, err1 := strconv.Atoi(parts[0])
		key, err2 := strconv.ParseInt(parts[1], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, "", errs.Invalid("cursor", "is not a cursor this list gave")
		}
		args = append(args, rank, key, parts[2])
		n := len(args)
		where = append(where, fmt.Sprintf(`(CASE WHEN status IN ('open', 'running') THEN 0 ELSE 1 END > $%d
			OR (CASE WHEN status IN ('open', 'running') THEN 0 ELSE 1 END = $%d AND (CASE WHEN status IN ('open', 'running') THEN due_at ELSE -created_at END > $%d
			OR (CASE WHEN status IN ('open', 'running') THEN due_at ELSE -created_at END = $%d AND id > $%d))))`, n-2, n-2, n-1, n-1, n))
	}
	q := `SELECT ` + requestCols + ` FROM privacy_requests`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit+1)
	list, err := s.scanRequests(s.db.R.QueryContext(ctx, q+` ORDER BY `+order+` LIMIT $`+strconv.Itoa(len(args)), args...))
	if err != nil {
		return nil, "", err
	}
	list, next := db.TrimPage(list, limit, func(r Request) string {
		if r.Pending() {
			return "0." + strconv.FormatInt(db.Now(r.DueAt), 10) + "." + r.ID
		}
		return "1." + strconv.FormatInt(-db.Now(r.CreatedAt), 10) + "." + r.ID
	})
	return list, next, nil
}

// Decline refuses an open request for p (accounts.PermManageMembers), with the reason, which
// the person must be told (GDPR Art. 12(4), APPI Art. 36); audited.
func (s *Service) Decline(ctx context.Context, p accounts.Principal, id, reason string) (Request, error) {
	if err := accounts.Authorize(p, permAct); err != nil {
		return Request{}, err
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return Request{}, errs.Invalid("reason", "say why the request is declined: the person must be told")
	case utf8.RuneCountInString(reason) > maxNote:
		return Request{}, errs.Invalid("reason", "must be at most %d characters", maxNote)
	}
	now := s.now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.getRequest(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.Status != StatusOpen {
			return errs.Because(errs.Conflict("status", "only an open request can be declined; this one is %s", r.Status), "request_not_open")
		}
		note := strings.TrimSpace(r.Note + "\n" + reason)
		if _, err := tx.ExecContext(ctx, `UPDATE privacy_requests SET status = $1, note = $2, completed_at = $3, updated_at = $3 WHERE id = $4`,
			StatusDeclined, note, db.Now(now), id); err != nil {
			return err
		}
		return s.acc.Audit(ctx, tx, p, "privacy.request_declined", id, map[string]any{"kind": r.Kind, "regime": r.Regime})
	})
	if err != nil {
		return Request{}, err
	}
	return s.Request(ctx, accounts.System(), id)
}
