package consent

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/id"
	"github.com/kizuna-community/kizuna/internal/identity/normalize"
)

// Suppression is one entry of the suppression list.
type Suppression struct {
	ID      string            `json:"id"`
	Channel Channel           `json:"channel"`
	Value   string            `json:"value"` // the address, normalised; "" once its person was erased
	Reason  SuppressionReason `json:"reason"`
	Note    string            `json:"note"`
	// CreatedBy is who added it (see accounts.Principal.Actor).
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// SuppressionInput is an address to put on the list.
type SuppressionInput struct {
	Channel Channel
	Value   string // the address, in any spelling the identity graph accepts
	Reason  SuppressionReason
	Note    string // why, for staff: a bounce message, a ticket number
}

const maxNote = 500

// maxEndpoint bounds a web push endpoint URL.
const maxEndpoint = 2048

// normaliseAddress reads an address of channel ch as the identity graph stores such identifiers:
// emails lower-cased and NFKC, phone numbers in E.164 (Japanese numbers without a country code),
// LINE user ids as U and 32 lower-case hex digits, user ids as opaque text, push endpoints as
// https URLs.
func normaliseAddress(ch Channel, field, v string) (string, error) {
	var t string
	switch ch {
	case ChannelEmail:
		t = "email"
	case ChannelSMS, ChannelPhone:
		t = "phone"
	case ChannelLINE:
		t = "social:line"
	case ChannelInApp:
		t = "user_id"
	case ChannelWebPush:
		s := strings.TrimSpace(v)
		switch {
		case s == "":
			return "", errs.Invalid(field, "is required")
		case !strings.HasPrefix(s, "https://") || len(s) > maxEndpoint || strings.ContainsFunc(s, unicode.IsSpace) || !utf8.ValidString(s):
			return "", errs.Invalid(field, "a web push address is the subscription's https:// endpoint URL (at most %d bytes)", maxEndpoint)
		}
		return s, nil
	default:
		return "", errs.Invalid("channel", "%q is not a channel", ch)
	}
	out, err := normalize.Value(t, v)
	if err != nil {
		msg := err.Error()
		if e, ok := errs.As(err); ok {
			msg = e.Msg
		}
		return "", errs.Invalid(field, "%s", msg)
	}
	return out, nil
}

// valueHash is how the list finds an address: hex SHA-256 of "channel:address".
func valueHash(ch Channel, addr string) string {
	sum := sha256.Sum256([]byte(string(ch) + ":" + addr))
	return hex.EncodeToString(sum[:])
}

// check validates in and returns its normalised address.
func (in SuppressionInput) check() (Channel, string, SuppressionReason, string, error) {
	ch, err := ParseChannel("channel", string(in.Channel))
	if err != nil {
		return "", "", "", "", err
	}
	addr, err := normaliseAddress(ch, "value", in.Value)
	if err != nil {
		return "", "", "", "", err
	}
	r, err := ParseSuppressionReason("reason", string(in.Reason))
	if err != nil {
		return "", "", "", "", err
	}
	note := strings.TrimSpace(in.Note)
	if utf8.RuneCountInString(note) > maxNote || !utf8.ValidString(note) {
		return "", "", "", "", errs.Invalid("note", "must be valid text of at most %d characters", maxNote)
	}
	return ch, addr, r, note, nil
}

// Suppress puts an address on the suppression list for p, who needs
// accounts.PermManageMarketing. Adding an entry that is there already (same channel, address and
// reason) changes nothing: added is false and the stored entry is returned.
func (l *Ledger) Suppress(ctx context.Context, p accounts.Principal, in SuppressionInput) (s Suppression, added bool, err error) {
	if err := accounts.Authorize(p, permSuppress); err != nil {
		return Suppression{}, false, err
	}
	if _, _, _, _, err := in.check(); err != nil { // before taking the write lock
		return Suppression{}, false, err
	}
	err = l.db.Tx(ctx, func(tx *sql.Tx) (err error) {
		if s, added, err = l.ApplySuppression(ctx, tx, p.Actor(), in, l.now()); err != nil || !added || l.acc == nil {
			return err
		}
		return l.acc.Audit(ctx, tx, p, "suppression.added", s.ID, map[string]any{"channel": string(s.Channel), "reason": string(s.Reason)})
	})
	return s, added, err
}

// ApplySuppression is Suppress inside the caller's transaction, without the permission check or
// the audit entry: for bounce and complaint processing and for erasure. An erased entry keeps no
// address, and blanks the address of the other entries for it; while one exists, later entries
// for the address keep none either.
func (l *Ledger) ApplySuppression(ctx context.Context, tx *sql.Tx, actor string, in SuppressionInput, now time.Time) (Suppression, bool, error) {
	ch, addr, reason, note, err := in.check()
	if err != nil {
		return Suppression{}, false, err
	}
	hash := valueHash(ch, addr)
	var erased int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM consent_suppressions WHERE channel = $1 AND value_hash = $2 AND reason = $3`,
		ch, hash, SuppressErased).Scan(&erased); err != nil {
		return Suppression{}, false, fmt.Errorf("reading the suppression list: %w", err)
	}
	s := Suppression{ID: id.New(now), Channel: ch, Value: addr, Reason: reason, Note: note, CreatedBy: actor, CreatedAt: db.Time(db.Now(now))}
	if reason == SuppressErased || erased > 0 {
		s.Value = ""
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO consent_suppressions (id, channel, value_hash, value, reason, note, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (channel, value_hash, reason) DO NOTHING`,
		s.ID, s.Channel, hash, s.Value, s.Reason, s.Note, s.CreatedBy, db.Now(now))
	if err != nil {
		return Suppression{}, false, fmt.Errorf("adding to the suppression list: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return Suppression{}, false, err
	}
	if reason == SuppressErased {
		if _, err := tx.ExecContext(ctx, `UPDATE consent_suppressions SET value = '' WHERE channel = $1 AND value_hash = $2`, ch, hash); err != nil {
			return Suppression{}, false, fmt.Errorf("forgetting an erased address: %w", err)
		}
	}
	if n == 0 {
		list, err := scanSuppressions(tx.QueryContext(ctx, suppressionSelect+` WHERE channel = $1 AND value_hash = $2 AND reason = $3`, ch, hash, reason))
		if err != nil {
			return Suppression{}, false, err
		}
		if len(list) == 0 {
			return Suppression{}, false, fmt.Errorf("adding to the suppression list: a conflicting entry vanished")
		}
		return list[0], false, nil
	}
	return s, true, nil
}

// Unsuppress takes an address off the list for p, who needs accounts.PermManageMembers: the
// entry with reason, or every entry of the address when reason is "". It returns how many went,
// and an errs.NotFound error when none was there. An erased address can be taken off by its
// address although the list no longer shows it.
func (l *Ledger) Unsuppress(ctx context.Context, p accounts.Principal, channel Channel, value string, reason SuppressionReason) (int, error) {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return 0, err
	}
	ch, err := ParseChannel("channel", string(channel))
	if err != nil {
		return 0, err
	}
	addr, err := normaliseAddress(ch, "value", value)
	if err != nil {
		return 0, err
	}
	q, args := `DELETE FROM consent_suppressions WHERE channel = $1 AND value_hash = $2`, []any{ch, valueHash(ch, addr)}
	if reason != "" {
		if reason, err = ParseSuppressionReason("reason", string(reason)); err != nil {
			return 0, err
		}
		q, args = q+` AND reason = $3`, append(args, reason)
	}
	var n int64
	err = l.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("removing from the suppression list: %w", err)
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 || l.acc == nil {
			return err
		}
		return l.acc.Audit(ctx, tx, p, "suppression.removed", string(ch), map[string]any{"reason": string(reason), "entries": n})
	})
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, errs.NotFound("%s %s is not on the suppression list", ch, addr)
	}
	return int(n), nil
}

// SuppressionFilter narrows Suppressions; empty fields match everything.
type SuppressionFilter struct {
	Channel Channel
	Reason  SuppressionReason
	Value   string // an address: its entries only
}

// Suppressions lists the suppression list for p (accounts.PermViewMembers), newest first, limit
// at a time (1 to 500, default 50) after cursor, and the cursor of the next page ("" at the end).
func (l *Ledger) Suppressions(ctx context.Context, p accounts.Principal, f SuppressionFilter, cursor string, limit int) ([]Suppression, string, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, "", err
	}
	limit = db.Limit(limit, 50, 500)
	var where []string
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Channel != "" || f.Value != "" {
		ch, err := ParseChannel("channel", string(f.Channel))
		if err != nil {
			return nil, "", err
		}
		arg("channel = ?", ch)
		if f.Value != "" {
			addr, err := normaliseAddress(ch, "value", f.Value)
			if err != nil {
				return nil, "", err
			}
			arg("value_hash = ?", valueHash(ch, addr))
		}
	}
	if f.Reason != "" {
		r, err := ParseSuppressionReason("reason", string(f.Reason))
		if err != nil {
			return nil, "", err
		}
		arg("reason = ?", r)
	}
	if cursor != "" {
		arg("id < ?", cursor)
	}
	q := suppressionSelect
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit+1)
	list, err := scanSuppressions(l.db.R.QueryContext(ctx, q+` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...))
	if err != nil {
		return nil, "", err
	}
	list, next := db.TrimPage(list, limit, func(s Suppression) string { return s.ID })
	if list == nil {
		list = []Suppression{}
	}
	return list, next, nil
}

// SuppressionsOf returns the entries for the addresses profileID's merge family holds (its
// emails, phone numbers, LINE ids and user ids), for p (accounts.PermViewMembers).
func (l *Ledger) SuppressionsOf(ctx context.Context, p accounts.Principal, profileID string) ([]Suppression, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, err
	}
	root, err := l.identity.Root(ctx, profileID)
	if err != nil {
		return nil, err
	}
	ids, err := l.identity.Identifiers(ctx, root)
	if err != nil {
		return nil, err
	}
	out := []Suppression{}
	for _, ch := range Channels {
		hashes := map[string]string{}
		for _, a := range channelAddresses(ch, ids) {
			hashes[valueHash(ch, a)] = a
		}
		if len(hashes) == 0 {
			continue
		}
		args := []any{ch}
		var ph []string
		for h := range hashes {
			args = append(args, h)
			ph = append(ph, "$"+strconv.Itoa(len(args)))
		}
		list, err := scanSuppressions(l.db.R.QueryContext(ctx, suppressionSelect+` WHERE channel = $1 AND value_hash IN (`+strings.Join(ph, ", ")+`)
			ORDER BY id DESC`, args...))
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	return out, nil
}

// suppressedFor returns the reasons for which any of addrs is on the list for channel ch.
func (l *Ledger) suppressedFor(ctx context.Context, ch Channel, addrs []string) ([]SuppressionReason, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	args := []any{ch}
	ph := make([]string, len(addrs))
	for i, a := range addrs {
		args = append(args, valueHash(ch, a))
		ph[i] = "$" + strconv.Itoa(i+2)
	}
	rows, err := l.db.R.QueryContext(ctx, `SELECT DISTINCT reason FROM consent_suppressions WHERE channel = $1 AND value_hash IN (`+
		strings.Join(ph, ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the suppression list: %w", err)
	}
	defer rows.Close()
	var out []SuppressionReason
	for rows.Next() {
		var r SuppressionReason
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

const suppressionSelect = `SELECT id, channel, value, reason, note, created_by, created_at FROM consent_suppressions`

func scanSuppressions(rows *sql.Rows, err error) ([]Suppression, error) {
	if err != nil {
		return nil, fmt.Errorf("reading the suppression list: %w", err)
	}
	defer rows.Close()
	var out []Suppression
	for rows.Next() {
		var s Suppression
		var created int64
		if err := rows.Scan(&s.ID, &s.Channel, &s.Value, &s.Reason, &s.Note, &s.CreatedBy, &created); err != nil {
			return nil, fmt.Errorf("reading the suppression list: %w", err)
		}
		s.CreatedAt = db.Time(created)
		out = append(out, s)
	}
	return out, rows.Err()
}
