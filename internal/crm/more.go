package crm

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
)

// UpsertContract creates or updates the contract with in.ExternalID of an existing account. Each
// change emits Contract Updated (external_id, status, renews_on).
func (s *Service) UpsertContract(ctx context.Context, p accounts.Principal, in ContractInput) (Contract, error) {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return Contract{}, err
	}
	if err := in.Validate(); err != nil { // before taking the write lock
		return Contract{}, err
	}
	var c Contract
	now := s.now()
	err := s.outbox.Tx(ctx, func(tx *sql.Tx) (err error) {
		c, _, err = s.ApplyContract(ctx, tx, p.Actor(), in, now)
		return err
	})
	if err != nil {
		return Contract{}, err
	}
	return c, nil
}

// Validate checks in as ApplyContract does, without touching the database (the account is
// checked there).
func (in ContractInput) Validate() error {
	_, err := in.contract()
	return err
}

func (in ContractInput) contract() (Contract, error) {
	ext, err := externalID("external_id", in.ExternalID)
	if err != nil {
		return Contract{}, err
	}
	if strings.TrimSpace(in.AccountExternalID) == "" {
		return Contract{}, errs.Invalid("account_external_id", "is required")
	}
	status, err := oneOf("status", in.Status, "", contractStatuses)
	if err != nil {
		return Contract{}, err
	}
	cur, err := currency(in.Currency)
	if err != nil {
		return Contract{}, err
	}
	if err := amount(in.AmountMinor); err != nil {
		return Contract{}, err
	}
	if in.StartsOn.IsZero() {
		return Contract{}, errs.Invalid("starts_on", "is required")
	}
	return Contract{ExternalID: ext, Plan: strings.TrimSpace(in.Plan), Status: status, StartsOn: parseDate(dateString(in.StartsOn)),
		RenewsOn: parseDate(dateString(in.RenewsOn)), AmountMinor: in.AmountMinor, Currency: cur}, nil
}

// ApplyContract is UpsertContract inside the caller's transaction, without the permission check:
// it validates in, writes it as of now and emits Contract Updated (done by actor) through the
// outbox in tx. changed is false when the contract was already stored exactly so.
func (s *Service) ApplyContract(ctx context.Context, tx *sql.Tx, actor string, in ContractInput, now time.Time) (c Contract, changed bool, err error) {
	if c, err = in.contract(); err != nil {
		return Contract{}, false, err
	}
	if c.AccountID, err = accountID(ctx, tx, "account_external_id", in.AccountExternalID); err != nil {
		return Contract{}, false, err
	}
	olds, err := scanContracts(tx.QueryContext(ctx, contractSelect+` WHERE external_id = $1`, c.ExternalID))
	if err != nil {
		return Contract{}, false, err
	}
	c.UpdatedAt = now
	if len(olds) == 0 {
		c.ID = newID(now)
		if _, err := tx.ExecContext(ctx, `INSERT INTO crm_contracts (id, external_id, account_id, plan, status, starts_on, renews_on, amount_minor, currency, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, c.ID, c.ExternalID, c.AccountID, c.Plan, c.Status, dateString(c.StartsOn),
			nullString(dateString(c.RenewsOn)), c.AmountMinor, c.Currency, db.Now(now)); err != nil {
			return Contract{}, false, fmt.Errorf("creating contract: %w", err)
		}
	} else {
		old := olds[0]
		if old.AccountID == c.AccountID && old.Plan == c.Plan && old.Status == c.Status && old.StartsOn.Equal(c.StartsOn) &&
			old.RenewsOn.Equal(c.RenewsOn) && old.AmountMinor == c.AmountMinor && old.Currency == c.Currency {
			return old, false, nil
		}
		c.ID = old.ID
		if _, err := tx.ExecContext(ctx, `UPDATE crm_contracts SET account_id = $1, plan = $2, status = $3, starts_on = $4, renews_on = $5,
			amount_minor = $6, currency = $7, updated_at = $8 WHERE id = $9`, c.AccountID, c.Plan, c.Status, dateString(c.StartsOn),
			nullString(dateString(c.RenewsOn)), c.AmountMinor, c.Currency, db.Now(now), c.ID); err != nil {
			return Contract{}, false, fmt.Errorf("updating contract: %w", err)
		}
	}
	props := map[string]any{"external_id": c.ExternalID, "status": c.Status, "renews_on": nil, "plan": c.Plan}
	if !c.RenewsOn.IsZero() {
		props["renews_on"] = dateString(c.RenewsOn)
	}
	if err := s.outbox.Emit(ctx, tx, event.Community("Contract Updated", actor, now, props)); err != nil {
		return Contract{}, false, err
	}
	c.UpdatedAt = db.Time(db.Now(c.UpdatedAt))
	return c, true, nil
}

const contractSelect = `SELECT id, external_id, account_id, plan, status, starts_on, renews_on, amount_minor, currency, updated_at FROM crm_contracts`

func scanContracts(rows *sql.Rows, err error) ([]Contract, error) {
	if err != nil {
		return nil, fmt.Errorf("reading contracts: %w", err)
	}
	defer rows.Close()
	var out []Contract
	for rows.Next() {
		var c Contract
		var starts string
		var renews sql.NullString
		var updated int64
		if err := rows.Scan(&c.ID, &c.ExternalID, &c.AccountID, &c.Plan, &c.Status, &starts, &renews, &c.AmountMinor, &c.Currency, &updated); err != nil {
			return nil, err
		}
		c.StartsOn, c.RenewsOn, c.UpdatedAt = parseDate(starts), parseDate(renews.String), db.Time(updated)
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpsertTicket creates or updates the ticket with in.ExternalID, resolving in.Customer to a
// profile in the same transaction (reason "crm ticket"). Each change emits Ticket Updated
// (external_id, status, priority) with the profile's profileId and anonymousId "kizuna:crm".
func (s *Service) UpsertTicket(ctx context.Context, p accounts.Principal, in TicketInput) (Ticket, error) {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return Ticket{}, err
	}
	if err := in.Validate(); err != nil { // before taking the write lock
		return Ticket{}, err
	}
	var t Ticket
	now := s.now()
	err := s.outbox.Tx(ctx, func(tx *sql.Tx) (err error) {
		t, _, err = s.ApplyTicket(ctx, tx, in, now, "crm ticket")
		return err
	})
	if err != nil {
		return Ticket{}, err
	}
	return t, nil
}

// Validate checks in as ApplyTicket does, without touching the database (the account and the
// customer's identifiers are checked there).
func (in TicketInput) Validate() error {
	_, err := in.ticket()
	return err
}

func (in TicketInput) ticket() (Ticket, error) {
	ext, err := externalID("external_id", in.ExternalID)
	if err != nil {
		return Ticket{}, err
	}
	status, err := oneOf("status", in.Status, "", ticketStatuses)
	if err != nil {
		return Ticket{}, err
	}
	prio, err := oneOf("priority", in.Priority, "normal", ticketPriorities)
	if err != nil {
		return Ticket{}, err
	}
	if in.OpenedAt.IsZero() {
		return Ticket{}, errs.Invalid("opened_at", "is required")
	}
	if len(in.Customer) == 0 {
		return Ticket{}, errs.Invalid("customer", "at least one identifier of the customer is required")
	}
	t := Ticket{ExternalID: ext, Subject: strings.TrimSpace(in.Subject), Status: status, Priority: prio,
		OpenedAt: db.Time(db.Now(in.OpenedAt)), SolvedAt: db.Time(db.Now(in.SolvedAt))}
	if in.SolvedAt.IsZero() {
		t.SolvedAt = time.Time{}
	}
	return t, nil
}

// ApplyTicket is UpsertTicket inside the caller's transaction, without the permission check: it
// validates in, resolves the customer (reason names the cause in the identity graph), writes the
// ticket as of now and emits Ticket Updated through the outbox in tx. changed is false when the
// ticket was already stored exactly so.
func (s *Service) ApplyTicket(ctx context.Context, tx *sql.Tx, in TicketInput, now time.Time, reason string) (t Ticket, changed bool, err error) {
	if t, err = in.ticket(); err != nil {
		return Ticket{}, false, err
	}
	if t.AccountID, err = accountID(ctx, tx, "account_external_id", in.AccountExternalID); err != nil {
		return Ticket{}, false, err
	}
	if t.ProfileID, err = s.resolve(ctx, tx, in.Customer, reason); err != nil {
		return Ticket{}, false, err
	}
	olds, err := scanTickets(tx.QueryContext(ctx, ticketSelect+` WHERE external_id = $1`, t.ExternalID))
	if err != nil {
		return Ticket{}, false, err
	}
	t.UpdatedAt = now
	if len(olds) == 0 {
		t.ID = newID(now)
		if _, err := tx.ExecContext(ctx, `INSERT INTO crm_tickets (id, external_id, profile_id, account_id, subject, status, priority, opened_at, solved_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, t.ID, t.ExternalID, t.ProfileID, nullString(t.AccountID), t.Subject, t.Status,
			t.Priority, db.Now(t.OpenedAt), nullMs(t.SolvedAt), db.Now(now)); err != nil {
			return Ticket{}, false, fmt.Errorf("creating ticket: %w", err)
		}
	} else {
		old := olds[0]
		if old.ProfileID == t.ProfileID && old.AccountID == t.AccountID && old.Subject == t.Subject && old.Status == t.Status &&
			old.Priority == t.Priority && old.OpenedAt.Equal(t.OpenedAt) && old.SolvedAt.Equal(t.SolvedAt) {
			return old, false, nil
		}
		t.ID = old.ID
		if _, err := tx.ExecContext(ctx, `UPDATE crm_tickets SET profile_id = $1, account_id = $2, subject = $3, status = $4, priority = $5,
			opened_at = $6, solved_at = $7, updated_at = $8 WHERE id = $9`, t.ProfileID, nullString(t.AccountID), t.Subject, t.Status,
			t.Priority, db.Now(t.OpenedAt), nullMs(t.SolvedAt), db.Now(now), t.ID); err != nil {
			return Ticket{}, false, fmt.Errorf("updating ticket: %w", err)
		}
	}
	if err := s.outbox.Emit(ctx, tx, customerEvent("Ticket Updated", t.ProfileID, now,
		map[string]any{"external_id": t.ExternalID, "status": t.Status, "priority": t.Priority})); err != nil {
		return Ticket{}, false, err
	}
	t.UpdatedAt = db.Time(db.Now(t.UpdatedAt))
	return t, true, nil
}

const ticketSelect = `SELECT id, external_id, profile_id, account_id, subject, status, priority, opened_at, solved_at, updated_at FROM crm_tickets`

func scanTickets(rows *sql.Rows, err error) ([]Ticket, error) {
	if err != nil {
		return nil, fmt.Errorf("reading tickets: %w", err)
	}
	defer rows.Close()
	var out []Ticket
	for rows.Next() {
		var t Ticket
		var acc sql.NullString
		var solved sql.NullInt64
		var opened, updated int64
		if err := rows.Scan(&t.ID, &t.ExternalID, &t.ProfileID, &acc, &t.Subject, &t.Status, &t.Priority, &opened, &solved, &updated); err != nil {
			return nil, err
		}
		t.AccountID = acc.String
		t.OpenedAt, t.SolvedAt, t.UpdatedAt = db.Time(opened), db.Time(solved.Int64), db.Time(updated)
		out = append(out, t)
	}
	return out, rows.Err()
}

// LinkProfileToAccount makes profileID a member of the account with accountExternalID, moving it
// from any account it belonged to: a profile belongs to at most one account. No event is emitted.
func (s *Service) LinkProfileToAccount(ctx context.Context, p accounts.Principal, profileID, accountExternalID string) error {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := s.ApplyProfileAccount(ctx, tx, profileID, accountExternalID)
		return err
	})
}

// ApplyProfileAccount is LinkProfileToAccount inside the caller's transaction, without the
// permission check. changed is false when the profile already belonged to that account.
func (s *Service) ApplyProfileAccount(ctx context.Context, tx *sql.Tx, profileID, accountExternalID string) (changed bool, err error) {
	profileID = strings.TrimSpace(profileID)
	if profileID == "" {
		return false, errs.Invalid("profile_id", "is required")
	}
	if strings.TrimSpace(accountExternalID) == "" {
		return false, errs.Invalid("account_external_id", "is required")
	}
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM identity_profiles WHERE id = $1`, profileID).Scan(&one); err == sql.ErrNoRows {
		return false, errs.Invalid("profile_id", "no profile %s", profileID)
	} else if err != nil {
		return false, err
	}
	aid, err := accountID(ctx, tx, "account_external_id", accountExternalID)
	if err != nil {
		return false, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO profile_accounts (profile_id, account_id) VALUES ($1, $2)
		ON CONFLICT (profile_id) DO UPDATE SET account_id = excluded.account_id WHERE profile_accounts.account_id <> excluded.account_id`, profileID, aid)
	if err != nil {
		return false, fmt.Errorf("linking profile to account: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("linking profile to account: %w", err)
	}
	return n > 0, nil
}

// Records are a customer's CRM records, for the customer 360 page.
type Records struct {
	Account       *Account         `json:"account"`        // nil when the profile belongs to no account
	Purchases     []Purchase       `json:"purchases"`      // newest first
	Contracts     []Contract       `json:"contracts"`      // of the account
	Tickets       []Ticket         `json:"tickets"`        // newest first
	LifetimeValue map[string]int64 `json:"lifetime_value"` // minor units per currency
}

// ForProfile returns the CRM records of a profile, including those recorded under profiles since
// merged into it, directly or through another merge. A merged profile's id gives the records of
// the profile it is part of.
func (s *Service) ForProfile(ctx context.Context, p accounts.Principal, profileID string) (Records, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return Records{}, err
	}
	root, err := s.identity.Root(ctx, profileID)
	if err != nil {
		return Records{}, err
	}
	family, err := s.identity.Family(ctx, root)
	if err != nil {
		return Records{}, err
	}
	return s.ForFamily(ctx, p, family)
}

// ForFamily is ForProfile of a family identity.Graph.Family gave, root first. The account is the
// one LinkProfileToAccount set for the root, or else for a profile merged into it.
func (s *Service) ForFamily(ctx context.Context, p accounts.Principal, family []string) (Records, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return Records{}, err
	}
	r := Records{LifetimeValue: map[string]int64{}}
	q := s.db.R
	args := make([]any, len(family))
	for i, id := range family {
		args[i] = id
	}
	in := ` IN ` + s.db.Engine.Values(1, len(family))
	var err error
	if r.Purchases, err = scanPurchases(q.QueryContext(ctx, purchaseSelect+` WHERE profile_id`+in+` ORDER BY purchased_at DESC, id DESC`, args...)); err != nil {
		return Records{}, err
	}
	for _, pu := range r.Purchases {
		r.LifetimeValue[pu.Currency] += pu.AmountMinor
	}
	if r.Tickets, err = scanTickets(q.QueryContext(ctx, ticketSelect+` WHERE profile_id`+in+` ORDER BY opened_at DESC, id DESC`, args...)); err != nil {
		return Records{}, err
	}
	links := map[string]string{}
	rows, err := q.QueryContext(ctx, `SELECT profile_id, account_id FROM profile_accounts WHERE profile_id`+in, args...)
	if err != nil {
		return Records{}, fmt.Errorf("reading the account of %s: %w", family[0], err)
	}
	for rows.Next() {
		var pid, aid string
		if err := rows.Scan(&pid, &aid); err != nil {
			rows.Close()
			return Records{}, err
		}
		links[pid] = aid
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Records{}, err
	}
	var account string
	for _, pid := range family {
		if account = links[pid]; account != "" {
			break
		}
	}
	if account == "" {
		return r, nil
	}
	a, err := getAccount(ctx, q, `id = $1`, account)
	if err != nil {
		return Records{}, err
	}
	r.Account = &a
	if r.Contracts, err = scanContracts(q.QueryContext(ctx, contractSelect+` WHERE account_id = $1 ORDER BY starts_on DESC, id DESC`, a.ID)); err != nil {
		return Records{}, err
	}
	return r, nil
}
