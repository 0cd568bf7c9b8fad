// Package crm keeps the CRM side of the customer data hub as first-class records: accounts
// (companies), purchases, contracts and support tickets, each keyed by the CRM's external id.
// Upserts are idempotent: writing a record exactly as stored changes nothing and emits nothing;
// every real change commits together with its event (Account Updated, Order Completed, Contract
// Updated, Ticket Updated) in one outbox transaction. Customers are given as identifiers and
// resolved to a profile by the identity graph in the same transaction.
//
// Permissions: writing customer data needs accounts.PermManageMembers, the closest permission
// authz.go has to "manage customer records" (admins, and API keys with the admin scope); reading
// a customer's records needs accounts.PermViewMembers (every staff role).
package crm

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
	"github.com/kizuna-community/kizuna/internal/identity"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the CRM tables. They need identity.Migrations and backbone.Migrations.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "crm", FS: sub}
}

// Deps are what the CRM part needs.
type Deps struct {
	DB       *db.DB
	Outbox   *backbone.Outbox
	Identity *identity.Graph
	Now      func() time.Time // time.Now when nil
}

// Service is the CRM part.
type Service struct {
	db       *db.DB
	outbox   *backbone.Outbox
	identity *identity.Graph
	now      func() time.Time
}

// New returns the CRM service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, outbox: d.Outbox, identity: d.Identity, now: d.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// The permissions the CRM part checks.
const (
	permWrite = accounts.PermManageMembers
	permRead  = accounts.PermViewMembers
)

// anonymousID is the anonymousId of events about a customer: the CRM, not the staff member who
// synced the record, is the source, so the event carries the customer's profileId instead of a
// userId the identity graph would take for the customer.
const anonymousID = "kizuna:crm"

// Contract statuses.
var contractStatuses = []string{"active", "cancelled", "expired"}

// Ticket statuses and priorities.
var (
	ticketStatuses   = []string{"open", "pending", "solved", "closed"}
	ticketPriorities = []string{"low", "normal", "high", "urgent"}
)

const dateLayout = "2006-01-02"

// externalID checks and trims an external id.
func externalID(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", errs.Invalid(field, "is required")
	case len(v) > 200:
		return "", errs.Invalid(field, "must be at most 200 characters")
	}
	return v, nil
}

// currency checks an ISO 4217 code, accepting lower case.
func currency(v string) (string, error) {
	v = strings.ToUpper(strings.TrimSpace(v))
	if len(v) != 3 {
		return "", errs.Invalid("currency", "must be a 3-letter ISO 4217 code such as JPY or USD")
	}
	for _, c := range v {
		if c < 'A' || c > 'Z' {
			return "", errs.Invalid("currency", "must be a 3-letter ISO 4217 code such as JPY or USD")
		}
	}
	return v, nil
}

func amount(v int64) error {
	if v < 0 {
		return errs.Invalid("amount_minor", "must not be negative")
	}
	return nil
}

func oneOf(field, v, def string, allowed []string) (string, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" && def != "" {
		return def, nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", errs.Invalid(field, "must be one of %s", strings.Join(allowed, ", "))
}

// accountID returns the internal id of the account with external id ext, or "" for an empty ext.
func accountID(ctx context.Context, q db.Queryer, field, ext string) (string, error) {
	ext = strings.TrimSpace(ext)
	if ext == "" {
		return "", nil
	}
	var aid string
	err := q.QueryRowContext(ctx, `SELECT id FROM crm_accounts WHERE external_id = $1`, ext).Scan(&aid)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.Invalid(field, "no CRM account has external id %q", ext)
	}
	if err != nil {
		return "", fmt.Errorf("finding account %s: %w", ext, err)
	}
	return aid, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullMs(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return db.Now(t)
}

// dateString is t as YYYY-MM-DD, or "" for the zero time.
func dateString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(dateLayout)
}

func parseDate(s string) time.Time {
	t, _ := time.Parse(dateLayout, s)
	return t
}

// customerEvent is a track event about a customer profile, from the CRM.
func customerEvent(name, profileID string, now time.Time, props map[string]any) event.Event {
	ev := event.New(event.Track, name, event.SourceCRM, now)
	ev.AnonymousID = anonymousID
	ev.ProfileID = profileID
	ev.Properties = props
	return ev
}

func newID(now time.Time) string { return id.New(now) }
