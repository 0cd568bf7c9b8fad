package consent

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"slices"
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

// Record is one entry of the ledger.
type Record struct {
	ID          string    `json:"id"`
	ProfileID   string    `json:"profile_id"` // the profile it was recorded for, before any merge
	Channel     Channel   `json:"channel"`
	Purpose     Purpose   `json:"purpose"`
	Status      Status    `json:"status"`
	RecordedAt  time.Time `json:"recorded_at"` // when the person gave or withdrew it
	Source      Source    `json:"source"`
	TextVersion string    `json:"text_version"`
	IP          string    `json:"ip"`
	UserAgent   string    `json:"user_agent"`
	RecordedBy  string    `json:"recorded_by"` // see accounts.Principal.Actor
	ImportID    string    `json:"import_id,omitempty"`
	CreatedAt   time.Time `json:"created_at"` // when Kizuna stored it
}

// Input is one consent statement to record.
type Input struct {
	Channel Channel
	Purpose Purpose
	Status  Status
	// RecordedAt is when the person gave or withdrew consent; the zero time means now. It may
	// not be more than MaxSkew in the future.
	RecordedAt time.Time
	// Source is where it came from; "" is the recording call's default (api for the API, staff
	// for a staff member's page).
	Source Source
	// TextVersion names the wording the person saw, such as "privacy-2026-04". Required for an
	// opt-in from a sign-up form, the privacy centre or a permission screen.
	TextVersion string
	IP          string // the person's IP address when they acted themselves
	UserAgent   string // the person's browser when they acted themselves
}

// MaxSkew is how far in the future a recorded_at may lie: clocks of other systems drift.
const MaxSkew = 5 * time.Minute

// Limits on evidence text.
const (
	maxTextVersion = 100
	maxUserAgent   = 1000
)

// BatchError is the error of one input of several: Index is its position.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("item %d: %v", e.Index, e.Err) }
func (e *BatchError) Unwrap() error { return e.Err }

// check validates in and returns the record it makes, without ids and profile.
func (in Input) check(now time.Time, def Source) (Record, error) {
	var r Record
	var err error
	if r.Channel, err = ParseChannel("channel", string(in.Channel)); err != nil {
		return Record{}, err
	}
	if r.Purpose, err = ParsePurpose("purpose", string(in.Purpose)); err != nil {
		return Record{}, err
	}
	if r.Status, err = ParseStatus("status", string(in.Status)); err != nil {
		return Record{}, err
	}
	if r.Source, err = ParseSource("source", string(in.Source), def); err != nil {
		return Record{}, err
	}
	r.RecordedAt = in.RecordedAt
	if r.RecordedAt.IsZero() {
		r.RecordedAt = now
	}
	if r.RecordedAt.After(now.Add(MaxSkew)) {
		return Record{}, errs.Invalid("recorded_at", "is in the future; give the time the person gave or withdrew consent")
	}
	r.RecordedAt = db.Time(db.Now(r.RecordedAt))
	r.TextVersion = strings.TrimSpace(in.TextVersion)
	switch {
	case utf8.RuneCountInString(r.TextVersion) > maxTextVersion:
		return Record{}, errs.Invalid("text_version", "must be at most %d characters", maxTextVersion)
	case r.TextVersion == "" && r.Status == StatusOptedIn && r.Source.showsText():
		return Record{}, errs.Invalid("text_version", "is required for an opt-in from %s: name the wording the person agreed to", r.Source)
	}
	if ip := strings.TrimSpace(in.IP); ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return Record{}, errs.Invalid("ip", "%q is not an IPv4 or IPv6 address", in.IP)
		}
		r.IP = a.Unmap().String()
	}
	r.UserAgent = strings.TrimSpace(in.UserAgent)
	if utf8.RuneCountInString(r.UserAgent) > maxUserAgent || !utf8.ValidString(r.UserAgent) {
		return Record{}, errs.Invalid("user_agent", "must be valid text of at most %d characters", maxUserAgent)
	}
	return r, nil
}

// Validate checks ins as Record does, without touching the database. An error names the input
// (a *BatchError) and its field.
func Validate(ins []Input, now time.Time, def Source) error {
	if len(ins) == 0 {
		return errs.Invalid("consents", "give at least one consent")
	}
	for i, in := range ins {
		if _, err := in.check(now, def); err != nil {
			return &BatchError{i, err}
		}
	}
	return nil
}

// Record appends ins to the ledger of profileID for p (who needs accounts.PermManageMembers), all
// in one transaction: if any input is wrong nothing is recorded and the error is a *BatchError
// naming it. Inputs without a source get SourceAPI for an API key, SourceStaff for a staff
// member. It returns the records in input order (for an input that repeats a stored record
// exactly, the stored one).
func (l *Ledger) Record(ctx context.Context, p accounts.Principal, profileID string, ins []Input) ([]Record, error) {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return nil, err
	}
	def := SourceStaff
	if p.APIKeyID != "" {
		def = SourceAPI
	}
	now := l.now()
	if err := Validate(ins, now, def); err != nil { // before taking the write lock
		return nil, err
	}
	var out []Record
	err := l.outbox.Tx(ctx, func(tx *sql.Tx) (err error) {
		out, _, err = l.Apply(ctx, tx, Recording{Actor: p.Actor(), ProfileID: profileID, Inputs: ins, Now: now, DefaultSource: def})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Recording is what one call of Ledger.Apply records.
type Recording struct {
	Actor         string // who records: see accounts.Principal.Actor
	ProfileID     string
	Inputs        []Input
	Now           time.Time
	DefaultSource Source // for inputs without a source
	ImportID      string // the import the inputs come from, if any
}

// Apply is Record inside the caller's transaction, without the permission check, for parts that
// record consent as part of their own change (a sign-up, a permission screen, an import): it
// validates a.Inputs, appends them to a.ProfileID's ledger as of a.Now and emits Consent Updated
// through the outbox in tx for each that changes a current status. added[i] is false for an input
// that repeats a stored record exactly (same profile, channel, purpose, time, status and source):
// it is stored once. An error about one input is a *BatchError; roll tx back then.
func (l *Ledger) Apply(ctx context.Context, tx *sql.Tx, a Recording) (out []Record, added []bool, err error) {
	recs := make([]Record, len(a.Inputs))
	for i, in := range a.Inputs {
		if recs[i], err = in.check(a.Now, cmp.Or(a.DefaultSource, SourceAPI)); err != nil {
			return nil, nil, &BatchError{i, err}
		}
	}
	_, family, err := l.identity.RootFamily(ctx, tx, a.ProfileID)
	if err != nil {
		return nil, nil, err
	}
	added = make([]bool, len(recs))
	for i := range recs {
		r := &recs[i]
		r.ID, r.ProfileID, r.RecordedBy, r.ImportID, r.CreatedAt = id.New(a.Now), a.ProfileID, a.Actor, a.ImportID, db.Time(db.Now(a.Now))
		prev, err := l.latest(ctx, tx, family, r.Channel, r.Purpose)
		if err != nil {
			return nil, nil, err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO consent_records (id, profile_id, channel, purpose, status, recorded_at, source, text_version,
			ip, user_agent, recorded_by, import_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (profile_id, channel, purpose, recorded_at, status, source) DO NOTHING`,
			r.ID, r.ProfileID, r.Channel, r.Purpose, r.Status, db.Now(r.RecordedAt), r.Source, r.TextVersion, r.IP, r.UserAgent,
			r.RecordedBy, r.ImportID, db.Now(a.Now))
		if err != nil {
			return nil, nil, fmt.Errorf("recording consent: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, nil, err
		} else if n == 0 {
			stored, err := scanRecords(tx.QueryContext(ctx, recordSelect+` WHERE profile_id = $1 AND channel = $2 AND purpose = $3
				AND recorded_at = $4 AND status = $5 AND source = $6`, r.ProfileID, r.Channel, r.Purpose, db.Now(r.RecordedAt), r.Status, r.Source))
			if err != nil {
				return nil, nil, err
			}
			if len(stored) == 0 {
				return nil, nil, fmt.Errorf("recording consent: a conflicting record vanished")
			}
			*r = stored[0]
			continue
		}
		added[i] = true
		before := StatusUnknown
		if prev != nil {
			if prev.RecordedAt.After(r.RecordedAt) {
				continue // a later statement stands; this one is history
			}
			before = prev.Status
		}
		if before == r.Status {
			continue
		}
		if err := l.outbox.Emit(ctx, tx, consentUpdated(*r, before)); err != nil {
			return nil, nil, err
		}
	}
	return recs, added, nil
}

// consentUpdated is the event of a record that changed the current status of its channel and
// purpose from before.
func consentUpdated(r Record, before Status) event.Event {
	src := event.SourceSystem
	if r.Source == SourceImport {
		src = event.SourceImport
	}
	ev := event.New(event.Track, "Consent Updated", src, r.CreatedAt)
	ev.AnonymousID = anonymousID
	ev.ProfileID = r.ProfileID
	ev.OriginalTimestamp, ev.Timestamp = r.RecordedAt, r.RecordedAt
	ev.Properties = map[string]any{
		"consent_id":      r.ID,
		"channel":         string(r.Channel),
		"purpose":         string(r.Purpose),
		"status":          string(r.Status),
		"previous_status": string(before),
		"source":          string(r.Source),
		"text_version":    r.TextVersion,
	}
	if d := r.Purpose.Destination(); d != "" {
		ev.Properties["destination"] = d
	}
	return ev
}

const recordSelect = `SELECT id, profile_id, channel, purpose, status, recorded_at, source, text_version, ip, user_agent, recorded_by,
	import_id, created_at FROM consent_records`

func scanRecords(rows *sql.Rows, err error) ([]Record, error) {
	if err != nil {
		return nil, fmt.Errorf("reading consents: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var at, created int64
		if err := rows.Scan(&r.ID, &r.ProfileID, &r.Channel, &r.Purpose, &r.Status, &at, &r.Source, &r.TextVersion, &r.IP, &r.UserAgent,
			&r.RecordedBy, &r.ImportID, &created); err != nil {
			return nil, fmt.Errorf("reading consents: %w", err)
		}
		r.RecordedAt, r.CreatedAt = db.Time(at), db.Time(created)
		out = append(out, r)
	}
	return out, rows.Err()
}

// familyIn is "IN ($n, …)" over a family with its arguments, numbered from first.
func familyIn(family []string, first int) (string, []any) {
	args := make([]any, len(family))
	ph := make([]string, len(family))
	for i, p := range family {
		args[i] = p
		ph[i] = "$" + strconv.Itoa(first+i)
	}
	return "IN (" + strings.Join(ph, ", ") + ")", args
}

// latest returns the current record of one channel and purpose across family, nil when none.
func (l *Ledger) latest(ctx context.Context, q db.Queryer, family []string, ch Channel, pu Purpose) (*Record, error) {
	in, args := familyIn(family, 3)
	list, err := scanRecords(q.QueryContext(ctx, recordSelect+` WHERE channel = $1 AND purpose = $2 AND profile_id `+in+`
		ORDER BY recorded_at DESC, id DESC LIMIT 1`, append([]any{ch, pu}, args...)...))
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// family returns the root of profileID and its merge family.
func (l *Ledger) family(ctx context.Context, profileID string) (string, []string, error) {
	return l.identity.RootFamily(ctx, l.db.R, profileID)
}

// Current returns the current record of every channel and purpose that has one, across the merge
// family of profileID: channels in the order of Channels, then purposes in the order of
// Purposes, then third parties by name.
func (l *Ledger) Current(ctx context.Context, p accounts.Principal, profileID string) ([]Record, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, err
	}
	_, family, err := l.family(ctx, profileID)
	if err != nil {
		return nil, err
	}
	return l.current(ctx, l.db.R, family)
}

// CurrentIn is Current of a merge family (identity.Graph.RootFamily), read through q without a
// permission check, for parts that record consent in their own transaction and must compare
// with what stands (the member's privacy centre).
func (l *Ledger) CurrentIn(ctx context.Context, q db.Queryer, family []string) ([]Record, error) {
	return l.current(ctx, q, family)
}

func (l *Ledger) current(ctx context.Context, q db.Queryer, family []string) ([]Record, error) {
	in, args := familyIn(family, 1)
	all, err := scanRecords(q.QueryContext(ctx, recordSelect+` WHERE profile_id `+in+` ORDER BY recorded_at DESC, id DESC`, args...))
	if err != nil {
		return nil, err
	}
	type key struct {
		ch Channel
		pu Purpose
	}
	seen := map[key]bool{}
	out := []Record{}
	for _, r := range all {
		if k := (key{r.Channel, r.Purpose}); !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Record) int {
		return cmp.Or(cmp.Compare(slices.Index(Channels, a.Channel), slices.Index(Channels, b.Channel)), comparePurposes(a.Purpose, b.Purpose))
	})
	return out, nil
}

// comparePurposes orders purposes as Purposes lists them, then third parties by name.
func comparePurposes(a, b Purpose) int {
	ia, ib := slices.Index(Purposes, a), slices.Index(Purposes, b)
	if ia < 0 {
		ia = len(Purposes)
	}
	if ib < 0 {
		ib = len(Purposes)
	}
	return cmp.Or(cmp.Compare(ia, ib), cmp.Compare(a, b))
}

// History returns the ledger of profileID's merge family, newest statement first (by
// recorded_at, then by storage), limit at a time (1 to 500, default 50) after cursor, and the
// cursor of the next page ("" at the end).
func (l *Ledger) History(ctx context.Context, p accounts.Principal, profileID, cursor string, limit int) ([]Record, string, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, "", err
	}
	limit = db.Limit(limit, 50, 500)
	_, family, err := l.family(ctx, profileID)
	if err != nil {
		return nil, "", err
	}
	in, args := familyIn(family, 1)
	where := `profile_id ` + in
	if cursor != "" {
		ms, after, ok := strings.Cut(cursor, ".")
		t, err := strconv.ParseInt(ms, 10, 64)
		if !ok || err != nil || after == "" {
			return nil, "", errs.Invalid("cursor", "is not a cursor this list gave")
		}
		n := len(args)
		where += fmt.Sprintf(` AND (recorded_at < $%d OR (recorded_at = $%d AND id < $%d))`, n+1, n+1, n+2)
		args = append(args, t, after)
	}
	args = append(args, limit+1)
	list, err := scanRecords(l.db.R.QueryContext(ctx, recordSelect+` WHERE `+where+` ORDER BY recorded_at DESC, id DESC LIMIT $`+
		strconv.Itoa(len(args)), args...))
	if err != nil {
		return nil, "", err
	}
	list, next := db.TrimPage(list, limit, func(r Record) string { return strconv.FormatInt(db.Now(r.RecordedAt), 10) + "." + r.ID })
	if list == nil {
		list = []Record{}
	}
	return list, next, nil
}
