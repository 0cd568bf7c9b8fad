package consent

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/id"
)

// Provision records that a person's data was provided to a third party (APPI Art. 29: the
// recipient, the data subject, the data items, the consent or other basis, and the date).
type Provision struct {
	ID         string    `json:"id"`
	ProfileID  string    `json:"profile_id"` // the data subject, as recorded
	Recipient  string    `json:"recipient"`  // who received it, e.g. "Salesforce (crm)"
	Items      []string  `json:"items"`      // what was provided, e.g. ["email", "name", "purchases"]
	Basis      Basis     `json:"basis"`
	ProvidedAt time.Time `json:"provided_at"`
	RecordedBy string    `json:"recorded_by"`
	CreatedAt  time.Time `json:"created_at"`
}

// Limits of a provision record.
const (
	maxRecipient = 200
	maxItems     = 100
	maxItem      = 100
)

// RecordProvision records that the data items of profileID went to recipient at at (now when
// zero) on basis. Connectors call it whenever personal data leaves Kizuna; a connector that
// provides the same data continuously may record one batch per run (APPI Rule 19(1)). It records
// the fact and does not decide: ask May with the third-party purpose first.
func (l *Ledger) RecordProvision(ctx context.Context, profileID, recipient string, items []string, basis Basis, at time.Time) (Provision, error) {
	var pr Provision
	err := l.db.Tx(ctx, func(tx *sql.Tx) (err error) {
		pr, err = l.ApplyProvision(ctx, tx, "system", profileID, recipient, items, basis, at, l.now())
		return err
	})
	return pr, err
}

// ApplyProvision is RecordProvision inside the caller's transaction, done by actor: a connector
// records the provision with its own bookkeeping.
func (l *Ledger) ApplyProvision(ctx context.Context, tx *sql.Tx, actor, profileID, recipient string, items []string, basis Basis, at, now time.Time) (Provision, error) {
	pr := Provision{ProfileID: profileID, Recipient: strings.TrimSpace(recipient), RecordedBy: actor, ProvidedAt: at, CreatedAt: db.Time(db.Now(now))}
	switch n := utf8.RuneCountInString(pr.Recipient); {
	case n == 0:
		return Provision{}, errs.Invalid("recipient", "is required: name who received the data")
	case n > maxRecipient || !utf8.ValidString(pr.Recipient):
		return Provision{}, errs.Invalid("recipient", "must be valid text of at most %d characters", maxRecipient)
	}
	if len(items) == 0 {
		return Provision{}, errs.Invalid("items", "name at least one data item provided, such as email or purchases")
	}
	if len(items) > maxItems {
		return Provision{}, errs.Invalid("items", "at most %d items", maxItems)
	}
	seen := map[string]bool{}
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "" || utf8.RuneCountInString(it) > maxItem || !utf8.ValidString(it) {
			return Provision{}, errs.Invalid("items", "each item is a name of 1 to %d characters", maxItem)
		}
		if !seen[it] {
			seen[it] = true
			pr.Items = append(pr.Items, it)
		}
	}
	var err error
	if pr.Basis, err = ParseBasis("basis", string(basis)); err != nil {
		return Provision{}, err
	}
	if pr.ProvidedAt.IsZero() {
		pr.ProvidedAt = now
	}
	if pr.ProvidedAt.After(now.Add(MaxSkew)) {
		return Provision{}, errs.Invalid("provided_at", "is in the future")
	}
	pr.ProvidedAt = db.Time(db.Now(pr.ProvidedAt))
	if _, _, err := l.identity.RootFamily(ctx, tx, profileID); err != nil {
		return Provision{}, err
	}
	itemsJSON, err := json.Marshal(pr.Items)
	if err != nil {
		return Provision{}, err
	}
	pr.ID = id.New(now)
	if _, err := tx.ExecContext(ctx, `INSERT INTO consent_provisions (id, profile_id, recipient, items, basis, provided_at, recorded_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, pr.ID, pr.ProfileID, pr.Recipient, string(itemsJSON), pr.Basis, db.Now(pr.ProvidedAt),
		pr.RecordedBy, db.Now(now)); err != nil {
		return Provision{}, fmt.Errorf("recording a provision: %w", err)
	}
	return pr, nil
}

// Provisions returns the provision records of profileID's merge family, newest first, for p
// (accounts.PermViewMembers): what APPI Art. 33(5) lets the person ask to see.
func (l *Ledger) Provisions(ctx context.Context, p accounts.Principal, profileID string) ([]Provision, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, err
	}
	_, family, err := l.family(ctx, profileID)
	if err != nil {
		return nil, err
	}
	in, args := db.InList(family, 1)
	rows, err := l.db.R.QueryContext(ctx, `SELECT id, profile_id, recipient, items, basis, provided_at, recorded_by, created_at
		FROM consent_provisions WHERE profile_id `+in+` ORDER BY provided_at DESC, id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading provisions: %w", err)
	}
	defer rows.Close()
	out := []Provision{}
	for rows.Next() {
		var pr Provision
		var items string
		var at, created int64
		if err := rows.Scan(&pr.ID, &pr.ProfileID, &pr.Recipient, &items, &pr.Basis, &at, &pr.RecordedBy, &created); err != nil {
			return nil, fmt.Errorf("reading provisions: %w", err)
		}
		if err := json.Unmarshal([]byte(items), &pr.Items); err != nil {
			return nil, fmt.Errorf("reading provision %s: %w", pr.ID, err)
		}
		pr.ProvidedAt, pr.CreatedAt = db.Time(at), db.Time(created)
		out = append(out, pr)
	}
	return out, rows.Err()
}
