package crm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// Account is a customer company in the CRM.
type Account struct {
	ID         string    `json:"id"`
	ExternalID string    `json:"external_id"`
	Name       string    `json:"name"`
	Domain     string    `json:"domain"`
	Industry   string    `json:"industry"`
	Plan       string    `json:"plan"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// AccountInput is an account as the CRM gives it.
type AccountInput struct {
	ExternalID string
	Name       string
	Domain     string
	Industry   string
	Plan       string
}

// Purchase is one order of a customer.
type Purchase struct {
	ID          string    `json:"id"`
	ExternalID  string    `json:"external_id"`
	ProfileID   string    `json:"profile_id"`
	AccountID   string    `json:"account_id,omitempty"`
	AmountMinor int64     `json:"amount_minor"`
	Currency    string    `json:"currency"`
	PurchasedAt time.Time `json:"purchased_at"`
	Product     string    `json:"product"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// PurchaseInput is a purchase as the CRM gives it. Customer holds the identifiers the CRM knows
// the buyer by (email, phone, crm:… id); they are resolved to a profile by the identity graph.
type PurchaseInput struct {
	ExternalID        string
	Customer          []identity.ID
	AccountExternalID string // optional
	AmountMinor       int64
	Currency          string // ISO 4217
	PurchasedAt       time.Time
	Product           string
}

// Contract is an account's subscription contract.
type Contract struct {
	ID          string    `json:"id"`
	ExternalID  string    `json:"external_id"`
	AccountID   string    `json:"account_id"`
	Plan        string    `json:"plan"`
	Status      string    `json:"status"`
	StartsOn    time.Time `json:"starts_on"`
	RenewsOn    time.Time `json:"renews_on,omitzero"`
	AmountMinor int64     `json:"amount_minor"`
	Currency    string    `json:"currency"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ContractInput is a contract as the CRM gives it. Dates are days (the time of day is dropped).
type ContractInput struct {
	ExternalID        string
	AccountExternalID string
	Plan              string
	Status            string // active, cancelled or expired
	StartsOn          time.Time
	RenewsOn          time.Time // zero when it does not renew
	AmountMinor       int64
	Currency          string
}

// Ticket is a support ticket of a customer.
type Ticket struct {
	ID         string    `json:"id"`
	ExternalID string    `json:"external_id"`
	ProfileID  string    `json:"profile_id"`
	AccountID  string    `json:"account_id,omitempty"`
	Subject    string    `json:"subject"`
	Status     string    `json:"status"`
	Priority   string    `json:"priority"`
	OpenedAt   time.Time `json:"opened_at"`
	SolvedAt   time.Time `json:"solved_at,omitzero"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// TicketInput is a ticket as the help desk gives it. Customer is resolved like a purchase's.
type TicketInput struct {
	ExternalID        string
	Customer          []identity.ID
	AccountExternalID string // optional
	Subject           string
	Status            string // open, pending, solved or closed
	Priority          string // low, normal (the default), high or urgent
	OpenedAt          time.Time
	SolvedAt          time.Time // zero while unsolved
}

// UpsertAccount creates or updates the account with in.ExternalID. Each change emits Account
// Updated (external_id, plan); writing an account exactly as stored emits nothing.
func (s *Service) UpsertAccount(ctx context.Context, p accounts.Principal, in AccountInput) (Account, error) {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return Account{}, err
	}
	if err := in.Validate(); err != nil { // before taking the write lock
		return Account{}, err
	}
	var a Account
	now := s.now()
	err := s.outbox.Tx(ctx, func(tx *sql.Tx) (err error) {
		a, _, err = s.ApplyAccount(ctx, tx, p.Actor(), in, now)
		return err
	})
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

// Validate checks in as ApplyAccount does, without touching the database.
func (in AccountInput) Validate() error {
	_, err := in.account()
	return err
}

// account is in checked and trimmed.
func (in AccountInput) account() (Account, error) {
	ext, err := externalID("external_id", in.ExternalID)
	if err != nil {
		return Account{}, err
	}
	a := Account{ExternalID: ext, Name: strings.TrimSpace(in.Name), Domain: strings.ToLower(strings.TrimSpace(in.Domain)),
		Industry: strings.TrimSpace(in.Industry), Plan: strings.TrimSpace(in.Plan)}
	if a.Name == "" {
		return Account{}, errs.Invalid("name", "is required")
	}
	return a, nil
}

// ApplyAccount is UpsertAccount inside the caller's transaction, without the permission check:
// it validates in, writes it as of now and emits Account Updated (done by actor, see
// accounts.Principal.Actor) through the outbox in tx. changed is false when the account was
// already stored exactly so; then nothing is written or emitted.
func (s *Service) ApplyAccount(ctx context.Context, tx *sql.Tx, actor string, in AccountInput, now time.Time) (a Account, changed bool, err error) {
	if a, err = in.account(); err != nil {
		return Account{}, false, err
	}
	old, err := getAccount(ctx, tx, `external_id = $1`, a.ExternalID)
	switch {
	case errs.KindOf(err) == errs.KindNotFound:
		a.ID, a.CreatedAt, a.UpdatedAt = newID(now), now, now
		if _, err := tx.ExecContext(ctx, `INSERT INTO crm_accounts (id, external_id, name, domain, industry, plan, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, a.ID, a.ExternalID, a.Name, a.Domain, a.Industry, a.Plan, db.Now(now)); err != nil {
			return Account{}, false, fmt.Errorf("creating account: %w", err)
		}
	case err != nil:
		return Account{}, false, err
	case old.Name == a.Name && old.Domain == a.Domain && old.Industry == a.Industry && old.Plan == a.Plan:
		return old, false, nil
	default:
		a.ID, a.CreatedAt, a.UpdatedAt = old.ID, old.CreatedAt, now
		if _, err := tx.ExecContext(ctx, `UPDATE crm_accounts SET name = $1, domain = $2, industry = $3, plan = $4, updated_at = $5 WHERE id = $6`,
			a.Name, a.Domain, a.Industry, a.Plan, db.Now(now), a.ID); err != nil {
			return Account{}, false, fmt.Errorf("updating account: %w", err)
		}
	}
	if err := s.outbox.Emit(ctx, tx, event.Community("Account Updated", actor, now,
		map[string]any{"external_id": a.ExternalID, "plan": a.Plan})); err != nil {
		return Account{}, false, err
	}
	a.CreatedAt, a.UpdatedAt = db.Time(db.Now(a.CreatedAt)), db.Time(db.Now(a.UpdatedAt))
	return a, true, nil
}

func getAccount(ctx context.Context, q db.Queryer, where string, arg any) (Account, error) {
	var a Account
	var created, updated int64
	err := q.QueryRowContext(ctx, `SELECT id, external_id, name, domain, industry, plan, created_at, updated_at FROM crm_accounts WHERE `+where, arg).
		Scan(&a.ID, &a.ExternalID, &a.Name, &a.Domain, &a.Industry, &a.Plan, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return a, errs.NotFound("no CRM account %v", arg)
	}
	if err != nil {
		return a, fmt.Errorf("reading account: %w", err)
	}
	a.CreatedAt, a.UpdatedAt = db.Time(created), db.Time(updated)
	return a, nil
}

// UpsertPurchase creates or updates the purchase with in.ExternalID, resolving in.Customer to a
// profile in the same transaction (reason "crm purchase"). A new purchase emits Order Completed
// with the profile's profileId and anonymousId "kizuna:crm"; corrections to a known purchase are
// stored without an event (the order was completed once).
func (s *Service) UpsertPurchase(ctx context.Context, p accounts.Principal, in PurchaseInput) (Purchase, error) {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return Purchase{}, err
	}
	if err := in.Validate(); err != nil { // before taking the write lock
		return Purchase{}, err
	}
	var pu Purchase
	now := s.now()
	err := s.outbox.Tx(ctx, func(tx *sql.Tx) (err error) {
		pu, _, err = s.ApplyPurchase(ctx, tx, in, now, "crm purchase")
		return err
	})
	if err != nil {
		return Purchase{}, err
	}
	return pu, nil
}

// Validate checks in as ApplyPurchase does, without touching the database (the account and
// the customer's identifiers are checked there).
func (in PurchaseInput) Validate() error {
	_, err := in.purchase()
	return err
}

// purchase is in checked and trimmed, without ids and times of storage.
func (in PurchaseInput) purchase() (Purchase, error) {
	ext, err := externalID("external_id", in.ExternalID)
	if err != nil {
		return Purchase{}, err
	}
	cur, err := currency(in.Currency)
	if err != nil {
		return Purchase{}, err
	}
	if err := amount(in.AmountMinor); err != nil {
		return Purchase{}, err
	}
	if in.PurchasedAt.IsZero() {
		return Purchase{}, errs.Invalid("purchased_at", "is required")
	}
	if len(in.Customer) == 0 {
		return Purchase{}, errs.Invalid("customer", "at least one identifier of the buyer is required")
	}
	return Purchase{ExternalID: ext, AmountMinor: in.AmountMinor, Currency: cur, PurchasedAt: db.Time(db.Now(in.PurchasedAt)),
		Product: strings.TrimSpace(in.Product)}, nil
}

// resolve resolves a customer's identifiers to a profile, reporting unusable ones against the
// customer field.
func (s *Service) resolve(ctx context.Context, tx *sql.Tx, ids []identity.ID, reason string) (string, error) {
	pid, err := s.identity.Resolve(ctx, tx, ids, reason)
	if err != nil {
		if e, ok := errs.As(err); ok && e.Kind == errs.KindInvalid {
			return "", errs.Invalid("customer", "%s", e.Msg)
		}
		return "", err
	}
	return pid, nil
}

// ApplyPurchase is UpsertPurchase inside the caller's transaction, without the permission check:
// it validates in, resolves the customer (reason names the cause in the identity graph, e.g.
// "crm purchase"), writes the purchase as of now and, for a new purchase, emits Order Completed
// through the outbox in tx. changed is false when the purchase was already stored exactly so.
func (s *Service) ApplyPurchase(ctx context.Context, tx *sql.Tx, in PurchaseInput, now time.Time, reason string) (Purchase, bool, error) {
	out, changed, err := s.ApplyPurchases(ctx, tx, []PurchaseInput{in}, now, func(int) string { return reason })
	if err != nil {
		var be *BatchError
		if errors.As(err, &be) {
			err = be.Err
		}
		return Purchase{}, false, err
	}
	return out[0], changed[0], nil
}

// BatchError is the error of one input of a batch write: Index is its position.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("item %d: %v", e.Index, e.Err) }
func (e *BatchError) Unwrap() error { return e.Err }

// batchRows bounds the rows of one multi-row statement (10 columns a row stays far below both
// engines' parameter limits).
const batchRows = 500

// ApplyPurchases is ApplyPurchase for many purchases at once, as an import writes them: each
// customer is still resolved on its own (reason(i) for ins[i]), but existing purchases are read,
// and new ones inserted and their events emitted, a few hundred per statement. An error about
// one input is a *BatchError naming it; the caller's transaction should then be rolled back.
// Inputs that share an external id are applied one after the other, as separate calls would.
func (s *Service) ApplyPurchases(ctx context.Context, tx *sql.Tx, ins []PurchaseInput, now time.Time, reason func(i int) string) ([]Purchase, []bool, error) {
	out := make([]Purchase, len(ins))
	changed := make([]bool, len(ins))
	byExt := make(map[string]int, len(ins))
	for i, in := range ins {
		pu, err := in.purchase()
		if err != nil {
			return nil, nil, &BatchError{i, err}
		}
		if _, dup := byExt[pu.ExternalID]; dup {
			return s.applyPurchasesOneByOne(ctx, tx, ins, now, reason)
		}
		byExt[pu.ExternalID] = i
		out[i] = pu
	}
	accountIDs := map[string]string{}
	for i, in := range ins {
		ext := strings.TrimSpace(in.AccountExternalID)
		aid, ok := accountIDs[ext]
		if !ok {
			var err error
			if aid, err = accountID(ctx, tx, "account_external_id", ext); err != nil {
				return nil, nil, &BatchError{i, err}
			}
			accountIDs[ext] = aid
		}
		out[i].AccountID = aid
	}
	customers := make([][]identity.ID, len(ins))
	for i, in := range ins {
		customers[i] = in.Customer
	}
	pids, err := s.identity.ResolveMany(ctx, tx, customers, reason)
	if err != nil {
		var be *identity.BatchError
		if errors.As(err, &be) {
			if e, ok := errs.As(be.Err); ok && e.Kind == errs.KindInvalid {
				return nil, nil, &BatchError{be.Index, errs.Invalid("customer", "%s", e.Msg)}
			}
			return nil, nil, &BatchError{be.Index, be.Err}
		}
		return nil, nil, err
	}
	for i := range out {
		out[i].ProfileID = pids[i]
	}

	olds := make(map[string]Purchase, len(ins))
	for start := 0; start < len(out); start += batchRows {
		part := out[start:min(start+batchRows, len(out))]
		args := make([]any, len(part))
		for j, pu := range part {
			args[j] = pu.ExternalID
		}
		list, err := scanPurchases(tx.QueryContext(ctx, purchaseSelect+` WHERE external_id IN `+s.db.Engine.Values(1, len(part)), args...))
		if err != nil {
			return nil, nil, err
		}
		for _, pu := range list {
			olds[pu.ExternalID] = pu
		}
	}

	var fresh []int
	for i := range out {
		pu := &out[i]
		old, ok := olds[pu.ExternalID]
		switch {
		case !ok:
			pu.ID, pu.CreatedAt, pu.UpdatedAt = newID(now), db.Time(db.Now(now)), db.Time(db.Now(now))
			fresh = append(fresh, i)
			changed[i] = true
		case old.ProfileID == pu.ProfileID && old.AccountID == pu.AccountID && old.AmountMinor == pu.AmountMinor &&
			old.Currency == pu.Currency && old.PurchasedAt.Equal(pu.PurchasedAt) && old.Product == pu.Product:
			*pu = old
		default:
			pu.ID, pu.CreatedAt, pu.UpdatedAt = old.ID, old.CreatedAt, db.Time(db.Now(now))
			if _, err := tx.ExecContext(ctx, `UPDATE crm_purchases SET profile_id = $1, account_id = $2, amount_minor = $3, currency = $4,
				purchased_at = $5, product = $6, updated_at = $7 WHERE id = $8`, pu.ProfileID, nullString(pu.AccountID), pu.AmountMinor,
				pu.Currency, db.Now(pu.PurchasedAt), pu.Product, db.Now(now), pu.ID); err != nil {
				return nil, nil, &BatchError{i, fmt.Errorf("updating purchase: %w", err)}
			}
			changed[i] = true
		}
	}
	evs := make([]event.Event, 0, len(fresh))
	for start := 0; start < len(fresh); start += batchRows {
		part := fresh[start:min(start+batchRows, len(fresh))]
		args := make([]any, 0, len(part)*10)
		for _, i := range part {
			pu := out[i]
			args = append(args, pu.ID, pu.ExternalID, pu.ProfileID, nullString(pu.AccountID), pu.AmountMinor, pu.Currency,
				db.Now(pu.PurchasedAt), pu.Product, db.Now(now), db.Now(now))
			evs = append(evs, orderCompleted(pu, now))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO crm_purchases (id, external_id, profile_id, account_id, amount_minor, currency,
			purchased_at, product, created_at, updated_at) VALUES `+s.db.Engine.Values(len(part), 10), args...); err != nil {
			return nil, nil, fmt.Errorf("creating purchases: %w", err)
		}
	}
	if err := s.outbox.Emit(ctx, tx, evs...); err != nil {
		return nil, nil, err
	}
	return out, changed, nil
}

// applyPurchasesOneByOne applies a batch that holds one external id several times in order.
func (s *Service) applyPurchasesOneByOne(ctx context.Context, tx *sql.Tx, ins []PurchaseInput, now time.Time, reason func(i int) string) ([]Purchase, []bool, error) {
	out := make([]Purchase, len(ins))
	changed := make([]bool, len(ins))
	for i, in := range ins {
		o, c, err := s.ApplyPurchases(ctx, tx, []PurchaseInput{in}, now, func(int) string { return reason(i) })
		if err != nil {
			var be *BatchError
			if errors.As(err, &be) {
				be.Index = i
			}
			return nil, nil, err
		}
		out[i], changed[i] = o[0], c[0]
	}
	return out, changed, nil
}

// orderCompleted is the Segment e-commerce Order Completed event of a new purchase.
func orderCompleted(pu Purchase, now time.Time) event.Event {
	total := major(pu.AmountMinor, pu.Currency)
	props := map[string]any{
		"order_id":     pu.ExternalID,
		"total":        total,
		"revenue":      total,
		"currency":     pu.Currency,
		"amount_minor": pu.AmountMinor,
		"products":     []map[string]any{{"name": pu.Product, "price": total, "quantity": 1}},
	}
	ev := customerEvent("Order Completed", pu.ProfileID, now, props)
	ev.OriginalTimestamp, ev.Timestamp = pu.PurchasedAt, pu.PurchasedAt
	return ev
}

// major converts minor units to the currency's major unit for Segment's decimal amounts.
func major(minor int64, cur string) float64 {
	switch cur {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF":
		return float64(minor)
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return float64(minor) / 1000
	default:
		return float64(minor) / 100
	}
}

const purchaseSelect = `SELECT id, external_id, profile_id, account_id, amount_minor, currency, purchased_at, product, created_at, updated_at FROM crm_purchases`

func scanPurchases(rows *sql.Rows, err error) ([]Purchase, error) {
	if err != nil {
		return nil, fmt.Errorf("reading purchases: %w", err)
	}
	defer rows.Close()
	var out []Purchase
	for rows.Next() {
		var pu Purchase
		var acc sql.NullString
		var at, created, updated int64
		if err := rows.Scan(&pu.ID, &pu.ExternalID, &pu.ProfileID, &acc, &pu.AmountMinor, &pu.Currency, &at, &pu.Product, &created, &updated); err != nil {
			return nil, err
		}
		pu.AccountID = acc.String
		pu.PurchasedAt, pu.CreatedAt, pu.UpdatedAt = db.Time(at), db.Time(created), db.Time(updated)
		out = append(out, pu)
	}
	return out, rows.Err()
}
